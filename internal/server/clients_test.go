package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// tokenRoles asks base's token endpoint for a Graph token as the client and
// returns the HTTP status and the token's roles.
func tokenRoles(t *testing.T, base, clientID, secret string) (int, []string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
		"client_id": {clientID}, "client_secret": {secret}}
	resp, err := http.PostForm(base+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	parts := strings.Split(body.AccessToken, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, claims.Roles
}

// TestClientChangesApplyAtOnce: the token endpoint serves clients from a
// cache, yet an app role removed or a secret removed through the Graph API
// counts from the next request, on the node that made the change and, in
// PostgreSQL, on another node within a moment.
func TestClientChangesApplyAtOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		cfg := testConfig(t, "")
		n := start(t, cfg)
		f, _ := readBootstrap(t, cfg.DataDir)
		testClientChanges(t, f, n.base, n.base, false)
	})
	t.Run("postgres two nodes", func(t *testing.T) {
		dsn := sqltest.PostgresDSN(t)
		key := "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="
		issuer := "http://" + freeAddr(t)
		a, b := testConfig(t, dsn), testConfig(t, dsn)
		a.Issuer, b.Issuer, a.EncryptionKey, b.EncryptionKey = issuer, issuer, key, key
		na := start(t, a)
		nb := start(t, b)
		f, _ := readBootstrap(t, a.DataDir) // a started first, so it bootstrapped
		testClientChanges(t, f, na.base, nb.base, true)
	})
}

// testClientChanges changes a client through writer's Graph API and asks
// reader's token endpoint; across nodes a change may take up to a second.
func testClientChanges(t *testing.T, f bootstrap.File, writer, reader string, acrossNodes bool) {
	cc := clientcredentials.Config{ClientID: f.BootstrapClient.ClientID, ClientSecret: f.BootstrapClient.ClientSecret,
		TokenURL: writer + "/token", Scopes: []string{"https://graph.microsoft.com/.default"}}
	admin, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok := admin.AccessToken
	graph := writer + "/v1.0"
	code, _, app := call(t, "POST", graph+"/applications", tok, `{"displayName":"Cached client"}`)
	if code != http.StatusCreated {
		t.Fatalf("create application: %d %v", code, app)
	}
	appObj, appID := app["id"].(string), app["appId"].(string)
	code, _, pw := call(t, "POST", graph+"/applications/"+appObj+"/addPassword", tok, `{"passwordCredential":{"displayName":"t"}}`)
	if code != http.StatusOK {
		t.Fatalf("addPassword: %d %v", code, pw)
	}
	secret, keyID := pw["secretText"].(string), pw["keyId"].(string)
	code, _, sp := call(t, "POST", graph+"/servicePrincipals", tok, `{"appId":"`+appID+`"}`)
	if code != http.StatusCreated {
		t.Fatalf("create service principal: %d %v", code, sp)
	}
	code, _, gsp := call(t, "GET", graph+"/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", tok, "")
	if code != http.StatusOK {
		t.Fatalf("Graph's service principal: %d %v", code, gsp)
	}
	code, _, grant := call(t, "POST", graph+"/servicePrincipals/"+sp["id"].(string)+"/appRoleAssignments", tok,
		`{"principalId":"`+sp["id"].(string)+`","resourceId":"`+gsp["id"].(string)+`","appRoleId":"User.Read.All"}`)
	if code != http.StatusCreated {
		t.Fatalf("grant User.Read.All: %d %v", code, grant)
	}

	// within waits for cond on the reader: at once on the same node.
	within := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !cond() {
			if !acrossNodes || time.Now().After(deadline) {
				t.Fatalf("%s: not seen by the token endpoint", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	within("the grant", func() bool {
		code, roles := tokenRoles(t, reader, appID, secret)
		return code == http.StatusOK && slices.Equal(roles, []string{"User.Read.All"})
	})
	tokenRoles(t, reader, appID, secret) // served from the cache now

	code, _, body := call(t, "DELETE", graph+"/servicePrincipals/"+sp["id"].(string)+"/appRoleAssignments/"+grant["id"].(string), tok, "")
	if code != http.StatusNoContent {
		t.Fatalf("remove the grant: %d %v", code, body)
	}
	within("the removed grant", func() bool {
		code, roles := tokenRoles(t, reader, appID, secret)
		return code == http.StatusOK && len(roles) == 0
	})

	code, _, body = call(t, "POST", graph+"/applications/"+appObj+"/removePassword", tok, `{"keyId":"`+keyID+`"}`)
	if code != http.StatusNoContent {
		t.Fatalf("removePassword: %d %v", code, body)
	}
	within("the removed secret", func() bool {
		code, _ := tokenRoles(t, reader, appID, secret)
		return code == http.StatusUnauthorized
	})
}
