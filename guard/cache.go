package guard

import "sync"

// verifiedCache remembers tokens whose signature and claims were verified,
// until they expire, so a token presented again costs a map lookup instead
// of a signature verification. It never caches a verdict of the
// revocation table: Verify checks the table on every call. It is flushed
// whenever the issuer's JWKS is refetched, so a key removed from the JWKS
// stops vouching for cached tokens.
type verifiedCache struct {
	max int // <= 0: disabled
	mu  sync.RWMutex
	m   map[string]*Identity
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: map[string]*Identity{}}
}

func (c *verifiedCache) get(token string) (*Identity, bool) {
	if c.max <= 0 {
		return nil, false
	}
	c.mu.RLock()
	id, ok := c.m[token]
	c.mu.RUnlock()
	return id, ok
}

// put adds token; when the cache is full it first drops the expired
// entries and, if that is not enough, a quarter of the entries (Go's map
// iteration order makes them arbitrary).
func (c *verifiedCache) put(token string, id *Identity, now int64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if v.exp < now {
				delete(c.m, k)
			}
		}
		drop := len(c.m) - c.max*3/4
		for k := range c.m {
			if drop <= 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[token] = id
}

func (c *verifiedCache) remove(token string) {
	c.mu.Lock()
	delete(c.m, token)
	c.mu.Unlock()
}

func (c *verifiedCache) flush() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
