package ssfserver_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/ssf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSETShape polls the SETs of real revocations and compares their
// claims, with iat, jti and ids normalised, to golden files.
func TestSETShape(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		alice, _ := h.user("alice@contoso.com")
		bob, bobSID := h.user("bob@contoso.com")
		h.revoke(revocation.CauseAccountDisabled, "rev-1", "Offboarding", alice.ID)
		h.endSession(bobSID, session.Initiator{UserID: bob.ID})
		h.revoke(revocation.CausePasswordChanged, "rev-2", "Reset by helpdesk", bob.ID)
		replace := strings.NewReplacer(alice.ID, "<alice>", bob.ID, "<bob>", bobSID, "<bob-session>")

		rsa, err := h.km.Signer(h.ctx, jose.RS256)
		if err != nil {
			t.Fatal(err)
		}
		var acks []string
		seen := map[string]int{}
		for range 10 {
			resp := h.poll(t, tok, id, ssf.PollRequest{Ack: acks, ReturnImmediately: true})
			if len(resp.Sets) == 0 {
				break
			}
			acks = nil
			for jti, raw := range resp.Sets {
				acks = append(acks, jti)
				hdr, set := h.verifySET(raw)
				if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != ssf.SETType || hdr.Algorithm != "RS256" || hdr.KeyID != rsa.KeyID() {
					t.Errorf("header = typ %v alg %s kid %s; want secevent+jwt, RS256, %s", hdr.ExtraHeaders[jose.HeaderType], hdr.Algorithm, hdr.KeyID, rsa.KeyID())
				}
				if set.JTI != jti || set.IssuedAt != h.clock.Now().Unix() {
					t.Errorf("jti %q (key %q), iat %d (now %d)", set.JTI, jti, set.IssuedAt, h.clock.Now().Unix())
				}
				claims := rawClaims(t, raw)
				for _, banned := range []string{"sub", "exp"} {
					if _, ok := claims[banned]; ok {
						t.Errorf("SET has %q: %s", banned, raw)
					}
				}
				claims["iat"], claims["jti"] = "<iat>", "<jti>"
				if !strings.HasPrefix(set.Txn, "rev-") { // session.End's txn is its outbox event id
					claims["txn"] = "<event id>"
				}
				typ := eventType(t, set)
				name := strings.TrimPrefix(strings.TrimPrefix(typ, ssf.CAEPBase), ssf.RISCBase)
				if set.SubID != nil && set.SubID.Session != nil {
					name += "_session"
				}
				if set.Txn == "rev-2" {
					name += "_password"
				}
				seen[name]++
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				_ = enc.Encode(claims)
				golden(t, "set_"+name, []byte(replace.Replace(b.String())))
			}
		}
		for _, name := range []string{"account-disabled", "session-revoked", "session-revoked_session",
			"credential-change_password", "session-revoked_password"} {
			if seen[name] != 1 {
				t.Errorf("got %d %s SETs, want 1 (all: %v)", seen[name], name, seen)
			}
		}
	})
}

func rawClaims(t testing.TB, compact string) map[string]any {
	t.Helper()
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %s", compact)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// golden compares got with testdata/name.golden.json (rewritten with
// -update).
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden file\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
