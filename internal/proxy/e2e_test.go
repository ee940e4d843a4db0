package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/guard"
	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/config"
)

// runProxy runs vigil proxy in front of upstream, streaming from v, until
// the test ends; it returns the proxy's base URL and its guard once the
// stream is established.
func runProxy(t *testing.T, v *vigil, upstream string, mutate func(*Options)) (string, *guard.Guard) {
	t.Helper()
	o := Options{
		Listen: "127.0.0.1:0", Upstream: upstream, Issuer: v.boot.Issuer, Audiences: []string{authz.GraphResource},
		ClientID: v.boot.BootstrapClient.ClientID, ClientSecret: v.boot.BootstrapClient.ClientSecret,
		FailClosedAfter: time.Minute, ShutdownTimeout: 5 * time.Second,
	}
	if mutate != nil {
		mutate(&o)
	}
	ready := make(chan string, 1)
	gch := make(chan *guard.Guard, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, o, Hooks{Logger: discard, Ready: func(a string) { ready <- a }, Guard: func(g *guard.Guard) { gch <- g }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("proxy Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("proxy did not stop within 30 s")
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("proxy Run returned before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("proxy did not start within 30 s")
	}
	g := <-gch
	select {
	case <-g.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy's SSF stream was not established within 30 s")
	}
	return "http://" + addr, g
}

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestEndToEnd runs a real Vigil node and vigil proxy (long poll, then
// push): a user's token works through the proxy, Graph's
// revokeSignInSessions answers 200, and the proxy refuses the old token
// within milliseconds, event-driven; another user is unaffected; the
// revocation's receipt shows the proxy's stream acknowledged it; a token
// issued after the revocation works.
func TestEndToEnd(t *testing.T) {
	for _, mode := range []string{"poll", "push"} {
		t.Run(mode, func(t *testing.T) {
			v := startVigil(t, func(c *config.Config) { c.InsecureAllowLoopbackPush = true })
			var mu sync.Mutex
			var seen []string
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Header.Get("X-Vigil-User-Id"))
				mu.Unlock()
			}))
			defer up.Close()
			base, g := runProxy(t, v, up.URL, func(o *Options) {
				if mode == "push" {
					o.PushPath = "/.vigil/ssf/push"
				}
			})
			users := v.createUsers(2, "e2e-"+mode)
			ada, bob := users[0], users[1]
			tokAda, err := v.userToken(ada)
			if err != nil {
				t.Fatal(err)
			}
			tokBob, err := v.userToken(bob)
			if err != nil {
				t.Fatal(err)
			}
			resp := get(t, base+"/orders", tokAda)
			mu.Lock()
			if resp.StatusCode != 200 || len(seen) != 1 || seen[0] != ada.ID {
				t.Fatalf("before revocation: %d, upstream saw %v, want 200 as %s", resp.StatusCode, seen, ada.ID)
			}
			mu.Unlock()

			loc, err := v.revoke(ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			answered := time.Now()
			waitFor(t, 5*time.Second, "the guard to refuse the revoked token", func() bool {
				_, err := g.Verify(context.Background(), tokAda)
				var ge *guard.Error
				return errors.As(err, &ge) && ge.Kind == guard.KindRevoked
			})
			t.Logf("%s: revoked token refused %s after revokeSignInSessions answered", mode, time.Since(answered))

			resp = get(t, base+"/orders", tokAda)
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("revoked token through the proxy: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if resp := get(t, base+"/orders", tokBob); resp.StatusCode != 200 {
				t.Errorf("another user's token: %d", resp.StatusCode)
			}
			v.checkReceipt(t, loc)

			// validFrom is the second after the revocation: a token issued
			// from then on works.
			waitFor(t, 3*time.Second, "the next second", func() bool { return time.Now().Unix() > answered.Unix() })
			fresh, err := v.userToken(ada)
			if err != nil {
				t.Fatal(err)
			}
			if resp := get(t, base+"/orders", fresh); resp.StatusCode != 200 {
				t.Errorf("token issued after the revocation: %d", resp.StatusCode)
			}
		})
	}
}

// checkReceipt reads the revocation resource at loc (Vigil API) and checks
// that a stream acknowledged it and effectiveAt is set.
func (v *vigil) checkReceipt(t *testing.T, loc string) {
	t.Helper()
	if loc == "" {
		t.Error("revokeSignInSessions gave no Location")
		return
	}
	cc := clientcredentials.Config{ClientID: v.boot.BootstrapClient.ClientID, ClientSecret: v.boot.BootstrapClient.ClientSecret,
		TokenURL: v.boot.Issuer + "/token", Scopes: []string{authz.VigilResource + "/.default"}}
	api := &vigil{t: v.t, base: v.base, boot: v.boot, client: cc.Client(context.Background())}
	var rev struct {
		EffectiveAt *time.Time `json:"effectiveAt"`
		Receipts    []struct {
			StreamID       string     `json:"streamId"`
			Status         string     `json:"status"`
			AcknowledgedAt *time.Time `json:"acknowledgedAt"`
		} `json:"receipts"`
	}
	waitFor(t, 5*time.Second, "the revocation's receipt to be acknowledged", func() bool {
		if _, err := api.call("GET", loc, nil, &rev); err != nil {
			t.Fatal(err)
		}
		return rev.EffectiveAt != nil
	})
	if len(rev.Receipts) != 1 || rev.Receipts[0].AcknowledgedAt == nil {
		t.Errorf("receipts %+v, want one acknowledged", rev.Receipts)
	}
}
