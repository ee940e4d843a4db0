package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// withUsers creates minimal users with the given numbers.
func withUsers(t *testing.T, s store.Store, ns ...int) {
	t.Helper()
	for _, n := range ns {
		ok(t, s.CreateUser(ctx, minimalUser(n, fmt.Sprintf("user%d@example.com", n))))
	}
}

func fullSession(n, user int, created time.Time) store.Session {
	return store.Session{
		ID: id(n), UserID: id(user), CreatedAt: created, AuthTime: created.Add(time.Second),
		LastActiveAt: created.Add(time.Minute), AMR: []string{"pwd", "mfa"}, IP: "192.0.2.1",
		UserAgent: "Mozilla/5.0", DeviceID: "dev-1", ClientIDs: []string{id(900)},
	}
}

func sessionID(s store.Session) string  { return s.ID }
func consentID(c store.Consent) string  { return c.ID }
func policyScope(p store.Policy) string { return p.Scope }

func testSessions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		full := fullSession(10, 1, at(time.Hour))
		revoked := store.Session{ID: id(11), UserID: id(1), CreatedAt: at(2 * time.Hour), AuthTime: at(0), LastActiveAt: at(0),
			AMR: []string{}, RevokedAt: ptr(at(3 * time.Hour)), RevokedReason: "admin"}
		for _, x := range []store.Session{full, revoked} {
			roundTrip(t, x, s.CreateSession, map[string]func(store.Session) (store.Session, error){
				"GetSession": func(x store.Session) (store.Session, error) { return s.GetSession(ctx, x.ID) },
			})
		}
		isErr(t, "duplicate id", s.CreateSession(ctx, full), store.ErrConflict)
		isErr(t, "unknown user", s.CreateSession(ctx, fullSession(12, 9, t0)), store.ErrNotFound)
		_, err := s.GetSession(ctx, id(99))
		isErr(t, "GetSession unknown", err, store.ErrNotFound)
	})

	t.Run("Touch", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		x := fullSession(10, 1, t0)
		x.ClientIDs = nil
		ok(t, s.CreateSession(ctx, x))
		ok(t, s.TouchSession(ctx, x.ID, at(time.Hour), "app-a"))
		ok(t, s.TouchSession(ctx, x.ID, at(30*time.Minute), "app-b")) // earlier: time stays
		ok(t, s.TouchSession(ctx, x.ID, at(2*time.Hour), "app-a"))    // known client: listed once
		ok(t, s.TouchSession(ctx, x.ID, at(3*time.Hour), ""))
		got, err := s.GetSession(ctx, x.ID)
		ok(t, err)
		x.LastActiveAt, x.ClientIDs = at(3*time.Hour), []string{"app-a", "app-b"}
		same(t, "touched session", got, x)
		isErr(t, "touch unknown", s.TouchSession(ctx, id(99), t0, "app"), store.ErrNotFound)
	})

	t.Run("TouchConcurrently", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateSession(ctx, fullSession(10, 1, t0)))
		const workers = 16
		parallel(t, workers, 4, func(w, i int) error {
			return s.TouchSession(ctx, id(10), at(time.Duration(w*4+i)*time.Second), fmt.Sprintf("app-%02d", w))
		})
		got, err := s.GetSession(ctx, id(10))
		ok(t, err)
		if want := at(time.Duration(workers*4-1) * time.Second); !got.LastActiveAt.Equal(stored(want)) {
			t.Errorf("LastActiveAt = %v, want the latest touch %v", got.LastActiveAt, want)
		}
		clients := slices.Clone(got.ClientIDs)
		slices.Sort(clients)
		want := []string{id(900)}
		for w := range workers {
			want = append(want, fmt.Sprintf("app-%02d", w))
		}
		slices.Sort(want)
		sameIDs(t, "clients after concurrent touches", clients, want)
	})

	t.Run("UpdateListRevoke", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1, 2)
		for n := 10; n < 14; n++ {
			ok(t, s.CreateSession(ctx, fullSession(n, 1, at(time.Duration(n%2)*time.Hour)))) // 11 and 13 newest
		}
		ok(t, s.CreateSession(ctx, fullSession(20, 2, t0)))
		got, err := s.UpdateSession(ctx, id(10), func(x store.Session) (store.Session, error) {
			x.AuthTime, x.AMR = at(5*time.Hour), []string{"otp"}
			return x, nil
		})
		ok(t, err)
		want := fullSession(10, 1, t0)
		want.AuthTime, want.AMR = at(5*time.Hour), []string{"otp"}
		same(t, "UpdateSession", got, want)
		_, err = s.UpdateSession(ctx, id(99), func(x store.Session) (store.Session, error) { return x, nil })
		isErr(t, "update unknown", err, store.ErrNotFound)

		revoked, err := s.RevokeSession(ctx, id(11), at(time.Hour), "user signed out")
		ok(t, err)
		if !revoked {
			t.Fatal("RevokeSession of a live session reported false")
		}
		revoked, err = s.RevokeSession(ctx, id(11), at(2*time.Hour), "again")
		ok(t, err)
		if revoked {
			t.Fatal("RevokeSession of a revoked session reported true")
		}
		_, err = s.RevokeSession(ctx, id(99), t0, "x")
		isErr(t, "revoke unknown", err, store.ErrNotFound)
		x, err := s.GetSession(ctx, id(11))
		ok(t, err)
		if x.RevokedAt == nil || !x.RevokedAt.Equal(stored(at(time.Hour))) || x.RevokedReason != "user signed out" {
			t.Fatalf("second revocation changed the first: %v %q", x.RevokedAt, x.RevokedReason)
		}

		list, err := s.ListSessionsOfUser(ctx, id(1), true)
		ok(t, err)
		sameIDs(t, "all sessions, newest first", ids(list, sessionID), idList(13, 11, 12, 10))
		list, err = s.ListSessionsOfUser(ctx, id(1), false)
		ok(t, err)
		sameIDs(t, "live sessions", ids(list, sessionID), idList(13, 12, 10))
		list, err = s.ListSessionsOfUser(ctx, id(9), true)
		ok(t, err)
		sameIDs(t, "sessions of an unknown user", ids(list, sessionID), nil)

		n, err := s.RevokeSessionsOfUsers(ctx, []string{id(1), id(2), id(9), id(1)}, at(4*time.Hour), "bulk")
		ok(t, err)
		if n != 4 { // 10, 12, 13 and 20; 11 was revoked already
			t.Fatalf("RevokeSessionsOfUsers revoked %d, want 4", n)
		}
		list, err = s.ListSessionsOfUser(ctx, id(1), false)
		ok(t, err)
		sameIDs(t, "live sessions after the bulk revocation", ids(list, sessionID), nil)
		x, err = s.GetSession(ctx, id(20))
		ok(t, err)
		if x.RevokedAt == nil || !x.RevokedAt.Equal(stored(at(4*time.Hour))) || x.RevokedReason != "bulk" {
			t.Fatalf("bulk-revoked session: %v %q", x.RevokedAt, x.RevokedReason)
		}
		n, err = s.RevokeSessionsOfUsers(ctx, nil, t0, "none")
		ok(t, err)
		if n != 0 {
			t.Fatalf("RevokeSessionsOfUsers(nil) = %d", n)
		}
	})

	t.Run("BulkChunks", func(t *testing.T) {
		s := newStore(t)
		const users = 1203 // more than two chunks of ids
		var uids []string
		ok(t, s.InTx(ctx, func(tx store.Tx) error {
			for n := 1; n <= users; n++ {
				if err := tx.CreateUser(ctx, minimalUser(n, fmt.Sprintf("u%d@example.com", n))); err != nil {
					return err
				}
				if n%2 == 0 {
					if err := tx.CreateSession(ctx, fullSession(10000+n, n, t0)); err != nil {
						return err
					}
				}
				uids = append(uids, id(n))
			}
			return nil
		}))
		n, err := s.RevokeSessionsOfUsers(ctx, uids, at(time.Hour), "bulk")
		ok(t, err)
		if n != users/2 {
			t.Fatalf("revoked %d sessions, want %d", n, users/2)
		}
	})
}

func token(n, user, session int, family string, created time.Time) store.RefreshToken {
	sid := ""
	if session > 0 {
		sid = id(session)
	}
	return store.RefreshToken{
		ID: id(n), Hash: []byte(fmt.Sprintf("hash-%d", n)), FamilyID: family, SessionID: sid, UserID: id(user),
		ClientID: id(900), Scopes: []string{"openid", "offline_access"}, Resource: "https://graph.microsoft.com",
		Capabilities: []string{"cp1"}, AuthTime: created.Add(-time.Minute), CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour),
	}
}

func testRefreshTokens(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateSession(ctx, fullSession(10, 1, t0)))
		a := token(20, 1, 10, "f1", at(time.Hour))
		b := token(21, 1, 0, "f1", at(2*time.Hour)) // no session
		b.ParentID, b.Scopes, b.Capabilities = a.ID, []string{}, nil
		b.UsedAt, b.RevokedAt, b.RevokedReason = ptr(at(3*time.Hour)), ptr(at(4*time.Hour)), "reuse"
		for _, x := range []store.RefreshToken{a, b} {
			roundTrip(t, x, s.CreateRefreshToken, map[string]func(store.RefreshToken) (store.RefreshToken, error){
				"GetRefreshTokenByHash": func(x store.RefreshToken) (store.RefreshToken, error) { return s.GetRefreshTokenByHash(ctx, x.Hash) },
			})
		}
		dupHash := token(22, 1, 10, "f2", t0)
		dupHash.Hash = a.Hash
		isErr(t, "duplicate hash", s.CreateRefreshToken(ctx, dupHash), store.ErrConflict)
		isErr(t, "duplicate id", s.CreateRefreshToken(ctx, token(20, 1, 10, "f2", t0)), store.ErrConflict)
		isErr(t, "unknown user", s.CreateRefreshToken(ctx, token(23, 9, 0, "f3", t0)), store.ErrNotFound)
		_, err := s.GetRefreshTokenByHash(ctx, []byte("nope"))
		isErr(t, "unknown hash", err, store.ErrNotFound)
	})

	t.Run("WithUser", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1, 2)
		a := token(20, 1, 0, "f1", at(time.Hour))
		ok(t, s.CreateRefreshToken(ctx, a))
		ok(t, s.CreateRefreshToken(ctx, token(21, 2, 0, "f2", at(time.Hour))))
		want, err := s.GetUser(ctx, id(1))
		ok(t, err)
		tok, u, err := s.GetRefreshTokenWithUser(ctx, a.Hash)
		ok(t, err)
		same(t, "token read with its user", tok, a)
		same(t, "the token's user", u, want)
		_, _, err = s.GetRefreshTokenWithUser(ctx, []byte("nope"))
		isErr(t, "unknown hash", err, store.ErrNotFound)
		ok(t, s.DeleteUser(ctx, id(1)))
		_, _, err = s.GetRefreshTokenWithUser(ctx, a.Hash)
		isErr(t, "token of a deleted user", err, store.ErrNotFound)
	})

	t.Run("MarkUsed", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateRefreshToken(ctx, token(20, 1, 0, "f1", t0)))
		ok(t, s.CreateRefreshToken(ctx, token(21, 1, 0, "f1", t0)))
		ok(t, s.MarkRefreshTokenUsed(ctx, id(20), at(time.Hour)))
		isErr(t, "second use", s.MarkRefreshTokenUsed(ctx, id(20), at(2*time.Hour)), store.ErrConflict)
		got, err := s.GetRefreshTokenByHash(ctx, []byte("hash-20"))
		ok(t, err)
		if got.UsedAt == nil || !got.UsedAt.Equal(stored(at(time.Hour))) {
			t.Fatalf("UsedAt = %v after a refused second use", got.UsedAt)
		}
		ok(t, s.RevokeRefreshToken(ctx, id(21), at(time.Hour), "client"))
		isErr(t, "use of a revoked token", s.MarkRefreshTokenUsed(ctx, id(21), at(2*time.Hour)), store.ErrConflict)
		isErr(t, "use of an unknown token", s.MarkRefreshTokenUsed(ctx, id(99), t0), store.ErrNotFound)
	})

	t.Run("MarkUsedConcurrently", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateRefreshToken(ctx, token(20, 1, 0, "f1", t0)))
		exactlyOnce(t, "users of one token", func(w int) error {
			return s.MarkRefreshTokenUsed(ctx, id(20), at(time.Duration(w)*time.Second))
		})
	})

	t.Run("Rotate", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateSession(ctx, fullSession(10, 1, t0)))
		parent := token(20, 1, 10, "f1", t0)
		ok(t, s.CreateRefreshToken(ctx, parent))
		child := token(21, 1, 10, "f1", at(time.Hour))
		child.ParentID, child.Scopes, child.Capabilities = parent.ID, []string{"openid", "User.Read"}, []string{"cp1"}
		ok(t, s.RotateRefreshToken(ctx, parent.ID, at(time.Hour), child))
		got, err := s.GetRefreshTokenByHash(ctx, parent.Hash)
		ok(t, err)
		if got.UsedAt == nil || !got.UsedAt.Equal(stored(at(time.Hour))) {
			t.Fatalf("parent UsedAt = %v after rotation", got.UsedAt)
		}
		got, err = s.GetRefreshTokenByHash(ctx, child.Hash)
		ok(t, err)
		same(t, "child as stored", got, child)

		// A used parent: nothing written.
		again := token(22, 1, 10, "f1", at(2*time.Hour))
		isErr(t, "rotate a used token", s.RotateRefreshToken(ctx, parent.ID, at(2*time.Hour), again), store.ErrConflict)
		_, err = s.GetRefreshTokenByHash(ctx, again.Hash)
		isErr(t, "child of a refused rotation", err, store.ErrNotFound)
		// A revoked parent, an unknown one.
		ok(t, s.RevokeRefreshToken(ctx, child.ID, at(2*time.Hour), "client"))
		isErr(t, "rotate a revoked token", s.RotateRefreshToken(ctx, child.ID, at(3*time.Hour), again), store.ErrConflict)
		isErr(t, "rotate an unknown token", s.RotateRefreshToken(ctx, id(99), at(3*time.Hour), again), store.ErrConflict)
		_, err = s.GetRefreshTokenByHash(ctx, again.Hash)
		isErr(t, "child of refused rotations", err, store.ErrNotFound)
		// A child that cannot be inserted leaves the parent unused.
		fresh := token(23, 1, 0, "f2", t0)
		ok(t, s.CreateRefreshToken(ctx, fresh))
		dup := token(24, 1, 0, "f2", t0)
		dup.Hash = parent.Hash
		isErr(t, "child with a taken hash", s.RotateRefreshToken(ctx, fresh.ID, at(time.Hour), dup), store.ErrConflict)
		got, err = s.GetRefreshTokenByHash(ctx, fresh.Hash)
		ok(t, err)
		if got.UsedAt != nil {
			t.Fatal("a failed rotation marked its parent used")
		}
		// Inside a transaction, too.
		tx := token(25, 1, 0, "f2", at(time.Hour))
		ok(t, s.InTx(ctx, func(x store.Tx) error { return x.RotateRefreshToken(ctx, fresh.ID, at(time.Hour), tx) }))
		_, err = s.GetRefreshTokenByHash(ctx, tx.Hash)
		ok(t, err)
	})

	t.Run("RotateConcurrently", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateRefreshToken(ctx, token(20, 1, 0, "f1", t0)))
		exactlyOnce(t, "rotations of one token", func(w int) error {
			return s.RotateRefreshToken(ctx, id(20), at(time.Second), token(100+w, 1, 0, "f1", at(time.Second)))
		})
	})

	t.Run("Revoke", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1, 2, 3)
		ok(t, s.CreateSession(ctx, fullSession(10, 1, t0)))
		for _, x := range []store.RefreshToken{
			token(20, 1, 10, "fa", t0), token(21, 1, 10, "fa", t0), token(22, 1, 0, "fb", t0),
			token(23, 2, 0, "fc", t0), token(24, 3, 0, "fd", t0),
		} {
			ok(t, s.CreateRefreshToken(ctx, x))
		}
		ok(t, s.RevokeRefreshToken(ctx, id(20), at(time.Hour), "client"))
		ok(t, s.RevokeRefreshToken(ctx, id(20), at(2*time.Hour), "again")) // no error, no change
		isErr(t, "revoke unknown", s.RevokeRefreshToken(ctx, id(99), t0, "x"), store.ErrNotFound)
		got, err := s.GetRefreshTokenByHash(ctx, []byte("hash-20"))
		ok(t, err)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(stored(at(time.Hour))) || got.RevokedReason != "client" {
			t.Fatalf("revoked twice: %v %q", got.RevokedAt, got.RevokedReason)
		}
		counts := []struct {
			what string
			f    func() (int, error)
			want int
		}{
			{"family fa", func() (int, error) { return s.RevokeRefreshTokenFamily(ctx, "fa", at(3*time.Hour), "reuse") }, 1},
			{"family fa again", func() (int, error) { return s.RevokeRefreshTokenFamily(ctx, "fa", at(3*time.Hour), "reuse") }, 0},
			{"session 10", func() (int, error) { return s.RevokeRefreshTokensOfSession(ctx, id(10), at(3*time.Hour), "logout") }, 0},
			{"users 1, 2", func() (int, error) {
				return s.RevokeRefreshTokensOfUsers(ctx, []string{id(1), id(2), id(7)}, at(4*time.Hour), "admin")
			}, 2}, // 22 and 23
		}
		for _, c := range counts {
			n, err := c.f()
			ok(t, err)
			if n != c.want {
				t.Errorf("%s: revoked %d, want %d", c.what, n, c.want)
			}
		}
		got, err = s.GetRefreshTokenByHash(ctx, []byte("hash-24"))
		ok(t, err)
		if got.RevokedAt != nil {
			t.Error("another user's token was revoked")
		}
		ok(t, s.CreateRefreshToken(ctx, token(25, 3, 10, "fe", t0)))
		n, err := s.RevokeRefreshTokensOfSession(ctx, id(10), at(5*time.Hour), "logout")
		ok(t, err)
		if n != 1 {
			t.Errorf("RevokeRefreshTokensOfSession = %d, want 1", n)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		for n := 20; n < 26; n++ {
			x := token(n, 1, 0, "f", t0)
			x.ExpiresAt = at(time.Duration(n-20) * time.Hour) // 20: t0 … 25: t0+5h
			ok(t, s.CreateRefreshToken(ctx, x))
		}
		ok(t, s.RevokeRefreshToken(ctx, id(25), at(time.Hour), "x")) // revoked early, expires late
		n, err := s.DeleteExpiredRefreshTokens(ctx, at(2*time.Hour+time.Second), 2)
		ok(t, err)
		if n != 2 {
			t.Fatalf("first pass deleted %d, want the limit 2", n)
		}
		n, err = s.DeleteExpiredRefreshTokens(ctx, at(2*time.Hour+time.Second), 100)
		ok(t, err)
		if n != 2 { // of 20, 21, 22 and 25, two are left
			t.Fatalf("second pass deleted %d, want 2", n)
		}
		for _, c := range []struct {
			n    int
			gone bool
		}{{20, true}, {21, true}, {22, true}, {23, false}, {24, false}, {25, true}} {
			_, err := s.GetRefreshTokenByHash(ctx, []byte(fmt.Sprintf("hash-%d", c.n)))
			if gone := errors.Is(err, store.ErrNotFound); gone != c.gone {
				t.Errorf("token %d: gone = %v, want %v (%v)", c.n, gone, c.gone, err)
			}
		}
	})
}

// testUserCascade deletes a user who holds one of everything.
func testUserCascade(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	withUsers(t, s, 1, 2)
	ok(t, s.CreateSession(ctx, fullSession(10, 1, t0)))
	ok(t, s.CreateSession(ctx, fullSession(11, 2, t0)))
	ok(t, s.CreateRefreshToken(ctx, token(20, 1, 10, "f", t0)))
	ok(t, s.CreateAuthCode(ctx, authCode(30, 1, t0)))
	dc := deviceCode(40, t0)
	dc.Status, dc.UserID = store.DeviceApproved, id(1)
	ok(t, s.CreateDeviceCode(ctx, dc))
	ok(t, s.PutConsent(ctx, store.Consent{ID: id(50), ClientID: "c", UserID: id(1), Resource: "r", Scopes: []string{"a"}, CreatedAt: t0}))
	ok(t, s.PutConsent(ctx, store.Consent{ID: id(51), ClientID: "c", Resource: "r", Scopes: []string{"b"}, CreatedAt: t0}))
	_, err := s.RecordSignInFailure(ctx, id(1), t0, time.Hour, 5, time.Minute)
	ok(t, err)

	ok(t, s.DeleteUser(ctx, id(1)))
	_, err = s.GetSession(ctx, id(10))
	isErr(t, "session of a deleted user", err, store.ErrNotFound)
	_, err = s.GetRefreshTokenByHash(ctx, []byte("hash-20"))
	isErr(t, "refresh token of a deleted user", err, store.ErrNotFound)
	_, err = s.ConsumeAuthCode(ctx, []byte("code-30"), t0)
	isErr(t, "authorization code of a deleted user", err, store.ErrNotFound)
	_, err = s.GetDeviceCodeByUserCode(ctx, dc.UserCode)
	isErr(t, "device grant approved by a deleted user", err, store.ErrNotFound)
	cs, err := s.ListConsents(ctx, "c", id(1))
	ok(t, err)
	sameIDs(t, "consents left", ids(cs, consentID), idList(51))
	th, err := s.GetSignInThrottle(ctx, id(1))
	ok(t, err)
	if th.Failures != 0 {
		t.Errorf("throttle of a deleted user: %+v", th)
	}
	_, err = s.GetSession(ctx, id(11))
	ok(t, err) // the other user's session stays
}
