package ssfserver_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// TestTokenClaimsChangeSET assigns a directory role through the real
// producer (directory.CreateRoleAssignment, which appends a CAEP
// token-claims-change in its transaction) and polls the SET: a user
// subject, txn = the audit record's correlation id, and the new wids.
func TestTokenClaimsChangeSET(t *testing.T) {
	const globalAdmin = "62e90394-69f5-4237-9190-012177145e10"
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		alice, _ := h.user("alice@contoso.com")
		dir := &directory.Service{Store: h.st, Now: h.clock.Now}
		ctx := directory.WithInitiator(h.ctx, revocation.Initiator{Principal: &authz.Principal{Kind: authz.AppOnly, ClientID: "admin-app"}})
		if _, err := dir.CreateRoleAssignment(ctx, alice.ID, globalAdmin, "/"); err != nil {
			t.Fatal(err)
		}
		audit, err := h.st.ListAudit(h.ctx, store.Query{Top: 1})
		if err != nil || len(audit.Items) != 1 || audit.Items[0].ActivityDisplayName != directory.ActivityAddRoleMember {
			t.Fatalf("audit: %+v, %v", audit.Items, err)
		}
		corr := audit.Items[0].CorrelationID

		resp := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if len(resp.Sets) != 1 {
			t.Fatalf("got %d SETs, want 1: %v", len(resp.Sets), resp.Sets)
		}
		for _, raw := range resp.Sets {
			_, set := h.verifySET(raw)
			if typ := eventType(t, set); typ != ssf.EventTokenClaimsChange || set.Txn != corr {
				t.Fatalf("SET %s txn %q, want token-claims-change txn %q", typ, set.Txn, corr)
			}
			var body ssf.TokenClaimsChange
			if err := json.Unmarshal(set.Events[ssf.EventTokenClaimsChange], &body); err != nil {
				t.Fatal(err)
			}
			if body.InitiatingEntity != ssf.InitiatedByAdmin || body.EventTimestamp != h.clock.Now().Unix() {
				t.Errorf("body = %+v", body)
			}
			claims := rawClaims(t, raw)
			claims["iat"], claims["jti"], claims["txn"] = "<iat>", "<jti>", "<correlation id>"
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			_ = enc.Encode(claims)
			golden(t, "set_token-claims-change", []byte(strings.NewReplacer(alice.ID, "<alice>").Replace(b.String())))
		}
	})
}
