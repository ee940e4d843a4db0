// Command vigil-load is Vigil's HTTP load tool: it drives one scenario
// against a running server (on loopback) with a fixed number of requests at
// a fixed concurrency and reports throughput and latency percentiles. It
// obtains a token with the client-credentials grant from the bootstrap
// client in bootstrap.json. Every loop is bounded by -n and -timeout.
//
//	vigil-load -bootstrap vigil-data/bootstrap.json -scenario create-users -n 20000 -c 16
//	vigil-load -bootstrap vigil-data/bootstrap.json -scenario filter-users -n 2000 -c 1 -filter "department eq 'HP'"
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

type bootstrapFile struct {
	Issuer       string `json:"issuer"`
	GraphBaseURL string `json:"graph_base_url"`
	CLIClientID  string `json:"cli_client_id"`
	Admin        struct {
		UserPrincipalName string `json:"userPrincipalName"`
		Password          string `json:"password"`
	} `json:"admin"`
	BootstrapClient struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	} `json:"bootstrap_client"`
}

func main() {
	var (
		bootstrap = flag.String("bootstrap", "vigil-data/bootstrap.json", "path to bootstrap.json")
		scenario  = flag.String("scenario", "filter-users", "create-users | filter-users | get-user | healthz | client-credentials | introspect | refresh | revoke")
		n         = flag.Int("n", 1000, "number of requests")
		c         = flag.Int("c", 16, "concurrency")
		filter    = flag.String("filter", "department eq 'HP'", "$filter for filter-users")
		top       = flag.Int("top", 100, "$top for filter-users")
		password  = flag.Bool("password", false, "create-users: set a password (argon2id cost)")
		timeout   = flag.Duration("timeout", 5*time.Minute, "stop after this long")
	)
	flag.Parse()
	if err := run(*bootstrap, *scenario, *n, *c, *filter, *top, *password, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-load:", err)
		os.Exit(1)
	}
}

func run(bootstrapPath, scenario string, n, c int, filter string, top int, password bool, timeout time.Duration) error {
	raw, err := os.ReadFile(bootstrapPath)
	if err != nil {
		return err
	}
	var b bootstrapFile
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("%s: %w", bootstrapPath, err)
	}
	if err := checkLoopback(b.Issuer); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cc := clientcredentials.Config{
		ClientID: b.BootstrapClient.ClientID, ClientSecret: b.BootstrapClient.ClientSecret,
		TokenURL: b.Issuer + "/token", Scopes: []string{"https://graph.microsoft.com/.default"},
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	runID := time.Now().UnixNano()
	var refresh []atomic.Value // refresh scenario: each worker's current refresh token
	var targets []string       // revoke scenario: user ids to revoke in turn

	makeReq := func(i, w int) (*http.Request, int, error) {
		switch scenario {
		case "create-users":
			u := map[string]any{
				"accountEnabled": true, "displayName": fmt.Sprintf("Load %d", i),
				"mailNickname":      fmt.Sprintf("load%d_%d", runID, i),
				"userPrincipalName": fmt.Sprintf("load%d_%d@vigil.local", runID, i),
				"department":        "Load",
			}
			if password {
				u["passwordProfile"] = map[string]any{"password": fmt.Sprintf("Load-pass-%d!", i)}
			}
			body, _ := json.Marshal(u)
			r, err := http.NewRequestWithContext(ctx, "POST", b.GraphBaseURL+"/users", bytes.NewReader(body))
			if r != nil {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, http.StatusCreated, err
		case "filter-users":
			q := url.Values{"$filter": {filter}, "$top": {fmt.Sprint(top)}}
			r, err := http.NewRequestWithContext(ctx, "GET", b.GraphBaseURL+"/users?"+q.Encode(), nil)
			return r, http.StatusOK, err
		case "get-user":
			r, err := http.NewRequestWithContext(ctx, "GET", b.GraphBaseURL+"/users/admin@vigil.local", nil)
			return r, http.StatusOK, err
		case "healthz":
			r, err := http.NewRequestWithContext(ctx, "GET", b.Issuer+"/healthz", nil)
			return r, http.StatusOK, err
		case "revoke":
			// Graph's revokeSignInSessions on the demo users in turn (or the
			// admin without --demo): one durable revocation each.
			target := "admin@vigil.local"
			if len(targets) > 0 {
				target = targets[i%len(targets)]
			}
			r, err := http.NewRequestWithContext(ctx, "POST", b.GraphBaseURL+"/users/"+target+"/revokeSignInSessions", nil)
			return r, http.StatusOK, err
		case "client-credentials":
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}
			return formRequest(ctx, b.Issuer+"/token", form, b)
		case "introspect":
			return formRequest(ctx, b.Issuer+"/introspect", url.Values{"token": {tok.AccessToken}}, b)
		case "refresh":
			form := url.Values{"grant_type": {"refresh_token"}, "client_id": {b.CLIClientID}, "refresh_token": {refresh[w].Load().(string)}}
			r, err := http.NewRequestWithContext(ctx, "POST", b.Issuer+"/token", strings.NewReader(form.Encode()))
			if r != nil {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", "")
			}
			return r, http.StatusOK, err
		}
		return nil, 0, fmt.Errorf("unknown scenario %q", scenario)
	}
	if scenario == "revoke" {
		req, _ := http.NewRequestWithContext(ctx, "GET", b.GraphBaseURL+"/users?$top=999&$select=id", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Value []struct{ ID string } `json:"value"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, u := range page.Value {
			targets = append(targets, u.ID)
		}
	}
	if scenario == "refresh" {
		// One refresh-token chain per worker, started with the admin's
		// password grant through the public CLI client.
		refresh = make([]atomic.Value, c)
		for w := range c {
			form := url.Values{"grant_type": {"password"}, "client_id": {b.CLIClientID}, "username": {b.Admin.UserPrincipalName},
				"password": {b.Admin.Password}, "scope": {"offline_access https://graph.microsoft.com/User.Read"}}
			resp, err := http.PostForm(b.Issuer+"/token", form)
			if err != nil {
				return err
			}
			var t struct {
				RefreshToken string `json:"refresh_token"`
			}
			err = json.NewDecoder(resp.Body).Decode(&t)
			resp.Body.Close()
			if err != nil || t.RefreshToken == "" {
				return fmt.Errorf("password grant for the refresh chains: status %d", resp.StatusCode)
			}
			refresh[w].Store(t.RefreshToken)
		}
	}
	if _, _, err := makeReq(0, 0); err != nil {
		return err
	}

	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				req, want, _ := makeReq(i, w)
				if _, set := req.Header["Authorization"]; !set {
					req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				} else if req.Header.Get("Authorization") == "" {
					req.Header.Del("Authorization")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					if scenario == "refresh" && resp.StatusCode == http.StatusOK {
						var t struct {
							RefreshToken string `json:"refresh_token"`
						}
						if json.NewDecoder(resp.Body).Decode(&t) == nil && t.RefreshToken != "" {
							refresh[w].Store(t.RefreshToken)
						}
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != want {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	done := min(int(next.Load()), n)
	lat = lat[:done]
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	fmt.Printf("scenario=%s requests=%d concurrency=%d failed=%d elapsed=%s rate=%.0f/s p50=%s p95=%s p99=%s\n",
		scenario, done, c, failed.Load(), elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds(),
		pct(0.50), pct(0.95), pct(0.99))
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d requests failed; first: %v", failed.Load(), e)
	}
	return nil
}

// formRequest is a form POST authenticated as the bootstrap client
// (client_secret_basic).
func formRequest(ctx context.Context, endpoint string, form url.Values, b bootstrapFile) (*http.Request, int, error) {
	r, err := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(url.QueryEscape(b.BootstrapClient.ClientID), url.QueryEscape(b.BootstrapClient.ClientSecret))
	return r, http.StatusOK, nil
}

// checkLoopback refuses to load anything but a server on this machine.
func checkLoopback(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return err
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("refusing to load %s: only loopback servers", issuer)
}
