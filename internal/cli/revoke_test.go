package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeVigil is a directory behind the parts of the Graph and Vigil APIs
// revoke-sessions uses: user lookups by `id in (…)` / `userPrincipalName in
// (…)`, Graph's revokeSignInSessions, and revocation jobs. Users in denied
// may not be revoked by the caller; every throttleEvery-th request is
// answered 429.
type fakeVigil struct {
	srv *httptest.Server

	mu            sync.Mutex
	users         map[string]*fakeUser // by id
	order         []string
	denied        map[string]bool
	noVigilAPI    bool
	throttleEvery int
	requests      int
	throttled     int
	perUser       int // revokeSignInSessions calls
	jobs          map[string]*fakeJob
	jobBodies     []map[string]any
	receipts      bool // jobs have one SSF receipt, acknowledged on the third read
	noResults     bool // no GET /revocations/{id}/results (an older server)
}

type fakeUser struct {
	id, upn   string
	validFrom time.Time
}

type fakeJob struct {
	rev   revocation
	reads int
	users []string
	done  bool
}

func newFakeVigil(t *testing.T, n int) *fakeVigil {
	f := &fakeVigil{users: map[string]*fakeUser{}, denied: map[string]bool{}, jobs: map[string]*fakeJob{}}
	old := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		f.users[id] = &fakeUser{id: id, upn: fmt.Sprintf("user%d@vigil.local", i), validFrom: old}
		f.order = append(f.order, id)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

var (
	inFilterRE = regexp.MustCompile(`^(id|userPrincipalName) in \((.*)\)$`)
	quotedRE   = regexp.MustCompile(`'((?:[^']|'')*)'`)
)

func (f *fakeVigil) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.throttleEvery > 0 && f.requests%f.throttleEvery == 0 {
		f.throttled++
		w.Header().Set("Retry-After", "1")
		graphError(w, 429, "TooManyRequests", "throttled")
		return
	}
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == "/v1.0/users":
		f.lookup(w, r)
	case r.Method == "POST" && strings.HasPrefix(p, "/v1.0/users/") && strings.HasSuffix(p, "/revokeSignInSessions"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1.0/users/"), "/revokeSignInSessions")
		f.perUser++
		u := f.users[id]
		switch {
		case u == nil:
			graphError(w, 404, "Request_ResourceNotFound", "Resource '"+id+"' does not exist.")
		case f.denied[id]:
			graphError(w, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		default:
			now := time.Now().UTC()
			u.validFrom = now
			job := f.newJob([]string{id}, now)
			job.rev.Status, job.rev.Revoked, job.done = "completed", 1, true
			job.rev.CompletedAt = now.Format(time.RFC3339Nano)
			w.Header().Set("Location", f.srv.URL+"/vigil/v1/revocations/"+job.rev.ID)
			writeJSON(w, map[string]any{"value": true})
		}
	case strings.HasPrefix(p, "/vigil/v1/") && f.noVigilAPI:
		http.NotFound(w, r)
	case r.Method == "POST" && p == "/vigil/v1/revocations":
		f.submit(w, r)
	case r.Method == "GET" && strings.HasSuffix(p, "/results") && !f.noResults:
		j := f.jobs[strings.TrimSuffix(strings.TrimPrefix(p, "/vigil/v1/revocations/"), "/results")]
		var out []map[string]any
		for _, id := range j.users {
			if f.denied[id] && r.URL.Query().Get("outcome") == "denied" {
				out = append(out, map[string]any{"userId": id, "outcome": "denied", "detail": "the caller's roles do not cover this user"})
			}
		}
		writeJSON(w, map[string]any{"value": out})
	case r.Method == "GET" && strings.HasPrefix(p, "/vigil/v1/revocations/"):
		j := f.jobs[strings.TrimPrefix(p, "/vigil/v1/revocations/")]
		if j == nil {
			graphError(w, 404, "Request_ResourceNotFound", "no such revocation")
			return
		}
		f.advance(j)
		writeJSON(w, j.rev)
	default:
		graphError(w, 400, "BadRequest", "Resource not found for the segment '"+p+"'.")
	}
}

func (f *fakeVigil) lookup(w http.ResponseWriter, r *http.Request) {
	m := inFilterRE.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		graphError(w, 400, "BadRequest", "Invalid $filter clause")
		return
	}
	var out []map[string]string
	for _, q := range quotedRE.FindAllStringSubmatch(m[2], -1) {
		v := strings.ReplaceAll(q[1], "''", "'")
		for _, u := range f.users {
			if (m[1] == "id" && u.id == v) || (m[1] != "id" && strings.EqualFold(u.upn, v)) {
				out = append(out, map[string]string{"id": u.id, "userPrincipalName": u.upn,
					"signInSessionsValidFromDateTime": u.validFrom.Format("2006-01-02T15:04:05Z")})
			}
		}
	}
	writeJSON(w, map[string]any{"value": out})
}

func (f *fakeVigil) newJob(users []string, at time.Time) *fakeJob {
	id := fmt.Sprintf("rev-%d", len(f.jobs)+1)
	j := &fakeJob{users: users, rev: revocation{ID: id, Status: "pending", Targeted: len(users),
		ValidFrom: at.Format(time.RFC3339Nano), CreatedAt: at.Format(time.RFC3339Nano)}}
	if f.receipts {
		j.rev.Receipts = []receipt{{StreamID: "s1", Receiver: "https://rp.example", Status: "pending"}}
	}
	f.jobs[id] = j
	return j
}

func (f *fakeVigil) submit(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	f.jobBodies = append(f.jobBodies, body)
	var ids []string
	switch {
	case body["userIds"] != nil:
		for _, v := range body["userIds"].([]any) {
			ids = append(ids, v.(string))
		}
	case body["filter"] == "department eq":
		graphError(w, 400, "BadRequest", "Invalid $filter clause at position 13.")
		return
	case body["filter"] != nil:
		ids = f.order
	default:
		graphError(w, 404, "Request_ResourceNotFound", "no such group")
		return
	}
	if body["dryRun"] == true {
		var sample []map[string]string
		for _, id := range ids[:min(3, len(ids))] {
			sample = append(sample, map[string]string{"id": id, "userPrincipalName": f.users[id].upn})
		}
		writeJSON(w, map[string]any{"targeted": len(ids), "sample": sample})
		return
	}
	j := f.newJob(ids, time.Now().UTC())
	if reason, ok := body["reason"].(string); ok {
		j.rev.Reason = reason
	}
	w.Header().Set("Location", f.srv.URL+"/vigil/v1/revocations/"+j.rev.ID)
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(j.rev)
}

// advance moves a job along on each read: running, then completed (users
// revoked, denied counted); its receipt is acknowledged on the third read.
func (f *fakeVigil) advance(j *fakeJob) {
	j.reads++
	if j.reads == 1 && !j.done {
		j.rev.Status = "running"
		return
	}
	if !j.done {
		at, _ := time.Parse(time.RFC3339Nano, j.rev.ValidFrom)
		for _, id := range j.users {
			u := f.users[id]
			switch {
			case u == nil:
				j.rev.Failed++
			case f.denied[id]:
				j.rev.Denied++
			default:
				u.validFrom = at
				j.rev.Revoked++
			}
		}
		j.rev.Status, j.done = "completed", true
		j.rev.CompletedAt = time.Now().UTC().Format(time.RFC3339Nano)
	}
	if len(j.rev.Receipts) > 0 && j.reads >= 3 {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		j.rev.Receipts[0].Status, j.rev.Receipts[0].DeliveredAt, j.rev.Receipts[0].AcknowledgedAt = "acknowledged", now, now
		j.rev.EffectiveAt = now
	}
}

// fakeRun runs revoke-sessions against f with stdin, as a pipe (no
// terminal) unless tty.
type fakeRun struct {
	s        *state
	out, err *bytes.Buffer
	mu       sync.Mutex
	sleeps   []time.Duration
}

func newFakeRun(t *testing.T, f *fakeVigil, stdin string) *fakeRun {
	var out, errw bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errw, ConfigDir: t.TempDir(),
		Getenv: func(string) string { return "" }}
	s := newState(env)
	u, _ := url.Parse(f.srv.URL)
	c := newClient(u, time.Now)
	c.creds = &fakeCreds{}
	fr := &fakeRun{s: s, out: &out, err: &errw}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		fr.mu.Lock()
		fr.sleeps = append(fr.sleeps, d)
		fr.mu.Unlock()
		return sleepCtx(ctx, min(d, time.Millisecond))
	}
	s.client = c
	return fr
}

func defaultRevokeOpts() revokeOpts {
	return revokeOpts{concurrency: 8, batchSize: 1000, timeout: time.Minute}
}

func (f *fakeVigil) ids(from, to int) string {
	return strings.Join(f.order[from:to], "\n") + "\n"
}

func rows(t *testing.T, out string) []revokeResult {
	t.Helper()
	var rs []revokeResult
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r revokeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestRevokeInJobs: 2,500 listed users go as three jobs of at most 1,000;
// the outcome of each user is read back; denied users are reported; rows
// come in input order.
func TestRevokeInJobs(t *testing.T) {
	t.Run("results API", func(t *testing.T) { testRevokeInJobs(t, false) })
	t.Run("read back", func(t *testing.T) { testRevokeInJobs(t, true) })
}

func testRevokeInJobs(t *testing.T, noResults bool) {
	f := newFakeVigil(t, 2500)
	f.noResults = noResults
	f.denied[f.order[7]], f.denied[f.order[1500]] = true, true
	run := newFakeRun(t, f, f.ids(0, 2500)+"ghost@vigil.local\n")
	o := defaultRevokeOpts()
	o.reason = "INC-1"
	err := run.s.revokeSessions(context.Background(), []string{"-"}, o)
	if KindOf(err) != KindFailed || !strings.Contains(err.Error(), "3 of 2501 targets failed") {
		t.Fatalf("err = %v", err)
	}
	if len(f.jobBodies) != 3 || f.perUser != 0 {
		t.Fatalf("%d jobs, %d per-user calls: want 3 jobs only", len(f.jobBodies), f.perUser)
	}
	if n := len(f.jobBodies[0]["userIds"].([]any)); n != 1000 || f.jobBodies[0]["reason"] != "INC-1" {
		t.Errorf("first job %d users, reason %v", n, f.jobBodies[0]["reason"])
	}
	rs := rows(t, run.out.String())
	if len(rs) != 2501 {
		t.Fatalf("%d rows", len(rs))
	}
	for i, r := range rs[:2500] {
		if r.ID != f.order[i] {
			t.Fatalf("row %d is %s, want input order", i, r.ID)
		}
		denied := i == 7 || i == 1500
		if denied != (r.Error != "") || denied == r.Revoked || (!denied && r.ValidFrom == "") {
			t.Fatalf("row %d: %+v", i, r)
		}
		if denied && !strings.HasPrefix(r.Error, "denied") {
			t.Errorf("row %d error %q", i, r.Error)
		}
		if denied && !noResults && r.Error != "denied: the caller's roles do not cover this user (revocation "+r.Revocation+")" {
			t.Errorf("row %d error %q: want the server's detail", i, r.Error)
		}
	}
	if rs[2500].UserPrincipalName != "ghost@vigil.local" || rs[2500].Error != "user not found" {
		t.Errorf("last row %+v", rs[2500])
	}
}

// TestRevokeFallsBackToPerUser: without the Vigil API, a long list is
// revoked user by user through Graph, and the CLI says so.
func TestRevokeFallsBackToPerUser(t *testing.T) {
	f := newFakeVigil(t, 60)
	f.noVigilAPI = true
	run := newFakeRun(t, f, f.ids(0, 60))
	if err := run.s.revokeSessions(context.Background(), []string{"-"}, defaultRevokeOpts()); err != nil {
		t.Fatal(err)
	}
	if f.perUser != 60 || !strings.Contains(run.err.String(), "revoking user by user through Graph") {
		t.Fatalf("%d per-user calls; stderr %q", f.perUser, run.err.String())
	}
	for _, r := range rows(t, run.out.String()) {
		if !r.Revoked || r.ValidFrom == "" || r.Revocation == "" {
			t.Fatalf("row %+v", r)
		}
	}
}

// TestRevokeThrottled: 429 answers are retried after Retry-After and every
// user is still revoked exactly once.
func TestRevokeThrottled(t *testing.T) {
	f := newFakeVigil(t, 15)
	f.throttleEvery = 4
	run := newFakeRun(t, f, f.ids(0, 15))
	o := defaultRevokeOpts()
	o.concurrency = 3
	if err := run.s.revokeSessions(context.Background(), []string{"-"}, o); err != nil {
		t.Fatal(err)
	}
	if f.throttled == 0 || f.perUser != 15 {
		t.Fatalf("throttled %d, per-user calls %d", f.throttled, f.perUser)
	}
	var seconds int
	for _, d := range run.sleeps {
		if d == time.Second {
			seconds++
		}
	}
	if seconds != f.throttled {
		t.Errorf("%d waits of Retry-After 1 s for %d throttled answers", seconds, f.throttled)
	}
	for _, r := range rows(t, run.out.String()) {
		if !r.Revoked {
			t.Fatalf("row %+v", r)
		}
	}
}

// TestRevokeWait: --wait follows each revocation until its receipts are
// acknowledged and reports effectiveAt.
func TestRevokeWait(t *testing.T) {
	f := newFakeVigil(t, 30)
	f.receipts = true
	run := newFakeRun(t, f, f.ids(0, 30))
	o := defaultRevokeOpts()
	o.wait = true
	if err := run.s.revokeSessions(context.Background(), []string{"-"}, o); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows(t, run.out.String()) {
		if r.EffectiveAt == "" || r.Revocation == "" {
			t.Fatalf("row %+v", r)
		}
	}
	if !strings.Contains(run.err.String(), "Effective everywhere at ") {
		t.Errorf("stderr %q", run.err.String())
	}
}

// TestRevokeFilter: one bulk job by filter; its dry run; a bad filter.
func TestRevokeFilter(t *testing.T) {
	f := newFakeVigil(t, 40)
	f.denied[f.order[3]] = true
	run := newFakeRun(t, f, "")
	o := defaultRevokeOpts()
	o.filter, o.dryRun = "department eq 'HP'", true
	if err := run.s.revokeSessions(context.Background(), nil, o); err != nil {
		t.Fatal(err)
	}
	if len(rows(t, run.out.String())) != 3 || !strings.Contains(run.err.String(), "Dry run: 40 users would have their sessions revoked (a sample of 3 shown)") {
		t.Fatalf("dry run: %q %q", run.out.String(), run.err.String())
	}
	if len(f.jobs) != 0 {
		t.Fatal("the dry run created a job")
	}

	run = newFakeRun(t, f, "")
	o.dryRun, o.reason = false, "INC-2"
	err := run.s.revokeSessions(context.Background(), nil, o)
	if KindOf(err) != KindFailed || !strings.Contains(err.Error(), "1 of 40 users were not revoked (1 denied, 0 failed)") {
		t.Fatalf("err = %v", err)
	}
	var got revocation
	if json.Unmarshal(run.out.Bytes(), &got) != nil || got.Status != "completed" || got.Revoked != 39 || got.Reason != "INC-2" {
		t.Fatalf("printed %q", run.out.String())
	}

	run = newFakeRun(t, f, "")
	o.filter = "department eq"
	if err := run.s.revokeSessions(context.Background(), nil, o); KindOf(err) != KindUsage || !strings.Contains(err.Error(), `--filter "department eq": Invalid $filter clause`) {
		t.Fatalf("bad filter: %v", err)
	}
}

// fakeTTY answers a confirmation.
type fakeTTY struct {
	io.Reader
	asked bool
}

func (f *fakeTTY) Close() error { return nil }

// TestRevokeConfirmation: more than 50 targets with a person at the
// terminal asks first (on the terminal, since stdin carries the targets);
// --yes and pipelines without a terminal do not ask.
func TestRevokeConfirmation(t *testing.T) {
	tests := []struct {
		name      string
		users     int
		tty       bool
		answer    string
		yes       bool
		asked     bool
		revoked   bool
		usageFail bool
	}{
		{"declined", 51, true, "n\n", false, true, false, true},
		{"accepted", 51, true, "yes\n", false, true, true, false},
		{"--yes", 51, true, "", true, false, true, false},
		{"50 do not ask", 50, true, "", false, false, true, false},
		{"no terminal never asks", 51, false, "", false, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeVigil(t, tt.users)
			run := newFakeRun(t, f, f.ids(0, tt.users))
			tty := &fakeTTY{Reader: strings.NewReader(tt.answer)}
			run.s.env.StderrTTY = tt.tty
			run.s.env.OpenTTY = func() (io.ReadCloser, error) { tty.asked = true; return tty, nil }
			o := defaultRevokeOpts()
			o.yes = tt.yes
			err := run.s.revokeSessions(context.Background(), []string{"-"}, o)
			if tty.asked != tt.asked {
				t.Errorf("asked = %v, want %v", tty.asked, tt.asked)
			}
			if (KindOf(err) == KindUsage && err != nil) != tt.usageFail {
				t.Errorf("err = %v", err)
			}
			if revoked := len(f.jobBodies) > 0; revoked != tt.revoked {
				t.Errorf("revoked = %v, want %v", revoked, tt.revoked)
			}
		})
	}
}
