package revocation

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

func TestAppendClaimsChangeInTx(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		a, b := f.user("a@contoso.com"), f.user("b@contoso.com")
		f.session(a.ID)
		at := t0.Add(90*time.Second + 1234) // sub-microsecond part is dropped
		changes := []ClaimsChange{
			{UserID: a.ID, Claims: map[string]any{"wids": []string{"r1"}}},
			{UserID: "no-such-user", Claims: map[string]any{"wids": []string{}}},
			{UserID: b.ID}, // nothing changed: no event
			{UserID: a.ID, Claims: map[string]any{"groups": []string{"g1"}}},
		}
		err := f.st.InTx(f.ctx, func(tx store.Tx) error {
			return AppendClaimsChangeInTx(f.ctx, tx, app(), changes, at, "corr-1")
		})
		if err != nil {
			t.Fatal(err)
		}
		es := f.outbox()
		if len(es) != 1 {
			t.Fatalf("%d events, want 1 (a's, merged)", len(es))
		}
		e := es[0]
		p := payload(t, e)
		if e.Type != ssf.EventTokenClaimsChange || e.UserID != a.ID || e.SessionID != "" || p.Type != e.Type ||
			p.Txn != "corr-1" || p.Cause != "claimsChanged" || p.Subject.UserID != a.ID || p.Subject.UserPrincipalName != a.UserPrincipalName ||
			p.InitiatingEntity != ssf.InitiatedByAdmin || p.EventTimestamp != at.Unix() || !p.RevokedAt.IsZero() || p.RevocationID != "" {
			t.Fatalf("event %+v, payload %+v", e, p)
		}
		if strings.Contains(string(e.Payload), "revokedAt") {
			t.Errorf("payload names revokedAt: %s", e.Payload)
		}
		var body ssf.TokenClaimsChange
		if err := json.Unmarshal(p.Body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"wids": []any{"r1"}, "groups": []any{"g1"}}
		if body.EventTimestamp != at.Unix() || body.InitiatingEntity != ssf.InitiatedByAdmin || !reflect.DeepEqual(body.Claims, want) {
			t.Fatalf("body %s", p.Body)
		}
		// Nothing taken away, nothing audited here.
		f.wantUntouched(a.ID)
		if r := f.audit(); len(r) != 0 {
			t.Fatalf("%d audit records", len(r))
		}

		// A failing outbox append fails the call.
		boom := errors.New("boom")
		err = f.st.InTx(f.ctx, func(tx store.Tx) error {
			return AppendClaimsChangeInTx(f.ctx, failingTx{tx, boom}, Initiator{}, changes[:1], at, "")
		})
		if !errors.Is(err, boom) || len(f.outbox()) != 1 {
			t.Fatalf("failing outbox: %v, %d events", err, len(f.outbox()))
		}
		// No change, no write.
		err = f.st.InTx(f.ctx, func(tx store.Tx) error {
			return AppendClaimsChangeInTx(f.ctx, failingTx{tx, boom}, Initiator{}, changes[2:3], at, "")
		})
		if err != nil {
			t.Fatalf("no change: %v", err)
		}
	})
}
