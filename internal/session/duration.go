package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Durations in policy documents are ISO 8601 durations (ISO 8601-1:2019
// §5.5.2.4, the subset XML Schema's xs:dayTimeDuration allows): "P90D",
// "PT1H", "PT30M", "P1DT12H", "P2W". Only whole seconds, no years or
// months (their length varies), no signs or fractions.

// FormatDuration renders d in the ISO 8601 form ParseDuration reads, in
// days, hours, minutes and seconds ("P90D", "PT1H30M"); sub-second parts are
// dropped and zero is "PT0S".
func FormatDuration(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs <= 0 {
		return "PT0S"
	}
	days, secs := secs/86400, secs%86400
	h, secs := secs/3600, secs%3600
	m, secs := secs/60, secs%60
	var b strings.Builder
	b.WriteString("P")
	if days > 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if h > 0 || m > 0 || secs > 0 {
		b.WriteString("T")
		if h > 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m > 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if secs > 0 {
			fmt.Fprintf(&b, "%dS", secs)
		}
	}
	return b.String()
}

// errDuration is wrapped by every ParseDuration error.
var errDuration = errors.New(`not an ISO 8601 duration such as "PT1H", "PT30M" or "P90D"`)

// maxDurationSeconds keeps parsed values far from time.Duration overflow
// (about 292 years): ten years is beyond any policy bound.
const maxDurationSeconds = 10 * 366 * 86400

// ParseDuration reads an ISO 8601 duration: "P" then optional weeks (W) and
// days (D), then optionally "T" and hours (H), minutes (M) and seconds (S),
// each a non-negative integer, at least one present, in that order.
func ParseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" || strings.HasSuffix(rest, "T") {
		return 0, fmt.Errorf("%q is %w", s, errDuration)
	}
	datePart, timePart, hasTime := strings.Cut(rest, "T")
	var total int64
	add := func(part, units string, scale []int64) error {
		last := -1
		for part != "" {
			i := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
			if i <= 0 {
				return fmt.Errorf("%q is %w", s, errDuration)
			}
			u := strings.IndexByte(units, part[i])
			if u < 0 || u <= last { // unknown unit, or out of order / repeated
				return fmt.Errorf("%q is %w", s, errDuration)
			}
			n, err := strconv.ParseInt(part[:i], 10, 64)
			if err != nil || n > maxDurationSeconds {
				return fmt.Errorf("%q is too long", s)
			}
			total += n * scale[u]
			if total > maxDurationSeconds {
				return fmt.Errorf("%q is too long", s)
			}
			last, part = u, part[i+1:]
		}
		return nil
	}
	if err := add(datePart, "WD", []int64{7 * 86400, 86400}); err != nil {
		return 0, err
	}
	if hasTime {
		if timePart == "" {
			return 0, fmt.Errorf("%q is %w", s, errDuration)
		}
		if err := add(timePart, "HMS", []int64{3600, 60, 1}); err != nil {
			return 0, err
		}
	}
	return time.Duration(total) * time.Second, nil
}
