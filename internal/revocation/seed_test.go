package revocation

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// seedUser is user i of a seeded population: user (in the department
// named prefix), one live session and one refresh token, ids derived from
// prefix and i.
func seedUser(prefix string, i int) (store.User, store.Session, store.RefreshToken) {
	id := fmt.Sprintf("%s-%07d", prefix, i)
	dept := prefix
	at := t0.Add(-30 * time.Minute)
	u := store.User{
		ID: id, UserPrincipalName: id + "@contoso.com", DisplayName: "User " + id, AccountEnabled: true,
		CreatedDateTime: t0.Add(-time.Hour), SignInSessionsValidFrom: t0.Add(-time.Hour), RefreshTokensValidFrom: t0.Add(-time.Hour),
		BusinessPhones: []string{}, Department: &dept,
	}
	s := store.Session{ID: "s-" + id, UserID: id, CreatedAt: at, AuthTime: at, LastActiveAt: at, ClientIDs: []string{"client-1"}}
	h := sha256.Sum256([]byte(s.ID))
	rt := store.RefreshToken{
		ID: "rt-" + id, Hash: h[:], FamilyID: "f-" + id, SessionID: s.ID, UserID: id, ClientID: "client-1",
		AuthTime: at, CreatedAt: at, ExpiresAt: t0.Add(24 * time.Hour),
	}
	return u, s, rt
}

// seed creates n users (with a session and a refresh token each) in
// transactions of 1,000.
func seed(tb testing.TB, st Store, prefix string, n int) {
	tb.Helper()
	ctx := context.Background()
	for lo := 0; lo < n; lo += 1000 {
		err := st.InTx(ctx, func(tx store.Tx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				u, s, rt := seedUser(prefix, i)
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				if err := tx.CreateRefreshToken(ctx, rt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
}
