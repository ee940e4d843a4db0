package guard

import "sync"

// The revocation table: what the SSF stream has told the guard, reduced to
// what a token check needs.
//
//   - users: oid → validFrom (Unix seconds; tokens issued before it are
//     revoked) with a disabled flag in the top bit;
//   - sessions: revoked sid → when it was revoked (Unix seconds).
//
// Object and session ids are GUIDs in Vigil (and Entra): those are stored
// as 16-byte array keys, so an entry costs a map slot of 24 bytes and no
// string (BenchmarkTableMemory measures it); any other id goes to a string
// map beside it. A check is one or two map lookups under a read lock and
// allocates nothing (BenchmarkCheck).
//
// Entries whose time is older than the longest token lifetime cannot
// affect any unexpired token and are pruned.
type table struct {
	mu        sync.RWMutex
	users     map[[16]byte]uint64
	usersX    map[string]uint64
	sessions  map[[16]byte]int64
	sessionsX map[string]int64
}

// disabledBit marks a disabled (or purged) user in a users value; the
// other bits are validFrom.
const disabledBit = uint64(1) << 63

func newTable() *table {
	return &table{
		users: map[[16]byte]uint64{}, usersX: map[string]uint64{},
		sessions: map[[16]byte]int64{}, sessionsX: map[string]int64{},
	}
}

// tableKey is an id prepared for lookups: a parsed GUID, or the string.
type tableKey struct {
	guid   [16]byte
	str    string
	isGUID bool
}

func keyOf(s string) tableKey {
	if g, ok := parseGUID(s); ok {
		return tableKey{guid: g, isGUID: true}
	}
	return tableKey{str: s}
}

func (k tableKey) empty() bool { return !k.isGUID && k.str == "" }

// parseGUID parses the canonical 8-4-4-4-12 hex form, either case.
func parseGUID(s string) (g [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		g[j] = hi<<4 | lo
		j++
		i += 2
	}
	return g, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// check returns the revocation verdict for a token of user oid in session
// sid (may be empty) issued at iat (Unix seconds): 0 when the token
// stands, else the Kind and the validFrom a new token needs.
func (t *table) check(oid, sid tableKey, iat int64) (Kind, int64) {
	t.mu.RLock()
	var u uint64
	var uok bool
	if oid.isGUID {
		u, uok = t.users[oid.guid]
	} else {
		u, uok = t.usersX[oid.str]
	}
	var s int64
	var sok bool
	if sid.isGUID {
		s, sok = t.sessions[sid.guid]
	} else if sid.str != "" {
		s, sok = t.sessionsX[sid.str]
	}
	t.mu.RUnlock()
	from := int64(u &^ disabledBit)
	switch {
	case uok && u&disabledBit != 0:
		return KindUserDisabled, from
	case uok && iat < from:
		return KindRevoked, from
	case sok:
		return KindSessionRevoked, max(s+1, from)
	}
	return 0, 0
}

// update applies f to oid's entry (0 when absent) under the write lock;
// f returns the new value, or 0 to delete the entry.
func (t *table) update(oid string, f func(uint64) uint64) {
	k := keyOf(oid)
	t.mu.Lock()
	defer t.mu.Unlock()
	if k.isGUID {
		if v := f(t.users[k.guid]); v != 0 {
			t.users[k.guid] = v
		} else {
			delete(t.users, k.guid)
		}
		return
	}
	if v := f(t.usersX[k.str]); v != 0 {
		t.usersX[k.str] = v
	} else {
		delete(t.usersX, k.str)
	}
}

// revokeUser moves oid's validFrom to from, never backwards.
func (t *table) revokeUser(oid string, from int64) {
	t.update(oid, func(v uint64) uint64 {
		return v&disabledBit | max(v&^disabledBit, uint64(from))
	})
}

// disableUser marks oid disabled (or purged) and moves validFrom to from,
// never backwards.
func (t *table) disableUser(oid string, from int64) {
	t.update(oid, func(v uint64) uint64 { return disabledBit | max(v&^disabledBit, uint64(from)) })
}

// enableUser clears oid's disabled mark; validFrom stays.
func (t *table) enableUser(oid string) {
	t.update(oid, func(v uint64) uint64 { return v &^ disabledBit })
}

// revokeSession records that session sid was revoked at (Unix seconds).
func (t *table) revokeSession(sid string, at int64) {
	k := keyOf(sid)
	t.mu.Lock()
	defer t.mu.Unlock()
	if k.isGUID {
		t.sessions[k.guid] = max(t.sessions[k.guid], at)
	} else {
		t.sessionsX[k.str] = max(t.sessionsX[k.str], at)
	}
}

// prune drops the entries whose time is before cutoff (Unix seconds): no
// unexpired token can be affected by them. It returns how many it dropped.
func (t *table) prune(cutoff int64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, v := range t.users {
		if int64(v&^disabledBit) < cutoff {
			delete(t.users, k)
			n++
		}
	}
	for k, v := range t.usersX {
		if int64(v&^disabledBit) < cutoff {
			delete(t.usersX, k)
			n++
		}
	}
	for k, at := range t.sessions {
		if at < cutoff {
			delete(t.sessions, k)
			n++
		}
	}
	for k, at := range t.sessionsX {
		if at < cutoff {
			delete(t.sessionsX, k)
			n++
		}
	}
	return n
}

// size returns the number of user and session entries.
func (t *table) size() (users, sessions int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.users) + len(t.usersX), len(t.sessions) + len(t.sessionsX)
}
