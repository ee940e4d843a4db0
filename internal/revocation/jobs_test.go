package revocation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

var bulkApp = app("User.RevokeSessions.All")

// submit submits req and fails the test on error.
func (f *fixture) submit(in Initiator, req Request) store.Revocation {
	f.t.Helper()
	job, dry, err := f.svc.Submit(f.ctx, in, req, "")
	if err != nil || job == nil || dry != nil {
		f.t.Fatalf("Submit = %v, %v, %v", job, dry, err)
	}
	return *job
}

// wantCounts fails unless the job completed with these counts and one
// result per target.
func (f *fixture) wantCounts(id string, revoked, denied, failed int) store.Revocation {
	f.t.Helper()
	r := f.job(id)
	if r.Status != store.RevocationCompleted || r.Revoked != revoked || r.Denied != denied || r.Failed != failed ||
		r.Targeted != revoked+denied+failed || r.CompletedAt == nil {
		f.t.Fatalf("job = %+v, want completed with %d revoked, %d denied, %d failed", r, revoked, denied, failed)
	}
	if n := len(f.results(id)); n != r.Targeted {
		f.t.Fatalf("%d results for %d targets", n, r.Targeted)
	}
	return r
}

func TestBulkByFilter(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		sales := f.users("sales", 7)
		others := f.users("eng", 3)
		job := f.submit(bulkApp, Request{Filter: "startsWith(userPrincipalName, 'sales-')", Reason: "reorg"})
		if job.Status != store.RevocationPending || job.Targeted != 7 {
			t.Fatalf("submitted job = %+v", job)
		}
		f.clock.Advance(time.Minute)
		f.work(f.svc)
		r := f.wantCounts(job.ID, 7, 0, 0)
		if !r.ValidFrom.Equal(t0.Add(time.Minute)) {
			t.Errorf("validFrom = %v", r.ValidFrom)
		}
		for _, u := range sales {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		for _, u := range others {
			f.wantUntouched(u.ID)
		}
		if a, o := len(f.audit()), len(f.outbox()); a != 7 || o != 7 {
			t.Errorf("%d audit records and %d events, want 7 each", a, o)
		}
		for _, e := range f.outbox() {
			if p := payload(t, e); p.RevocationID != job.ID || p.Reason != "reorg" {
				t.Errorf("event payload %+v", p)
			}
		}
	})
}

func TestBulkByGroup(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		outer, inner := f.group("outer", false), f.group("inner", false)
		direct, nested := f.users("direct", 2), f.users("nested", 2)
		for _, u := range direct {
			f.addMember(outer.ID, u.ID, store.KindUser)
		}
		for _, u := range nested {
			f.addMember(inner.ID, u.ID, store.KindUser)
		}
		f.addMember(outer.ID, inner.ID, store.KindGroup)

		job := f.submit(bulkApp, Request{GroupID: outer.ID})
		f.work(f.svc)
		r := f.wantCounts(job.ID, 2, 0, 0)
		for _, u := range direct {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		for _, u := range nested {
			f.wantUntouched(u.ID)
		}

		f.clock.Advance(time.Minute)
		job = f.submit(bulkApp, Request{GroupID: outer.ID, Transitive: true})
		if job.Targeted != 4 {
			t.Errorf("transitive job targets %d, want 4", job.Targeted)
		}
		f.work(f.svc)
		r = f.wantCounts(job.ID, 4, 0, 0)
		for _, u := range append(direct, nested...) {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		if _, _, err := f.svc.Submit(f.ctx, bulkApp, Request{GroupID: "00000000-0000-0000-0000-0000000000aa"}, ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown group: %v", err)
		}
	})
}

// TestBulkByUserPrincipalNames: userIds may name users by
// userPrincipalName, in any case, as Graph's /users/{id | userPrincipalName}
// does; a user named twice (by id and by name) is revoked once.
func TestBulkByUserPrincipalNames(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("upn", 3)
		ids := []string{strings.ToUpper(us[0].UserPrincipalName), us[1].UserPrincipalName, us[1].ID, "nobody@contoso.com"}
		job := f.submit(bulkApp, Request{UserIDs: ids})
		f.work(f.svc)
		r := f.wantCounts(job.ID, 2, 0, 1)
		f.wantRevoked(us[0].ID, r.ValidFrom)
		f.wantRevoked(us[1].ID, r.ValidFrom)
		f.wantUntouched(us[2].ID)
		if res := f.results(job.ID); res["nobody@contoso.com"].Detail != "user not found" || res[us[0].ID].Outcome != OutcomeRevoked {
			t.Errorf("results %+v", res)
		}
	})
}

func TestBulkByIDsReportsUnknown(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("id", 4)
		unknown := []string{"00000000-0000-0000-0000-000000000001", "not-a-guid"}
		ids := []string{us[0].ID, unknown[0], us[1].ID, us[1].ID, unknown[1], us[2].ID}
		job := f.submit(bulkApp, Request{UserIDs: ids})
		if job.Targeted != 5 {
			t.Errorf("targeted = %d, want 5 (duplicates dropped)", job.Targeted)
		}
		f.work(f.svc)
		r := f.wantCounts(job.ID, 3, 0, 2)
		res := f.results(job.ID)
		for _, id := range unknown {
			if res[id].Outcome != OutcomeFailed || res[id].Detail != "user not found" {
				t.Errorf("result of %s = %+v", id, res[id])
			}
		}
		for _, u := range us[:3] {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		f.wantUntouched(us[3].ID)
	})
}

func TestBulkBySessions(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("dave@contoso.com")
		second := f.session(u.ID)
		other := f.user("erin@contoso.com")
		job := f.submit(bulkApp, Request{SessionIDs: []string{second.ID, "gone"}})
		f.work(f.svc)
		f.wantCounts(job.ID, 1, 0, 1)
		if st := f.state(u.ID); st.liveSessions != 1 || st.liveTokens != 1 || !st.T.Equal(t0.Add(-time.Hour)) {
			t.Errorf("user state %+v: want one of two sessions ended and T unchanged", st)
		}
		f.wantUntouched(other.ID)
		if res := f.results(job.ID); res[second.ID].Outcome != OutcomeRevoked || res["gone"].Detail != "session not found" {
			t.Errorf("results %+v", res)
		}
	})
}

// TestBulkBySessionsDenied: a session the caller may not end is reported
// denied, its detail naming whose session it is.
func TestBulkBySessionsDenied(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		ga := f.user("ga@contoso.com")
		f.assign(ga.ID, roleGlobalAdmin)
		sess := f.session(ga.ID)
		userAdmin := admin("99999999-9999-9999-9999-999999999999", roleUserAdmin)
		job := f.submit(userAdmin, Request{SessionIDs: []string{sess.ID}})
		f.work(f.svc)
		f.wantCounts(job.ID, 0, 1, 0)
		if res := f.results(job.ID)[sess.ID]; res.Outcome != OutcomeDenied || !strings.HasPrefix(res.Detail, "session of user "+ga.ID+": ") {
			t.Errorf("result %+v, want denied naming user %s", res, ga.ID)
		}
	})
}

func TestBulkReportsDeniedTargets(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		plain := f.users("plain", 3)
		ga := f.user("ga@contoso.com")
		f.assign(ga.ID, roleGlobalAdmin)
		member := f.user("rag@contoso.com")
		rag := f.group("role-assignable", true)
		f.addMember(rag.ID, member.ID, store.KindUser)
		userAdmin := admin("99999999-9999-9999-9999-999999999999", roleUserAdmin)

		ids := []string{plain[0].ID, ga.ID, plain[1].ID, member.ID, plain[2].ID}
		job := f.submit(userAdmin, Request{UserIDs: ids})
		f.work(f.svc)
		r := f.wantCounts(job.ID, 3, 2, 0)
		res := f.results(job.ID)
		for _, id := range []string{ga.ID, member.ID} {
			if res[id].Outcome != OutcomeDenied || res[id].Detail == "" {
				t.Errorf("result of %s = %+v, want denied with a reason", id, res[id])
			}
			f.wantUntouched(id)
		}
		for _, u := range plain {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		if a := f.audit(); len(a) != 3 || a[0].InitiatorUserID != userAdmin.Principal.ObjectID {
			t.Errorf("audit = %d records", len(a))
		}
	})
}

func TestBulkIdempotency(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("idem", 2)
		req := Request{UserIDs: []string{us[0].ID}, Reason: "x"}
		first, _, err := f.svc.Submit(f.ctx, bulkApp, req, "key-1")
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := f.svc.Submit(f.ctx, bulkApp, req, "key-1")
		if err != nil || again.ID != first.ID {
			t.Fatalf("same key, same body: %v, %v; want job %s", again, err, first.ID)
		}
		_, _, err = f.svc.Submit(f.ctx, bulkApp, Request{UserIDs: []string{us[1].ID}, Reason: "x"}, "key-1")
		if !errors.Is(err, ErrIdempotencyConflict) {
			t.Fatalf("same key, different body: %v", err)
		}
		other, _, err := f.svc.Submit(f.ctx, admin("12121212-1212-1212-1212-121212121212", roleGlobalAdmin), req, "key-1")
		if err != nil || other.ID == first.ID {
			t.Fatalf("another initiator's key-1: %v, %v", other, err)
		}
		f.work(f.svc)
		if again, _, err := f.svc.Submit(f.ctx, bulkApp, req, "key-1"); err != nil || again.ID != first.ID || again.Status != store.RevocationCompleted {
			t.Fatalf("after completion: %+v, %v", again, err)
		}
	})
}

func TestBulkDryRunChangesNothing(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("dry", 25)
		job, dry, err := f.svc.Submit(f.ctx, bulkApp, Request{Filter: "startsWith(userPrincipalName,'dry-')", DryRun: true}, "key")
		if err != nil || job != nil || dry == nil {
			t.Fatalf("dry run = %v, %v, %v", job, dry, err)
		}
		if dry.Targeted != 25 || len(dry.Sample) != DryRunSampleSize {
			t.Errorf("dry run = %d targeted, %d sampled", dry.Targeted, len(dry.Sample))
		}
		for _, req := range []Request{
			{UserIDs: []string{us[0].ID, "nobody"}, DryRun: true},
			{SessionIDs: []string{"nobody"}, DryRun: true},
		} {
			if _, dry, err := f.svc.Submit(f.ctx, bulkApp, req, ""); err != nil || dry.Targeted != 2-len(req.SessionIDs) {
				t.Errorf("dry run %+v = %+v, %v", req, dry, err)
			}
		}
		f.work(f.svc)
		for _, u := range us {
			f.wantUntouched(u.ID)
		}
		for _, st := range []string{store.RevocationPending, store.RevocationRunning, store.RevocationCompleted} {
			if js, _ := f.st.ListRevocationsByStatus(f.ctx, st); len(js) != 0 {
				t.Errorf("a dry run created %d %s jobs", len(js), st)
			}
		}
		if len(f.audit()) != 0 || len(f.outbox()) != 0 {
			t.Error("a dry run wrote audit records or events")
		}
	})
}

func TestBulkRejectsBadRequests(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		for name, req := range map[string]Request{
			"no selector":          {},
			"empty id list":        {UserIDs: []string{}},
			"two selectors":        {UserIDs: []string{"a"}, Filter: "accountEnabled eq true"},
			"transitive alone":     {Filter: "accountEnabled eq true", Transitive: true},
			"filter syntax":        {Filter: "displayName eq"},
			"unknown property":     {Filter: "shoeSize eq 3"},
			"unsupported op":       {Filter: "startsWith(department, 'x')"},
			"empty id":             {UserIDs: []string{""}},
			"reason too long":      {UserIDs: []string{"a"}, Reason: string(make([]byte, MaxReasonLength+1))},
			"too many session ids": {SessionIDs: make([]string, MaxTargetIDs+1)},
		} {
			if _, _, err := f.svc.Submit(f.ctx, bulkApp, req, ""); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if _, _, err := f.svc.Get(f.ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) = %v", err)
		}
		if _, err := f.svc.Results(f.ctx, "nope", "", store.Query{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Results(unknown) = %v", err)
		}
	})
}

// crashAfter returns a Service whose worker context is cancelled after n
// committed chunks, as if the process died between chunks, and that
// context.
func (f *fixture) crashAfter(worker string, n int) (*Service, context.Context) {
	ctx, cancel := context.WithCancel(f.ctx)
	f.t.Cleanup(cancel)
	svc := f.worker(worker)
	chunks := 0
	svc.afterChunk = func(store.Revocation) {
		if chunks++; chunks == n {
			cancel()
		}
	}
	return svc, ctx
}

func TestBulkResumesAfterCrash(t *testing.T) {
	for _, sameWorker := range []bool{false, true} {
		name := "another worker after the lease"
		if sameWorker {
			name = "the same worker at restart"
		}
		t.Run(name, func(t *testing.T) {
			each(t, func(f *fixture) {
				t := f.t
				us := f.users("crash", 10)
				job := f.submit(bulkApp, Request{Filter: "startsWith(userPrincipalName,'crash-')"})
				dying, ctx := f.crashAfter("worker-a", 2)
				if err := dying.Work(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("dying worker: %v", err)
				}
				mid := f.job(job.ID)
				if mid.Status != store.RevocationRunning || mid.Revoked != 6 {
					t.Fatalf("after the crash: %+v", mid)
				}
				next := f.worker("worker-b")
				if sameWorker {
					next = f.worker("worker-a")
				} else {
					f.work(next) // the lease still holds: nothing to do
					if r := f.job(job.ID); r.Revoked != 6 {
						t.Fatalf("another worker took a leased job: %+v", r)
					}
					f.clock.Advance(DefaultLease)
				}
				f.work(next)
				r := f.wantCounts(job.ID, 10, 0, 0)
				for _, u := range us {
					f.wantRevoked(u.ID, r.ValidFrom)
				}
				// Exactly once: one audit record and one event per user.
				if a, o := len(f.audit()), len(f.outbox()); a != 10 || o != 10 {
					t.Errorf("%d audit records, %d events; want 10 each", a, o)
				}
			})
		})
	}
}

func TestBulkConcurrentWorkers(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("conc", 20)
		var jobs []store.Revocation
		for range 3 {
			jobs = append(jobs, f.submit(bulkApp, Request{Filter: "startsWith(userPrincipalName,'conc-')"}))
		}
		var wg sync.WaitGroup
		for _, w := range []string{"n1", "n2", "n3", "n4"} {
			svc := f.worker(w)
			wg.Go(func() {
				if err := svc.Work(f.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, j := range jobs {
			f.wantCounts(j.ID, 20, 0, 0)
		}
		// Every job revoked every user exactly once.
		if a, o := len(f.audit()), len(f.outbox()); a != 60 || o != 60 {
			t.Errorf("%d audit records, %d events; want 60 each", a, o)
		}
		for _, u := range us {
			if f.state(u.ID).liveSessions != 0 {
				t.Errorf("user %s still has live sessions", u.ID)
			}
		}
	})
}

// TestBulkCorrectsPrefetchedChunks changes targets after their chunk was
// read ahead (outside the transaction) and before it commits: a deleted
// user is reported failed, and a user revoked meanwhile keeps the later T,
// with an audit record that shows it as the old value.
func TestBulkCorrectsPrefetchedChunks(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		us := f.users("pre", 6)
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.ID
		}
		job := f.submit(bulkApp, Request{UserIDs: ids})
		later := t0.Add(time.Hour)
		chunks := 0
		f.svc.beforeChunk = func() {
			if chunks++; chunks != 2 {
				return
			}
			if err := f.st.DeleteUser(f.ctx, us[3].ID); err != nil {
				t.Fatal(err)
			}
			err := f.st.InTx(f.ctx, func(tx store.Tx) error {
				_, err := ApplyInTx(f.ctx, tx, Initiator{}, CauseAdminRevoke, []string{us[4].ID}, later, Options{CorrelationID: "meanwhile"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		f.work(f.svc)
		r := f.wantCounts(job.ID, 5, 0, 1)
		if res := f.results(job.ID)[us[3].ID]; res.Outcome != OutcomeFailed || res.Detail != "user not found" {
			t.Errorf("deleted user's result = %+v", res)
		}
		f.wantRevoked(us[4].ID, later)
		for _, u := range append(us[:3:3], us[5]) {
			f.wantRevoked(u.ID, r.ValidFrom)
		}
		found := 0
		for _, a := range f.audit() {
			if a.CorrelationID != job.ID || a.TargetIDs[0] != us[4].ID {
				continue
			}
			found++
			if !strings.Contains(string(a.TargetResources), `"oldValue":"[\"2025-06-01T13:00:00Z\"]"`) {
				t.Errorf("job's audit record of the user revoked meanwhile: %s", a.TargetResources)
			}
		}
		if found != 1 {
			t.Errorf("%d audit records of the job for the user revoked meanwhile, want 1", found)
		}
		if o := len(f.outbox()); o != 6 { // 5 by the job, 1 meanwhile
			t.Errorf("%d events, want 6", o)
		}
	})
}
