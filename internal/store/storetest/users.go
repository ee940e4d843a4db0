package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// fullUser has every field set, including nanoseconds the store drops.
func fullUser(n int, upn string) store.User {
	return store.User{
		ID:                            id(n),
		UserPrincipalName:             upn,
		DisplayName:                   "Ada Lovelace",
		GivenName:                     ptr("Ada"),
		Surname:                       ptr("Lovelace"),
		Mail:                          ptr("ada@example.com"),
		MailNickname:                  ptr("ada"),
		JobTitle:                      ptr("Analyst"),
		Department:                    ptr("Engineering"),
		OfficeLocation:                ptr("London"),
		MobilePhone:                   ptr("+44 20 7946 0000"),
		BusinessPhones:                []string{"+44 20 7946 0001", "+44 20 7946 0002"},
		AccountEnabled:                true,
		CreatedDateTime:               at(time.Hour),
		SignInSessionsValidFrom:       at(2 * time.Hour),
		RefreshTokensValidFrom:        at(3 * time.Hour),
		PasswordHash:                  "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		ForceChangePasswordNextSignIn: true,
	}
}

// minimalUser leaves every optional field unset.
func minimalUser(n int, upn string) store.User {
	return store.User{ID: id(n), UserPrincipalName: upn, DisplayName: upn, CreatedDateTime: at(time.Duration(n) * time.Minute)}
}

var errStop = errors.New("storetest: updater refused")

func testUsers(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		empty := minimalUser(3, "empty@example.com")
		empty.BusinessPhones = []string{}
		empty.JobTitle = ptr("")
		for _, u := range []store.User{fullUser(1, "Ada@Example.com"), minimalUser(2, "min@example.com"), empty} {
			roundTrip(t, u, s.CreateUser, map[string]func(store.User) (store.User, error){
				"GetUser":      func(u store.User) (store.User, error) { return s.GetUser(ctx, u.ID) },
				"GetUserByUPN": func(u store.User) (store.User, error) { return s.GetUserByUPN(ctx, u.UserPrincipalName) },
			})
		}
		got, err := s.GetUser(ctx, id(2))
		ok(t, err)
		if got.BusinessPhones != nil || got.GivenName != nil {
			t.Errorf("nil fields came back set: %+v", got)
		}
		got, err = s.GetUser(ctx, id(3))
		ok(t, err)
		if got.BusinessPhones == nil || got.JobTitle == nil {
			t.Errorf("empty fields came back nil: %+v", got)
		}
		if got.CreatedDateTime.Location() != time.UTC {
			t.Errorf("time in %v, want UTC", got.CreatedDateTime.Location())
		}
	})

	t.Run("CreatedDateTimeFilledIn", func(t *testing.T) {
		s := newStore(t)
		u := minimalUser(1, "a@example.com")
		u.CreatedDateTime = time.Time{}
		ok(t, s.CreateUser(ctx, u))
		got, err := s.GetUser(ctx, u.ID)
		ok(t, err)
		if got.CreatedDateTime.IsZero() {
			t.Fatal("zero CreatedDateTime was not filled in")
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetUser(ctx, id(9))
		isErr(t, "GetUser", err, store.ErrNotFound)
		_, err = s.GetUserByUPN(ctx, "nobody@example.com")
		isErr(t, "GetUserByUPN", err, store.ErrNotFound)
		_, err = s.UpdateUser(ctx, id(9), func(u store.User) (store.User, error) { return u, nil })
		isErr(t, "UpdateUser", err, store.ErrNotFound)
		isErr(t, "DeleteUser", s.DeleteUser(ctx, id(9)), store.ErrNotFound)
	})

	t.Run("UPNCaseInsensitive", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "Ada.Lovelace@Example.COM")))
		ok(t, s.CreateUser(ctx, minimalUser(2, "Émile@example.com")))
		for _, upn := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "Ada.Lovelace@Example.COM"} {
			got, err := s.GetUserByUPN(ctx, upn)
			ok(t, err)
			if got.ID != id(1) || got.UserPrincipalName != "Ada.Lovelace@Example.COM" {
				t.Fatalf("GetUserByUPN(%q) = %s %q", upn, got.ID, got.UserPrincipalName)
			}
		}
		got, err := s.GetUserByUPN(ctx, "émile@EXAMPLE.com")
		ok(t, err)
		if got.ID != id(2) {
			t.Fatalf("non-ASCII lookup found %s", got.ID)
		}
		isErr(t, "duplicate UPN in other case", s.CreateUser(ctx, minimalUser(3, "ADA.lovelace@example.com")), store.ErrConflict)
		isErr(t, "duplicate non-ASCII UPN", s.CreateUser(ctx, minimalUser(4, "ÉMILE@example.com")), store.ErrConflict)
		// Changing only the case of one's own UPN is no conflict.
		got, err = s.UpdateUser(ctx, id(1), func(u store.User) (store.User, error) {
			u.UserPrincipalName = "ada.lovelace@example.com"
			return u, nil
		})
		ok(t, err)
		if got.UserPrincipalName != "ada.lovelace@example.com" {
			t.Fatalf("UPN after update = %q", got.UserPrincipalName)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "a@example.com")))
		ok(t, s.CreateUser(ctx, minimalUser(2, "b@example.com")))
		isErr(t, "duplicate id", s.CreateUser(ctx, minimalUser(1, "c@example.com")), store.ErrConflict)
		_, err := s.UpdateUser(ctx, id(2), func(u store.User) (store.User, error) {
			u.UserPrincipalName = "A@EXAMPLE.COM"
			u.DisplayName = "changed"
			return u, nil
		})
		isErr(t, "UpdateUser to a taken UPN", err, store.ErrConflict)
		got, err := s.GetUser(ctx, id(2))
		ok(t, err)
		same(t, "user after refused update", got, minimalUser(2, "b@example.com"))
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		u := fullUser(1, "a@example.com")
		ok(t, s.CreateUser(ctx, u))
		want := u
		want.DisplayName = "Countess of Lovelace"
		want.JobTitle = nil
		want.BusinessPhones = []string{}
		want.SignInSessionsValidFrom = at(48 * time.Hour)
		want.RefreshTokensValidFrom = time.Time{}
		got, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			same(t, "updater input", old, u)
			n := old
			n.DisplayName = want.DisplayName
			n.JobTitle = nil
			n.BusinessPhones = []string{}
			n.SignInSessionsValidFrom = want.SignInSessionsValidFrom
			n.RefreshTokensValidFrom = time.Time{}
			return n, nil
		})
		ok(t, err)
		same(t, "UpdateUser result", got, want)
		again, err := s.GetUser(ctx, u.ID)
		ok(t, err)
		same(t, "GetUser after update", again, want)
	})

	t.Run("UpdaterErrorWritesNothing", func(t *testing.T) {
		s := newStore(t)
		u := fullUser(1, "a@example.com")
		ok(t, s.CreateUser(ctx, u))
		_, err := s.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			old.DisplayName = "should not be written"
			return old, errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("UpdateUser returned %v, want the updater's error", err)
		}
		got, err := s.GetUser(ctx, u.ID)
		ok(t, err)
		same(t, "user after failed updater", got, u)
	})

	t.Run("UpdaterMayNotChangeID", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "a@example.com")))
		_, err := s.UpdateUser(ctx, id(1), func(u store.User) (store.User, error) {
			u.ID = id(2)
			return u, nil
		})
		if err == nil {
			t.Fatal("UpdateUser accepted a changed id")
		}
		_, err = s.GetUser(ctx, id(2))
		isErr(t, "user under the new id", err, store.ErrNotFound)
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "a@example.com")))
		ok(t, s.DeleteUser(ctx, id(1)))
		_, err := s.GetUser(ctx, id(1))
		isErr(t, "GetUser after delete", err, store.ErrNotFound)
		// The UPN is free again.
		ok(t, s.CreateUser(ctx, minimalUser(2, "A@example.com")))
	})
}
