package vigilapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

func TestAuthorization(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	perm := authz.PermPoliciesReadWriteAll
	for _, tc := range []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"no token", "", 401, codeInvalidToken},
		{"garbage", "not.a.jwt", 401, codeInvalidToken},
		{"Graph token", s.appToken(t, authz.GraphResource, perm), 401, codeInvalidToken},
		{"app without the permission", s.appToken(t, authz.VigilResource, authz.PermRevocationsReadAll), 403, codeAccessDenied},
		{"app with the permission", s.appToken(t, authz.VigilResource, perm), 200, ""},
		{"user with the scope, no admin role", s.userToken(t, []string{perm}), 403, codeAccessDenied},
		{"user with an admin role, no scope", s.userToken(t, []string{"Vigil.Revocations.Read.All"}, "62e90394-69f5-4237-9190-012177145e10"), 403, codeAccessDenied},
		{"Conditional Access Administrator with the scope", s.userToken(t, []string{perm}, "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"), 200, ""},
		{"Helpdesk Administrator with the scope", s.userToken(t, []string{perm}, "729827e3-9c14-49f7-bb1b-9608f156bbb8"), 403, codeAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, http.MethodGet, "/policies", tc.token, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if got := errorCode(t, resp, body); got != tc.code {
					t.Errorf("code %q, want %q", got, tc.code)
				}
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") == "" {
				t.Error("request-id headers missing")
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		tok := s.appToken(t, authz.VigilResource, authz.PermPoliciesReadWriteAll)
		app := "/policies/applications/" + s.app.AppID

		resp, body := s.do(t, http.MethodGet, "/policies", tok, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		golden(t, "policies_default.golden", body)

		resp, body = s.do(t, http.MethodGet, app, tok, "")
		if resp.StatusCode != 404 || errorCode(t, resp, body) != codeNotFound {
			t.Fatalf("an app without a policy: %d %s", resp.StatusCode, body)
		}
		resp, body = s.do(t, http.MethodPut, "/policies/global", tok, `{"accessTokenLifetime":"PT2H","idleSessionTimeout":"PT30M","signInFrequency":"P1D"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("PUT global: %d %s", resp.StatusCode, body)
		}
		resp, body = s.do(t, http.MethodPut, app, tok, `{"accessTokenLifetime":"PT10M","signInFrequency":"everyTime","idleSessionTimeout":"off","refreshTokenMaxAge":"P7D"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("PUT app: %d %s", resp.StatusCode, body)
		}
		golden(t, "policy_application.golden", body)
		resp, body = s.do(t, http.MethodGet, "/policies", tok, "")
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		golden(t, "policies_set.golden", body)

		resp, _ = s.do(t, http.MethodDelete, app, tok, "")
		if resp.StatusCode != 204 {
			t.Fatalf("DELETE app: %d", resp.StatusCode)
		}
		resp, body = s.do(t, http.MethodDelete, app, tok, "")
		if resp.StatusCode != 404 || errorCode(t, resp, body) != codeNotFound {
			t.Fatalf("second DELETE: %d %s", resp.StatusCode, body)
		}
		resp, _ = s.do(t, http.MethodDelete, "/policies/global", tok, "")
		if resp.StatusCode != 204 {
			t.Fatalf("DELETE global: %d", resp.StatusCode)
		}
		resp, body = s.do(t, http.MethodGet, "/policies/global", tok, "")
		var got policyResource
		if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.LastModifiedDateTime != nil ||
			*got.Effective.AccessTokenLifetime != session.DefaultAccessTokenLifetime {
			t.Fatalf("global after DELETE: %d %s", resp.StatusCode, body)
		}

		// Every write is audited, attributed to the calling application,
		// with the settings before and after; the refused second DELETE
		// is not.
		page, err := st.ListAudit(context.Background(), store.Query{Top: 100})
		if err != nil {
			t.Fatal(err)
		}
		var writes []string
		for _, rec := range slices.Backward(page.Items) { // oldest first
			if rec.Category != session.AuditCategoryPolicy {
				continue
			}
			writes = append(writes, rec.ActivityDisplayName+" "+rec.TargetIDs[0])
			if rec.InitiatorAppID == "" || !strings.Contains(string(rec.TargetResources), `"PolicyDetail"`) {
				t.Errorf("audit record %s: initiator app %q, targets %s", rec.ActivityDisplayName, rec.InitiatorAppID, rec.TargetResources)
			}
		}
		want := []string{"Add policy global", "Add policy " + s.app.AppID, "Delete policy " + s.app.AppID, "Delete policy global"}
		if !slices.Equal(writes, want) {
			t.Errorf("policy audit records %q, want %q", writes, want)
		}
	})
}

func TestPolicyBadRequests(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	tok := s.appToken(t, authz.VigilResource, authz.PermPoliciesReadWriteAll)
	for _, tc := range []struct {
		name, method, path, body string
		contentType              string
		status                   int
		code                     string
		message                  []string
	}{
		{name: "out of range, all at once", method: "PUT", path: "/policies/global",
			body:   `{"accessTokenLifetime":"PT1M","idleSessionTimeout":"PT2M","signInFrequency":"PT90M"}`,
			status: 400, code: codeBadRequest,
			message: []string{"accessTokenLifetime must be between PT5M and P1D, not PT1M", "idleSessionTimeout must be between PT5M and P1D", "signInFrequency must be whole hours"}},
		{name: "not a duration", method: "PUT", path: "/policies/global", body: `{"accessTokenLifetime":"3600"}`,
			status: 400, code: codeBadRequest, message: []string{`accessTokenLifetime: "3600" is not an ISO 8601 duration`}},
		{name: "unknown member", method: "PUT", path: "/policies/global", body: `{"accessTokenLifetme":"PT1H"}`,
			status: 400, code: codeBadRequest, message: []string{`unknown field "accessTokenLifetme"`}},
		{name: "not JSON", method: "PUT", path: "/policies/global", body: `{`, status: 400, code: codeBadRequest},
		{name: "two values", method: "PUT", path: "/policies/global", body: `{} {}`, status: 400, code: codeBadRequest},
		{name: "wrong media type", method: "PUT", path: "/policies/global", body: `{}`, contentType: "text/plain", status: 415, code: codeUnsupportedMediaType},
		{name: "unknown application", method: "PUT", path: "/policies/applications/" + uuid.NewString(), body: `{}`, status: 404, code: codeNotFound},
		{name: "not an appId", method: "GET", path: "/policies/applications/global", status: 400, code: codeBadRequest},
		{name: "upper-case appId", method: "GET", path: "/policies/applications/" + strings.ToUpper(s.app.AppID), status: 400, code: codeBadRequest},
		{name: "method", method: "POST", path: "/policies/global", body: `{}`, status: 405, code: codeBadRequest},
		{name: "no such resource", method: "GET", path: "/nothing", status: 404, code: codeNotFound},
		{name: "too large", method: "PUT", path: "/policies/global", body: `{"accessTokenLifetime":"` + strings.Repeat("P", DefaultMaxBodyBytes) + `"}`, status: 413, code: codeEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.issuer+PathPrefix+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := s.http.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || errorCode(t, resp, body) != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			var e envelope
			_ = json.Unmarshal(body, &e)
			for _, m := range tc.message {
				if !strings.Contains(e.Error.Message, m) {
					t.Errorf("message %q lacks %q", e.Error.Message, m)
				}
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, PUT, DELETE" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestErrorEnvelope checks one error envelope byte for byte (request ids
// masked).
func TestErrorEnvelope(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	tok := s.appToken(t, authz.VigilResource, authz.PermPoliciesReadWriteAll)
	resp, body := s.do(t, http.MethodPut, "/policies/global", tok, `{"accessTokenLifetime":"PT1M","caeAccessTokenLifetime":"P2D"}`)
	if resp.StatusCode != 400 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var e map[string]map[string]any
	_ = json.Unmarshal(body, &e)
	e["error"]["innerError"].(map[string]any)["request-id"] = "…"
	e["error"]["innerError"].(map[string]any)["client-request-id"] = "…"
	b, _ := json.Marshal(e)
	golden(t, "error_invalid_policy.golden", b)
}
