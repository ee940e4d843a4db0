package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// resource is an API the CLI calls, with the audience and the scope of its
// access tokens.
type resource struct {
	name     string // "graph" or "vigil", as `vigil login --resource` takes it
	audience string
}

func (r resource) scope() string { return r.audience + "/.default" }

var (
	graphAPI = resource{name: "graph", audience: "https://graph.microsoft.com"}
	vigilAPI = resource{name: "vigil", audience: "api://vigil"}
)

// API path prefixes below the server URL.
const (
	graphPrefix = "/v1.0"
	vigilPrefix = "/vigil/v1"
)

// credentials hands out bearer tokens per resource. invalidate drops a
// token the server refused, so the next call gets a fresh one.
type credentials interface {
	token(ctx context.Context, r resource) (string, error)
	invalidate(r resource)
}

// Client calls a Vigil server: it adds the bearer token of the API a path
// belongs to, retries 429 and 503 answers after Retry-After (or with
// exponential backoff and jitter), fetches a new token once after a 401,
// and turns error answers into *APIError values.
type Client struct {
	base  *url.URL
	http  *http.Client
	creds credentials
	now   func() time.Time
	// sleep waits d or until ctx is done; tests make it instant.
	sleep func(ctx context.Context, d time.Duration) error
	// maxAttempts bounds the tries of one request (throttled answers).
	maxAttempts int
	userAgent   string
}

func newClient(base *url.URL, now func() time.Time) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &Client{
		base:        base,
		http:        &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		now:         now,
		sleep:       sleepCtx,
		maxAttempts: 8,
		userAgent:   "vigil-cli/" + buildVersion(),
	}
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request is one API call.
type request struct {
	method string
	// path is below the server URL ("/v1.0/users"), or an absolute URL the
	// server returned (an @odata.nextLink), re-rooted on the server URL so
	// that a token never leaves for another origin.
	path  string
	query url.Values
	// body is sent as JSON; []byte is sent as is (JSON).
	body   any
	header http.Header
	// anonymous sends no token (discovery documents).
	anonymous bool
	// api overrides the API whose token is sent (paths outside /v1.0 and
	// /vigil/v1, such as SSF stream management).
	api resource
}

// response is a successful answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// resolve returns the absolute URL and the API of a request path.
func (c *Client) resolve(p string, q url.Values) (*url.URL, resource, error) {
	rel := p
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		u, err := url.Parse(p)
		if err != nil {
			return nil, resource{}, fmt.Errorf("the server sent a bad link %q: %w", p, err)
		}
		rel = ""
		for _, prefix := range []string{graphPrefix + "/", vigilPrefix + "/"} {
			if i := strings.Index(u.EscapedPath(), prefix); i >= 0 {
				rel = u.EscapedPath()[i:]
				if u.RawQuery != "" {
					rel += "?" + u.RawQuery
				}
				break
			}
		}
		if rel == "" {
			// Another endpoint the server named (SSF): keep its path.
			rel = u.EscapedPath()
			if u.RawQuery != "" {
				rel += "?" + u.RawQuery
			}
		}
	}
	if !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	u, err := url.Parse(c.base.String() + rel)
	if err != nil {
		return nil, resource{}, usagef("bad path %q: %v", p, err)
	}
	if len(q) > 0 {
		merged := u.Query()
		for k, vs := range q {
			merged[k] = vs
		}
		u.RawQuery = encodeQuery(merged)
	}
	res := graphAPI
	if strings.HasPrefix(rel, vigilPrefix+"/") || rel == vigilPrefix {
		res = vigilAPI
	}
	return u, res, nil
}

// encodeQuery encodes a query like url.Values.Encode but keeps '$' and ','
// readable, as Graph's own links do.
func encodeQuery(v url.Values) string {
	s := v.Encode()
	return strings.NewReplacer("%24", "$", "%2C", ",").Replace(s)
}

// do sends rq and returns the answer; an error answer is an *APIError.
func (c *Client) do(ctx context.Context, rq request) (*response, error) {
	u, res, err := c.resolve(rq.path, rq.query)
	if err != nil {
		return nil, err
	}
	if rq.api.audience != "" {
		res = rq.api
	}
	var body []byte
	switch b := rq.body.(type) {
	case nil:
	case []byte:
		body = b
	default:
		if body, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
	}
	reauthed := false
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, rq.method, u.String(), bytes.NewReader(body))
		if err != nil {
			return nil, usagef("bad request %s %s: %v", rq.method, rq.path, err)
		}
		for k, vs := range rq.header {
			req.Header[k] = vs
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)
		if !rq.anonymous {
			tok, err := c.creds.token(ctx, res)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, c.unreachable(err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, c.unreachable(err)
		}
		switch st := resp.StatusCode; {
		case (st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable) && attempt < c.maxAttempts:
			if err := c.sleep(ctx, retryDelay(resp.Header.Get("Retry-After"), attempt, c.now())); err != nil {
				return nil, err
			}
			continue
		case st == http.StatusUnauthorized && !rq.anonymous && !reauthed:
			// The token may have expired or been revoked since it was
			// cached: fetch a fresh one once.
			c.creds.invalidate(res)
			reauthed = true
			continue
		case st >= 400:
			return nil, decodeAPIError(rq.method, u, resp, data)
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
	}
}

// retryDelay is how long to wait before retrying a throttled request: the
// Retry-After header (delta-seconds or an HTTP-date, RFC 9110 §10.2.3),
// bounded to five minutes, else exponential backoff from 200 ms, capped at
// 10 s, with ±20 % jitter.
func retryDelay(header string, attempt int, now time.Time) time.Duration {
	const most = 5 * time.Minute
	if header != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(header)); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, most)
		}
		if t, err := http.ParseTime(header); err == nil {
			return min(max(t.Sub(now), 0), most)
		}
	}
	d := 200 * time.Millisecond << min(attempt-1, 6)
	d = min(d, 10*time.Second)
	jitter := time.Duration(rand.Int64N(int64(d)/5*2+1)) - d/5
	return d + jitter
}

// unreachable is the one-line error for a server that does not answer.
func (c *Client) unreachable(err error) error {
	cause := "no answer"
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.As(err, &dns):
		cause = "unknown host " + dns.Name
	case errors.As(err, &ne) && ne.Timeout():
		cause = "timed out"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
		cause = "connection closed"
	}
	return failf("cannot reach the Vigil server at %s (%s): start it with `vigil serve`, or point VIGIL_URL or --url at it", c.base, cause)
}

// decodeAPIError reads Graph's error envelope, an RFC 6749 error body or an
// SSF error ({"err","description"}).
func decodeAPIError(method string, u *url.URL, resp *http.Response, data []byte) *APIError {
	e := &APIError{Method: method, Path: u.Path, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	var graph struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
		// SSF (RFC 8935 style): {"err": code, "description": text}.
		Err         string `json:"err"`
		Description string `json:"description"`
	}
	if json.Unmarshal(data, &graph) == nil && len(graph.Error) > 0 {
		var env struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		var code string
		switch {
		case json.Unmarshal(graph.Error, &env) == nil && (env.Code != "" || env.Message != ""):
			e.Code, e.Message = env.Code, env.Message
		case json.Unmarshal(graph.Error, &code) == nil:
			e.Code, e.Message = code, graph.Desc
		}
	}
	if e.Code == "" && graph.Err != "" {
		e.Code, e.Message = graph.Err, graph.Description
	}
	if e.Message == "" && e.Code == "" {
		if s := strings.TrimSpace(string(data)); s != "" && len(s) < 200 && !strings.HasPrefix(s, "<") {
			e.Message = s
		}
	}
	return e
}

// getJSON GETs path and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return err
	}
	return decodeBody(resp, out)
}

// sendJSON sends body with method and decodes the answer into out (when
// out is not nil and there is a body).
func (c *Client) sendJSON(ctx context.Context, method, path string, body, out any) (*response, error) {
	resp, err := c.do(ctx, request{method: method, path: path, body: body})
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.body) > 0 {
		if err := decodeBody(resp, out); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

func decodeBody(resp *response, out any) error {
	if err := json.Unmarshal(resp.body, out); err != nil {
		return failf("the server's answer is not the JSON expected (%v); is the URL a Vigil server?", err)
	}
	return nil
}

// pathEscape escapes one path segment: ids and UPNs.
func pathEscape(s string) string { return url.PathEscape(s) }
