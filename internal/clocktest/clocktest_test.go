package clocktest

import (
	"testing"
	"time"
)

func TestFrozen(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := At(t0)
	if !c.Now().Equal(t0) || !c.Now().Equal(t0) {
		t.Fatal("a frozen clock moved by itself")
	}
	if got := c.Advance(time.Hour); !got.Equal(t0.Add(time.Hour)) || !c.Now().Equal(got) {
		t.Fatalf("Advance = %v, Now = %v", got, c.Now())
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Set: Now = %v", c.Now())
	}
}

func TestLive(t *testing.T) {
	c := Live()
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("live clock is %v off the real time", d)
	}
	c.Advance(time.Hour)
	if d := c.Now().Sub(time.Now()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("after Advance(1h) the clock is %v ahead", d)
	}
	target := time.Now().Add(-24 * time.Hour)
	c.Set(target)
	if d := c.Now().Sub(target); d < 0 || d > time.Second {
		t.Fatalf("after Set the clock is %v from the target", d)
	}
}
