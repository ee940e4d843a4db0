package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func testConsents(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	withUsers(t, s, 1, 2)
	grant := func(n int, client, user, resource string, scopes ...string) store.Consent {
		return store.Consent{ID: id(n), ClientID: client, UserID: user, Resource: resource, Scopes: scopes, CreatedAt: at(time.Duration(n) * time.Second)}
	}
	tenant := grant(50, "app", "", "graph", "User.Read")
	mine := grant(51, "app", id(1), "graph", "Mail.Read", "User.Read")
	other := grant(52, "app", id(1), "api", "x")
	for _, c := range []store.Consent{tenant, mine, other, grant(53, "app", id(2), "graph", "y"), grant(54, "other", "", "graph", "z")} {
		ok(t, s.PutConsent(ctx, c))
	}
	// Adding scopes: new ones appended, known ones kept once; id and
	// CreatedAt of the existing grant stay.
	ok(t, s.PutConsent(ctx, grant(55, "app", id(1), "graph", "Files.Read", "Mail.Read")))
	mine.Scopes = []string{"Mail.Read", "User.Read", "Files.Read"}

	got, err := s.ListConsents(ctx, "app", id(1))
	ok(t, err)
	same(t, "ListConsents for user 1", got, []store.Consent{tenant, other, mine})
	got, err = s.ListConsents(ctx, "app", "")
	ok(t, err)
	same(t, "ListConsents tenant-wide", got, []store.Consent{tenant})
	got, err = s.ListConsents(ctx, "nobody", id(1))
	ok(t, err)
	sameIDs(t, "ListConsents of an unknown client", ids(got, consentID), nil)

	isErr(t, "unknown user", s.PutConsent(ctx, grant(56, "app", id(9), "graph", "x")), store.ErrNotFound)
	isErr(t, "id of another grant", s.PutConsent(ctx, grant(50, "app", id(2), "new", "x")), store.ErrConflict)
	ok(t, s.DeleteConsent(ctx, id(51)))
	isErr(t, "delete again", s.DeleteConsent(ctx, id(51)), store.ErrNotFound)
	got, err = s.ListConsents(ctx, "app", id(1))
	ok(t, err)
	sameIDs(t, "after delete", ids(got, consentID), idList(50, 52))

	// Concurrent first grants of one triple end as one grant holding every
	// scope.
	parallel(t, 8, 1, func(w, _ int) error {
		return s.PutConsent(ctx, grant(60+w, "race", id(2), "graph", fmt.Sprintf("s%d", w)))
	})
	got, err = s.ListConsents(ctx, "race", id(2))
	ok(t, err)
	if len(got) != 1 || len(got[0].Scopes) != 8 {
		t.Fatalf("concurrent grants: %+v", got)
	}
}

func testPolicies(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	global := store.Policy{Scope: store.PolicyGlobal, Document: []byte(`{"accessTokenLifetime":"1h"}`), UpdatedAt: t0}
	app := store.Policy{Scope: id(900), Document: []byte(`{}`), UpdatedAt: at(time.Hour)}
	for _, p := range []store.Policy{global, app} {
		roundTrip(t, p, s.PutPolicy, map[string]func(store.Policy) (store.Policy, error){
			"GetPolicy": func(p store.Policy) (store.Policy, error) { return s.GetPolicy(ctx, p.Scope) },
		})
	}
	global.Document, global.UpdatedAt = []byte(`{"accessTokenLifetime":"2h"}`), at(2*time.Hour)
	ok(t, s.PutPolicy(ctx, global))
	got, err := s.ListPolicies(ctx)
	ok(t, err)
	same(t, "ListPolicies by scope", got, []store.Policy{app, global})
	ok(t, s.DeletePolicy(ctx, id(900)))
	isErr(t, "delete again", s.DeletePolicy(ctx, id(900)), store.ErrNotFound)
	_, err = s.GetPolicy(ctx, id(900))
	isErr(t, "deleted policy", err, store.ErrNotFound)
	got, err = s.ListPolicies(ctx)
	ok(t, err)
	sameIDs(t, "policies left", ids(got, policyScope), []string{store.PolicyGlobal})
}

func testSignInThrottles(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Counting", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		const window, lockAfter, lockFor = 10 * time.Minute, 3, 5 * time.Minute
		got, err := s.GetSignInThrottle(ctx, id(1))
		ok(t, err)
		same(t, "no counter", got, store.SignInThrottle{UserID: id(1)})
		fail := func(d time.Duration) store.SignInThrottle {
			t.Helper()
			th, err := s.RecordSignInFailure(ctx, id(1), at(d), window, lockAfter, lockFor)
			ok(t, err)
			return th
		}
		want := func(failures int, first time.Duration, locked *time.Duration) store.SignInThrottle {
			th := store.SignInThrottle{UserID: id(1), Failures: failures, FirstFailAt: at(first)}
			if locked != nil {
				th.LockedUntil = ptr(at(*locked))
			}
			return th
		}
		lockedTo := func(d time.Duration) *time.Duration { return &d }
		steps := []struct {
			what string
			at   time.Duration
			want store.SignInThrottle
		}{
			{"first failure", 0, want(1, 0, nil)},
			{"second", time.Minute, want(2, 0, nil)},
			{"third locks", 2 * time.Minute, want(3, 0, lockedTo(7*time.Minute))},
			{"during the lock: counted, lock kept", 3 * time.Minute, want(4, 0, lockedTo(7*time.Minute))},
			{"after the lock, still over: locks again", 8 * time.Minute, want(5, 0, lockedTo(13*time.Minute))},
			{"window passed but locked: restart, lock kept", 12 * time.Minute, want(1, 12*time.Minute, lockedTo(13*time.Minute))},
			{"lock expired, under the threshold: cleared", 14 * time.Minute, want(2, 12*time.Minute, nil)},
		}
		for _, st := range steps {
			same(t, st.what, fail(st.at), st.want)
		}
		got, err = s.GetSignInThrottle(ctx, id(1))
		ok(t, err)
		same(t, "GetSignInThrottle", got, steps[len(steps)-1].want)
		ok(t, s.ResetSignInThrottle(ctx, id(1)))
		ok(t, s.ResetSignInThrottle(ctx, id(1)))
		same(t, "after reset", fail(20*time.Minute), want(1, 20*time.Minute, nil))
		_, err = s.RecordSignInFailure(ctx, id(9), t0, window, lockAfter, lockFor)
		isErr(t, "unknown user", err, store.ErrNotFound)
	})

	t.Run("NoLostIncrements", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		const workers, per = 16, 5
		parallel(t, workers, per, func(w, i int) error {
			_, err := s.RecordSignInFailure(ctx, id(1), at(time.Duration(w*per+i)*time.Millisecond), time.Hour, 1000, time.Minute)
			return err
		})
		got, err := s.GetSignInThrottle(ctx, id(1))
		ok(t, err)
		if got.Failures != workers*per {
			t.Fatalf("%d failures counted of %d", got.Failures, workers*per)
		}
	})
}
