package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// codeBench is an IdP with the authorization code grant, a signed-in user
// and a public client, ready to mint codes.
type codeBench struct {
	d          *idp
	authorizer *Authorizer
	req        *AuthorizeRequest
	grant      CodeGrant
	verifier   string
	form       url.Values
}

func newCodeBench(b *testing.B, st *sqlstore.Store) *codeBench {
	ctx := context.Background()
	d := newIDP(b, st)
	sessions := &session.Service{Store: st, Secrets: d.hasher, Now: d.clock.Now}
	access := &AccessTokens{Issuer: d.issuer, Signers: d.keys, Meta: st, Now: d.clock.Now}
	ids := &IDTokens{Issuer: d.issuer, Signers: d.keys, Keys: d.keys, Meta: st, Now: d.clock.Now}
	d.server.Grants[GrantAuthorizationCode] = &AuthorizationCode{Codes: st, Secrets: d.hasher, Sessions: sessions, Now: d.clock.Now,
		Tokens: &Delegated{Access: access, IDTokens: ids, Sessions: sessions, Roles: st}}
	u := store.User{ID: uuid.NewString(), UserPrincipalName: "bench@vigil.test", DisplayName: "Bench", AccountEnabled: true, CreatedDateTime: time.Now().UTC()}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	app := store.Application{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "bench", IsFallbackPublicClient: true,
		PublicClientRedirectURIs: []string{"http://127.0.0.1/callback"}, CreatedDateTime: time.Now().UTC()}
	if err := st.CreateApplication(ctx, app); err != nil {
		b.Fatal(err)
	}
	sess, err := sessions.Start(ctx, u.ID, []string{"pwd"}, session.ClientInfo{})
	if err != nil {
		b.Fatal(err)
	}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	authorizer := &Authorizer{Issuer: d.issuer, Clients: st, Codes: st, Secrets: d.hasher, Now: d.clock.Now}
	params := url.Values{"client_id": {app.AppID}, "redirect_uri": {"http://127.0.0.1:5000/callback"}, "response_type": {"code"},
		"scope": {"openid offline_access User.Read"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "nonce": {"n"}}
	req, err := authorizer.Parse(ctx, params)
	if err != nil {
		b.Fatal(err)
	}
	scopes, _ := ParseScopes("openid offline_access User.Read", authz.GraphResource)
	return &codeBench{d: d, authorizer: authorizer, req: req, verifier: verifier,
		grant: CodeGrant{UserID: u.ID, SessionID: sess.ID, AuthTime: sess.AuthTime, Scopes: scopes},
		form: url.Values{"grant_type": {GrantAuthorizationCode}, "client_id": {app.AppID},
			"redirect_uri": {"http://127.0.0.1:5000/callback"}, "code_verifier": {verifier}}}
}

func (c *codeBench) codes(b *testing.B, n int) []string {
	out := make([]string, n)
	for i := range out {
		code, err := c.authorizer.IssueCode(context.Background(), c.req, c.grant)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = code
	}
	return out
}

func (c *codeBench) exchange(b *testing.B, client *http.Client, code string) {
	f := url.Values{"code": {code}}
	for k, v := range c.form {
		f[k] = v
	}
	resp, err := client.Post(c.d.issuer+PathToken, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("exchange: %d", resp.StatusCode)
	}
}

// BenchmarkCodeExchange redeems authorization codes over HTTP (PKCE S256,
// openid offline_access User.Read: an ES256 access token, an RS256 ID
// token, a refresh token written, the code consumed, the session checked
// and touched), serially and with parallel clients, on SQLite and
// PostgreSQL. Codes are minted before the timer starts.
func BenchmarkCodeExchange(b *testing.B) {
	backends := map[string]func(testing.TB, ...sqlstore.Option) *sqlstore.Store{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			c := newCodeBench(b, backends[name](b))
			b.Run("serial", func(b *testing.B) {
				codes := c.codes(b, b.N)
				client := c.d.http.Client()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.exchange(b, client, codes[i])
				}
			})
			b.Run("parallel", func(b *testing.B) {
				ch := make(chan string, b.N)
				for _, code := range c.codes(b, b.N) {
					ch <- code
				}
				close(ch)
				client := c.d.http.Client()
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						c.exchange(b, client, <-ch)
					}
				})
			})
		})
	}
}

// BenchmarkIssueCode measures minting and storing one authorization code.
func BenchmarkIssueCode(b *testing.B) {
	c := newCodeBench(b, sqltest.SQLite(b))
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.authorizer.IssueCode(ctx, c.req, c.grant); err != nil {
			b.Fatal(err)
		}
	}
}
