package directory

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// benchCreateUsers creates b.N users from 16 goroutines (the API's target
// concurrency) on SQLite and reports users/s.
func benchCreateUsers(b *testing.B, svc *Service, password string) {
	var n atomic.Int64
	ctx := context.Background()
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			in := UserInput{
				AccountEnabled:    Some(true),
				DisplayName:       Some(fmt.Sprintf("Bench %d", i)),
				UserPrincipalName: Some(fmt.Sprintf("bench%d@contoso.com", i)),
				MailNickname:      Some(fmt.Sprintf("bench%d", i)),
			}
			if password != "" {
				in.PasswordProfile = Some(PasswordProfile{Password: password})
			}
			if _, err := svc.CreateUser(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/s")
}

// BenchmarkCreateUser measures the cheap path: no password, one insert.
// The target is ≥ 2,000 users/s through the API on SQLite at
// concurrency 16; the directory's share must stay well above that.
func BenchmarkCreateUser(b *testing.B) {
	benchCreateUsers(b, &Service{Store: sqltest.SQLite(b)}, "")
}

// BenchmarkCreateUserWithPassword documents the cost of argon2id at
// secret.DefaultArgon2 (64 MiB, 3 passes, 2 lanes): it bounds user
// creation with a password to roughly cores × 10 per second.
func BenchmarkCreateUserWithPassword(b *testing.B) {
	svc := &Service{
		Store:        sqltest.SQLite(b),
		HashPassword: func(pw string) (string, error) { return secret.HashPassword(pw, secret.DefaultArgon2) },
	}
	benchCreateUsers(b, svc, "Bench-Passw0rd!")
}
