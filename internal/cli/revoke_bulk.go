package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// revokeInJobs revokes users in bulk revocation jobs of o.batchSize users
// (POST /vigil/v1/revocations {"userIds":[…]}), waits for the jobs, and
// works out each user's outcome: all revoked when the job's counts say so;
// otherwise a user is revoked when its signInSessionsValidFromDateTime
// reached the job's validFrom (read back in batches), and the others were
// denied or failed as the job's counts tell. A *noBulk error means the
// first job could not be created (no Vigil API, or no access to it).
func (s *state) revokeInJobs(ctx context.Context, c *Client, users []userRef, o revokeOpts, results map[string]revokeResult) error {
	deadline := c.now().Add(o.timeout)
	bar := s.newProgress("revoking", len(users))
	defer bar.finish()
	var jobs []*bulkJob
	for rest := users; len(rest) > 0; {
		chunk := rest[:min(o.batchSize, len(rest))]
		rest = rest[len(chunk):]
		ids := make([]string, len(chunk))
		for i, u := range chunk {
			ids[i] = u.ID
		}
		body := map[string]any{"userIds": ids}
		if o.reason != "" {
			body["reason"] = o.reason
		}
		r, _, err := c.createRevocation(ctx, body)
		if err != nil {
			st := statusOf(err)
			if len(jobs) == 0 && (st == http.StatusNotFound || st == http.StatusMethodNotAllowed || st == http.StatusForbidden ||
				(st == 0 && KindOf(err) == KindAuth)) {
				return &noBulk{err}
			}
			if st == 0 || st == http.StatusUnauthorized {
				return err
			}
			for _, u := range chunk {
				results[u.target.key()] = revokeResult{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Error: targetError(err)}
			}
			continue
		}
		jobs = append(jobs, &bulkJob{users: chunk, rev: r})
	}
	// Wait for every job, a round of reads at a time.
	wait := 50 * time.Millisecond
	for {
		pending, done := 0, 0
		for _, j := range jobs {
			if !j.rev.finished() {
				r, _, err := c.getRevocation(ctx, j.rev.ID)
				if err != nil {
					return err
				}
				j.rev = r
			}
			done += j.rev.Revoked + j.rev.Denied + j.rev.Failed
			if !j.rev.finished() {
				pending++
			}
		}
		bar.setTotal(len(users), min(done, len(users)))
		if pending == 0 {
			break
		}
		if c.now().Add(wait).After(deadline) {
			var ids []string
			for _, j := range jobs {
				if !j.rev.finished() {
					ids = append(ids, j.rev.ID)
				}
			}
			return failf("timed out after %s waiting for revocation jobs %s; follow them with `vigil revocations get ID --watch`",
				o.timeout, strings.Join(ids, ", "))
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*3/2, time.Second)
	}
	for _, j := range jobs {
		if err := j.outcomes(ctx, c, results); err != nil {
			return err
		}
	}
	return nil
}

// bulkJob is one revocation job of listed users.
type bulkJob struct {
	users []userRef
	rev   *revocation
}

// outcomes records the result of each user of a finished job: all revoked
// when its counts say so; else the job's per-target results name the users
// that were denied or failed (and why); a server without them is answered
// by reading each user's signInSessionsValidFromDateTime back.
func (j *bulkJob) outcomes(ctx context.Context, c *Client, results map[string]revokeResult) error {
	users, r := j.users, j.rev
	if r.Status == "completed" && r.Revoked == len(users) && r.Denied == 0 && r.Failed == 0 {
		for _, u := range users {
			results[u.target.key()] = revokeResult{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Revoked: true,
				ValidFrom: r.ValidFrom, Revocation: r.ID}
		}
		return nil
	}
	bad, err := c.revocationFailures(ctx, r.ID)
	if err == nil && r.Status == "completed" {
		for _, u := range users {
			res := revokeResult{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Revocation: r.ID}
			if why, ok := bad[strings.ToLower(u.ID)]; ok {
				res.Error = why + " (revocation " + r.ID + ")"
			} else {
				res.Revoked, res.ValidFrom = true, r.ValidFrom
			}
			results[u.target.key()] = res
		}
		return nil
	}
	if err != nil && statusOf(err) != http.StatusNotFound {
		return err
	}
	ts := make([]target, len(users))
	for i, u := range users {
		ts[i] = target{ID: u.ID}
	}
	after, _, err := c.resolveUsers(ctx, ts, nil)
	if err != nil {
		return err
	}
	now := map[string]string{}
	for _, u := range after {
		now[u.ID] = u.ValidFrom
	}
	validFrom, vErr := time.Parse(time.RFC3339Nano, r.ValidFrom)
	why := "failed"
	switch {
	case r.Denied > 0 && r.Failed == 0:
		why = "denied: the caller may not revoke this user"
	case r.Denied > 0:
		why = "denied or failed"
	}
	why += " (revocation " + r.ID + ")"
	for _, u := range users {
		res := revokeResult{ID: u.ID, UserPrincipalName: u.UserPrincipalName, Revocation: r.ID}
		t, err := time.Parse(time.RFC3339Nano, now[u.ID])
		if vErr == nil && err == nil && !t.Before(validFrom.Truncate(time.Second)) {
			res.Revoked, res.ValidFrom = true, now[u.ID]
		} else {
			res.Error = why
		}
		results[u.target.key()] = res
	}
	return nil
}

// revocationFailures reads the targets of a job that were denied or
// failed (GET /revocations/{id}/results?outcome=…): user id → "denied:
// detail" or "failed: detail".
func (c *Client) revocationFailures(ctx context.Context, id string) (map[string]string, error) {
	out := map[string]string{}
	for _, outcome := range []string{"denied", "failed"} {
		q := url.Values{"outcome": {outcome}, "$top": {topFor(0)}}
		err := c.list(ctx, revocationsPath+"/"+pathEscape(id)+"/results", q, nil, 0, func(item json.RawMessage) error {
			var r struct {
				UserID, Outcome string
				Detail          *string
			}
			if err := json.Unmarshal(item, &r); err != nil {
				return failf("the server sent a revocation result that is not the JSON expected: %v", err)
			}
			why := cmpOr(r.Outcome, outcome)
			if r.Detail != nil && *r.Detail != "" {
				why += ": " + strings.TrimSuffix(oneLine(*r.Detail), ".")
			}
			out[strings.ToLower(r.UserID)] = why
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// waitResults waits until every revocation named in results is effective
// (acknowledged by every SSF receiver) and records effectiveAt.
func (s *state) waitResults(ctx context.Context, c *Client, o revokeOpts, results map[string]revokeResult) error {
	ids := map[string]bool{}
	for _, r := range results {
		if r.Revocation != "" {
			ids[r.Revocation] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	deadline := c.now().Add(o.timeout)
	bar := s.newProgress("waiting for receivers", len(ids))
	defer bar.finish()
	var (
		mu        sync.Mutex
		effective = map[string]string{}
		first     error
		wg        sync.WaitGroup
		sem       = make(chan struct{}, o.concurrency)
	)
	for id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := c.poll(ctx, id, deadline, (*revocation).effective, nil)
			mu.Lock()
			defer mu.Unlock()
			bar.add(1)
			if err != nil {
				if errors.Is(err, errTimeout) {
					err = failf("timed out after %s waiting for the SSF receivers to acknowledge revocation %s; see `vigil revocations get %s`",
						o.timeout, id, id)
				}
				first = cmpErr(first, err)
				return
			}
			effective[id] = effectiveAt(r)
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	latest := ""
	for k, r := range results {
		if at := effective[r.Revocation]; at != "" {
			r.EffectiveAt = at
			results[k] = r
			latest = max(latest, at)
		}
	}
	if latest != "" {
		fmt.Fprintf(s.env.Stderr, "Effective everywhere at %s.\n", latest)
	}
	return nil
}

// effectiveAt is when a revocation took effect everywhere: effectiveAt,
// or when it completed if no SSF stream was there to acknowledge it.
func effectiveAt(r *revocation) string {
	return cmpOr(r.EffectiveAt, r.CompletedAt, r.ValidFrom)
}

// revokeBulk makes one server-side bulk revocation by filter or group.
func (s *state) revokeBulk(ctx context.Context, c *Client, o revokeOpts) error {
	body := map[string]any{}
	what := ""
	if o.filter != "" {
		body["filter"], what = o.filter, fmt.Sprintf("--filter %q", o.filter)
	} else {
		body["groupId"], what = o.group, "--group "+o.group
		if o.transitive {
			body["transitive"] = true
		}
	}
	if o.reason != "" {
		body["reason"] = o.reason
	}
	bulkErr := func(err error) error {
		switch statusOf(err) {
		case http.StatusBadRequest:
			var ae *APIError
			errors.As(err, &ae)
			return usagef("%s: %s", what, strings.TrimSuffix(oneLine(ae.Message), "."))
		case http.StatusNotFound:
			if o.group != "" {
				return failf("group %s not found", o.group)
			}
			return failf("this server has no bulk revocations (%v)", err)
		}
		return err
	}
	if o.dryRun || (!o.yes && s.interactive()) {
		dry := map[string]any{"dryRun": true}
		for k, v := range body {
			dry[k] = v
		}
		r, _, err := c.createRevocation(ctx, dry)
		if err != nil {
			return bulkErr(err)
		}
		if o.dryRun {
			return s.printDryRun(r)
		}
		if r.Targeted > confirmAbove {
			ok, err := s.confirm(fmt.Sprintf("Revoke the sessions of %s?", plural(r.Targeted, "user")))
			if err != nil || !ok {
				return usagef("not confirmed: nothing revoked (use --yes to skip the question)")
			}
		}
	}
	r, raw, err := c.createRevocation(ctx, body)
	if err != nil {
		return bulkErr(err)
	}
	deadline := c.now().Add(o.timeout)
	bar := s.newProgress("revoking", max(r.Targeted, 1))
	track := func(r *revocation, _ json.RawMessage) {
		bar.setTotal(max(r.Targeted, 1), r.Revoked+r.Denied+r.Failed)
	}
	done := (*revocation).finished
	if o.wait {
		done = func(r *revocation) bool { return r.finished() && (r.effective() || r.Status == "failed") }
	}
	if !done(r) {
		r, err = c.poll(ctx, r.ID, deadline, done, func(nr *revocation, nraw json.RawMessage) { track(nr, nraw); raw = nraw })
	}
	bar.finish()
	if errors.Is(err, errTimeout) {
		return failf("timed out after %s waiting for revocation %s (status %s); follow it with `vigil revocations get %s --watch`",
			o.timeout, r.ID, r.Status, r.ID)
	}
	if err != nil {
		return err
	}
	if err := s.printRevocation(raw); err != nil {
		return err
	}
	return revocationOutcome(s, r, o.wait)
}

// revocationOutcome says how a finished revocation went and returns the
// error for its exit code.
func revocationOutcome(s *state, r *revocation, waited bool) error {
	if r.Status == "failed" && r.Revoked == 0 {
		return failf("revocation %s failed: nothing was revoked; see `vigil revocations get %s`", r.ID, r.ID)
	}
	if n := r.Denied + r.Failed; n > 0 {
		return failf("revocation %s: %d of %d users were not revoked (%d denied, %d failed)", r.ID, n, r.Targeted, r.Denied, r.Failed)
	}
	fmt.Fprintf(s.env.Stderr, "Revoked the sessions of %s (revocation %s).\n", plural(r.Revoked, "user"), r.ID)
	if waited {
		fmt.Fprintf(s.env.Stderr, "Effective everywhere at %s.\n", effectiveAt(r))
	}
	return nil
}

// printDryRun prints the sample of a dry run and how many would be hit.
func (s *state) printDryRun(r *revocation) error {
	p, err := s.newPrinter(printerOpts{columns: []string{"id", "userPrincipalName", "displayName"}})
	if err != nil {
		return err
	}
	var sample []json.RawMessage
	_ = json.Unmarshal(r.Sample, &sample)
	for _, u := range sample {
		if err := p.add(u); err != nil {
			return err
		}
	}
	if err := p.close(); err != nil {
		return err
	}
	shown := ""
	if len(sample) < r.Targeted {
		shown = fmt.Sprintf(" (a sample of %d shown)", len(sample))
	}
	fmt.Fprintf(s.env.Stderr, "Dry run: %s would have their sessions revoked%s. Nothing changed.\n", plural(r.Targeted, "user"), shown)
	return nil
}

// printRevocation prints a revocation resource as the server sent it; the
// table names who asked and sums up the receipts.
func (s *state) printRevocation(raw json.RawMessage) error {
	p, err := s.newPrinter(printerOpts{single: true, vertical: true, columns: revocationColumns(s)})
	if err != nil {
		return err
	}
	var item any = raw
	if p.format == "table" && !p.selected {
		if item, err = flattenRevocation(raw); err != nil {
			return err
		}
	}
	if err := p.add(item); err != nil {
		return err
	}
	return p.close()
}

// flattenRevocation shows createdBy as the user's UPN or the app's name,
// and receipts as how many receivers acknowledged.
func flattenRevocation(raw json.RawMessage) (any, error) {
	_, obj, err := decodeOrdered(raw)
	if err != nil {
		return nil, failf("the server sent a revocation that is not a JSON object: %v", err)
	}
	if by, ok := obj["createdBy"].(map[string]any); ok {
		user, _ := by["user"].(map[string]any)
		app, _ := by["app"].(map[string]any)
		switch {
		case user != nil:
			obj["createdBy"] = cmpOr(str(user["userPrincipalName"]), str(user["id"]))
		case app != nil:
			obj["createdBy"] = "app " + cmpOr(str(app["displayName"]), str(app["appId"]))
		}
	}
	if rs, ok := obj["receipts"].([]any); ok {
		acked := 0
		for _, r := range rs {
			if m, _ := r.(map[string]any); m != nil && str(m["acknowledgedAt"]) != "" {
				acked++
			}
		}
		obj["receipts"] = fmt.Sprintf("%d of %d receivers acknowledged", acked, len(rs))
		if len(rs) == 0 {
			obj["receipts"] = "no SSF receivers"
		}
	}
	return obj, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// revocationColumns are the rows of a revocation's table view.
func revocationColumns(s *state) []string {
	if len(s.columns) > 0 {
		return nil
	}
	return []string{"id", "status", "reason", "targeted", "revoked", "denied", "failed", "validFrom", "createdBy",
		"createdAt", "completedAt", "effectiveAt", "receipts"}
}
