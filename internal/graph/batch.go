package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
)

// JSON batching (https://learn.microsoft.com/en-us/graph/json-batching,
// reference §3.5): POST /v1.0/$batch carries up to 20 requests, each run
// through the same handler as a request of its own (API.Handler): its own
// request-id, its own authentication with the batch's bearer token, its own
// authorization, its own body limit. The batch answers 200 once it parses;
// each inner request has its own status.
//
// Vigil runs a request after every request it names in dependsOn; one
// whose dependency failed (status 400 or more, including a 424 of its own)
// is not run and is answered 424 Failed Dependency. Requests without a
// pending dependency run concurrently, at most batchConcurrency at a time
// (the order Graph promises nothing about), and the responses are listed
// in the order of the requests.

const (
	// maxBatchRequests is Graph's limit on requests in one batch.
	maxBatchRequests = 20
	// batchConcurrency bounds the inner requests running at once.
	batchConcurrency = 4
)

// Graph's messages for a malformed batch (the first seen in Graph's
// answers quoted in microsoftgraph/msgraph-sdk-java#559, the second in
// microsoftgraph/microsoftgraph-postman-collections#9); Vigil words the
// other 400s.
const (
	msgBatchDuplicateID = "Request Id %s has to be unique in a batch."
	msgBatchTooMany     = "Number of requests inside batch exceeds the limit."
)

// batchBody is the JSON body of POST /$batch.
type batchBody struct {
	Requests []batchRequest `json:"requests"`
}

// batchRequest is one request of a batch as sent.
type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchStep is a checked request, ready to run.
type batchStep struct {
	id      string
	method  string
	target  string // "/v1.0/…" with the query, as a request URI
	headers http.Header
	body    []byte // nil when none
	deps    []int  // indexes of the steps it depends on
}

// batchResponse is one response of a batch.
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchError is a 400 for the whole batch.
func batchError(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(format, args...), nil)
}

// batchMethods are the methods an inner request may use.
var batchMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}

// parseBatch decodes and checks a batch body: a JSON object whose
// "requests" hold 1 to maxBatchRequests requests, each with an id (unique
// case-insensitively), a method of batchMethods, a relative url (not
// $batch itself), a Content-Type header when it has a body (a JSON value
// for a JSON media type, else a base64 string) and dependsOn naming other
// requests of the batch without a cycle. Any problem is a 400 for the
// whole batch.
func parseBatch(raw []byte) ([]batchStep, error) {
	var b batchBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, NewError(http.StatusBadRequest, CodeBadRequest, "The batch request body is not valid: "+err.Error()+".", err)
	}
	if dec.More() {
		return nil, invalidJSON(nil)
	}
	switch n := len(b.Requests); {
	case n == 0:
		return nil, batchError("The batch request must contain at least one request in 'requests'.")
	case n > maxBatchRequests:
		return nil, batchError(msgBatchTooMany)
	}
	index := make(map[string]int, len(b.Requests))
	steps := make([]batchStep, len(b.Requests))
	for i, br := range b.Requests {
		if br.ID == "" {
			return nil, batchError("Request %d of the batch has no id.", i+1)
		}
		key := strings.ToLower(br.ID)
		if _, dup := index[key]; dup {
			return nil, batchError(msgBatchDuplicateID, br.ID)
		}
		index[key] = i
		st, err := checkBatchRequest(br)
		if err != nil {
			return nil, err
		}
		steps[i] = st
	}
	for i, br := range b.Requests {
		for _, dep := range br.DependsOn {
			j, ok := index[strings.ToLower(dep)]
			switch {
			case !ok:
				return nil, batchError("Request %s depends on '%s', which is not in the batch.", br.ID, dep)
			case j == i:
				return nil, batchError("Request %s depends on itself.", br.ID)
			}
			steps[i].deps = append(steps[i].deps, j)
		}
	}
	if cycle := findCycle(steps); cycle != nil {
		return nil, batchError("The dependsOn of requests %s form a cycle.", strings.Join(cycle, ", "))
	}
	return steps, nil
}

// checkBatchRequest checks one request's method, url, headers and body.
func checkBatchRequest(br batchRequest) (batchStep, error) {
	st := batchStep{id: br.ID, method: strings.ToUpper(br.Method), headers: http.Header{}}
	known := false
	for _, m := range batchMethods {
		known = known || st.method == m
	}
	if !known {
		return st, batchError("Request %s has an invalid method '%s'.", br.ID, br.Method)
	}
	target, err := batchTarget(br.URL)
	if err != nil {
		return st, batchError("Request %s: %s", br.ID, err)
	}
	st.target = target
	for k, v := range br.Headers {
		if k == "" || !printableASCII(k) || !printableASCII(v) || strings.ContainsAny(k, " :") {
			return st, batchError("Request %s has an invalid header '%s'.", br.ID, k)
		}
		st.headers.Set(k, v)
	}
	if len(br.Body) == 0 || string(br.Body) == "null" {
		return st, nil
	}
	ct := st.headers.Get("Content-Type")
	if ct == "" {
		return st, batchError("Request %s has a body but no Content-Type header.", br.ID)
	}
	if isJSONMediaType(ct) {
		st.body = br.Body
		return st, nil
	}
	var enc string
	if json.Unmarshal(br.Body, &enc) != nil {
		return st, batchError("Request %s: a body of type '%s' must be a base64 string.", br.ID, ct)
	}
	if st.body, err = decodeBase64(enc); err != nil {
		return st, batchError("Request %s: the body is not valid base64.", br.ID)
	}
	return st, nil
}

// decodeBase64 accepts the standard and the URL alphabets, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// batchTarget turns an inner request's relative url ("/users?$top=1" or
// "users/…") into the request URI it is served at under /v1.0. Absolute
// urls, and $batch itself, are refused.
func batchTarget(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("the url is required")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || strings.ContainsAny(raw, "\\#") || strings.HasPrefix(raw, "//"):
		return "", fmt.Errorf("the url '%s' is not a valid relative URL", clipText(raw))
	case u.IsAbs() || u.Host != "" || u.Opaque != "":
		return "", fmt.Errorf("the url '%s' must be relative to the batch, as in '/users'", clipText(raw))
	}
	p := "/" + strings.TrimPrefix(u.EscapedPath(), "/")
	if unescaped, err := url.PathUnescape(p); err == nil && strings.EqualFold(path.Clean(unescaped), "/$batch") {
		return "", errors.New("a batch cannot contain another batch")
	}
	target := prefixV1 + p
	if u.RawQuery != "" || u.ForceQuery {
		target += "?" + u.RawQuery
	}
	return target, nil
}

// clipText shortens s for an error message.
func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// findCycle returns the ids of the steps on a dependsOn cycle, or nil.
func findCycle(steps []batchStep) []string {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := make([]int, len(steps))
	var stack []int
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		stack = append(stack, i)
		for _, j := range steps[i].deps {
			switch state[j] {
			case onPath:
				var ids []string
				for k := len(stack) - 1; k >= 0; k-- {
					ids = append([]string{steps[stack[k]].id}, ids...)
					if stack[k] == j {
						break
					}
				}
				return ids
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = finished
		return nil
	}
	for i := range steps {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// batch is POST /$batch.
func (a *API) batch(w http.ResponseWriter, r *http.Request) error {
	if err := noOptions(r); err != nil {
		return err
	}
	raw, err := readJSONBody(r, false)
	if err != nil {
		return err
	}
	steps, err := parseBatch(raw)
	if err != nil {
		return err
	}
	a.writeJSON(w, http.StatusOK, struct {
		Responses []batchResponse `json:"responses"`
	}{a.runBatch(r, steps)})
	return nil
}

// runBatch runs the steps of a batch (see the comment at the top of the
// file) and returns their responses in the order of the steps.
func (a *API) runBatch(outer *http.Request, steps []batchStep) []batchResponse {
	out := make([]batchResponse, len(steps))
	done := make([]chan struct{}, len(steps))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, batchConcurrency)
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Go(func() {
			defer close(done[i])
			for _, j := range st.deps {
				<-done[j]
			}
			for _, j := range st.deps {
				if out[j].Status >= http.StatusBadRequest {
					out[i] = a.failedDependency(outer, st, steps[j].id)
					return
				}
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = a.runStep(outer, st)
		})
	}
	wg.Wait()
	return out
}

// runStep serves one inner request through the API's handler with the
// batch's Authorization header, and records its response.
func (a *API) runStep(outer *http.Request, st batchStep) (res batchResponse) {
	rec := newRecorder()
	defer func() {
		// The handler recovers its own panics but re-raises
		// http.ErrAbortHandler, which must not escape this goroutine.
		if p := recover(); p != nil {
			a.logger().ErrorContext(outer.Context(), "graph batch request panicked",
				"request_id", RequestID(outer.Context()), "id", st.id, "panic", p)
			res = a.stepError(outer, st, NewError(http.StatusInternalServerError, CodeGeneralException, msgInternal, nil))
		}
	}()
	var body io.Reader = http.NoBody
	if st.body != nil {
		body = bytes.NewReader(st.body)
	}
	r, err := http.NewRequestWithContext(outer.Context(), st.method, st.target, body)
	if err != nil {
		return a.stepError(outer, st, badRequest("The url of request %s is not valid.", st.id))
	}
	r.Host, r.RemoteAddr, r.Proto, r.ProtoMajor, r.ProtoMinor = outer.Host, outer.RemoteAddr, outer.Proto, outer.ProtoMajor, outer.ProtoMinor
	r.Header = st.headers.Clone()
	r.Header.Del("Authorization")
	if auth := outer.Header.Get("Authorization"); auth != "" {
		r.Header.Set("Authorization", auth)
	}
	a.Handler().ServeHTTP(rec, r)
	return rec.response(st.id)
}

// failedDependency is the 424 of a step not run because the step dep
// failed.
func (a *API) failedDependency(outer *http.Request, st batchStep, dep string) batchResponse {
	return a.stepError(outer, st, NewError(http.StatusFailedDependency, "FailedDependency",
		fmt.Sprintf("The request was not run: it depends on request %s, which failed.", dep), nil))
}

// stepError answers a step that did not run with an error envelope of its
// own request-id, through the one error writer, with the headers of any
// Graph response.
func (a *API) stepError(outer *http.Request, st batchStep, ge *Error) batchResponse {
	id := a.newRequestID()
	client := clientRequestID(st.headers, id)
	ctx := context.WithValue(outer.Context(), infoKey{}, requestInfo{requestID: id, clientRequestID: client})
	r := outer.WithContext(ctx)
	rec := newRecorder()
	setGraphHeaders(rec.header, id, client)
	a.writeError(rec, r, ge)
	return rec.response(st.id)
}

// recorder is the ResponseWriter of an inner request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (rc *recorder) Header() http.Header { return rc.header }

func (rc *recorder) WriteHeader(status int) {
	if rc.status == 0 {
		rc.status = status
	}
}

func (rc *recorder) Write(b []byte) (int, error) {
	rc.WriteHeader(http.StatusOK)
	return rc.body.Write(b)
}

// batchHeaderNames spells response headers as Graph does where Go's
// canonical form differs.
var batchHeaderNames = map[string]string{"Odata-Version": "OData-Version", "Www-Authenticate": "WWW-Authenticate"}

// batchHeadersOmitted are response headers an inner response does not
// repeat: the ids (Graph's inner responses carry none; error bodies carry
// innerError.request-id) and the length of a body that is re-encoded.
var batchHeadersOmitted = map[string]bool{"Request-Id": true, "Client-Request-Id": true, "Content-Length": true}

// response renders what the inner request answered: its status, its
// headers as Graph spells them and its body, as JSON when it is JSON and
// as a base64 string otherwise.
func (rc *recorder) response(id string) batchResponse {
	res := batchResponse{ID: id, Status: rc.status, Headers: map[string]string{}}
	if res.Status == 0 {
		res.Status = http.StatusOK
	}
	for k, vs := range rc.header {
		if batchHeadersOmitted[k] {
			continue
		}
		if name, ok := batchHeaderNames[k]; ok {
			k = name
		}
		res.Headers[k] = strings.Join(vs, ", ")
	}
	body := rc.body.Bytes()
	if len(body) == 0 {
		return res
	}
	mt, _, _ := mime.ParseMediaType(rc.header.Get("Content-Type"))
	if mt == "application/json" && json.Valid(body) {
		res.Body = json.RawMessage(body)
		return res
	}
	res.Body = json.RawMessage(strconv.Quote(base64.StdEncoding.EncodeToString(body)))
	return res
}
