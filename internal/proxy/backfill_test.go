package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/guard"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestGuardRestartKeepsEarlierRevocations: a guard that starts after
// revocations happened (a resource server restarted, or a new replica)
// refuses the revoked tokens as soon as it is ready, because its stream is
// created with a backfill of the longest token lifetime; tokens nobody
// revoked stay accepted.
func TestGuardRestartKeepsEarlierRevocations(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		tr := newTransmitter(t, st)
		a, _, tokA := tr.user()
		b, sidB, tokB := tr.user()
		tokB2 := tr.token(b, uuid.NewString()) // another session of b
		c, _, tokC := tr.user()
		_, _, tokD := tr.user()

		t.Run("first guard", func(t *testing.T) {
			g := tr.startGuard(t, false)
			tr.apply(revocation.CauseAdminRevoke, a)
			waitFor(t, 5*time.Second, "a's revocation", func() bool { return verifyKind(t, g, tokA) == guard.KindRevoked })
		}) // the guard stops and deletes its stream
		// While no guard runs:
		svc := &session.Service{Store: st, Secrets: tr.secret}
		if err := svc.End(context.Background(), sidB, "logout", session.Initiator{}); err != nil {
			t.Fatal(err)
		}
		tr.apply(revocation.CauseAccountDisabled, c)

		want := map[string]guard.Kind{tokA: guard.KindRevoked, tokB: guard.KindSessionRevoked, tokC: guard.KindUserDisabled,
			tokB2: 0, tokD: 0}
		names := map[string]string{tokA: "a (revoked)", tokB: "b's ended session", tokC: "c (disabled)",
			tokB2: "b's other session", tokD: "an untouched user"}
		t.Run("poll, at ready", func(t *testing.T) {
			g := tr.startGuard(t, false)
			for tok, k := range want {
				if got := verifyKind(t, g, tok); got != k {
					t.Errorf("restarted guard, %s: %v, want %v", names[tok], got, k)
				}
			}
		})
		t.Run("push", func(t *testing.T) {
			g := tr.startGuard(t, true)
			for tok, k := range want {
				waitFor(t, 5*time.Second, names[tok], func() bool { return verifyKind(t, g, tok) == k })
			}
		})
	})
}

// verifyKind is the kind of g's refusal of tok, 0 when accepted.
func verifyKind(t *testing.T, g *guard.Guard, tok string) guard.Kind {
	t.Helper()
	_, err := g.Verify(context.Background(), tok)
	var ge *guard.Error
	if errors.As(err, &ge) {
		return ge.Kind
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}
