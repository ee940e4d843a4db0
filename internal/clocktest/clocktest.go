// Package clocktest provides the settable clock that tests inject wherever
// production code takes a `now func() time.Time` (style rule 7: expiry and
// revocation tests never sleep). It owns nothing else and is imported only
// by tests.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock tests move by hand. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	t      time.Time     // frozen time (when !live)
	live   bool          // read time.Now plus offset
	offset time.Duration // for a live clock
}

// At returns a clock frozen at t until Advance or Set moves it.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Live returns a clock that reads the real time plus whatever Advance
// added, for tests whose peers (HTTP clients, JWT libraries) read the real
// time too.
func Live() *Clock { return &Clock{live: true} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		return time.Now().Add(c.offset)
	}
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		c.offset += d
		return time.Now().Add(c.offset)
	}
	c.t = c.t.Add(d)
	return c.t
}

// Set puts the clock at t (a live clock keeps running from t).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live {
		c.offset = time.Until(t)
		return
	}
	c.t = t
}
