package sqlstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// sqliteTimeLayout is how SQLite stores timestamps: fixed width, UTC, with
// microseconds, so that text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// Precision is the resolution of stored timestamps. Times come back in UTC,
// truncated (not rounded) to Precision and without a monotonic reading, on
// both dialects alike.
const Precision = time.Microsecond

// stored returns t as the store keeps it.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(Precision)
}

// timeVal is the argument for a NOT NULL timestamp column.
func (d *dialect) timeVal(t time.Time) any { return d.timeArg(stored(t)) }

// nullTime is the argument for a nullable timestamp column: the zero time
// is stored as NULL.
func (d *dialect) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeArg(stored(t))
}

// timeDest scans a timestamp column of either dialect; NULL is the zero time.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		*d.t = stored(v)
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

func (d timeDest) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlstore: bad stored time %q: %w", s, err)
	}
	*d.t = stored(t)
	return nil
}

// jsonList is the argument for a JSON string-array column: nil is NULL, an
// empty slice is "[]", so both round-trip as written.
func jsonList(ss []string) any {
	if ss == nil {
		return nil
	}
	b, err := json.Marshal(ss)
	if err != nil { // cannot happen for []string
		panic(err)
	}
	return string(b)
}

// listDest scans a JSON string-array column; NULL is a nil slice.
type listDest struct{ p *[]string }

func (d listDest) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*d.p = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string list", src)
	}
	out := []string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("sqlstore: bad stored list: %w", err)
	}
	*d.p = out
	return nil
}

// fold is the case folding of the *_lower shadow columns and of the values
// compared with them.
func fold(s string) string { return strings.ToLower(s) }

// foldPtr is the shadow of a nullable string: NULL stays NULL.
func foldPtr(p *string) any {
	if p == nil {
		return nil
	}
	return fold(*p)
}

// strPtr is the argument for a nullable string column.
func strPtr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// asciiFold lower-cases ASCII letters only, as SQL lower() does on both
// dialects for JSON collection elements.
func asciiFold(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// nullBlob is the argument for a nullable BLOB/bytea column: an empty or
// nil slice is NULL and reads back as nil.
func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullStr is the argument for a nullable text column that stores "" as
// NULL.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// strDest scans a nullable text column; NULL is "".
type strDest struct{ p *string }

func (d strDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = ""
	case string:
		*d.p = v
	case []byte:
		*d.p = string(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", src)
	}
	return nil
}

// timePtr is the argument for a nullable timestamp held in a *time.Time:
// nil is NULL.
func (d *dialect) timePtr(p *time.Time) any {
	if p == nil {
		return nil
	}
	return d.timeArg(stored(*p))
}

// timePtrDest scans a nullable timestamp into a *time.Time; NULL is nil.
type timePtrDest struct{ p **time.Time }

func (d timePtrDest) Scan(src any) error {
	if src == nil {
		*d.p = nil
		return nil
	}
	var t time.Time
	if err := (timeDest{&t}).Scan(src); err != nil {
		return err
	}
	*d.p = &t
	return nil
}
