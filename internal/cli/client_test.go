package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCreds hands out numbered tokens and counts invalidations.
type fakeCreds struct {
	mu          sync.Mutex
	n           int
	invalidated int
	err         error
}

func (f *fakeCreds) token(_ context.Context, r resource) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	return fmt.Sprintf("%s-%d", r.name, f.n), nil
}

func (f *fakeCreds) invalidate(resource) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated++
	f.n++
}

// testClient is a client of srv whose sleeps are recorded, not slept.
func testClient(t *testing.T, srv *httptest.Server) (*Client, *[]time.Duration) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(u, time.Now)
	c.creds = &fakeCreds{}
	var slept []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	return c, &slept
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("request-id", "rid-1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q,"innerError":{"request-id":"rid-1"}}}`, code, msg)
}

func TestClientRetriesThrottling(t *testing.T) {
	tests := []struct {
		name       string
		answers    []func(w http.ResponseWriter)
		wantCalls  int
		wantSleeps []time.Duration // exact; 0 means "backoff, not checked exactly"
		wantStatus int             // of the final error; 0 = success
	}{
		{
			name: "Retry-After seconds honoured",
			answers: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "2")
					graphError(w, 429, "TooManyRequests", "slow down")
				},
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "1")
					graphError(w, 429, "TooManyRequests", "slow down")
				},
				func(w http.ResponseWriter) { fmt.Fprint(w, `{"value":true}`) },
			},
			wantCalls: 3, wantSleeps: []time.Duration{2 * time.Second, time.Second},
		},
		{
			name: "503 without Retry-After backs off",
			answers: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) { w.WriteHeader(503) },
				func(w http.ResponseWriter) { fmt.Fprint(w, `{}`) },
			},
			wantCalls: 2, wantSleeps: []time.Duration{0},
		},
		{
			name: "gives up after maxAttempts",
			answers: []func(w http.ResponseWriter){
				func(w http.ResponseWriter) {
					w.Header().Set("Retry-After", "0")
					graphError(w, 429, "TooManyRequests", "no")
				},
			},
			wantCalls: 3, wantSleeps: []time.Duration{0, 0}, wantStatus: 429,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b := make([]byte, 64)
				n, _ := r.Body.Read(b)
				bodies = append(bodies, string(b[:n]))
				a := tt.answers[min(calls, len(tt.answers)-1)]
				calls++
				a(w)
			}))
			defer srv.Close()
			c, slept := testClient(t, srv)
			c.maxAttempts = 3
			_, err := c.sendJSON(context.Background(), http.MethodPost, "/v1.0/users/x/revokeSignInSessions", map[string]int{"a": 1}, nil)
			if got := statusOf(err); got != tt.wantStatus {
				t.Fatalf("status %d (%v), want %d", got, err, tt.wantStatus)
			}
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			for _, b := range bodies {
				if b != `{"a":1}` {
					t.Errorf("a retry sent body %q", b)
				}
			}
			if len(*slept) != len(tt.wantSleeps) {
				t.Fatalf("slept %v, want %d sleeps", *slept, len(tt.wantSleeps))
			}
			for i, want := range tt.wantSleeps {
				if want != 0 && (*slept)[i] != want {
					t.Errorf("sleep %d = %v, want %v", i, (*slept)[i], want)
				}
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		header  string
		attempt int
		lo, hi  time.Duration
	}{
		{"3", 1, 3 * time.Second, 3 * time.Second},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 1, 7 * time.Second, 7 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 1, 0, 0},
		{"86400", 1, 5 * time.Minute, 5 * time.Minute},
		{"", 1, 160 * time.Millisecond, 240 * time.Millisecond},
		{"", 3, 640 * time.Millisecond, 960 * time.Millisecond},
		{"", 20, 8 * time.Second, 12 * time.Second},
		{"soon", 2, 320 * time.Millisecond, 480 * time.Millisecond},
	}
	for _, tt := range tests {
		for range 20 {
			if d := retryDelay(tt.header, tt.attempt, now); d < tt.lo || d > tt.hi {
				t.Fatalf("retryDelay(%q, %d) = %v, want [%v, %v]", tt.header, tt.attempt, d, tt.lo, tt.hi)
			}
		}
	}
}

func TestClientRefreshesTokenOnceAfter401(t *testing.T) {
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths = append(auths, r.Header.Get("Authorization"))
		graphError(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
	}))
	defer srv.Close()
	c, _ := testClient(t, srv)
	err := c.getJSON(context.Background(), "/v1.0/users", nil, &struct{}{})
	if KindOf(err) != KindAuth {
		t.Fatalf("err = %v, want KindAuth", err)
	}
	if len(auths) != 2 || auths[0] != "Bearer graph-0" || auths[1] != "Bearer graph-1" {
		t.Fatalf("Authorization headers %v: want a fresh token on the one retry", auths)
	}
	if !strings.Contains(err.Error(), "vigil login") || strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q does not say what to do on one line", err)
	}
}

func TestClientTokenPerAPI(t *testing.T) {
	got := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got[r.URL.Path] = r.Header.Get("Authorization")
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	c, _ := testClient(t, srv)
	for _, p := range []string{"/v1.0/users", "/vigil/v1/revocations/1"} {
		if err := c.getJSON(context.Background(), p, nil, &struct{}{}); err != nil {
			t.Fatal(err)
		}
	}
	if got["/v1.0/users"] != "Bearer graph-0" || got["/vigil/v1/revocations/1"] != "Bearer vigil-0" {
		t.Fatalf("tokens by path %v", got)
	}
}

func TestDecodeAPIError(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		code, msg  string
		kind       Kind
	}{
		{"graph envelope", `{"error":{"code":"Request_UnsupportedQuery","message":"Invalid $filter clause."}}`, 400,
			"Request_UnsupportedQuery", "Invalid $filter clause.", KindUsage},
		{"oauth error", `{"error":"invalid_client","error_description":"bad secret"}`, 401, "invalid_client", "bad secret", KindAuth},
		{"forbidden", `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`, 403,
			"Authorization_RequestDenied", "Insufficient privileges to complete the operation.", KindAuth},
		{"ssf error", `{"err":"access_denied","description":"ssf.read is required"}`, 403, "access_denied", "ssf.read is required", KindAuth},
		{"plain text", "store unavailable\n", 503, "", "store unavailable", KindFailed},
		{"html", "<html>oops</html>", 502, "", "", KindFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse("http://x/v1.0/users?$filter=x")
			e := decodeAPIError("GET", u, &http.Response{StatusCode: tt.status, Header: http.Header{}}, []byte(tt.body))
			if e.Code != tt.code || e.Message != tt.msg || e.kind() != tt.kind {
				t.Fatalf("got code %q msg %q kind %d", e.Code, e.Message, e.kind())
			}
			if strings.Contains(e.Error(), "$filter=x") || strings.Contains(e.Error(), "\n") {
				t.Errorf("Error() = %q: want the path without the query, on one line", e.Error())
			}
		})
	}
}

// TestListFollowsNextLink: every page is read, links are re-rooted on the
// configured server even when the server names itself differently, and
// --top stops early.
func TestListFollowsNextLink(t *testing.T) {
	var hosts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		skip := r.URL.Query().Get("$skiptoken")
		page := map[string]any{}
		switch skip {
		case "":
			page["value"] = []map[string]string{{"id": "1"}, {"id": "2"}}
			page["@odata.nextLink"] = "https://idp.example.com/v1.0/users?$top=2&$skiptoken=p2"
		case "p2":
			page["value"] = []map[string]string{{"id": "3"}, {"id": "4"}}
			page["@odata.nextLink"] = "https://idp.example.com/v1.0/users?$top=2&$skiptoken=p3"
		default:
			page["value"] = []map[string]string{{"id": "5"}}
		}
		json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	c, _ := testClient(t, srv)
	for _, tt := range []struct{ top, want, requests int }{{0, 5, 3}, {3, 3, 2}, {2, 2, 1}} {
		hosts = nil
		var ids []string
		err := c.list(context.Background(), "/v1.0/users", url.Values{"$top": {"2"}}, nil, tt.top, func(item json.RawMessage) error {
			var o struct{ ID string }
			json.Unmarshal(item, &o)
			ids = append(ids, o.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != tt.want || len(hosts) != tt.requests {
			t.Errorf("top %d: ids %v in %d requests, want %d in %d", tt.top, ids, len(hosts), tt.want, tt.requests)
		}
		for _, h := range hosts {
			if h != strings.TrimPrefix(srv.URL, "http://") {
				t.Errorf("a page went to %s, not the configured server", h)
			}
		}
	}
}

func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse("http://" + addr)
	c := newClient(u, time.Now)
	c.creds = &fakeCreds{}
	err = c.getJSON(context.Background(), "/v1.0/users", nil, &struct{}{})
	if KindOf(err) != KindFailed || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "VIGIL_URL") {
		t.Fatalf("err = %v", err)
	}
}
