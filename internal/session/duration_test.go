package session

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "PT1H", want: time.Hour},
		{in: "PT30M", want: 30 * time.Minute},
		{in: "P90D", want: 90 * 24 * time.Hour},
		{in: "P1DT12H", want: 36 * time.Hour},
		{in: "P2W", want: 14 * 24 * time.Hour},
		{in: "PT1H30M15S", want: time.Hour + 30*time.Minute + 15*time.Second},
		{in: "PT0S", want: 0},
		{in: "", bad: true},
		{in: "P", bad: true},
		{in: "PT", bad: true},
		{in: "P1DT", bad: true},
		{in: "1h", bad: true},
		{in: "PT1.5H", bad: true},
		{in: "P1Y", bad: true},
		{in: "P1M", bad: true}, // months: not allowed (M before T)
		{in: "PT1M1H", bad: true},
		{in: "PT1H1H", bad: true},
		{in: "P-1D", bad: true},
		{in: "pt1h", bad: true},
		{in: "P99999999999D", bad: true},
		{in: "PT3600", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "PT0S"},
		{time.Hour, "PT1H"},
		{5 * time.Minute, "PT5M"},
		{90 * 24 * time.Hour, "P90D"},
		{36*time.Hour + 90*time.Second, "P1DT12H1M30S"},
		{1440 * time.Minute, "P1D"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		back, err := ParseDuration(tc.want)
		if err != nil || back != tc.d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.want, back, err, tc.d)
		}
	}
}
