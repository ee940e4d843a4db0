package vigilapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// revocationBody is the revocation resource as a client reads it.
type revocationBody struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"`
	ValidFrom   *time.Time `json:"validFrom"`
	Targeted    int        `json:"targeted"`
	Revoked     int        `json:"revoked"`
	Denied      int        `json:"denied"`
	Failed      int        `json:"failed"`
	CompletedAt *time.Time `json:"completedAt"`
	Receipts    []struct {
		StreamID       string     `json:"streamId"`
		Status         string     `json:"status"`
		AcknowledgedAt *time.Time `json:"acknowledgedAt"`
	} `json:"receipts"`
	EffectiveAt *time.Time `json:"effectiveAt"`
}

// results is a page of revocation results as a client reads it.
type results struct {
	NextLink string `json:"@odata.nextLink"`
	Value    []struct {
		UserID    string  `json:"userId"`
		SessionID string  `json:"sessionId"`
		Outcome   string  `json:"outcome"`
		Detail    *string `json:"detail"`
	} `json:"value"`
}

// submit POSTs a revocation request and checks the 202 and its Location.
func (s *server) submit(t testing.TB, token, body string, header http.Header) (revocationBody, []byte) {
	t.Helper()
	resp, b := s.doWith(t, http.MethodPost, s.issuer+PathPrefix+"/revocations", token, body, header)
	want(t, resp, b, http.StatusAccepted)
	var r revocationBody
	decode(t, b, &r)
	if loc := resp.Header.Get("Location"); loc != s.issuer+PathPrefix+"/revocations/"+r.ID {
		t.Fatalf("Location %q does not name revocation %s", loc, r.ID)
	}
	return r, b
}

// revocation GETs revocation id.
func (s *server) revocation(t testing.TB, token, id string) (revocationBody, []byte) {
	t.Helper()
	resp, b := s.do(t, http.MethodGet, "/revocations/"+id, token, "")
	want(t, resp, b, http.StatusOK)
	var r revocationBody
	decode(t, b, &r)
	return r, b
}

// refreshWorks reports whether a refresh token still rotates, and fails
// on any error other than the refusal of an invalid token.
func (s *server) refreshWorks(t testing.TB, value string) bool {
	t.Helper()
	_, err := s.sessions.Rotate(ctx, value, s.app.AppID, nil)
	switch {
	case err == nil:
		return true
	case errors.Is(err, session.ErrTokenInvalid):
		return false
	}
	t.Fatalf("rotate: %v", err)
	return false
}

func TestRevocationBadRequests(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
	u := s.user(t, "ann@contoso.com", "Sales")
	job, _ := s.submit(t, tok, `{"userIds":["`+u.ID+`"]}`, nil)
	results := "/revocations/" + job.ID + "/results"
	for _, tc := range []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		code                     string
		message                  []string
	}{
		{name: "no selector", body: `{"reason":"gone"}`, status: 400, message: []string{"The request names no targets: give exactly one of userIds, filter, groupId or sessionIds."}},
		{name: "empty object", body: `{}`, status: 400, message: []string{"names no targets"}},
		{name: "null selector", body: `{"filter":null}`, status: 400, message: []string{"names no targets"}},
		{name: "two selectors", body: `{"userIds":["` + u.ID + `"],"filter":"department eq 'Sales'"}`, status: 400,
			message: []string{"The request names userIds and filter: give exactly one of"}},
		{name: "three selectors", body: `{"groupId":"g","sessionIds":["s"],"filter":"x"}`, status: 400, message: []string{"The request names filter, groupId and sessionIds: give exactly one"}},
		{name: "unknown member", body: `{"userIds":["` + u.ID + `"],"userIDs":["x"]}`, status: 400,
			message: []string{"Unknown member 'userIDs' in the request body; the members are userIds, filter, groupId, transitive, sessionIds, reason, dryRun."}},
		{name: "bad filter", body: `{"filter":"department eq 'Sales' andd accountEnabled eq true"}`, status: 400,
			message: []string{"Invalid filter: ", "position"}},
		{name: "filter on a property users cannot be filtered by", body: `{"filter":"passwordProfile eq 'x'"}`, status: 400,
			message: []string{"Invalid filter: ", "position", "passwordProfile"}},
		{name: "filter on an unknown property", body: `{"filter":"foo eq 1"}`, status: 400,
			message: []string{"Invalid filter: ", "Could not find a property named 'foo'"}},
		{name: "userIds not an array", body: `{"userIds":"` + u.ID + `"}`, status: 400, message: []string{"userIds must be an array of user ids."}},
		{name: "dryRun not a boolean", body: `{"userIds":["` + u.ID + `"],"dryRun":"yes"}`, status: 400, message: []string{"dryRun must be true or false."}},
		{name: "reason not a string", body: `{"userIds":["` + u.ID + `"],"reason":7}`, status: 400, message: []string{"reason must be a string."}},
		{name: "empty userIds", body: `{"userIds":[]}`, status: 400, message: []string{"userIds is empty"}},
		{name: "empty sessionIds", body: `{"sessionIds":[]}`, status: 400, message: []string{"sessionIds is empty"}},
		{name: "blank filter", body: `{"filter":"  "}`, status: 400, message: []string{"filter is empty"}},
		{name: "empty groupId", body: `{"groupId":""}`, status: 400, message: []string{"groupId is empty"}},
		{name: "empty id", body: `{"userIds":[""]}`, status: 400, message: []string{"userIds contains an empty id."}},
		{name: "transitive without a group", body: `{"userIds":["` + u.ID + `"],"transitive":true}`, status: 400, message: []string{"transitive applies only with groupId."}},
		{name: "reason too long", body: `{"userIds":["` + u.ID + `"],"reason":"` + strings.Repeat("r", 1025) + `"}`, status: 400, message: []string{"reason is longer than 1024 bytes."}},
		{name: "not JSON", body: `{"userIds":`, status: 400, message: []string{"The request body is not a valid JSON object"}},
		{name: "an array", body: `[]`, status: 400, message: []string{"The request body is not a valid JSON object"}},
		{name: "null", body: `null`, status: 400, message: []string{"The request body must be a JSON object"}},
		{name: "no body", body: "", status: 400, message: []string{"The request body is empty"}},
		{name: "unknown group", body: `{"groupId":"` + uuid.NewString() + `"}`, status: 404, code: codeNotFound, message: []string{"does not exist"}},
		{name: "Idempotency-Key too long", body: `{"userIds":["` + u.ID + `"]}`, header: http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}},
			status: 400, message: []string{"The Idempotency-Key header must be one value of 1 to 255 printable ASCII characters."}},
		{name: "two Idempotency-Keys", body: `{"userIds":["` + u.ID + `"]}`, header: http.Header{"Idempotency-Key": {"a", "b"}}, status: 400, message: []string{"Idempotency-Key"}},
		{name: "unknown revocation", method: http.MethodGet, path: "/revocations/" + uuid.NewString(), status: 404, code: codeNotFound, message: []string{"does not exist."}},
		{name: "results of an unknown revocation", method: http.MethodGet, path: "/revocations/" + uuid.NewString() + "/results", status: 404, code: codeNotFound},
		{name: "unknown outcome", method: http.MethodGet, path: results + "?outcome=skipped", status: 400, message: []string{"Unknown outcome 'skipped': use revoked, denied or failed."}},
		{name: "bad $top", method: http.MethodGet, path: results + "?$top=0", status: 400, message: []string{"Invalid value '0' for $top"}},
		{name: "$top too large", method: http.MethodGet, path: results + "?$top=1000", status: 400, message: []string{"from 1 to 999"}},
		{name: "forged $skiptoken", method: http.MethodGet, path: results + "?$skiptoken=abc", status: 400, message: []string{"The $skiptoken value is invalid"}},
		{name: "$skiptoken of another outcome", method: http.MethodGet, path: results + "?outcome=denied&$skiptoken=" + sealSkipToken(job.ID, "failed", "c"), status: 400, message: []string{"The $skiptoken value is invalid"}},
		{name: "unknown query parameter", method: http.MethodGet, path: results + "?$filter=x", status: 400, message: []string{"Unknown query parameter '$filter'"}},
		{name: "repeated query parameter", method: http.MethodGet, path: results + "?outcome=denied&outcome=failed", status: 400, message: []string{"more than once"}},
		{name: "method", method: http.MethodDelete, path: "/revocations", status: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, path := tc.method, tc.path
			if method == "" {
				method, path = http.MethodPost, "/revocations"
			}
			code := tc.code
			if code == "" {
				code = codeBadRequest
			}
			resp, body := s.doWith(t, method, s.issuer+PathPrefix+path, tok, tc.body, tc.header)
			if resp.StatusCode != tc.status || errorCode(t, resp, body) != code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, code)
			}
			msg := errorMessage(t, body)
			for _, m := range tc.message {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
			if strings.Contains(msg, "..") {
				t.Errorf("message %q has a doubled period", msg)
			}
		})
	}
	// Nothing but the first job was created.
	for _, st := range []string{store.RevocationPending, store.RevocationRunning, store.RevocationCompleted} {
		jobs, err := s.st.ListRevocationsByStatus(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(jobs); (st == store.RevocationPending && n != 1) || (st != store.RevocationPending && n != 0) {
			t.Errorf("%d %s jobs after the bad requests", n, st)
		}
	}
}

// TestRevocationErrorEnvelopes checks the envelopes of the idempotency
// conflict and a filter error byte for byte (request ids masked).
func TestRevocationErrorEnvelopes(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
	resp, body := s.do(t, http.MethodPost, "/revocations", tok, `{"filter":"startsWith(department,'Sa')"}`)
	want(t, resp, body, http.StatusBadRequest)
	golden(t, "error_revocation_filter.golden", maskedError(t, body))

	key := http.Header{"Idempotency-Key": {"offboarding-2026-03-01"}}
	job, _ := s.submit(t, tok, `{"userIds":["`+uuid.NewSHA1(uuid.NameSpaceOID, []byte("x")).String()+`"]}`, key)
	resp, body = s.doWith(t, http.MethodPost, s.issuer+PathPrefix+"/revocations", tok, `{"filter":"department eq 'Sales'"}`, key)
	want(t, resp, body, http.StatusConflict)
	if code := errorCode(t, resp, body); code != codeConflict {
		t.Errorf("code %q", code)
	}
	if msg := errorMessage(t, body); !strings.Contains(msg, job.ID) {
		t.Errorf("message %q does not name the job the key created", msg)
	}
	golden(t, "error_idempotency_conflict.golden", maskedError(t, body))
}

func TestRevocationPermissions(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	plain := s.user(t, "pat@contoso.com", "Sales")
	creator := s.user(t, "cody@contoso.com", "Sales")
	rw, r := authz.PermRevocationsReadWriteAll, authz.PermRevocationsReadAll
	byApp, _ := s.submit(t, s.appTokenOf(t, rw), `{"userIds":["`+plain.ID+`"]}`, nil)
	byCreator, _ := s.submit(t, s.tokenFor(t, creator.ID, []string{rw}), `{"userIds":["`+creator.ID+`"]}`, nil)
	for _, tc := range []struct {
		name, method, path string
		token              string
		status             int
		code               string
	}{
		{"no token", "POST", "/revocations", "", 401, codeInvalidToken},
		{"garbage token", "POST", "/revocations", "a.b.c", 401, codeInvalidToken},
		{"Graph token", "POST", "/revocations", s.appToken(t, authz.GraphResource, rw), 401, codeInvalidToken},
		{"app with Read.All cannot POST", "POST", "/revocations", s.appToken(t, authz.VigilResource, r), 403, codeAccessDenied},
		{"app with the sessions permission cannot POST", "POST", "/revocations", s.appToken(t, authz.VigilResource, authz.PermSessionsReadWriteAll), 403, codeAccessDenied},
		{"app with Graph's permission name cannot POST", "POST", "/revocations", s.appToken(t, authz.VigilResource, "User.RevokeSessions.All"), 403, codeAccessDenied},
		{"app with ReadWrite.All", "POST", "/revocations", s.appToken(t, authz.VigilResource, rw), 202, ""},
		{"user without the scope", "POST", "/revocations", s.userToken(t, []string{r}, roleGlobalAdmin), 403, codeAccessDenied},
		{"user with the scope and no role (targets are authorized one by one)", "POST", "/revocations", s.userToken(t, []string{rw}), 202, ""},
		{"app reads with Read.All", "GET", "/revocations/" + byApp.ID, s.appToken(t, authz.VigilResource, r), 200, ""},
		{"app reads with ReadWrite.All", "GET", "/revocations/" + byApp.ID + "/results", s.appToken(t, authz.VigilResource, rw), 200, ""},
		{"app without a revocations permission", "GET", "/revocations/" + byApp.ID, s.appToken(t, authz.VigilResource, authz.PermPoliciesReadWriteAll), 403, codeAccessDenied},
		{"Global Reader reads any", "GET", "/revocations/" + byApp.ID, s.userToken(t, []string{r}, roleGlobalReader), 200, ""},
		{"Helpdesk Administrator reads any", "GET", "/revocations/" + byCreator.ID + "/results", s.userToken(t, []string{rw}, roleHelpdeskAdmin), 200, ""},
		{"a user without a role reads their own", "GET", "/revocations/" + byCreator.ID, s.tokenFor(t, creator.ID, []string{r}), 200, ""},
		{"a user without a role reads their own results", "GET", "/revocations/" + byCreator.ID + "/results", s.tokenFor(t, creator.ID, []string{r}), 200, ""},
		{"a user without a role cannot read another's", "GET", "/revocations/" + byApp.ID, s.tokenFor(t, creator.ID, []string{r}), 403, codeAccessDenied},
		{"nor its results", "GET", "/revocations/" + byApp.ID + "/results", s.tokenFor(t, creator.ID, []string{r}), 403, codeAccessDenied},
		{"a role that reads nothing here", "GET", "/revocations/" + byApp.ID, s.userToken(t, []string{r}, roleConditionalAccess), 403, codeAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reqBody := ""
			if tc.method == http.MethodPost {
				reqBody = `{"userIds":["` + plain.ID + `"]}`
			}
			resp, body := s.do(t, tc.method, tc.path, tc.token, reqBody)
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
		})
	}
}

// TestDryRun: a dry run answers the count and a sample in Graph's user
// shape and changes nothing.
func TestDryRun(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
		var refresh []string
		for _, upn := range []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"} {
			dept := "Sales"
			if upn == "carol@contoso.com" {
				dept = "Marketing"
			}
			u := s.user(t, upn, dept)
			_, rt := s.signIn(t, u.ID, "192.0.2.1")
			refresh = append(refresh, rt)
		}
		seq, err := st.LastOutboxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		key := http.Header{"Idempotency-Key": {"dry"}}
		resp, body := s.doWith(t, http.MethodPost, s.issuer+PathPrefix+"/revocations", tok,
			`{"filter":"department eq 'Sales'","dryRun":true,"reason":"audit"}`, key)
		want(t, resp, body, http.StatusOK)
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("a dry run names a resource: %q", loc)
		}
		golden(t, "revocation_dry_run.golden", body)

		// userIds naming one unknown user: counted, not sampled.
		resp, body = s.do(t, http.MethodPost, "/revocations", tok,
			`{"userIds":["`+uuid.NewSHA1(uuid.NameSpaceOID, []byte("alice@contoso.com")).String()+`","`+uuid.NewString()+`"],"dryRun":true}`)
		want(t, resp, body, http.StatusOK)
		var dry struct {
			Targeted int `json:"targeted"`
			Sample   []struct {
				UserPrincipalName string `json:"userPrincipalName"`
			} `json:"sample"`
		}
		decode(t, body, &dry)
		if dry.Targeted != 2 || len(dry.Sample) != 1 || dry.Sample[0].UserPrincipalName != "alice@contoso.com" {
			t.Errorf("dry run of userIds: %s", body)
		}

		// Nothing changed: no job, no event, every session and token live.
		for _, status := range []string{store.RevocationPending, store.RevocationRunning, store.RevocationCompleted} {
			if jobs, err := st.ListRevocationsByStatus(ctx, status); err != nil || len(jobs) != 0 {
				t.Errorf("%s jobs after dry runs: %d (%v)", status, len(jobs), err)
			}
		}
		if after, err := st.LastOutboxSeq(ctx); err != nil || after != seq {
			t.Errorf("outbox moved from %d to %d (%v)", seq, after, err)
		}
		for _, upn := range []string{"alice@contoso.com", "bob@contoso.com"} {
			u, err := st.GetUserByUPN(ctx, upn)
			if err != nil {
				t.Fatal(err)
			}
			ss, err := st.ListSessionsOfUser(ctx, u.ID, false)
			if err != nil || len(ss) != 1 || !u.SignInSessionsValidFrom.IsZero() {
				t.Errorf("%s: %d live sessions, T %v (%v)", upn, len(ss), u.SignInSessionsValidFrom, err)
			}
		}
		for i, rt := range refresh {
			if !s.refreshWorks(t, rt) {
				t.Errorf("refresh token %d refused after a dry run", i)
			}
		}
	})
}

// TestBulkRevocationByFilter runs a job selected by a filter to its end
// with a delegated User Administrator: the Global Administrator among the
// targets is denied and reported, the others are revoked, counts and
// results agree, and the SSF receiver's acknowledgement makes it effective.
func TestBulkRevocationByFilter(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		stream := s.newPollStream(t)
		admin := s.user(t, "admin@contoso.com", "IT", roleUserAdmin)
		tok := s.tokenFor(t, admin.ID, []string{authz.PermRevocationsReadWriteAll}, roleUserAdmin)
		type target struct {
			user    store.User
			refresh string
		}
		var sales []target
		for _, upn := range []string{"sam@contoso.com", "sue@contoso.com", "sid@contoso.com", "gina@contoso.com"} {
			var roles []string
			if upn == "gina@contoso.com" {
				roles = []string{roleGlobalAdmin}
			}
			u := s.user(t, upn, "Sales", roles...)
			_, rt := s.signIn(t, u.ID, "192.0.2.7")
			sales = append(sales, target{u, rt})
		}
		other := s.user(t, "mo@contoso.com", "Marketing")
		_, otherRT := s.signIn(t, other.ID, "192.0.2.8")

		key := http.Header{"Idempotency-Key": {"sales-2026-03-01"}}
		const body = `{"filter":"department eq 'Sales'","reason":"Sales laptops stolen"}`
		job, raw := s.submit(t, tok, body, key)
		golden(t, "revocation_accepted.golden", raw)
		if job.Status != store.RevocationPending || job.Targeted != 4 || job.ValidFrom != nil {
			t.Fatalf("accepted job: %s", raw)
		}

		s.work(t)
		got, raw := s.revocation(t, tok, job.ID)
		golden(t, "revocation_completed.golden", mask(t, raw, "streamId"))
		if got.Status != store.RevocationCompleted || got.Targeted != 4 || got.Revoked != 3 || got.Denied != 1 || got.Failed != 0 ||
			got.ValidFrom == nil || got.CompletedAt == nil {
			t.Fatalf("completed job: %s", raw)
		}
		if got.Revoked+got.Denied+got.Failed != got.Targeted {
			t.Errorf("counts do not add up: %s", raw)
		}
		if len(got.Receipts) != 1 || got.Receipts[0].StreamID != stream.id || got.EffectiveAt != nil {
			t.Fatalf("receipts before the receiver acknowledged: %s", raw)
		}

		// The denied target is reported with the reason.
		resp, raw := s.do(t, http.MethodGet, "/revocations/"+job.ID+"/results?outcome=denied", tok, "")
		want(t, resp, raw, http.StatusOK)
		golden(t, "revocation_results_denied.golden", raw)

		// Paging through every result agrees with the counts.
		counts := map[string]int{}
		seen := map[string]bool{}
		next := s.issuer + PathPrefix + "/revocations/" + job.ID + "/results?$top=3"
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("results never end")
			}
			resp, raw := s.doWith(t, http.MethodGet, next, tok, "", nil)
			want(t, resp, raw, http.StatusOK)
			if pages == 0 {
				golden(t, "revocation_results_page.golden", mask(t, raw, "@odata.nextLink"))
			}
			var page results
			decode(t, raw, &page)
			for _, r := range page.Value {
				if seen[r.UserID] {
					t.Errorf("user %s listed twice", r.UserID)
				}
				seen[r.UserID] = true
				counts[r.Outcome]++
			}
			if page.NextLink != "" && !strings.HasPrefix(page.NextLink, s.issuer+PathPrefix+"/revocations/"+job.ID+"/results?") {
				t.Fatalf("nextLink %q is not absolute under the API", page.NextLink)
			}
			next = page.NextLink
		}
		if counts["revoked"] != got.Revoked || counts["denied"] != got.Denied || counts["failed"] != got.Failed || len(seen) != got.Targeted {
			t.Errorf("results %v disagree with the counts of %+v", counts, got)
		}

		// The effect: T moved and tokens refused for the revoked only.
		for _, tg := range sales {
			u, err := st.GetUser(ctx, tg.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			denied := tg.user.UserPrincipalName == "gina@contoso.com"
			if works := s.refreshWorks(t, tg.refresh); works != denied {
				t.Errorf("%s: refresh works %v", tg.user.UserPrincipalName, works)
			}
			if denied != u.SignInSessionsValidFrom.IsZero() || (!denied && !u.SignInSessionsValidFrom.Equal(*got.ValidFrom)) {
				t.Errorf("%s: T %v, validFrom %v", tg.user.UserPrincipalName, u.SignInSessionsValidFrom, got.ValidFrom)
			}
		}
		if !s.refreshWorks(t, otherRT) {
			t.Error("a user outside the filter lost their refresh token")
		}

		// The receiver gets one session-revoked per revoked user and
		// acknowledges: the revocation is effective.
		users := map[string]bool{}
		for _, set := range stream.drain(t) {
			if set.Txn != job.ID {
				continue
			}
			typ, _, err := set.Event()
			if err != nil || typ != ssf.EventSessionRevoked || set.SubID == nil || set.SubID.User == nil {
				t.Fatalf("SET of the job: %+v (%v)", set, err)
			}
			users[set.SubID.User.Sub] = true
		}
		if len(users) != 3 || users[sales[3].user.ID] {
			t.Errorf("SETs for users %v", users)
		}
		s.clock.Advance(time.Second)
		got, raw = s.revocation(t, tok, job.ID)
		golden(t, "revocation_effective.golden", mask(t, raw, "streamId"))
		if got.EffectiveAt == nil || got.Receipts[0].Status != "acknowledged" || !got.EffectiveAt.Equal(*got.Receipts[0].AcknowledgedAt) {
			t.Errorf("after the acknowledgement: %s", raw)
		}

		// The same key and request answer the same job, in its state now.
		again, againRaw := s.submit(t, tok, ` {"reason":"Sales laptops stolen", "filter":"department eq 'Sales'"}`, key)
		if again.ID != job.ID || string(againRaw) != string(raw) {
			t.Errorf("replay answered %s, want %s", againRaw, raw)
		}
		if jobs, err := st.ListRevocationsByStatus(ctx, store.RevocationCompleted); err != nil || len(jobs) != 1 {
			t.Errorf("%d completed jobs after the replay (%v)", len(jobs), err)
		}
	})
}

// TestIdempotencyKeys: a key is scoped to its caller; reused with another
// request it is a 409 and creates nothing.
func TestIdempotencyKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
		other := s.appToken(t, authz.VigilResource, authz.PermRevocationsReadWriteAll)
		u1 := s.user(t, "una@contoso.com", "")
		u2 := s.user(t, "uwe@contoso.com", "")
		key := http.Header{"Idempotency-Key": {"k-1"}}
		first, firstRaw := s.submit(t, tok, `{"userIds":["`+u1.ID+`"]}`, key)
		second, secondRaw := s.submit(t, tok, `{ "userIds" : [ "`+u1.ID+`" ] }`, key)
		if second.ID != first.ID || string(secondRaw) != string(firstRaw) {
			t.Errorf("the same key and request answered %s, then %s", firstRaw, secondRaw)
		}
		resp, body := s.doWith(t, http.MethodPost, s.issuer+PathPrefix+"/revocations", tok, `{"userIds":["`+u2.ID+`"]}`, key)
		want(t, resp, body, http.StatusConflict)
		resp, body = s.doWith(t, http.MethodPost, s.issuer+PathPrefix+"/revocations", tok, `{"userIds":["`+u1.ID+`"],"reason":"other"}`, key)
		want(t, resp, body, http.StatusConflict)
		byOther, _ := s.submit(t, other, `{"userIds":["`+u2.ID+`"]}`, key)
		if byOther.ID == first.ID {
			t.Error("another caller's key answered the first caller's job")
		}
		a, _ := s.submit(t, tok, `{"userIds":["`+u1.ID+`"]}`, nil)
		b, _ := s.submit(t, tok, `{"userIds":["`+u1.ID+`"]}`, nil)
		if a.ID == b.ID {
			t.Error("two requests without a key made one job")
		}
		jobs, err := st.ListRevocationsByStatus(ctx, store.RevocationPending)
		if err != nil || len(jobs) != 4 {
			t.Errorf("%d pending jobs, want 4 (%v)", len(jobs), err)
		}
	})
}

// TestRevocationWorker runs the engine's worker in the background, as
// the server does, and follows a job by userIds (one unknown) to its end.
func TestRevocationWorker(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.rev.Run(runCtx) }()
		defer func() { cancel(); <-done }()

		tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
		u1 := s.user(t, "wes@contoso.com", "")
		u2 := s.user(t, "wyn@contoso.com", "")
		_, rt := s.signIn(t, u1.ID, "192.0.2.9")
		unknown := uuid.NewString()
		job, _ := s.submit(t, tok, `{"userIds":["`+u1.ID+`","`+u2.ID+`","`+unknown+`"]}`, nil)
		var got revocationBody
		for deadline := time.Now().Add(20 * time.Second); ; {
			got, _ = s.revocation(t, tok, job.ID)
			if got.Status == store.RevocationCompleted || got.Status == store.RevocationFailed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job still %s", got.Status)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got.Status != store.RevocationCompleted || got.Targeted != 3 || got.Revoked != 2 || got.Failed != 1 || got.Denied != 0 {
			t.Fatalf("job: %+v", got)
		}
		resp, body := s.do(t, http.MethodGet, "/revocations/"+job.ID+"/results?outcome=failed", tok, "")
		want(t, resp, body, http.StatusOK)
		var page results
		decode(t, body, &page)
		if len(page.Value) != 1 || page.Value[0].UserID != unknown || page.Value[0].Detail == nil || page.NextLink != "" {
			t.Errorf("failed results: %s", body)
		}
		if s.refreshWorks(t, rt) {
			t.Error("the revoked user's refresh token still works")
		}
	})
}

// TestReceiptsFromStore: without a ReceiptSource the resource shows the
// stored receipts, and effectiveAt once the job completed and every one
// is acknowledged.
func TestReceiptsFromStore(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t), func(a *API) { a.Receipts = nil })
	tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
	u := s.user(t, "rex@contoso.com", "")
	done, _ := s.submit(t, tok, `{"userIds":["`+u.ID+`"]}`, nil)
	s.work(t)
	waiting, _ := s.submit(t, tok, `{"userIds":["`+u.ID+`"]}`, nil)

	got, raw := s.revocation(t, tok, done.ID)
	if len(got.Receipts) != 0 || got.EffectiveAt != nil || !strings.Contains(string(raw), `"receipts":[]`) {
		t.Fatalf("without streams: %s", raw)
	}
	t1, t2 := t0.Add(time.Hour), t0.Add(time.Hour+time.Second)
	put := func(rev, stream, status string, delivered, acked *time.Time) {
		t.Helper()
		if err := s.st.PutReceipt(ctx, store.Receipt{RevocationID: rev, StreamID: stream, Receiver: "rp-" + stream,
			Status: status, DeliveredAt: delivered, AcknowledgedAt: acked}); err != nil {
			t.Fatal(err)
		}
	}
	put(done.ID, "a", "acknowledged", &t1, &t1)
	put(done.ID, "b", "delivered", &t1, nil)
	if got, raw = s.revocation(t, tok, done.ID); len(got.Receipts) != 2 || got.EffectiveAt != nil {
		t.Fatalf("one receipt acknowledged: %s", raw)
	}
	put(done.ID, "b", "acknowledged", &t1, &t2)
	got, raw = s.revocation(t, tok, done.ID)
	golden(t, "revocation_stored_receipts.golden", raw)
	if got.EffectiveAt == nil || !got.EffectiveAt.Equal(t2) {
		t.Fatalf("every receipt acknowledged: %s", raw)
	}
	// A job not completed is not effective, whatever its receipts say.
	put(waiting.ID, "a", "acknowledged", &t1, &t1)
	if got, raw = s.revocation(t, tok, waiting.ID); got.Status != store.RevocationPending || got.EffectiveAt != nil {
		t.Fatalf("pending job: %s", raw)
	}
}

// TestRevocationURLs: the Location and nextLink follow an issuer with a
// path.
func TestRevocationURLs(t *testing.T) {
	a := &API{Issuer: "https://id.example.com/tenant-a/"}
	if got := a.revocationURL("r1"); got != "https://id.example.com/tenant-a/vigil/v1/revocations/r1" {
		t.Errorf("revocationURL = %q", got)
	}
	tok := sealSkipToken("r1", "denied", "cursor\x00with nul")
	if _, err := url.ParseQuery("$skiptoken=" + tok); err != nil {
		t.Errorf("skiptoken %q is not URL-safe: %v", tok, err)
	}
	if c, err := openSkipToken(tok, "r1", "denied"); err != nil || c != "cursor\x00with nul" {
		t.Errorf("openSkipToken = %q, %v", c, err)
	}
	if _, err := openSkipToken(tok, "r2", "denied"); err == nil {
		t.Error("a skiptoken of another revocation was accepted")
	}
}

// TestRevocationBodyLimit: POST /revocations takes the engine's largest
// lists of ids whatever the API's body limit; other routes keep theirs.
func TestRevocationBodyLimit(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	tok := s.appTokenOf(t, authz.PermRevocationsReadWriteAll)
	ids := make([]string, 3000) // 117 kB, above DefaultMaxBodyBytes
	for i := range ids {
		ids[i] = `"` + uuid.NewString() + `"`
	}
	job, _ := s.submit(t, tok, `{"userIds":[`+strings.Join(ids, ",")+`],"dryRun":false}`, nil)
	if job.Targeted != len(ids) {
		t.Errorf("targeted %d, want %d", job.Targeted, len(ids))
	}
	resp, body := s.do(t, http.MethodPost, "/revocations", tok, `{"userIds":["`+strings.Repeat("x", revocationBodyLimit)+`"]}`)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, resp, body) != codeEntityTooLarge {
		t.Errorf("beyond the limit: %d %s", resp.StatusCode, body)
	}
}

// TestMountOptionalRoutes: without Revocations the API serves policies
// and answers 404 elsewhere; partial wiring panics.
func TestMountOptionalRoutes(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t), func(a *API) { a.Revocations, a.Users, a.Sessions, a.Receipts = nil, nil, nil, nil })
	for path, status := range map[string]int{"/policies": 200, "/revocations/x": 404, "/me/sessions": 404} {
		resp, body := s.do(t, http.MethodGet, path, s.appTokenOf(t, authz.PermPoliciesReadWriteAll), "")
		if resp.StatusCode != status {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, status)
		}
	}
	for name, a := range map[string]*API{
		"Revocations without Users":    {Revocations: s.rev},
		"Sessions without Revocations": {Users: s.st, Sessions: s.st},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Mount did not panic")
				}
			}()
			a.Issuer, a.Auth, a.Policies, a.Apps = s.issuer, &oauth.Verifier{}, s.sessions, s.st
			a.Mount(http.NewServeMux())
		})
	}
}

// TestResourceTimesToTheMicrosecond: the resource's times are UTC to the
// microsecond, as documented, even when the clock gave nanoseconds (live
// receipts).
func TestResourceTimesToTheMicrosecond(t *testing.T) {
	at := time.Date(2026, 11, 27, 2, 24, 42, 172605041, time.FixedZone("x", 3600))
	got := utcOrNil(&at)
	if want := time.Date(2026, 11, 27, 1, 24, 42, 172605000, time.UTC); got == nil || !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("utcOrNil(%v) = %v, want %v", at, got, want)
	}
	if utcOrNil(nil) != nil || utcOrNil(&time.Time{}) != nil {
		t.Fatal("utcOrNil of nil or the zero time is not nil")
	}
}
