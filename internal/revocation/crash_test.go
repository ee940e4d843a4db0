package revocation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// The crash test's child process reads its store and worker from these.
const (
	crashDSNEnv    = "VIGIL_REVOCATION_CRASH_DSN"
	crashWorkerEnv = "VIGIL_REVOCATION_CRASH_WORKER"
	// crashTrialsEnv overrides the number of trials per backend (default
	// 20).
	crashTrialsEnv = "VIGIL_REVOCATION_CRASH_TRIALS"
)

const (
	crashUsers = 60
	crashChunk = 5
)

var quiet = sqlstore.WithLogger(slog.New(slog.DiscardHandler))

// TestWorkerSurvivesSIGKILL runs a bulk revocation in a child process (this
// test binary, re-executed as TestCrashChild), kills it with SIGKILL at a
// random point — after a random number of committed chunks plus a random
// delay, so inside a transaction as often as between two — and restarts
// the worker in this process. After the kill, every user the job's
// committed results report revoked is revoked, and no user has T moved
// while a session or refresh token is still live; after the restart the
// job completes and every user was revoked exactly once (one result, one
// audit record, one event each). Half the trials restart with the same
// worker id (a node restarting), half with another after the lease ran out
// (another node taking over).
func TestWorkerSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	trials := 20
	if v := os.Getenv(crashTrialsEnv); v != "" {
		trials, _ = strconv.Atoi(v)
	}
	run := func(t *testing.T, dsn func(i int) string) {
		interrupted := 0
		for i := range trials {
			if crashTrial(t, i, dsn(i)) {
				interrupted++
			}
		}
		t.Logf("%d of %d trials killed the worker mid-job", interrupted, trials)
		if interrupted < trials/2 {
			t.Errorf("only %d of %d kills landed before the job completed", interrupted, trials)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		run(t, func(i int) string { return "sqlite://" + filepath.Join(t.TempDir(), fmt.Sprintf("crash-%d.db", i)) })
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, func(int) string { return sqltest.PostgresDSN(t) })
	})
}

// crashTrial runs one trial on the store at dsn; it reports whether the
// kill interrupted the job.
func crashTrial(t *testing.T, trial int, dsn string) bool {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prefix := fmt.Sprintf("t%02d", trial)
	seed(t, st, prefix, crashUsers)
	c := clocktest.At(time.Now())
	parent := &Service{Store: st, Now: c.Now}
	job, _, err := parent.Submit(ctx, bulkApp, Request{Filter: "startsWith(userPrincipalName,'" + prefix + "-')"}, "")
	if err != nil {
		t.Fatal(err)
	}

	// Run the worker in a child and kill it at a random point.
	killAfter := rand.IntN(crashUsers / crashChunk)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDSNEnv+"="+dsn, crashWorkerEnv+"=node-1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reported := 0 // the most users the child saw committed as revoked
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "chunk ")
		if !ok {
			continue
		}
		reported, _ = strconv.Atoi(n)
		if !killed && reported/crashChunk > killAfter {
			killed = true
			time.AfterFunc(time.Duration(rand.IntN(3000))*time.Microsecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if killed && (!errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL) {
		// The job may finish before the kill lands; then the child exits cleanly.
		if err != nil {
			t.Fatalf("trial %d: child: %v", trial, err)
		}
	}

	// After the crash: what was reported is committed, and nothing is half done.
	f := &fixture{t: t, ctx: ctx, st: st, clock: c, svc: parent}
	mid := f.job(job.ID)
	if mid.Revoked < reported {
		t.Fatalf("trial %d: the child saw %d revoked, the store has %d", trial, reported, mid.Revoked)
	}
	revoked := map[string]bool{}
	for id, r := range f.results(job.ID) {
		if r.Outcome == OutcomeRevoked {
			revoked[id] = true
		}
	}
	if len(revoked) != mid.Revoked {
		t.Fatalf("trial %d: %d revoked results, counter says %d", trial, len(revoked), mid.Revoked)
	}
	for i := range crashUsers {
		u, _, _ := seedUser(prefix, i)
		st := f.state(u.ID)
		moved := !st.T.Equal(u.SignInSessionsValidFrom)
		switch {
		case revoked[u.ID] && (!st.T.Equal(mid.ValidFrom) || st.liveSessions+st.liveTokens > 0):
			t.Fatalf("trial %d: user %s reported revoked but %+v", trial, u.ID, st)
		case moved && st.liveSessions+st.liveTokens > 0:
			t.Fatalf("trial %d: user %s has T moved but live sessions or tokens: %+v", trial, u.ID, st)
		case moved != revoked[u.ID]:
			t.Fatalf("trial %d: user %s: T moved %v, reported revoked %v", trial, u.ID, moved, revoked[u.ID])
		}
	}

	// Restart: the same node resumes at once; another node after the lease.
	restart := &Service{Store: st, Now: c.Now, WorkerID: "node-1", ChunkSize: crashChunk}
	if trial%2 == 1 {
		restart.WorkerID = "node-2"
		c.Advance(2 * DefaultLease) // the child's clock ran on a little
	}
	f.work(restart)
	done := f.wantCounts(job.ID, crashUsers, 0, 0)
	for i := range crashUsers {
		u, _, _ := seedUser(prefix, i)
		f.wantRevoked(u.ID, done.ValidFrom)
	}
	audits := 0
	for _, r := range f.audit() {
		if r.CorrelationID == job.ID {
			audits++
		}
	}
	events := 0
	for _, e := range f.outbox() {
		if payload(t, e).RevocationID == job.ID {
			events++
		}
	}
	if audits != crashUsers || events != crashUsers {
		t.Fatalf("trial %d: %d audit records and %d events for %d users", trial, audits, events, crashUsers)
	}
	return mid.Status == store.RevocationRunning
}

// TestCrashChild is the worker process of TestWorkerSurvivesSIGKILL: it
// runs the job worker and prints the committed revoked count after every
// chunk.
func TestCrashChild(t *testing.T) {
	dsn := os.Getenv(crashDSNEnv)
	if dsn == "" {
		t.Skip("only run as the child of TestWorkerSurvivesSIGKILL")
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: st, WorkerID: os.Getenv(crashWorkerEnv), ChunkSize: crashChunk}
	svc.afterChunk = func(r store.Revocation) { fmt.Printf("chunk %d\n", r.Revoked) }
	if err := svc.Work(ctx); err != nil {
		t.Fatal(err)
	}
}
