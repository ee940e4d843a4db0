package sqlstore

import (
	"strconv"
	"testing"
	"time"
)

// TestLookupCacheBounded: a full cache evicts a tenth of its entries, so
// it never holds more than lookupCacheMax of a kind and keeps most.
func TestLookupCacheBounded(t *testing.T) {
	c := newLookupCache(time.Now, true)
	gen := c.gen.Load()
	for i := range lookupCacheMax + 5 {
		keep(c, c.dirRoles, strconv.Itoa(i), gen, []string{"r"})
	}
	if n := len(c.dirRoles); n > lookupCacheMax || n < lookupCacheMax*9/10 {
		t.Fatalf("%d entries after %d inserts, want between %d and %d", n, lookupCacheMax+5, lookupCacheMax*9/10, lookupCacheMax)
	}
	if _, ok := lookup(c, c.dirRoles, strconv.Itoa(lookupCacheMax+4), gen); !ok {
		t.Error("the newest entry was not kept")
	}
	c.invalidate()
	if _, ok := lookup(c, c.dirRoles, strconv.Itoa(lookupCacheMax+4), gen); ok {
		t.Error("an entry of an old generation was served")
	}
}
