package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/server/servertest"
)

// vigil is a real Vigil node (internal/server.Run) on a free loopback
// port with SQLite, and what bootstrap.json says about it.
type vigil struct {
	t      testing.TB
	base   string
	boot   bootstrap.File
	client *http.Client // Graph and Vigil API calls, as the bootstrap client
}

func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := servertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startVigil runs a node until the test ends.
func startVigil(t testing.TB, mutate func(*config.Config)) *vigil {
	t.Helper()
	n := servertest.StartT(t, mutate)
	if n.Bootstrap.Issuer == "" {
		t.Fatal("the node wrote no bootstrap.json")
	}
	v := &vigil{t: t, base: n.Base, boot: n.Bootstrap}
	cc := clientcredentials.Config{ClientID: v.boot.BootstrapClient.ClientID, ClientSecret: v.boot.BootstrapClient.ClientSecret,
		TokenURL: v.boot.Issuer + "/token", Scopes: []string{authz.GraphResource + "/.default"}}
	v.client = cc.Client(context.Background())
	return v
}

// call sends a JSON request as the bootstrap client and decodes a 2xx
// answer into out; it returns the answer's headers.
func (v *vigil) call(method, url string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.Header, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: %w", method, url, err)
		}
	}
	return resp.Header, nil
}

// servesSSF reports whether the node serves the SSF transmitter.
func (v *vigil) servesSSF() bool {
	resp, err := http.Get(v.base + "/.well-known/ssf-configuration")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// testUser is a user created through Graph.
type testUser struct {
	ID, UPN, Password string
}

// createUsers creates n users with passwords through Graph.
func (v *vigil) createUsers(n int, prefix string) []testUser {
	v.t.Helper()
	users := make([]testUser, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			u := testUser{UPN: fmt.Sprintf("%s-%d@vigil.local", prefix, i), Password: fmt.Sprintf("Pw-%d-correct-horse", i)}
			var created struct {
				ID string `json:"id"`
			}
			_, err := v.call("POST", v.boot.GraphBaseURL+"/users", map[string]any{
				"accountEnabled": true, "displayName": u.UPN, "mailNickname": strings.Split(u.UPN, "@")[0],
				"userPrincipalName": u.UPN,
				"passwordProfile":   map[string]any{"password": u.Password, "forceChangePasswordNextSignIn": false},
			}, &created)
			if err != nil {
				errs <- err
				return
			}
			u.ID = created.ID
			users[i] = u
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		v.t.Fatal(err)
	}
	return users
}

// userToken signs u in with the password grant of the CLI client (public
// client flows) and returns a delegated Graph access token.
func (v *vigil) userToken(u testUser) (string, error) {
	cfg := oauth2.Config{ClientID: v.boot.CLIClientID, Endpoint: oauth2.Endpoint{TokenURL: v.boot.Issuer + "/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{authz.GraphResource + "/User.Read"}}
	tok, err := cfg.PasswordCredentialsToken(context.Background(), u.UPN, u.Password)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// revoke calls Graph's revokeSignInSessions for id and returns the
// revocation resource's URL (the Location header).
func (v *vigil) revoke(id string) (string, error) {
	var out struct {
		Value bool `json:"value"`
	}
	h, err := v.call("POST", v.boot.GraphBaseURL+"/users/"+url.PathEscape(id)+"/revokeSignInSessions", nil, &out)
	if err != nil {
		return "", err
	}
	if !out.Value {
		return "", errors.New("revokeSignInSessions answered value false")
	}
	return h.Get("Location"), nil
}
