package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// The lookup cache. Every token request authenticates its client, every
// client_credentials grant reads the client's app roles, and every
// delegated token carries its user's directory roles (wids), so those reads
// (GetClientByAppID, AppRoleIDsOnResource, EffectiveRoleIDs, and
// GetServicePrincipal, which names the calling application in every audit
// record an app-only token causes) are served
// from memory at the Store level. A change is never served stale once it
// is acknowledged:
//
//   - the cache has a generation; an entry counts only while the generation
//     it was read under is current, and a reader takes the generation
//     before it reads the database, so a read that raced a change is never
//     kept;
//   - in this process, every write to the tables those reads depend on
//     (applications, password credentials, service principals, app role
//     assignments, directory role assignments, groups, group members, and
//     users, whose deletion cascades into memberships and assignments)
//     moves the generation after it commits (at the Store level before the
//     write method returns; in InTx before InTx returns), so the writer's
//     caller, and any request that starts after it was answered, reads the
//     change;
//   - in PostgreSQL, other nodes' changes (and cascades, and direct SQL)
//     reach this node through triggers on those tables that notify a
//     channel named after the schema at commit (migration 00007); the
//     listener moves the generation on each notification. The cache is
//     used only while the listener is LISTENing: from a lost connection
//     until the next LISTEN succeeds every read goes to the database.
//     Another node's change is therefore visible here within the
//     notification's delivery (a millisecond or so on one network);
//   - SQLite's cache relies on one process owning the database file, which
//     is how Vigil runs on SQLite (several nodes share PostgreSQL). A
//     second process writing the same file is not seen until entries
//     expire;
//   - entries also expire after lookupCacheTTL, and the cache holds at most
//     lookupCacheMax entries of each kind (a random tenth is evicted when
//     one is full); a
//     client lookup that finds nothing is never cached, so unknown client
//     ids cannot grow it (an absent service principal is: the Graph API
//     asks for its callers by object id before appId).
//
// Any change drops every entry: such changes are rare next to token
// requests. Reads inside a transaction (InTx) always go to the database.

const (
	lookupCacheTTL = 10 * time.Second
	lookupCacheMax = 50_000
)

type lookupCache struct {
	gen    atomic.Uint64
	usable atomic.Bool // SQLite: always; PostgreSQL: while the listener listens
	now    func() time.Time

	mu       sync.RWMutex
	clients  map[string]cached[store.Client]
	roles    map[[2]string]cached[[]string] // app roles: principal, resource appId
	dirRoles map[string]cached[[]string]    // directory roles: user id
	sps      map[[2]string]cached[spResult] // by "id" or "appId"
}

type cached[T any] struct {
	gen uint64
	at  time.Time
	v   T
}

// invalidate moves the generation, so nothing read before counts, and
// drops the entries.
func (c *lookupCache) invalidate() {
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.clients)
	clear(c.roles)
	clear(c.dirRoles)
	clear(c.sps)
	c.mu.Unlock()
}

// setUsable turns the cache on or off; either way nothing read before
// counts.
func (c *lookupCache) setUsable(on bool) {
	c.usable.Store(on)
	c.invalidate()
}

// newLookupCache returns an empty cache, usable at once or not.
func newLookupCache(now func() time.Time, usable bool) *lookupCache {
	c := &lookupCache{now: now, clients: map[string]cached[store.Client]{}, roles: map[[2]string]cached[[]string]{},
		dirRoles: map[string]cached[[]string]{}, sps: map[[2]string]cached[spResult]{}}
	c.usable.Store(usable)
	return c
}

// lookup and keep take the map itself: the maps are made once and only
// cleared, never replaced.
func lookup[K comparable, T any](c *lookupCache, m map[K]cached[T], k K, gen uint64) (T, bool) {
	c.mu.RLock()
	e, ok := m[k]
	c.mu.RUnlock()
	if !ok || e.gen != gen || c.now().Sub(e.at) >= lookupCacheTTL {
		var zero T
		return zero, false
	}
	return e.v, true
}

func keep[K comparable, T any](c *lookupCache, m map[K]cached[T], k K, gen uint64, v T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return // changed while reading
	}
	if len(m) >= lookupCacheMax {
		// Evict a tenth, chosen by map iteration order (random).
		n := lookupCacheMax / 10
		for k := range m {
			delete(m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	m[k] = cached[T]{gen: gen, at: c.now(), v: v}
}

// through serves read from m under k at the Store level: the entry when a
// current one is there, else what read returns, kept when it succeeded.
// Inside a transaction, or while the cache is off, it only reads.
func through[K comparable, T any](ctx context.Context, t *txn, m map[K]cached[T], k K, read func(context.Context) (T, error)) (T, error) {
	c := t.s.lookups
	if t.tx != nil || !c.on(t.s) {
		return read(ctx)
	}
	gen := c.gen.Load()
	if v, ok := lookup(c, m, k, gen); ok {
		return v, nil
	}
	v, err := read(ctx)
	if err == nil {
		keep(c, m, k, gen, v)
	}
	return v, err
}

// cachedClient serves GetClientByAppID. The returned Client is shared with
// the cache: callers must not modify its slices.
func (t *txn) cachedClient(ctx context.Context, appID string) (store.Client, error) {
	return through(ctx, t, t.s.lookups.clients, appID, func(ctx context.Context) (store.Client, error) {
		return t.getClient(ctx, appID)
	})
}

// cachedAppRoles serves AppRoleIDsOnResource; the caller gets a copy.
func (t *txn) cachedAppRoles(ctx context.Context, principalID, resourceAppID string) ([]string, error) {
	v, err := through(ctx, t, t.s.lookups.roles, [2]string{principalID, resourceAppID}, func(ctx context.Context) ([]string, error) {
		return t.appRoleIDs(ctx, principalID, resourceAppID)
	})
	return slices.Clone(v), err
}

// cachedDirectoryRoles serves EffectiveRoleIDs; the caller gets a copy.
func (t *txn) cachedDirectoryRoles(ctx context.Context, userID string) ([]string, error) {
	v, err := through(ctx, t, t.s.lookups.dirRoles, userID, func(ctx context.Context) ([]string, error) {
		return t.effectiveRoleIDs(ctx, userID)
	})
	return slices.Clone(v), err
}

// spResult is a cached service principal lookup; absent ones are cached
// too (the Graph API looks a caller up by object id first, then by appId).
type spResult struct {
	sp    store.ServicePrincipal
	found bool
}

// cachedServicePrincipal serves GetServicePrincipal (byAppID false) and
// GetServicePrincipalByAppID (true).
func (t *txn) cachedServicePrincipal(ctx context.Context, key string, byAppID bool) (store.ServicePrincipal, error) {
	get, k := t.getServicePrincipal, [2]string{"id", key}
	if byAppID {
		get, k = t.getServicePrincipalByAppID, [2]string{"appId", key}
	}
	r, err := through(ctx, t, t.s.lookups.sps, k, func(ctx context.Context) (spResult, error) {
		sp, err := get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return spResult{}, nil
		}
		return spResult{sp, err == nil}, err
	})
	switch {
	case err != nil:
		return store.ServicePrincipal{}, err
	case !r.found:
		return store.ServicePrincipal{}, fmt.Errorf("sqlstore: get service principal %s: %w", key, store.ErrNotFound)
	}
	return r.sp, nil
}

// on reports whether the cache may be used, starting the PostgreSQL
// listener (which turns it on) if nothing has yet.
func (c *lookupCache) on(s *Store) bool {
	if c.usable.Load() {
		return true
	}
	if s.hub.start != nil {
		s.hub.once.Do(s.hub.start)
	}
	return false
}

// lookupsChanged records a write to the tables the lookup cache reads: at
// the Store level the write has committed when this runs (deferred by the
// write method), so the cache is invalidated now; inside InTx, InTx
// invalidates it after the commit.
func (t *txn) lookupsChanged() {
	if t.tx == nil {
		t.s.lookups.invalidate()
		return
	}
	t.touchedLookups = true
}
