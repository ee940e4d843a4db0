package oauth

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

func TestIssueDelegated(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	tokens := &AccessTokens{Issuer: d.issuer, Signers: d.keys, Meta: d.store, Now: d.clock.Now, Lifetime: 30 * time.Minute}
	ctx := context.Background()
	tok, life, err := tokens.Issue(ctx, AccessToken{
		Subject: "user-1", Audience: authz.GraphResource, ClientID: "cli-1",
		Scopes: []string{"User.Read", "User.RevokeSessions.All"}, RoleTemplateIDs: []string{"62e90394-69f5-4237-9190-012177145e10"},
		SessionID: "sid-1", ClientCapabilities: []string{"cp1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if life != 30*time.Minute {
		t.Fatalf("lifetime %s", life)
	}
	p, err := d.verifier.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != authz.Delegated || p.ObjectID != "user-1" || p.SessionID != "sid-1" || p.TenantID != testTenant ||
		!p.HasScope("User.RevokeSessions.All") || p.HasRole("User.Read") || len(p.RoleTemplateIDs) != 1 {
		t.Fatalf("principal %+v", p)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c)
	for _, want := range []string{`"scp":"User.Read User.RevokeSessions.All"`, `"xms_cc":["cp1"]`, `"idtyp":"user"`, `"sid":"sid-1"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("claims %s lack %s", raw, want)
		}
	}
	if _, ok := c["roles"]; ok {
		t.Error("empty roles claim emitted")
	}

	// AppOnly drops delegated-only claims even when set by mistake.
	tok, _, err = tokens.Issue(ctx, AccessToken{Subject: "sp-1", Audience: authz.GraphResource, ClientID: "cli-1",
		AppOnly: true, Roles: []string{"User.Read.All"}, Scopes: []string{"User.Read"}, SessionID: "sid-1"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := d.verifier.Verify(ctx, tok); err != nil || p.Kind != authz.AppOnly || p.SessionID != "" || len(p.Scopes) != 0 ||
		!slices.Equal(p.Roles, []string{"User.Read.All"}) {
		t.Fatalf("app-only principal %+v, %v", p, err)
	}

	if _, _, err := (&AccessTokens{Signers: d.keys, Meta: d.store}).Issue(ctx, AccessToken{Subject: "s", Audience: "a", ClientID: "c"}); err == nil {
		t.Error("Issue without an Issuer succeeded")
	}
	for _, bad := range []AccessToken{{Audience: "a", ClientID: "c"}, {Subject: "s", ClientID: "c"}, {Subject: "s", Audience: "a"}} {
		if _, _, err := tokens.Issue(ctx, bad); err == nil {
			t.Errorf("Issue(%+v) succeeded", bad)
		}
	}
}

// TestIssueAfterRevocationInTheSameSecond: a delegated token issued after
// a revocation in the same second gets iat at the next whole second (not
// the current one, which is before the user's validFrom and would make
// the token revoked from birth); otherwise iat is the clock's.
func TestIssueAfterRevocationInTheSameSecond(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	now := time.Date(2026, 3, 4, 12, 0, 0, 700_000_000, time.UTC)
	tokens := &AccessTokens{Issuer: d.issuer, Signers: d.keys, Meta: d.store, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name      string
		validFrom time.Time
		wantIAT   int64
	}{
		{"revoked in this second, before now", now.Add(-200 * time.Millisecond), now.Truncate(time.Second).Unix() + 1},
		{"revoked in an earlier second", now.Add(-1500 * time.Millisecond), now.Unix()},
		{"revoked on a whole second", now.Truncate(time.Second), now.Unix()},
		{"never revoked", time.Time{}, now.Unix()},
	} {
		tok, _, err := tokens.Issue(context.Background(), AccessToken{Subject: "user-1", Audience: authz.GraphResource,
			ClientID: "cli-1", Scopes: []string{"User.Read"}, ValidFrom: tc.validFrom})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var c jwt.Claims
		if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
			t.Fatal(err)
		}
		if got := int64(*c.IssuedAt); got != tc.wantIAT || int64(*c.NotBefore) != now.Unix() {
			t.Errorf("%s: iat %d nbf %d, want iat %d nbf %d", tc.name, got, int64(*c.NotBefore), tc.wantIAT, now.Unix())
		}
	}
}
