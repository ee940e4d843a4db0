package graph

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// batchReq is one request of a batch body in tests.
func batchReq(id, method, url string, more ...any) map[string]any {
	r := map[string]any{"id": id, "method": method, "url": url}
	for i := 0; i+1 < len(more); i += 2 {
		r[more[i].(string)] = more[i+1]
	}
	return r
}

func batchOf(reqs ...map[string]any) map[string]any {
	return map[string]any{"requests": reqs}
}

// batchResult is a decoded $batch answer.
type batchResult struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

// byID returns the responses of a batch by request id.
func (b batchResult) byID(t *testing.T) map[string]struct {
	status  int
	headers map[string]string
	body    json.RawMessage
} {
	t.Helper()
	out := map[string]struct {
		status  int
		headers map[string]string
		body    json.RawMessage
	}{}
	for _, r := range b.Responses {
		if _, dup := out[r.ID]; dup {
			t.Fatalf("response %s twice", r.ID)
		}
		out[r.ID] = struct {
			status  int
			headers map[string]string
			body    json.RawMessage
		}{r.Status, r.Headers, r.Body}
	}
	return out
}

func (e *env) batch(t *testing.T, token string, body any) batchResult {
	t.Helper()
	r := e.request(token, "POST", "/$batch", body)
	r.want(t, http.StatusOK)
	var b batchResult
	mustJSON(t, r.body, &b)
	return b
}

func TestParseBatchRefusals(t *testing.T) {
	twentyOne := make([]string, 21)
	for i := range twentyOne {
		twentyOne[i] = fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users"}`, i)
	}
	tests := []struct {
		name, body, want string
	}{
		{"not an object", `[1]`, "The batch request body is not valid"},
		{"trailing data", `{"requests":[{"id":"1","method":"GET","url":"/users"}]} {}`, msgInvalidJSON},
		{"unknown property", `{"requests":[{"id":"1","method":"GET","url":"/users","atomicityGroup":"g"}]}`, "unknown field"},
		{"no requests", `{"requests":[]}`, "at least one request"},
		{"21 requests", `{"requests":[` + strings.Join(twentyOne, ",") + `]}`, msgBatchTooMany},
		{"no id", `{"requests":[{"method":"GET","url":"/users"}]}`, "Request 1 of the batch has no id."},
		{"numeric id", `{"requests":[{"id":1,"method":"GET","url":"/users"}]}`, "The batch request body is not valid"},
		{"duplicate id", `{"requests":[{"id":"a","method":"GET","url":"/users"},{"id":"A","method":"GET","url":"/groups"}]}`, "Request Id A has to be unique in a batch."},
		{"bad method", `{"requests":[{"id":"1","method":"TRACE","url":"/users"}]}`, "invalid method 'TRACE'"},
		{"no url", `{"requests":[{"id":"1","method":"GET"}]}`, "the url is required"},
		{"absolute url", `{"requests":[{"id":"1","method":"GET","url":"https://graph.microsoft.com/v1.0/users"}]}`, "must be relative"},
		{"scheme-relative url", `{"requests":[{"id":"1","method":"GET","url":"//evil.example/users"}]}`, "not a valid relative URL"},
		{"nested batch", `{"requests":[{"id":"1","method":"POST","url":"/$batch"}]}`, "cannot contain another batch"},
		{"body without Content-Type", `{"requests":[{"id":"1","method":"POST","url":"/groups","body":{"displayName":"x"}}]}`, "has a body but no Content-Type header"},
		{"binary body not base64", `{"requests":[{"id":"1","method":"POST","url":"/groups","headers":{"Content-Type":"text/plain"},"body":"!!!"}]}`, "not valid base64"},
		{"binary body not a string", `{"requests":[{"id":"1","method":"POST","url":"/groups","headers":{"Content-Type":"text/plain"},"body":{"a":1}}]}`, "must be a base64 string"},
		{"bad header", `{"requests":[{"id":"1","method":"GET","url":"/users","headers":{"a b":"c"}}]}`, "invalid header"},
		{"unknown dependency", `{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["2"]}]}`, "depends on '2', which is not in the batch"},
		{"self dependency", `{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["1"]}]}`, "depends on itself"},
		{"cycle", `{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["3"]},{"id":"2","method":"GET","url":"/users","dependsOn":["1"]},{"id":"3","method":"GET","url":"/users","dependsOn":["2"]}]}`, "form a cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBatch([]byte(tt.body))
			if err == nil {
				t.Fatal("accepted")
			}
			ge := errorFrom(err)
			if ge.Status != http.StatusBadRequest || !strings.Contains(ge.Message, tt.want) {
				t.Fatalf("%d %q, want 400 containing %q", ge.Status, ge.Message, tt.want)
			}
		})
	}
}

func TestParseBatchAccepts(t *testing.T) {
	body := `{"requests":[
		{"id":"1","method":"get","url":"users?$top=1"},
		{"id":"2","method":"POST","url":"/groups","headers":{"Content-Type":"application/json"},"body":{"displayName":"x"}},
		{"id":"3","method":"PUT","url":"/x","headers":{"content-type":"text/plain"},"body":"aGVsbG8=","dependsOn":["1","2"]},
		{"id":"4","method":"DELETE","url":"/users/a%2Fb","dependsOn":["3"],"body":null}
	]}`
	steps, err := parseBatch([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 4 {
		t.Fatalf("%d steps", len(steps))
	}
	checks := []struct {
		got, want string
	}{
		{steps[0].method, "GET"},
		{steps[0].target, "/v1.0/users?$top=1"},
		{steps[1].target, "/v1.0/groups"},
		{string(steps[1].body), `{"displayName":"x"}`},
		{string(steps[2].body), "hello"},
		{fmt.Sprint(steps[2].deps), "[0 1]"},
		{steps[3].target, "/v1.0/users/a%2Fb"},
		{fmt.Sprint(steps[3].body == nil), "true"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: %q, want %q", i, c.got, c.want)
		}
	}
}

// FuzzParseBatch: the parser never panics, and what it accepts respects
// every rule of a batch.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"requests":[{"id":"1","method":"GET","url":"/users"}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["2"]},{"id":"2","method":"PATCH","url":"users/x","headers":{"Content-Type":"application/json"},"body":{"a":1}}]}`,
		`{"requests":[{"id":"a","method":"POST","url":"/x","headers":{"Content-Type":"image/png"},"body":"iVBORw0KGgo="}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"/users","dependsOn":["1"]}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"http://x/y"}]}`,
		`{"requests":null}`, `{}`, `[]`, `"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		steps, err := parseBatch(body)
		if err != nil {
			if ge := errorFrom(err); ge.Status != http.StatusBadRequest {
				t.Fatalf("refusal %d, want 400", ge.Status)
			}
			return
		}
		if len(steps) < 1 || len(steps) > maxBatchRequests {
			t.Fatalf("%d steps accepted", len(steps))
		}
		ids := map[string]bool{}
		for i, st := range steps {
			key := strings.ToLower(st.id)
			if st.id == "" || ids[key] {
				t.Fatalf("id %q empty or repeated", st.id)
			}
			ids[key] = true
			if !strings.HasPrefix(st.target, "/v1.0/") || strings.Contains(st.target, "://") {
				t.Fatalf("target %q", st.target)
			}
			if st.body != nil && st.headers.Get("Content-Type") == "" {
				t.Fatal("a body without Content-Type")
			}
			for _, d := range st.deps {
				if d < 0 || d >= len(steps) || d == i {
					t.Fatalf("dependency %d of step %d", d, i)
				}
			}
		}
		if findCycle(steps) != nil {
			t.Fatal("cycle accepted")
		}
	})
}

func TestFindCycle(t *testing.T) {
	steps := func(deps ...[]int) []batchStep {
		out := make([]batchStep, len(deps))
		for i, d := range deps {
			out[i] = batchStep{id: fmt.Sprint(i), deps: d}
		}
		return out
	}
	if c := findCycle(steps(nil, []int{0}, []int{0, 1})); c != nil {
		t.Fatalf("diamond reported as cycle %v", c)
	}
	if c := findCycle(steps([]int{2}, []int{0}, []int{1}, nil)); strings.Join(c, ",") != "0,2,1" {
		t.Fatalf("cycle %v", c)
	}
}

// TestBatch runs batches end to end: success, 404, a 424 chain, dependsOn
// ordering, per-request authorization, distinct request ids, Graph's
// header spellings and base64 bodies for non-JSON answers.
func TestBatch(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		missing := "00000000-0000-4000-8000-999999999999"
		t.Run("mixed", func(t *testing.T) {
			r := e.do("POST", "/$batch", batchOf(
				batchReq("get", "GET", "/users/"+u+"?$select=id,userPrincipalName"),
				batchReq("missing", "GET", "/users/"+missing),
				batchReq("patch", "PATCH", "/users/"+missing, "dependsOn", []string{"missing"},
					"headers", map[string]string{"Content-Type": "application/json"}, "body", map[string]any{"jobTitle": "x"}),
				batchReq("delete", "DELETE", "/users/"+missing, "dependsOn", []string{"PATCH"}),
				batchReq("count", "GET", "/users/$count", "headers", map[string]string{"ConsistencyLevel": "eventual"}),
			), "client-request-id: outer-trace")
			r.want(t, http.StatusOK)
			var b batchResult
			mustJSON(t, r.body, &b)
			got := b.byID(t)
			for id, want := range map[string]int{"get": 200, "missing": 404, "patch": 424, "delete": 424, "count": 200} {
				if got[id].status != want {
					t.Errorf("%s: %d, want %d: %s", id, got[id].status, want, got[id].body)
				}
			}
			if ct := got["get"].headers["Content-Type"]; ct != jsonContentType {
				t.Errorf("inner Content-Type %q", ct)
			}
			if v := got["get"].headers["OData-Version"]; v != "4.0" {
				t.Errorf("inner OData-Version %q (headers %v)", v, got["get"].headers)
			}
			var count string
			mustJSON(t, got["count"].body, &count)
			if dec, err := base64.StdEncoding.DecodeString(count); err != nil || string(dec) != "1" {
				t.Errorf("count body %s decodes to %q, %v", got["count"].body, dec, err)
			}
			ids := map[string]bool{r.header.Get("request-id"): true}
			for _, id := range []string{"missing", "patch", "delete"} {
				var env errorBody
				mustJSON(t, got[id].body, &env)
				rid := env.Error.InnerError.RequestID
				if !guidRE.MatchString(rid) || ids[rid] {
					t.Errorf("%s: request-id %q not a new GUID", id, rid)
				}
				ids[rid] = true
				if id != "missing" && env.Error.Code != "FailedDependency" {
					t.Errorf("%s: code %s", id, env.Error.Code)
				}
			}
		})
		t.Run("dependsOn orders", func(t *testing.T) {
			b := e.batch(t, e.admin, batchOf(
				batchReq("3", "GET", "/users/grace@vigil.local?$select=jobTitle", "dependsOn", []string{"2"}),
				batchReq("2", "PATCH", "/users/grace@vigil.local", "dependsOn", []string{"1"},
					"headers", map[string]string{"Content-Type": "application/json"}, "body", map[string]any{"jobTitle": "Admiral"}),
				batchReq("1", "POST", "/users", "headers", map[string]string{"content-type": "application/json"},
					"body", newUser("grace")),
			))
			got := b.byID(t)
			if got["1"].status != 201 || got["1"].headers["Location"] == "" || got["2"].status != 204 || got["3"].status != 200 {
				t.Fatalf("statuses %d %d %d, Location %q", got["1"].status, got["2"].status, got["3"].status, got["1"].headers["Location"])
			}
			var user map[string]any
			mustJSON(t, got["3"].body, &user)
			if user["jobTitle"] != "Admiral" {
				t.Fatalf("read before the PATCH: %v", user)
			}
			if b.Responses[0].ID != "3" {
				t.Fatalf("responses not in request order: %s first", b.Responses[0].ID)
			}
		})
		t.Run("each request authorized", func(t *testing.T) {
			b := e.batch(t, e.appToken(pUserReadAll), batchOf(
				batchReq("users", "GET", "/users"),
				batchReq("groups", "GET", "/groups"),
				batchReq("create", "POST", "/users", "headers", map[string]string{"Content-Type": "application/json"},
					"body", newUser("x"), "dependsOn", []string{"users"}),
				batchReq("me", "GET", "/me"),
			))
			got := b.byID(t)
			for id, want := range map[string]int{"users": 200, "groups": 403, "create": 403, "me": 400} {
				if got[id].status != want {
					t.Errorf("%s: %d, want %d: %s", id, got[id].status, want, got[id].body)
				}
			}
		})
		t.Run("inner Authorization is the batch's", func(t *testing.T) {
			b := e.batch(t, e.appToken(pUserReadAll), batchOf(
				batchReq("groups", "GET", "/groups", "headers", map[string]string{"Authorization": "Bearer " + e.admin}),
			))
			if s := b.Responses[0].Status; s != http.StatusForbidden {
				t.Fatalf("inner Authorization header used: %d", s)
			}
		})
		t.Run("outer authentication", func(t *testing.T) {
			e.request("", "POST", "/$batch", batchOf(batchReq("1", "GET", "/users"))).want(t, http.StatusUnauthorized)
			e.do("GET", "/$batch", nil).want(t, http.StatusMethodNotAllowed)
			e.do("POST", "/$batch?$top=1", batchOf(batchReq("1", "GET", "/users"))).want(t, http.StatusBadRequest)
			e.do("POST", "/$batch", `{"requests":[]}`, "Content-Type: text/plain").want(t, http.StatusUnsupportedMediaType)
		})
	})
}

// batchGoldenCases are the $batch shapes compared with golden files.
var batchGoldenCases = []goldenCase{
	{"batch_mixed", func(t *testing.T, e *env) *response {
		u := e.richUser()
		missing := "00000000-0000-4000-8000-999999999999"
		return e.do("POST", "/$batch", batchOf(
			batchReq("1", "GET", "/users/"+u+"?$select=id,displayName"),
			batchReq("2", "GET", "/users/"+missing),
			batchReq("3", "PATCH", "/users/"+missing, "dependsOn", []string{"2"},
				"headers", map[string]string{"Content-Type": "application/json"}, "body", map[string]any{"jobTitle": "x"}),
			batchReq("4", "DELETE", "/users/"+missing, "dependsOn", []string{"3"}),
			batchReq("5", "POST", "/groups", "dependsOn", []string{"1"},
				"headers", map[string]string{"Content-Type": "application/json"},
				"body", map[string]any{"displayName": "Ops", "mailNickname": "ops", "mailEnabled": false, "securityEnabled": true}),
			batchReq("6", "GET", "/groups/$count", "headers", map[string]string{"ConsistencyLevel": "eventual"}, "dependsOn", []string{"5"}),
		))
	}},
	{"batch_error_too_many", func(t *testing.T, e *env) *response {
		reqs := make([]map[string]any, 21)
		for i := range reqs {
			reqs[i] = batchReq(fmt.Sprint(i+1), "GET", "/users")
		}
		return e.do("POST", "/$batch", batchOf(reqs...))
	}},
	{"batch_error_duplicate_id", func(t *testing.T, e *env) *response {
		return e.do("POST", "/$batch", batchOf(batchReq("a", "GET", "/users"), batchReq("A", "GET", "/groups")))
	}},
	{"batch_error_absolute_url", func(t *testing.T, e *env) *response {
		return e.do("POST", "/$batch", batchOf(batchReq("1", "GET", "https://graph.microsoft.com/v1.0/users")))
	}},
	{"batch_error_body_without_content_type", func(t *testing.T, e *env) *response {
		return e.do("POST", "/$batch", batchOf(batchReq("1", "POST", "/groups", "body", map[string]any{"displayName": "x"})))
	}},
	{"batch_error_unknown_dependency", func(t *testing.T, e *env) *response {
		return e.do("POST", "/$batch", batchOf(batchReq("1", "GET", "/users", "dependsOn", []string{"9"})))
	}},
	{"batch_error_cycle", func(t *testing.T, e *env) *response {
		return e.do("POST", "/$batch", batchOf(
			batchReq("1", "GET", "/users", "dependsOn", []string{"2"}),
			batchReq("2", "GET", "/users", "dependsOn", []string{"1"}),
		))
	}},
}
