package sqlstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
)

const crashEnv = "VIGIL_SQLSTORE_CRASH_CHILD_DB"

// TestAcknowledgedWritesSurviveKill runs a child process that creates users
// from several goroutines, prints each id once CreateUser has returned, and
// SIGKILLs itself mid-stream. Every id it printed must be in the database
// afterwards: no write is acknowledged before it is committed.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	db := filepath.Join(t.TempDir(), "vigil.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := sc.Text(); len(line) > 4 && line[:4] == "ack " {
			acked = append(acked, line[4:])
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v", err)
	}
	if len(acked) < 100 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}
	s, err := sqlstore.Open(ctx, "sqlite://"+db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range acked {
		if _, err := s.GetUser(ctx, id); err != nil {
			t.Fatalf("acknowledged user %s lost: %v", id, err)
		}
	}
}

// TestCrashChild is the child of TestAcknowledgedWritesSurviveKill.
func TestCrashChild(t *testing.T) {
	db := os.Getenv(crashEnv)
	if db == "" {
		t.Skip("only run as the child of TestAcknowledgedWritesSurviveKill")
	}
	s, err := sqlstore.Open(ctx, "sqlite://"+db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acks := 0
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com", DisplayName: id}); err != nil {
					fmt.Println("error", err)
					return
				}
				mu.Lock()
				fmt.Println("ack " + id)
				acks++
				if acks == 300 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
