package proxy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestTwoNodesOnPostgres runs two Vigil nodes on one PostgreSQL database
// (one issuer, one encryption key, as behind a load balancer), revokes
// users through node A's Graph API and observes a guard whose SSF stream
// long-polls node B refuse their tokens: the event crosses nodes through
// the shared outbox and LISTEN/NOTIFY. It reports the propagation; the
// target is p99 ≤ 100 ms across nodes. N defaults to 20 users;
// VIGIL_PROPAGATION_N raises it:
//
//	VIGIL_PROPAGATION_N=1000 VIGIL_TEST_POSTGRES_DSN=… go test ./internal/proxy -run TestTwoNodesOnPostgres -v
func TestTwoNodesOnPostgres(t *testing.T) {
	dsn := sqltest.PostgresDSN(t) // skips without VIGIL_TEST_POSTGRES_DSN
	n := 20
	if v, _ := strconv.Atoi(os.Getenv("VIGIL_PROPAGATION_N")); v > 0 {
		n = v
	}
	const key = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="
	addrA, addrB := freeAddr(t), freeAddr(t)
	issuer := "http://" + addrB // the cluster's issuer; both nodes serve it
	a := startVigil(t, func(c *config.Config) {
		c.Addr, c.Issuer, c.Database, c.EncryptionKey = addrA, issuer, dsn, key
	})
	// Node B shares the store; it does not bootstrap again, so give it
	// node A's bootstrap.json for the test helpers to read.
	dirB := t.TempDir()
	raw, err := json.Marshal(a.boot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "bootstrap.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	b := startVigil(t, func(c *config.Config) {
		c.Addr, c.Issuer, c.Database, c.EncryptionKey, c.DataDir = addrB, issuer, dsn, key, dirB
	})
	a.boot.GraphBaseURL = a.base + "/v1.0" // revoke through node A

	_, g := runProxy(t, b, "http://127.0.0.1:9", nil) // the guard's stream lives on node B
	users := a.createUsers(n, "two-nodes")
	tokens := b.signInAll(t, users)
	ctx := context.Background()
	lat := make([]time.Duration, 0, n)
	for i, u := range users {
		if _, err := g.Verify(ctx, tokens[i]); err != nil {
			t.Fatalf("user %d before revocation: %v", i, err)
		}
		if _, err := a.revoke(u.ID); err != nil {
			t.Fatal(err)
		}
		answered := time.Now()
		waitFor(t, 5*time.Second, "the guard streaming from node B to refuse the token revoked on node A", func() bool {
			_, err := g.Verify(ctx, tokens[i])
			return err != nil
		})
		lat = append(lat, time.Since(answered))
	}
	report(t, "two nodes on PostgreSQL, revokeSignInSessions on A 200 → refused by a guard streaming from B", lat, 100*time.Millisecond)
}
