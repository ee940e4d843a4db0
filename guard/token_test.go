package guard

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestVerify(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, nil)
	now := clock.Now()
	iat := now.Add(-time.Minute)
	const oid, sid = "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f", "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"

	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(ti.atKey.Public().Key)
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(c map[string]any)) map[string]any {
		c := ti.claims(oid, sid, iat)
		f(c)
		return c
	}
	valid := ti.claims(oid, sid, iat)
	noneToken := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"at-1"}`))
		p, _ := json.Marshal(valid)
		return h + "." + base64.RawURLEncoding.EncodeToString(p) + "."
	}

	tests := []struct {
		name  string
		token string
		want  Kind
	}{
		{"valid", ti.mint(valid), 0},
		{"typ JWT (an ID token)", sign(t, ti.atKey, jose.ES256, "JWT", valid), KindType},
		{"no typ", sign(t, ti.atKey, jose.ES256, "", valid), KindType},
		{"typ application/at+jwt", sign(t, ti.atKey, jose.ES256, "application/at+jwt", valid), 0},
		{"alg none", noneToken(), KindAlgorithm},
		{"HS256 keyed with the public key", sign(t, jose.JSONWebKey{Key: pubDER, KeyID: "at-1"}, jose.HS256, "at+jwt", valid), KindAlgorithm},
		{"signed by another key with the same kid", sign(t, jose.JSONWebKey{Key: otherKey, KeyID: "at-1"}, jose.ES256, "at+jwt", valid), KindSignature},
		{"unknown kid", sign(t, jose.JSONWebKey{Key: otherKey, KeyID: "at-9"}, jose.ES256, "at+jwt", valid), KindUnknownKey},
		{"wrong iss", ti.mint(with(func(c map[string]any) { c["iss"] = "https://evil.example" })), KindIssuer},
		{"wrong aud", ti.mint(with(func(c map[string]any) { c["aud"] = "api://other" })), KindAudience},
		{"aud array naming ours", ti.mint(with(func(c map[string]any) { c["aud"] = []string{"api://other", testAudience} })), 0},
		{"expired beyond skew", ti.mint(with(func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() })), KindExpired},
		{"expired within skew", ti.mint(with(func(c map[string]any) { c["exp"] = now.Add(-29 * time.Second).Unix() })), 0},
		{"nbf in the future", ti.mint(with(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })), KindNotYetValid},
		{"nbf within skew", ti.mint(with(func(c map[string]any) { c["nbf"] = now.Add(20 * time.Second).Unix() })), 0},
		{"iat in the future", ti.mint(with(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })), KindNotYetValid},
		{"lifetime of MaxTokenLifetime (28 h)", ti.mint(with(func(c map[string]any) { c["exp"] = iat.Add(28 * time.Hour).Unix() })), 0},
		{"lifetime beyond MaxTokenLifetime", ti.mint(with(func(c map[string]any) { c["exp"] = iat.Add(28*time.Hour + time.Second).Unix() })), KindMalformed},
		{"no exp", ti.mint(with(func(c map[string]any) { delete(c, "exp") })), KindMalformed},
		{"no iat", ti.mint(with(func(c map[string]any) { delete(c, "iat") })), KindMalformed},
		{"not a JWS", "not.a.jws", KindMalformed},
		{"two segments", "abc.def", KindMalformed},
		{"tampered payload", tamper(ti.mint(valid)), KindSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := g.Verify(context.Background(), tt.token)
			if got := kindOf(err); got != tt.want {
				t.Fatalf("Verify: kind %v (%v), want %v", got, err, tt.want)
			}
			if tt.want == 0 && (id == nil || id.ObjectID != oid) {
				t.Fatalf("Verify: identity %+v, want oid %s", id, oid)
			}
		})
	}

	// Revocation verdicts of the table, on an otherwise valid token.
	revoked := []struct {
		name  string
		apply func(tb *table)
		want  Kind
		from  int64
	}{
		{"validFrom after iat", func(tb *table) { tb.revokeUser(oid, now.Unix()+1) }, KindRevoked, now.Unix() + 1},
		{"validFrom equal to iat stands", func(tb *table) { tb.revokeUser(oid, iat.Unix()) }, 0, 0},
		{"validFrom before iat stands", func(tb *table) { tb.revokeUser(oid, iat.Unix()-10) }, 0, 0},
		{"session revoked", func(tb *table) { tb.revokeSession(sid, now.Unix()) }, KindSessionRevoked, now.Unix() + 1},
		{"other session revoked", func(tb *table) { tb.revokeSession("11111111-2222-3333-4444-555555555555", now.Unix()) }, 0, 0},
		{"user disabled", func(tb *table) { tb.disableUser(oid, now.Unix()+1) }, KindUserDisabled, now.Unix() + 1},
		{"user disabled then enabled (T stays)", func(tb *table) {
			tb.disableUser(oid, now.Unix()+1)
			tb.enableUser(oid)
		}, KindRevoked, now.Unix() + 1},
		{"other user revoked", func(tb *table) { tb.revokeUser("99999999-2222-3333-4444-555555555555", now.Unix()+1) }, 0, 0},
	}
	tok := ti.mint(valid)
	for _, tt := range revoked {
		t.Run("table/"+tt.name, func(t *testing.T) {
			g.table = newTable()
			tt.apply(g.table)
			_, err := g.Verify(context.Background(), tok)
			if got := kindOf(err); got != tt.want {
				t.Fatalf("Verify: kind %v (%v), want %v", got, err, tt.want)
			}
			if err != nil && err.(*Error).ValidFrom.Unix() != tt.from {
				t.Errorf("ValidFrom %d, want %d", err.(*Error).ValidFrom.Unix(), tt.from)
			}
		})
	}
}

// tamper flips the payload of a compact JWS to claim another user.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	p = []byte(strings.Replace(string(p), `"oid":"5d1e`, `"oid":"6d1e`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}

func TestIdentity(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, nil)
	c := ti.claims("u-1", "s-1", clock.Now())
	c["roles"] = []string{"Orders.Admin"}
	c["xms_cc"] = []string{"CP1"}
	id, err := g.Verify(context.Background(), ti.mint(c))
	if err != nil {
		t.Fatal(err)
	}
	if id.ObjectID != "u-1" || id.Subject != "u-1" || id.SessionID != "s-1" || id.TenantID != "tenant-1" ||
		id.ClientID != "client-app" || id.UPN != "ada@example.com" || id.AppOnly ||
		!id.HasScope("Orders.Write") || !id.HasRole("Orders.Admin") || !id.cp1 ||
		id.IssuedAt.Unix() != clock.Now().Unix() || !json.Valid(id.Claims) {
		t.Fatalf("identity %+v", id)
	}
	// Non-GUID ids use the string maps of the table.
	g.table.revokeUser("u-1", clock.Now().Unix()+1)
	if _, err := g.Verify(context.Background(), ti.mint(c)); kindOf(err) != KindRevoked {
		t.Fatalf("non-GUID oid: %v, want revoked", err)
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := New(Config{Algorithms: []string{"none", "HS256", "ES256"}, Skew: time.Hour, FailClosedAfter: -1})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"Issuer", "Audiences", `"none"`, `"HS256"`, "Skew", "FailClosedAfter", "Stream is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"ES256"`) {
		t.Errorf("ES256 refused: %v", err)
	}
	_, err = New(Config{Issuer: "https://idp", Audiences: []string{"a"}, Stream: &Stream{PushURL: "relative"}})
	if err == nil || !strings.Contains(err.Error(), "ClientID") || !strings.Contains(err.Error(), "PushURL") {
		t.Fatalf("stream problems not reported: %v", err)
	}
}
