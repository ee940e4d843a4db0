package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/bootstrap"
)

func vigilToken(t *testing.T, base string, f bootstrap.File) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: f.BootstrapClient.ClientID, ClientSecret: f.BootstrapClient.ClientSecret,
		TokenURL: base + "/token", Scopes: []string{"api://vigil/.default"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("Vigil API token: %v", err)
	}
	return tok.AccessToken
}

func call(t *testing.T, method, rawURL, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

// TestRevocationReachesAReceiver: a bulk revocation through the Vigil API
// is delivered to an SSF poll stream, and once the receiver acknowledges,
// the revocation resource shows effectiveAt.
func TestRevocationReachesAReceiver(t *testing.T) {
	cfg := testConfig(t, "")
	srv := start(t, cfg)
	f, _ := readBootstrap(t, cfg.DataDir)
	vt := vigilToken(t, srv.base, f)

	// A receiver's poll stream for CAEP session-revoked.
	const sessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	code, _, stream := call(t, "POST", srv.base+"/ssf/streams", vt,
		`{"delivery":{"method":"urn:ietf:rfc:8936"},"events_requested":["`+sessionRevoked+`"]}`)
	if code != 201 && code != 200 {
		t.Fatalf("create stream = %d %v", code, stream)
	}
	delivery, _ := stream["delivery"].(map[string]any)
	pollURL, _ := delivery["endpoint_url"].(string)
	if pollURL == "" {
		t.Fatalf("stream has no poll endpoint: %v", stream)
	}

	code, hdr, rev := call(t, "POST", srv.base+"/vigil/v1/revocations", vt,
		`{"userIds":["`+f.Admin.ID+`"],"reason":"incident 42"}`)
	if code != 202 || !strings.Contains(hdr.Get("Location"), "/vigil/v1/revocations/") {
		t.Fatalf("POST /revocations = %d %v (Location %q)", code, rev, hdr.Get("Location"))
	}
	loc := hdr.Get("Location")

	// Wait (bounded) for the job to complete.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, rev = call(t, "GET", loc, vt, "")
		if rev["status"] == "completed" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rev["status"] != "completed" || rev["revoked"] != float64(1) || rev["reason"] != "incident 42" {
		t.Fatalf("revocation = %v", rev)
	}
	if _, ok := rev["effectiveAt"]; ok {
		t.Fatalf("effectiveAt before any acknowledgement: %v", rev)
	}

	// Long-poll the stream: the SET arrives; acknowledge it.
	code, _, polled := call(t, "POST", pollURL, vt, `{"maxEvents":10,"returnImmediately":false}`)
	sets, _ := polled["sets"].(map[string]any)
	if code != 200 || len(sets) == 0 {
		t.Fatalf("poll = %d %v", code, polled)
	}
	var acks []string
	for jti := range sets {
		acks = append(acks, `"`+jti+`"`)
	}
	code, _, _ = call(t, "POST", pollURL, vt, `{"maxEvents":0,"returnImmediately":true,"ack":[`+strings.Join(acks, ",")+`]}`)
	if code != 200 {
		t.Fatalf("ack = %d", code)
	}
	_, _, rev = call(t, "GET", loc, vt, "")
	receipts, _ := rev["receipts"].([]any)
	if len(receipts) != 1 || rev["effectiveAt"] == nil {
		t.Fatalf("after the ack: receipts %v effectiveAt %v", receipts, rev["effectiveAt"])
	}
}
