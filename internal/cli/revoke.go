package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

const (
	// confirmAbove: more targets than this ask for confirmation on a
	// terminal (unless --yes).
	confirmAbove = 50
	// perUserUpTo: lists this short use Graph's per-user action (one round
	// trip each, Graph-compatible); longer ones use bulk revocation jobs.
	perUserUpTo = 20
)

// revokeOpts are the flags of revoke-sessions.
type revokeOpts struct {
	filter, group string
	transitive    bool
	dryRun, yes   bool
	wait, perUser bool
	reason        string
	timeout       time.Duration
	concurrency   int
	batchSize     int
}

func newRevokeSessionsCmd(s *state) *cobra.Command {
	var o revokeOpts
	cmd := &cobra.Command{
		Use:   "revoke-sessions [USER... | - | --filter EXPR | --group ID [--transitive]]",
		Short: "Revoke users' sign-in sessions and refresh tokens",
		Long: `Revoke users' sign-in sessions and refresh tokens: their signInSessionsValidFromDateTime
moves to now, every refresh token and SSO session they hold stops working, and
resource servers fed by Vigil's SSF stream refuse their older access tokens.

Targets are user ids or user principal names given as arguments, or read from
stdin with - (one id or UPN per line, or JSON lines with id/userPrincipalName:
the output of ` + "`vigil users list -o jsonl`" + ` or ` + "`-o ids`" + `). Every listed user is
looked up first (100 per request); users that do not exist are reported and
the rest continue. Up to 20 users are revoked one by one with Graph's
revokeSignInSessions (--concurrency at once); longer lists go to the Vigil API
as bulk revocation jobs of --batch-size users each, and each user's outcome is
read from the job's results. --per-user forces Graph's per-user action (about
750 users a second on one node; bulk jobs revoke 10,000 users in about two
seconds). Empty input revokes nothing and succeeds.

--filter (an OData $filter on users) and --group (with --transitive for nested
groups) make ONE server-side bulk revocation; the command waits for the job
and prints it.

Safety: --dry-run shows who would be affected and changes nothing (for
--filter and --group the server counts and samples them). With more than 50
targets and a person at the terminal (stderr is a terminal), the command asks
first; --yes skips the question. When stderr is not a terminal (scripts, CI,
cron) it never asks, so pipelines run unattended.

Output: one row per target, as JSON lines when stdout is a pipe
({"id","userPrincipalName","revoked":true,"validFrom"} or with "error"), a
table on a terminal. Exit code 1 when some targets failed.`,
		Example: `  vigil users revoke-sessions ada@vigil.local
  vigil users list --filter "department eq 'HP'" -o ids | vigil users revoke-sessions -
  vigil users revoke-sessions --filter "department eq 'HP'" --reason "INC-4711" --wait
  vigil users revoke-sessions --group 6f1c… --transitive --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.revokeSessions(cmd.Context(), args, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.filter, "filter", "", "OData $filter on users: one server-side bulk revocation")
	f.StringVar(&o.group, "group", "", "group id: revoke its members in one server-side bulk revocation")
	f.BoolVar(&o.transitive, "transitive", false, "with --group: members of nested groups too")
	f.BoolVar(&o.dryRun, "dry-run", false, "show who would be affected; change nothing")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	f.StringVar(&o.reason, "reason", "", "why (recorded with the revocation)")
	f.BoolVar(&o.wait, "wait", false, "wait until every SSF receiver acknowledged the revocation (effectiveAt) and print it")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for bulk jobs and --wait")
	f.IntVar(&o.concurrency, "concurrency", 8, "per-user requests in flight at once")
	f.IntVar(&o.batchSize, "batch-size", 1000, "users per bulk revocation job for listed users")
	f.BoolVar(&o.perUser, "per-user", false, "revoke listed users one by one with Graph's revokeSignInSessions")
	return cmd
}

// revokeResult is the output row of one target.
type revokeResult struct {
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Revoked           bool   `json:"revoked"`
	DryRun            bool   `json:"dryRun,omitempty"`
	ValidFrom         string `json:"validFrom,omitempty"`
	Revocation        string `json:"revocation,omitempty"`
	EffectiveAt       string `json:"effectiveAt,omitempty"`
	Error             string `json:"error,omitempty"`
}

var revokeColumns = []string{"id", "userPrincipalName", "revoked", "validFrom", "error"}

func (s *state) revokeSessions(ctx context.Context, args []string, o revokeOpts) error {
	bulk := o.filter != "" || o.group != ""
	switch {
	case o.filter != "" && o.group != "":
		return usagef("give --filter or --group, not both")
	case bulk && len(args) > 0:
		return usagef("give users as arguments, - for stdin, --filter or --group: only one of them")
	case !bulk && len(args) == 0:
		return usagef("name the users: USER…, - for stdin, --filter EXPR or --group ID; see `vigil users revoke-sessions --help`")
	case o.transitive && o.group == "":
		return usagef("--transitive needs --group")
	case o.concurrency < 1:
		return usagef("--concurrency must be at least 1")
	case o.batchSize < 1:
		return usagef("--batch-size must be at least 1")
	case o.timeout <= 0:
		return usagef("--timeout must be positive")
	}
	var targets []target
	if !bulk {
		var err error
		if targets, err = s.targetsFrom(args); err != nil {
			return err
		}
		if len(targets) == 0 {
			// An upstream filter that matched nobody: nothing to do.
			fmt.Fprintln(s.env.Stderr, "No users on stdin: nothing revoked.")
			return nil
		}
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	if bulk {
		return s.revokeBulk(ctx, c, o)
	}
	return s.revokeList(ctx, c, targets, o)
}

// revokeList revokes listed users: look them up, then revoke per user or
// in bulk jobs, then print one row per target in input order.
func (s *state) revokeList(ctx context.Context, c *Client, targets []target, o revokeOpts) error {
	cols := revokeColumns
	if o.wait {
		cols = append(cols[:4:4], "effectiveAt", "error")
	}
	p, err := s.newPrinter(printerOpts{columns: cols})
	if err != nil {
		return err
	}
	bar := s.newProgress("looking up", len(targets))
	found, missing, err := c.resolveUsers(ctx, targets, bar)
	bar.finish()
	if err != nil {
		return err
	}
	// One user named twice (by id and by UPN) is one target.
	found, targets = dedupeUsers(found, targets)
	results := map[string]revokeResult{}
	for _, t := range missing {
		results[t.key()] = revokeResult{ID: t.ID, UserPrincipalName: t.UPN, Error: "user not found"}
	}
	if o.dryRun {
		for _, u := range found {
			results[u.target.key()] = revokeResult{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DryRun: true}
		}
		if err := s.printResults(p, targets, results); err != nil {
			return err
		}
		if len(missing) > 0 {
			return failf("dry run: %d of %d targets would fail (not found); %s would have their sessions revoked; nothing changed",
				len(missing), len(targets), plural(len(found), "user"))
		}
		fmt.Fprintf(s.env.Stderr, "Dry run: %s would have their sessions revoked. Nothing changed.\n", plural(len(found), "user"))
		return nil
	}
	if len(found) > confirmAbove && !o.yes && s.interactive() {
		ok, err := s.confirm(fmt.Sprintf("Revoke the sessions of %s?", plural(len(found), "user")))
		if err != nil || !ok {
			return usagef("not confirmed: nothing revoked (use --yes to skip the question)")
		}
	}
	if o.perUser || len(found) <= perUserUpTo {
		err = s.revokePerUser(ctx, c, found, o, results)
	} else {
		err = s.revokeInJobs(ctx, c, found, o, results)
		if fallBack(err) {
			fmt.Fprintf(s.env.Stderr, "Note: bulk revocation is unavailable (%v); revoking user by user through Graph.\n", err)
			err = s.revokePerUser(ctx, c, found, o, results)
		}
	}
	if err == nil && o.wait {
		err = s.waitResults(ctx, c, o, results)
	}
	if err != nil {
		// Report what was done before the failure.
		_ = s.printResults(p, targets, results)
		return err
	}
	if err := s.printResults(p, targets, results); err != nil {
		return err
	}
	failed, denied := 0, 0
	for _, r := range results {
		if r.Error != "" {
			failed++
			if strings.HasPrefix(r.Error, "denied") {
				denied++
			}
		}
	}
	switch {
	case failed == 0:
		fmt.Fprintf(s.env.Stderr, "Revoked the sessions of %s.\n", plural(len(targets), "user"))
		return nil
	case denied == len(targets):
		return authf("every target was denied: the caller may not revoke these users' sessions; use an identity with a role that covers them")
	case failed == len(targets):
		return failf("all %d targets failed; nothing was revoked", failed)
	}
	return failf("%d of %d targets failed; the rest were revoked", failed, len(targets))
}

// dedupeUsers keeps the first target that names each user.
func dedupeUsers(found []userRef, targets []target) ([]userRef, []target) {
	seen := map[string]bool{}
	drop := map[string]bool{}
	var users []userRef
	for _, u := range found {
		if seen[u.ID] {
			drop[u.target.key()] = true
			continue
		}
		seen[u.ID] = true
		users = append(users, u)
	}
	if len(drop) == 0 {
		return found, targets
	}
	var kept []target
	for _, t := range targets {
		if !drop[t.key()] {
			kept = append(kept, t)
		}
	}
	return users, kept
}

// fallBack reports whether bulk jobs failed before anything was submitted
// because the Vigil API is not there or not available to this login.
func fallBack(err error) bool {
	var nb *noBulk
	return errors.As(err, &nb)
}

// noBulk: the first bulk job could not be created.
type noBulk struct{ err error }

func (e *noBulk) Error() string { return e.err.Error() }
func (e *noBulk) Unwrap() error { return e.err }

func (s *state) printResults(p *printer, targets []target, results map[string]revokeResult) error {
	for _, t := range targets {
		r, ok := results[t.key()]
		if !ok {
			continue
		}
		if r.Error != "" && p.format == "ids" {
			fmt.Fprintf(s.env.Stderr, "vigil: %s: %s\n", t.name(), r.Error)
			continue
		}
		if err := p.add(r); err != nil {
			return err
		}
	}
	return p.close()
}

// revokePerUser calls Graph's revokeSignInSessions for every user, then
// reads their new signInSessionsValidFromDateTime back in batches.
func (s *state) revokePerUser(ctx context.Context, c *Client, users []userRef, o revokeOpts, results map[string]revokeResult) error {
	bar := s.newProgress("revoking", len(users))
	defer bar.finish()
	type done struct {
		u          userRef
		revocation string
		err        error
	}
	out := parallel(ctx, users, o.concurrency, func(u userRef) done {
		resp, err := c.do(ctx, request{method: http.MethodPost, path: graphPrefix + "/users/" + pathEscape(u.ID) + "/revokeSignInSessions"})
		d := done{u: u, err: err}
		if err == nil {
			if loc := resp.header.Get("Location"); loc != "" {
				d.revocation = path.Base(loc)
			}
		}
		return d
	})
	var revoked []target
	var fatal error
	for d := range out {
		bar.add(1)
		key := d.u.target.key()
		switch {
		case d.err == nil:
			results[key] = revokeResult{ID: d.u.ID, UserPrincipalName: d.u.UserPrincipalName, Revoked: true, Revocation: d.revocation}
			revoked = append(revoked, target{ID: d.u.ID})
		case statusOf(d.err) == http.StatusUnauthorized || statusOf(d.err) == 0:
			// Credentials, the network or an interrupt: stop; what was
			// revoked so far is still reported.
			fatal = cmpErr(fatal, d.err)
		case statusOf(d.err) == http.StatusForbidden:
			results[key] = revokeResult{ID: d.u.ID, UserPrincipalName: d.u.UserPrincipalName, Error: "denied: " + targetError(d.err)}
		default:
			results[key] = revokeResult{ID: d.u.ID, UserPrincipalName: d.u.UserPrincipalName, Error: targetError(d.err)}
		}
	}
	if fatal != nil {
		return fatal
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The new signInSessionsValidFromDateTime of each revoked user.
	after, _, err := c.resolveUsers(ctx, revoked, nil)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, u := range after {
		byID[u.ID] = u.ValidFrom
	}
	for k, r := range results {
		if r.Revoked {
			r.ValidFrom = byID[r.ID]
			results[k] = r
		}
	}
	return nil
}

// revocation is the Vigil API's revocation resource (design contract).
type revocation struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	ValidFrom   string          `json:"validFrom"`
	Targeted    int             `json:"targeted"`
	Revoked     int             `json:"revoked"`
	Denied      int             `json:"denied"`
	Failed      int             `json:"failed"`
	Reason      string          `json:"reason"`
	CreatedAt   string          `json:"createdAt"`
	CompletedAt string          `json:"completedAt"`
	Receipts    []receipt       `json:"receipts"`
	EffectiveAt string          `json:"effectiveAt"`
	Sample      json.RawMessage `json:"sample"`
}

// receipt is one SSF stream's delivery of a revocation.
type receipt struct {
	StreamID       string `json:"streamId"`
	Receiver       string `json:"receiver"`
	Status         string `json:"status"`
	DeliveredAt    string `json:"deliveredAt"`
	AcknowledgedAt string `json:"acknowledgedAt"`
}

// finished reports whether the job stopped working.
func (r *revocation) finished() bool { return r.Status == "completed" || r.Status == "failed" }

// effective reports whether the revocation is in force everywhere: every
// receipt acknowledged (effectiveAt), or a finished job with no SSF stream
// to tell.
func (r *revocation) effective() bool {
	return r.EffectiveAt != "" || (r.Status == "completed" && len(r.Receipts) == 0)
}

const revocationsPath = vigilPrefix + "/revocations"

// createRevocation POSTs a revocation request; the answer (202, or 200 for
// a dry run) is the resource, returned raw and decoded.
func (c *Client) createRevocation(ctx context.Context, body map[string]any) (*revocation, json.RawMessage, error) {
	resp, err := c.do(ctx, request{method: http.MethodPost, path: revocationsPath, body: body})
	if err != nil {
		return nil, nil, err
	}
	var r revocation
	if err := decodeBody(resp, &r); err != nil {
		return nil, nil, err
	}
	if r.ID == "" && body["dryRun"] != true {
		// Only a Location: read the resource.
		if loc := resp.header.Get("Location"); loc != "" {
			return c.getRevocation(ctx, path.Base(loc))
		}
	}
	return &r, resp.body, nil
}

func (c *Client) getRevocation(ctx context.Context, id string) (*revocation, json.RawMessage, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: revocationsPath + "/" + pathEscape(id)})
	if err != nil {
		return nil, nil, err
	}
	var r revocation
	if err := decodeBody(resp, &r); err != nil {
		return nil, nil, err
	}
	return &r, resp.body, nil
}

// poll reads revocation id until done(r) or the deadline; every read is
// passed to seen. It backs off from 50 ms to 1 s between reads.
func (c *Client) poll(ctx context.Context, id string, deadline time.Time, done func(*revocation) bool, seen func(*revocation, json.RawMessage)) (*revocation, error) {
	wait := 50 * time.Millisecond
	for {
		r, raw, err := c.getRevocation(ctx, id)
		if err != nil {
			return nil, err
		}
		if seen != nil {
			seen(r, raw)
		}
		if done(r) {
			return r, nil
		}
		if c.now().Add(wait).After(deadline) {
			return r, errTimeout
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*3/2, time.Second)
	}
}

var errTimeout = errors.New("timed out")
