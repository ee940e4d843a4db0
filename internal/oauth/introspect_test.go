package oauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// introspect asks the endpoint about tok as rs and decodes the answer.
func (d *sessionIDP) introspect(t testing.TB, rs app, tok string) IntrospectionResponse {
	t.Helper()
	status, body := d.form(t, PathIntrospect, basic(rs.application.AppID, rs.secret), url.Values{"token": {tok}})
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %s", status, body)
	}
	var r IntrospectionResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if !r.Active && string(body) != "{\"active\":false}\n" {
		t.Errorf("an inactive answer carries more than active: %s", body)
	}
	return r
}

func TestIntrospection(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		rs := d.newApp(t, "resource-server-secret-0123456789abcdefghi")
		conf := d.oauth2Config(cli)
		u := d.user(t)
		s, rt := d.signIn(t, u, cli.application.AppID, nil)

		// A refresh token, to its own client only.
		r := d.introspect(t, cli, rt)
		if !r.Active || r.TokenType != TokenTypeRefresh || r.ClientID != cli.application.AppID || r.Sub != u.ID || r.SID != s.ID ||
			r.Iss != d.issuer || r.Aud != d.issuer || r.Exp == 0 || r.Iat == 0 ||
			r.Scope != "https://graph.microsoft.com/User.Read https://graph.microsoft.com/User.Read.All openid offline_access" {
			t.Errorf("refresh token = %+v", r)
		}
		if d.introspect(t, rs, rt).Active {
			t.Error("another client sees a refresh token")
		}

		tok, err := d.refresh(t, conf, rt)
		if err != nil {
			t.Fatal(err)
		}
		if d.introspect(t, cli, rt).Active {
			t.Error("a rotated refresh token is active")
		}
		r = d.introspect(t, rs, tok.AccessToken)
		if !r.Active || r.TokenType != "Bearer" || r.ClientID != cli.application.AppID || r.Sub != u.ID || r.SID != s.ID ||
			r.Aud != authz.GraphResource || r.Iss != d.issuer || r.Jti == "" || r.Exp-r.Iat != int64(time.Hour/time.Second) ||
			r.Scope != "User.Read User.Read.All openid" {
			t.Errorf("access token = %+v", r)
		}

		// App-only tokens (client_credentials) are active with their roles.
		app := d.newApp(t, "app-only-secret-0123456789abcdefghijklmno", "User.Read.All")
		cc := d.appToken(t, app)
		if r := d.introspect(t, rs, cc.AccessToken); !r.Active || len(r.Roles) != 1 || r.Roles[0] != "User.Read.All" || r.SID != "" {
			t.Errorf("app-only token = %+v", r)
		}

		// Ending the session makes its unexpired access token inactive at
		// once, and its refresh token too.
		if err := d.sessions.End(ctx, s.ID, "logout", session.Initiator{}); err != nil {
			t.Fatal(err)
		}
		if d.introspect(t, rs, tok.AccessToken).Active || d.introspect(t, cli, tok.RefreshToken).Active {
			t.Error("tokens of an ended session are active")
		}

		// Revoking the user (T) makes every earlier access token inactive.
		_, rt2 := d.signIn(t, u, cli.application.AppID, nil)
		tok2, err := d.refresh(t, conf, rt2)
		if err != nil {
			t.Fatal(err)
		}
		if !d.introspect(t, rs, tok2.AccessToken).Active {
			t.Fatal("fresh token inactive")
		}
		d.clock.Advance(time.Second)
		if _, err := d.store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
			u.SignInSessionsValidFrom = d.clock.Now().UTC()
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
		if d.introspect(t, rs, tok2.AccessToken).Active || d.introspect(t, cli, tok2.RefreshToken).Active {
			t.Error("tokens issued before T are active")
		}

		// Expired, foreign and malformed tokens.
		d.clock.Advance(2 * time.Hour)
		if d.introspect(t, rs, cc.AccessToken).Active {
			t.Error("an expired token is active")
		}
		for _, junk := range []string{"a.b.c", "not-a-token", tok.AccessToken + "x"} {
			if d.introspect(t, rs, junk).Active {
				t.Errorf("%q is active", junk)
			}
		}
	})
}

// TestIntrospectionExpiry checks that a token is inactive from its exp on:
// the authorization server is the only clock involved, so introspection
// allows no clock skew (RFC 7662 §2.2), even for a token whose signature
// check is cached.
func TestIntrospectionExpiry(t *testing.T) {
	d := newSessionIDP(t, sqltest.SQLite(t))
	rs := d.newApp(t, "resource-server-secret-0123456789abcdefghi")
	app := d.newApp(t, "app-only-secret-0123456789abcdefghijklmno", "User.Read.All")
	cc := d.appToken(t, app)
	claims, _ := unverifiedClaims(t, cc.AccessToken)
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	for _, tt := range []struct {
		name   string
		at     time.Duration // from exp
		active bool
	}{
		{"a second before exp", -time.Second, true},
		{"at exp", 0, false},
		{"just after exp", 5 * time.Second, false},
		{"within the verifier's clock skew", ClockSkew - time.Second, false},
		{"after the clock skew", ClockSkew + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d.clock.Set(exp.Add(tt.at))
			if got := d.introspect(t, rs, cc.AccessToken).Active; got != tt.active {
				t.Errorf("active = %v, want %v", got, tt.active)
			}
		})
	}
}

func TestIntrospectionProtection(t *testing.T) {
	d := newSessionIDP(t, sqltest.SQLite(t))
	rs := d.newApp(t, "resource-server-secret-0123456789abcdefghi")
	pub := d.publicApp(t)
	checkFormErrors(t, d, PathIntrospect, []formCase{
		{"no client authentication", "", url.Values{"token": {"x"}}, 401, CodeInvalidClient},
		{"wrong secret", basic(rs.application.AppID, "nope"), url.Values{"token": {"x"}}, 401, CodeInvalidClient},
		{"public client", "", url.Values{"token": {"x"}, "client_id": {pub.AppID}}, 401, CodeInvalidClient},
		{"no token", basic(rs.application.AppID, rs.secret), url.Values{}, 400, CodeInvalidRequest},
	})
	resp, err := d.http.Client().Get(d.issuer + PathIntrospect)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func BenchmarkIntrospect(b *testing.B) {
	d := newSessionIDP(b, sqltest.SQLite(b))
	rs := d.newApp(b, "resource-server-secret-0123456789abcdefghi")
	cli := d.newApp(b, "refresh-client-secret-0123456789abcdefghij")
	u := d.user(b)
	_, rt := d.signIn(b, u, cli.application.AppID, nil)
	tok, err := d.refresh(b, d.oauth2Config(cli), rt)
	if err != nil {
		b.Fatal(err)
	}
	client := d.http.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
	auth := basic(rs.application.AppID, rs.secret)
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, d.issuer+PathIntrospect, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var r IntrospectionResponse
			err = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if err != nil || !r.Active {
				b.Errorf("introspection: %v %+v", err, r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "introspections/s")
}
