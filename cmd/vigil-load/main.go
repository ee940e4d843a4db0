// Command vigil-load is Vigil's HTTP load tool: it drives one scenario
// against a running server (on loopback) with a fixed number of requests at
// a fixed concurrency and reports throughput and latency percentiles. It
// obtains a token with the client-credentials grant from the bootstrap
// client in bootstrap.json. Every loop is bounded by -n and -timeout.
//
// The tool runs on the same machine as the server it measures, so its timed
// loop is built to cost as little CPU as possible: one fasthttp.HostClient
// with keep-alive connections (one per worker), one reused request and
// response per worker, and every constant URL, header and body built once.
// The output line reports the tool's own CPU per request (client_cpu) and,
// with -server-pid, the server's (server_cpu).
//
//	vigil-load -bootstrap vigil-data/bootstrap.json -scenario create-users -n 20000 -c 16
//	vigil-load -bootstrap vigil-data/bootstrap.json -scenario filter-users -n 2000 -c 1 -filter "department eq 'HP'"
//	vigil-load -bootstrap vigil-data/bootstrap.json -scenario introspect -n 20000 -c 16 -server-pid $(pgrep -n vigil)
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
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
		serverPID = flag.Int("server-pid", 0, "also report the CPU per request of this process (the server), from /proc/PID/stat")
	)
	flag.Parse()
	if err := run(*bootstrap, *scenario, *n, *c, *filter, *top, *password, *timeout, *serverPID); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-load:", err)
		os.Exit(1)
	}
}

// plan is one scenario's timed request, with everything that does not vary
// per request built once.
type plan struct {
	method      string
	url         string   // request URL, unless urls is set
	urls        []string // revoke: request i goes to urls[i%len(urls)]
	auth        string   // Authorization header value ("" = none)
	contentType string
	body        []byte // constant body (nil = none, or built per request)
	want        int    // expected status code
}

func run(bootstrapPath, scenario string, n, c int, filter string, top int, password bool, timeout time.Duration, serverPID int) error {
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
	if c < 1 {
		return fmt.Errorf("-c %d: need at least one worker", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	// Everything up to the timed loop (tokens, refresh-token chains, the
	// revoke targets) uses net/http: it is not measured.
	cc := clientcredentials.Config{
		ClientID: b.BootstrapClient.ClientID, ClientSecret: b.BootstrapClient.ClientSecret,
		TokenURL: b.Issuer + "/token", Scopes: []string{"https://graph.microsoft.com/.default"},
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	bearer := "Bearer " + tok.AccessToken
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(
		url.QueryEscape(b.BootstrapClient.ClientID)+":"+url.QueryEscape(b.BootstrapClient.ClientSecret)))
	const formType = "application/x-www-form-urlencoded"

	p := plan{method: fasthttp.MethodGet, auth: bearer, want: http.StatusOK}
	switch scenario {
	case "create-users":
		p.method, p.url, p.contentType, p.want = fasthttp.MethodPost, b.GraphBaseURL+"/users", "application/json", http.StatusCreated
	case "filter-users":
		q := url.Values{"$filter": {filter}, "$top": {fmt.Sprint(top)}}
		p.url = b.GraphBaseURL + "/users?" + q.Encode()
	case "get-user":
		p.url = b.GraphBaseURL + "/users/admin@vigil.local"
	case "healthz":
		p.url = b.Issuer + "/healthz"
	case "revoke":
		// Graph's revokeSignInSessions on the demo users in turn (or the
		// admin without --demo): one durable revocation each.
		p.method = fasthttp.MethodPost
		targets, err := listUserIDs(ctx, b.GraphBaseURL, bearer)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			targets = []string{"admin@vigil.local"}
		}
		for _, t := range targets {
			p.urls = append(p.urls, b.GraphBaseURL+"/users/"+t+"/revokeSignInSessions")
		}
		p.url = p.urls[0]
	case "client-credentials":
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}
		p.method, p.url, p.auth, p.contentType, p.body = fasthttp.MethodPost, b.Issuer+"/token", basic, formType, []byte(form.Encode())
	case "introspect":
		form := url.Values{"token": {tok.AccessToken}}
		p.method, p.url, p.auth, p.contentType, p.body = fasthttp.MethodPost, b.Issuer+"/introspect", basic, formType, []byte(form.Encode())
	case "refresh":
		// The body carries each worker's current refresh token; no
		// Authorization (the CLI client is public).
		p.method, p.url, p.auth, p.contentType = fasthttp.MethodPost, b.Issuer+"/token", "", formType
	default:
		return fmt.Errorf("unknown scenario %q", scenario)
	}
	target, err := url.Parse(p.url)
	if err != nil {
		return err
	}
	if err := checkLoopback(p.url); err != nil {
		return err
	}

	// refresh: one refresh-token chain per worker, started with the admin's
	// password grant through the public CLI client.
	var chains []string
	refreshPrefix := "client_id=" + url.QueryEscape(b.CLIClientID) + "&grant_type=refresh_token&refresh_token="
	if scenario == "refresh" {
		chains = make([]string, c)
		for w := range c {
			rt, err := passwordGrant(context.Background(), b) // not bounded by -timeout, as before
			if err != nil {
				return err
			}
			chains[w] = rt
		}
	}

	var server *procCPU
	if serverPID > 0 {
		server = &procCPU{pid: serverPID}
		if err := server.start(); err != nil {
			return err
		}
	}

	hc := &fasthttp.HostClient{
		Addr:                          hostPort(target),
		IsTLS:                         target.Scheme == "https",
		MaxConns:                      c,
		MaxIdleConnDuration:           time.Minute,
		ReadBufferSize:                32 << 10,
		WriteBufferSize:               8 << 10,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
	}
	deadline, _ := ctx.Deadline()
	runID := time.Now().UnixNano()

	lat := make([]time.Duration, n)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	start := time.Now()
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.DisableNormalizing()
			req.URI().DisablePathNormalizing = true
			req.Header.SetMethod(p.method)
			req.SetRequestURI(p.url)
			if p.auth != "" {
				req.Header.Set(fasthttp.HeaderAuthorization, p.auth)
			}
			if p.contentType != "" {
				req.Header.SetContentType(p.contentType)
			}
			if p.body != nil {
				req.SetBodyRaw(p.body) // shared and read-only
			}
			var buf []byte // create-users, refresh: the body built per request
			var rt []byte  // refresh: this worker's current refresh token
			if chains != nil {
				rt = append(rt, chains[w]...)
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				switch scenario {
				case "create-users":
					buf = appendUser(buf[:0], runID, i, password)
					req.SetBody(buf)
				case "refresh":
					buf = append(buf[:0], refreshPrefix...)
					buf = appendQueryEscape(buf, rt)
					req.SetBody(buf)
				case "revoke":
					req.SetRequestURI(p.urls[i%len(p.urls)])
				}
				t0 := time.Now()
				if !t0.Before(deadline) { // -timeout
					return
				}
				err := hc.DoDeadline(req, resp, deadline)
				if err == nil {
					status := resp.StatusCode()
					if scenario == "refresh" && status == http.StatusOK {
						if t := refreshToken(resp.Body()); len(t) > 0 {
							rt = append(rt[:0], t...)
						}
					}
					if status != p.want {
						err = fmt.Errorf("status %d", status)
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
	cpu := selfCPU() - cpu0
	done := min(int(next.Load()), n)
	lat = lat[:done]
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	perReq := func(d time.Duration) float64 {
		if done == 0 {
			return 0
		}
		return float64(d.Nanoseconds()) / 1e3 / float64(done)
	}
	line := fmt.Sprintf("scenario=%s requests=%d concurrency=%d failed=%d elapsed=%s rate=%.0f/s p50=%s p95=%s p99=%s client_cpu=%.1fµs/req",
		scenario, done, c, failed.Load(), elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds(),
		pct(0.50), pct(0.95), pct(0.99), perReq(cpu))
	if server != nil {
		d, err := server.since()
		if err != nil {
			return err
		}
		line += fmt.Sprintf(" server_cpu=%.1fµs/req", perReq(d))
	}
	fmt.Println(line)
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d requests failed; first: %v", failed.Load(), e)
	}
	return nil
}

// appendUser appends create-users request i's body: the JSON that
// encoding/json makes of the user (keys sorted), built without reflection.
// Every value is ASCII letters, digits and punctuation that needs no escaping.
func appendUser(dst []byte, runID int64, i int, password bool) []byte {
	dst = append(dst, `{"accountEnabled":true,"department":"Load","displayName":"Load `...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `","mailNickname":"load`...)
	dst = strconv.AppendInt(dst, runID, 10)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, int64(i), 10)
	if password {
		dst = append(dst, `","passwordProfile":{"password":"Load-pass-`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `!"},"userPrincipalName":"load`...)
	} else {
		dst = append(dst, `","userPrincipalName":"load`...)
	}
	dst = strconv.AppendInt(dst, runID, 10)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, `@vigil.local"}`...)
	return dst
}

// appendQueryEscape appends s escaped as url.QueryEscape does, without
// allocating when s needs no escaping (a refresh token normally does not).
func appendQueryEscape(dst, s []byte) []byte {
	for _, ch := range s {
		if !unreserved(ch) {
			return append(dst, url.QueryEscape(string(s))...)
		}
	}
	return append(dst, s...)
}

func unreserved(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
		ch == '-' || ch == '_' || ch == '.' || ch == '~'
}

// refreshToken returns the refresh_token member of a token response. It
// finds the member with a scan instead of decoding the whole response (which
// also holds the access and ID tokens) and falls back to encoding/json for
// anything but a plain, unescaped string. The result may alias body.
func refreshToken(body []byte) []byte {
	const key = `"refresh_token"`
	for off := 0; ; {
		k := bytes.Index(body[off:], []byte(key))
		if k < 0 {
			return nil
		}
		k += off
		off = k + len(key)
		// A member name starts an object member: after '{' or ',' (and
		// whitespace). Anything else is a match inside some other string.
		prev := k - 1
		for prev >= 0 && isSpace(body[prev]) {
			prev--
		}
		if prev < 0 || body[prev] != '{' && body[prev] != ',' {
			continue
		}
		rest := skipSpace(body[off:])
		if len(rest) == 0 || rest[0] != ':' {
			continue
		}
		rest = skipSpace(rest[1:])
		if len(rest) == 0 || rest[0] != '"' {
			return refreshTokenJSON(body)
		}
		rest = rest[1:]
		end := bytes.IndexByte(rest, '"')
		if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
			return refreshTokenJSON(body)
		}
		return rest[:end]
	}
}

func refreshTokenJSON(body []byte) []byte {
	var t struct {
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &t) != nil {
		return nil
	}
	return []byte(t.RefreshToken)
}

func isSpace(ch byte) bool { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' }

func skipSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// passwordGrant starts a refresh-token chain: the admin's password grant
// through the public CLI client.
func passwordGrant(ctx context.Context, b bootstrapFile) (string, error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {b.CLIClientID}, "username": {b.Admin.UserPrincipalName},
		"password": {b.Admin.Password}, "scope": {"offline_access https://graph.microsoft.com/User.Read"}}
	req, err := http.NewRequestWithContext(ctx, "POST", b.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var t struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || t.RefreshToken == "" {
		return "", fmt.Errorf("password grant for the refresh chains: status %d", resp.StatusCode)
	}
	return t.RefreshToken, nil
}

// listUserIDs returns the ids of (up to 999) users, the revoke scenario's
// targets.
func listUserIDs(ctx context.Context, graphBaseURL, bearer string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", graphBaseURL+"/users?$top=999&$select=id", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var page struct {
		Value []struct{ ID string } `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(page.Value))
	for _, u := range page.Value {
		ids = append(ids, u.ID)
	}
	return ids, nil
}

// hostPort is u's host with the scheme's default port if it names none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU measures another process's user+system CPU time from
// /proc/PID/stat (utime and stime, in clock ticks of 1/100 s).
type procCPU struct {
	pid  int
	base time.Duration
}

func (p *procCPU) start() error {
	d, err := p.read()
	p.base = d
	return err
}

func (p *procCPU) since() (time.Duration, error) {
	d, err := p.read()
	return d - p.base, err
}

func (p *procCPU) read() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, fmt.Errorf("-server-pid: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after it start with the state (field 3).
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("-server-pid: unexpected /proc stat format")
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("-server-pid: unexpected /proc stat format")
	}
	// utime and stime are fields 14 and 15: f[11] and f[12].
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("-server-pid: unexpected /proc stat format")
	}
	const tick = time.Second / 100 // USER_HZ
	return time.Duration(utime+stime) * tick, nil
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
