package directory

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/revocation"
)

// jwkJSON is the JSON of key (public or private) as a JWK with kid.
func jwkJSON(t *testing.T, key any, kid string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustKey[K any](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

func TestOIDCSettingsProblems(t *testing.T) {
	ec := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ec384 := mustKey(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	rsa1024 := mustKey(rsa.GenerateKey(rand.Reader, 1024))
	edPub, _ := mustKeyPair(ed25519.GenerateKey(rand.Reader))
	set := func(keys ...string) Optional[json.RawMessage] {
		return Some(json.RawMessage(`{"keys":[` + strings.Join(keys, ",") + `]}`))
	}
	good := jwkJSON(t, &ec.PublicKey, "ec1")
	cases := []struct {
		name string
		in   OIDCSettingsInput
		want []string // each a part of one problem; nil: no problem
	}{
		{"all good", OIDCSettingsInput{
			PostLogoutRedirectURIs:   Some([]string{"https://rp.example/bye", "http://127.0.0.1:8400/bye", "http://localhost/bye?x=1"}),
			BackchannelLogoutURI:     Some("https://rp.example/bc"),
			IDTokenSignedResponseAlg: Some("EdDSA"),
			JWKS:                     set(good, jwkJSON(t, edPub, "ed1"), jwkJSON(t, &mustKey(rsa.GenerateKey(rand.Reader, 2048)).PublicKey, "rsa1")),
		}, nil},
		{"nulls", OIDCSettingsInput{PostLogoutRedirectURIs: Null[[]string](), BackchannelLogoutURI: Null[string](),
			IDTokenSignedResponseAlg: Null[string](), JWKS: Null[json.RawMessage](), JWKSURI: Null[string]()}, nil},
		{"jwks_uri", OIDCSettingsInput{JWKSURI: Some("https://rp.example/jwks.json")}, nil},
		{"post-logout URIs", OIDCSettingsInput{PostLogoutRedirectURIs: Some([]string{
			"http://rp.example/bye", "https://rp.example/bye#x", "/relative", "https://rp.example/bye", "https://rp.example/bye", "",
			"custom://cb", "https://user@rp.example/", "https://rp.example/a b",
		})}, []string{
			`post_logout_redirect_uris[0] "http://rp.example/bye": must use https, or http on localhost`,
			`[1] "https://rp.example/bye#x": must not contain a fragment`,
			`[2] "/relative": must be an absolute URI`,
			`[4] "https://rp.example/bye": duplicate URI`,
			`[5] "": must not be empty`,
			`[6] "custom://cb": must use https`,
			`[7] "https://user@rp.example/": must not contain user information`,
			`[8] "https://rp.example/a b": must not contain whitespace`,
		}},
		{"too many post-logout URIs", OIDCSettingsInput{PostLogoutRedirectURIs: Some(slices.Repeat([]string{"https://rp.example/"}, 33))},
			[]string{"at most 32 URIs are allowed, not 33"}},
		{"back-channel URI", OIDCSettingsInput{BackchannelLogoutURI: Some("http://rp.example/bc#f")},
			[]string{`backchannel_logout_uri "http://rp.example/bc#f": must not contain a fragment`}},
		{"back-channel http", OIDCSettingsInput{BackchannelLogoutURI: Some("http://rp.example/bc")},
			[]string{`backchannel_logout_uri "http://rp.example/bc": must use https, or http on localhost`}},
		{"algorithm", OIDCSettingsInput{IDTokenSignedResponseAlg: Some("HS256")},
			[]string{`id_token_signed_response_alg "HS256": must be one of RS256, ES256, EdDSA`}},
		{"jwks_uri http", OIDCSettingsInput{JWKSURI: Some("http://127.0.0.1/jwks")},
			[]string{`jwks_uri "http://127.0.0.1/jwks": must use https`}},
		{"both key sources", OIDCSettingsInput{JWKS: set(good), JWKSURI: Some("https://rp.example/jwks")},
			[]string{"jwks and jwks_uri are mutually exclusive"}},
		{"not a set", OIDCSettingsInput{JWKS: Some(json.RawMessage(`{"kty":"EC"}`))}, []string{`jwks: must be a JWK Set`}},
		{"empty set", OIDCSettingsInput{JWKS: set()}, []string{"jwks: the set holds no key"}},
		{"keys", OIDCSettingsInput{JWKS: set(
			jwkJSON(t, ec, "private"),
			jwkJSON(t, &ec.PublicKey, ""),
			jwkJSON(t, &ec384.PublicKey, "p384"),
			jwkJSON(t, &rsa1024.PublicKey, "small"),
			`{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}`,
			`{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"broken"}`,
			`"a string"`,
			good, good,
			strings.Replace(jwkJSON(t, edPub, "ed"), `"kid"`, `"alg":"ES256","use":"enc","kid"`, 1),
		)}, []string{
			`jwks.keys[0] (kid "private"): holds private or secret key material ("d")`,
			`jwks.keys[1]: has no "kid"`,
			`jwks.keys[2] (kid "p384"): curve P-384 cannot be used`,
			`jwks.keys[3] (kid "small"): an RSA key of 1024 bits is too weak`,
			`jwks.keys[4] (kid "hmac"): holds private or secret key material ("k")`,
			`jwks.keys[5] (kid "broken"): is not a valid JWK`,
			`jwks.keys[6]: must be a JSON object`,
			`jwks.keys[8] (kid "ec1"): another key has the same kid`,
			`jwks.keys[9] (kid "ed"): alg "ES256" does not fit: this key verifies EdDSA assertions`,
			`jwks.keys[9] (kid "ed"): use "enc"`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.Problems()
			if len(got) != len(c.want) {
				t.Fatalf("Problems() =\n%s\nwant %d problems", strings.Join(got, "\n"), len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			err := c.in.Validate("extra problem")
			de := wantErr(t, err, KindInvalid, "Invalid OpenID Connect client settings: extra problem")
			if n := strings.Count(de.Message, "; ") + 1; n != len(c.want)+1 {
				t.Errorf("message lists %d problems, want %d: %s", n, len(c.want)+1, de.Message)
			}
		})
	}
}

func mustKeyPair(pub ed25519.PublicKey, priv ed25519.PrivateKey, err error) (ed25519.PublicKey, ed25519.PrivateKey) {
	if err != nil {
		panic(err)
	}
	return pub, priv
}

// TestUpdateOIDCSettings: members present change, null resets, absent ones
// stay; the client lookup sees each change at once; jwks and a stored
// jwks_uri exclude each other; every change is one audited "Update
// application" naming the settings changed.
func TestUpdateOIDCSettings(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.tick()
		ctx := WithInitiator(f.ctx, testAdmin)
		app, _ := f.app("rp")
		// The token service reads clients through the lookup cache: fill it.
		if c, err := f.backend().GetClientByAppID(ctx, app.AppID); err != nil || c.Application.IDTokenSignedResponseAlg != "" {
			t.Fatalf("client before = %+v, %v", c, err)
		}
		ec := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
		jwks := `{ "keys": [ ` + jwkJSON(t, &ec.PublicKey, "k1") + ` ] }`
		got, err := f.UpdateOIDCSettings(ctx, app.AppID, OIDCSettingsInput{
			PostLogoutRedirectURIs:   Some([]string{"https://rp.example/bye"}),
			BackchannelLogoutURI:     Some("https://rp.example/bc"),
			IDTokenSignedResponseAlg: Some("ES256"),
			JWKS:                     Some(json.RawMessage(jwks)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.PostLogoutRedirectURIs, []string{"https://rp.example/bye"}) || got.BackchannelLogoutURI != "https://rp.example/bc" ||
			got.IDTokenSignedResponseAlg != "ES256" || strings.Contains(string(got.JWKS), " ") || got.DisplayName != "rp" {
			t.Fatalf("after update = %+v (jwks %s)", got, got.JWKS)
		}
		c, err := f.backend().GetClientByAppID(ctx, app.AppID)
		if err != nil || c.Application.IDTokenSignedResponseAlg != "ES256" || string(c.Application.JWKS) != string(got.JWKS) {
			t.Fatalf("client after = %+v, %v: the lookup cache kept the old registration", c.Application, err)
		}

		// A jwks_uri while the JWK Set stays: refused, nothing changes.
		_, err = f.UpdateOIDCSettings(ctx, app.ID, OIDCSettingsInput{JWKSURI: Some("https://rp.example/jwks")})
		wantErr(t, err, KindInvalid, "jwks and jwks_uri are mutually exclusive: the application has the other one")
		// Swapped in one request, with the algorithm reset: fine.
		got, err = f.UpdateOIDCSettings(ctx, app.ID, OIDCSettingsInput{JWKSURI: Some("https://rp.example/jwks"), JWKS: Null[json.RawMessage](),
			IDTokenSignedResponseAlg: Null[string]()})
		if err != nil || got.JWKS != nil || got.JWKSURI != "https://rp.example/jwks" || got.IDTokenSignedResponseAlg != "" ||
			got.BackchannelLogoutURI != "https://rp.example/bc" {
			t.Fatalf("swap = %+v, %v", got, err)
		}
		// Unknown application.
		_, err = f.UpdateOIDCSettings(ctx, "00000000-0000-0000-0000-00000000abcd", OIDCSettingsInput{JWKSURI: Null[string]()})
		wantErr(t, err, KindNotFound, "does not exist")
		// Nothing changes: no record.
		before := len(f.audit())
		if _, err := f.UpdateOIDCSettings(ctx, app.ID, OIDCSettingsInput{JWKSURI: Some("https://rp.example/jwks")}); err != nil {
			t.Fatal(err)
		}
		records := f.audit()
		if len(records) != before {
			t.Fatalf("a write changing nothing was audited: %d records, want %d", len(records), before)
		}

		var updates [][]revocation.ModifiedProperty
		for _, r := range records {
			if r.ActivityDisplayName != ActivityUpdateApplication {
				continue
			}
			var targets []struct {
				ID                 string                        `json:"id"`
				ModifiedProperties []revocation.ModifiedProperty `json:"modifiedProperties"`
			}
			if err := json.Unmarshal(r.TargetResources, &targets); err != nil || len(targets) != 1 || targets[0].ID != app.ID {
				t.Fatalf("targets %s: %v", r.TargetResources, err)
			}
			if r.InitiatorUserID != testAdmin.Principal.ObjectID {
				t.Errorf("initiator = %q", r.InitiatorUserID)
			}
			updates = append(updates, targets[0].ModifiedProperties)
		}
		if len(updates) != 2 {
			t.Fatalf("%d Update application records, want 2", len(updates))
		}
		names := func(mods []revocation.ModifiedProperty) string { return mods[len(mods)-1].NewValue }
		if got := names(updates[0]); got != `"PostLogoutRedirectUris, BackchannelLogoutUri, IdTokenSignedResponseAlg, Jwks"` {
			t.Errorf("first update names %s", got)
		}
		if got := names(updates[1]); got != `"IdTokenSignedResponseAlg, Jwks, JwksUri"` {
			t.Errorf("second update names %s", got)
		}
		first := updates[0]
		if first[0] != (revocation.ModifiedProperty{DisplayName: "PostLogoutRedirectUris", OldValue: `[]`, NewValue: `["https://rp.example/bye"]`}) ||
			!strings.Contains(first[3].NewValue, "KeyIdentifier=k1,KeyType=EC,Thumbprint=") || first[3].OldValue != `[]` {
			t.Errorf("first update = %+v", first)
		}
	})
}
