package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/secret"
)

// validUser is a complete create body; cases edit a copy.
func validUser() UserInput {
	return UserInput{
		AccountEnabled:    Some(true),
		DisplayName:       Some("Adele Vance"),
		UserPrincipalName: Some("adele@contoso.com"),
		MailNickname:      Some("adele"),
	}
}

func TestCreateUserValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		edit func(*UserInput)
		msg  []string
	}{
		{"missing accountEnabled", func(u *UserInput) { u.AccountEnabled = Optional[bool]{} }, []string{"'accountEnabled' is required"}},
		{"missing displayName", func(u *UserInput) { u.DisplayName = Optional[string]{} }, []string{"'displayName' is required"}},
		{"missing mailNickname", func(u *UserInput) { u.MailNickname = Optional[string]{} }, []string{"'mailNickname' is required"}},
		{"missing userPrincipalName", func(u *UserInput) { u.UserPrincipalName = Optional[string]{} }, []string{"'userPrincipalName' is required"}},
		{"null displayName", func(u *UserInput) { u.DisplayName = Null[string]() }, []string{"'displayName'", "cannot be null"}},
		{"null accountEnabled", func(u *UserInput) { u.AccountEnabled = Null[bool]() }, []string{"'accountEnabled'", "cannot be null"}},
		{"empty displayName", func(u *UserInput) { u.DisplayName = Some("") }, []string{"'displayName'", "empty"}},
		{"displayName too long", func(u *UserInput) { u.DisplayName = Some(long(257)) }, []string{"'displayName'", "maximum is 256"}},
		{"displayName control char", func(u *UserInput) { u.DisplayName = Some("a\x00b") }, []string{"'displayName'", "control"}},
		{"upn without @", func(u *UserInput) { u.UserPrincipalName = Some("adele.contoso.com") }, []string{"'userPrincipalName'", "exactly one '@'"}},
		{"upn with two @", func(u *UserInput) { u.UserPrincipalName = Some("a@b@contoso.com") }, []string{"'userPrincipalName'", "exactly one '@'"}},
		{"upn empty alias", func(u *UserInput) { u.UserPrincipalName = Some("@contoso.com") }, []string{"'userPrincipalName'", "before '@' is empty"}},
		{"upn empty domain", func(u *UserInput) { u.UserPrincipalName = Some("adele@") }, []string{"'userPrincipalName'", "domain name"}},
		{"upn bad domain", func(u *UserInput) { u.UserPrincipalName = Some("adele@contoso..com") }, []string{"'userPrincipalName'", "domain name"}},
		{"upn bad char", func(u *UserInput) { u.UserPrincipalName = Some("ad ele@contoso.com") }, []string{"'userPrincipalName'", "not allowed"}},
		{"upn period before @", func(u *UserInput) { u.UserPrincipalName = Some("adele.@contoso.com") }, []string{"'userPrincipalName'", "period"}},
		{"upn alias 65", func(u *UserInput) { u.UserPrincipalName = Some(long(65) + "@contoso.com") }, []string{"at most 64"}},
		{"upn domain 49", func(u *UserInput) { u.UserPrincipalName = Some("a@" + long(45) + ".com") }, []string{"at most 48"}},
		{"upn total 114", func(u *UserInput) { u.UserPrincipalName = Some(long(64) + "@" + long(45) + ".com") }, []string{"maximum is 113"}},
		{"mailNickname space", func(u *UserInput) { u.MailNickname = Some("ad ele") }, []string{"'mailNickname'", "not allowed"}},
		{"mailNickname 65", func(u *UserInput) { u.MailNickname = Some(long(65)) }, []string{"'mailNickname'", "64"}},
		{"givenName 65", func(u *UserInput) { u.GivenName = Some(long(65)) }, []string{"'givenName'", "maximum is 64"}},
		{"jobTitle 129", func(u *UserInput) { u.JobTitle = Some(long(129)) }, []string{"'jobTitle'", "maximum is 128"}},
		{"bad mail", func(u *UserInput) { u.Mail = Some("not-an-address") }, []string{"'mail'"}},
		{"two businessPhones", func(u *UserInput) { u.BusinessPhones = Some([]string{"+1 1", "+1 2"}) }, []string{"'businessPhones'", "only one"}},
		{"empty businessPhone", func(u *UserInput) { u.BusinessPhones = Some([]string{""}) }, []string{"'businessPhones'", "empty"}},
		{"short password", func(u *UserInput) { u.PasswordProfile = Some(PasswordProfile{Password: "Ab1!"}) }, []string{"password complexity", "8 to 256"}},
		{"simple password", func(u *UserInput) { u.PasswordProfile = Some(PasswordProfile{Password: "alllowercase"}) }, []string{"password complexity", "three of"}},
		{"profile without password", func(u *UserInput) { u.PasswordProfile = Some(PasswordProfile{}) }, []string{"'passwordProfile'", "password must be specified"}},
	}
	each(t, func(f *fixture) {
		for _, tc := range tests {
			t := f.t
			t.Run(tc.name, func(t *testing.T) {
				in := validUser()
				tc.edit(&in)
				_, err := f.CreateUser(f.ctx, in)
				de := wantErr(t, err, KindInvalid, tc.msg...)
				if de.Code != CodeBadRequest || de.HTTPStatus() != 400 {
					t.Errorf("code/status = %s/%d, want %s/400", de.Code, de.HTTPStatus(), CodeBadRequest)
				}
			})
		}
		if n, err := f.CountUsers(f.ctx, storeQuery()); err != nil || n != 0 {
			f.t.Errorf("after refused creates: %d users (%v), want 0", n, err)
		}
	})
}

func TestCreateUser(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		in := validUser()
		in.GivenName = Some("Adele")
		in.BusinessPhones = Some([]string{"+1 425 555 0109"})
		in.PasswordProfile = Some(PasswordProfile{Password: "Correct-Horse-9", ForceChangePasswordNextSignIn: true})
		u, err := f.CreateUser(f.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		t.Run("server-set fields", func(t *testing.T) {
			if !odata.IsGUID(u.ID) {
				t.Errorf("id %q is not a GUID", u.ID)
			}
			if !u.CreatedDateTime.Equal(t0) || !u.SignInSessionsValidFrom.Equal(t0) {
				t.Errorf("created %v, validFrom %v, want both %v", u.CreatedDateTime, u.SignInSessionsValidFrom, t0)
			}
			if !u.AccountEnabled || u.DisplayName != "Adele Vance" || *u.GivenName != "Adele" || *u.MailNickname != "adele" {
				t.Errorf("user = %+v", u)
			}
			if !u.ForceChangePasswordNextSignIn {
				t.Error("forceChangePasswordNextSignIn lost")
			}
		})
		t.Run("stored and readable by id and UPN", func(t *testing.T) {
			for _, key := range []string{u.ID, "adele@contoso.com", "ADELE@Contoso.COM"} {
				got, err := f.GetUser(f.ctx, key)
				if err != nil {
					t.Fatalf("GetUser(%s): %v", key, err)
				}
				if got.ID != u.ID || !got.SignInSessionsValidFrom.Equal(t0) || len(got.BusinessPhones) != 1 {
					t.Errorf("GetUser(%s) = %+v", key, got)
				}
			}
		})
		t.Run("password stored as argon2id hash", func(t *testing.T) {
			got, _ := f.GetUser(f.ctx, u.ID)
			if !strings.HasPrefix(got.PasswordHash, "$argon2id$") || strings.Contains(got.PasswordHash, "Correct-Horse-9") {
				t.Fatalf("password hash = %q", got.PasswordHash)
			}
			if err := secret.VerifyPassword(got.PasswordHash, "Correct-Horse-9"); err != nil {
				t.Errorf("VerifyPassword: %v", err)
			}
			if err := secret.VerifyPassword(got.PasswordHash, "wrong-Horse-9"); err == nil {
				t.Error("wrong password verified")
			}
		})
		t.Run("duplicate UPN case-insensitive", func(t *testing.T) {
			dup := validUser()
			dup.UserPrincipalName = Some("Adele@CONTOSO.com")
			_, err := f.CreateUser(f.ctx, dup)
			de := wantErr(t, err, KindConflict, "Another object with the same value for property userPrincipalName already exists.")
			if de.Code != "Request_BadRequest" || de.HTTPStatus() != 400 {
				t.Errorf("code/status = %s/%d", de.Code, de.HTTPStatus())
			}
		})
		t.Run("not found", func(t *testing.T) {
			for _, key := range []string{"00000000-0000-0000-0000-000000000001", "nobody@contoso.com"} {
				_, err := f.GetUser(f.ctx, key)
				de := wantErr(t, err, KindNotFound, notFoundMsg(key))
				if de.Code != "Request_ResourceNotFound" || de.HTTPStatus() != 404 {
					t.Errorf("code/status = %s/%d", de.Code, de.HTTPStatus())
				}
			}
		})
	})
}

func TestUpdateUser(t *testing.T) {
	each(t, func(f *fixture) {
		u := f.user("megan@contoso.com")
		f.user("taken@contoso.com")
		tests := []struct {
			name    string
			key     string
			in      UserInput
			wantErr ErrorKind
			msg     string
		}{
			{name: "null on required property", key: u.ID, in: UserInput{DisplayName: Null[string]()}, wantErr: KindInvalid, msg: "cannot be null"},
			{name: "UPN taken", key: u.ID, in: UserInput{UserPrincipalName: Some("TAKEN@contoso.com")}, wantErr: KindConflict, msg: msgDuplicateUPN},
			{name: "missing user", key: "nobody@contoso.com", in: UserInput{DisplayName: Some("x")}, wantErr: KindNotFound, msg: notFoundMsg("nobody@contoso.com")},
			{name: "weak password", key: u.ID, in: UserInput{PasswordProfile: Some(PasswordProfile{Password: "password"})}, wantErr: KindInvalid, msg: "complexity"},
		}
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				_, err := f.UpdateUser(f.ctx, tc.key, tc.in)
				wantErr(t, err, tc.wantErr, tc.msg)
			})
		}
		t := f.t
		t.Run("set and clear optional properties by UPN", func(t *testing.T) {
			got, err := f.UpdateUser(f.ctx, "MEGAN@contoso.com", UserInput{JobTitle: Some("Engineer"), Department: Some("R&D")})
			if err != nil || got.JobTitle == nil || *got.JobTitle != "Engineer" {
				t.Fatalf("UpdateUser = %+v, %v", got, err)
			}
			got, err = f.UpdateUser(f.ctx, u.ID, UserInput{JobTitle: Null[string]()})
			if err != nil || got.JobTitle != nil || got.Department == nil {
				t.Fatalf("clear jobTitle: %+v, %v", got, err)
			}
			if !got.SignInSessionsValidFrom.Equal(t0) {
				t.Errorf("profile edit moved signInSessionsValidFrom to %v", got.SignInSessionsValidFrom)
			}
		})
		t.Run("password change moves signInSessionsValidFrom", func(t *testing.T) {
			later := f.clock.Advance(time.Hour)
			got, err := f.UpdateUser(f.ctx, u.ID, UserInput{PasswordProfile: Some(PasswordProfile{Password: "New-Passw0rd"})})
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := f.GetUser(f.ctx, u.ID)
			for _, x := range []time.Time{got.SignInSessionsValidFrom, stored.SignInSessionsValidFrom, stored.RefreshTokensValidFrom} {
				if !x.Equal(later) {
					t.Errorf("validFrom = %v, want %v", x, later)
				}
			}
			if err := secret.VerifyPassword(stored.PasswordHash, "New-Passw0rd"); err != nil {
				t.Errorf("new password does not verify: %v", err)
			}
		})
		t.Run("never moves backwards", func(t *testing.T) {
			before, _ := f.GetUser(f.ctx, u.ID)
			f.clock.Set(t0.Add(-24 * time.Hour)) // clock stepped back
			_, err := f.UpdateUser(f.ctx, u.ID, UserInput{PasswordProfile: Some(PasswordProfile{Password: "Other-Passw0rd"})})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := f.GetUser(f.ctx, u.ID)
			if !after.SignInSessionsValidFrom.Equal(before.SignInSessionsValidFrom) {
				t.Errorf("validFrom moved from %v to %v", before.SignInSessionsValidFrom, after.SignInSessionsValidFrom)
			}
			if after.PasswordHash == before.PasswordHash {
				t.Error("password not changed")
			}
		})
		t.Run("forceChange flag alone keeps password and validFrom", func(t *testing.T) {
			before, _ := f.GetUser(f.ctx, u.ID)
			f.clock.Advance(48 * time.Hour)
			after, err := f.UpdateUser(f.ctx, u.ID, UserInput{PasswordProfile: Some(PasswordProfile{ForceChangePasswordNextSignIn: true})})
			if err != nil {
				t.Fatal(err)
			}
			if after.PasswordHash != before.PasswordHash || !after.SignInSessionsValidFrom.Equal(before.SignInSessionsValidFrom) || !after.ForceChangePasswordNextSignIn {
				t.Errorf("before %+v after %+v", before, after)
			}
		})
	})
}

func TestDeleteUserCascades(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("gone@contoso.com")
		g := f.group("staff", true)
		f.addMember(g.ID, u.ID)
		if _, err := f.CreateRoleAssignment(f.ctx, u.ID, "62e90394-69f5-4237-9190-012177145e10", "/"); err != nil {
			t.Fatal(err)
		}
		if err := f.DeleteUser(f.ctx, "GONE@contoso.com"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, f.DeleteUser(f.ctx, u.ID), KindNotFound, notFoundMsg(u.ID))
		if _, err := f.GetUser(f.ctx, u.ID); !IsKind(err, KindNotFound) {
			t.Errorf("GetUser after delete: %v", err)
		}
		if n, err := f.CountMembers(f.ctx, g.ID, false); err != nil || n != 0 {
			t.Errorf("group still has %d members (%v)", n, err)
		}
		if as, err := f.ListRoleAssignments(f.ctx, u.ID, ""); err != nil || len(as) != 0 {
			t.Errorf("role assignments left: %v, %v", as, err)
		}
	})
}

func TestSecretsNeverInUserErrors(t *testing.T) {
	each(t, func(f *fixture) {
		f.user("pw@contoso.com")
		in := validUser()
		in.UserPrincipalName = Some("PW@contoso.com")
		in.PasswordProfile = Some(PasswordProfile{Password: "Sup3r-Secret-Value"})
		_, err := f.CreateUser(f.ctx, in)
		wantErr(f.t, err, KindConflict)
		if bytes.Contains([]byte(err.Error()), []byte("Sup3r-Secret-Value")) {
			f.t.Errorf("error text leaks the password: %v", err)
		}
	})
}

func TestPasswordHashingIsBounded(t *testing.T) {
	each(t, func(f *fixture) {
		var cur, peak atomic.Int32
		f.HashPassword = func(pw string) (string, error) {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
			return secret.HashPassword(pw, testArgon2)
		}
		limit := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for i := range 4 * limit {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := validUser()
				in.UserPrincipalName = Some(fmt.Sprintf("burst%d@contoso.com", i))
				in.PasswordProfile = Some(PasswordProfile{Password: "Burst-Passw0rd"})
				if _, err := f.CreateUser(f.ctx, in); err != nil {
					f.t.Error(err)
				}
			}()
		}
		wg.Wait()
		if p := int(peak.Load()); p > limit || p == 0 {
			f.t.Errorf("peak concurrent hashes = %d, want 1..%d", p, limit)
		}
		f.t.Run("cancelled while waiting", func(t *testing.T) {
			for range limit { // occupy every slot
				f.hashSlots <- struct{}{}
			}
			defer func() {
				for range limit {
					<-f.hashSlots
				}
			}()
			ctx, cancel := context.WithCancel(f.ctx)
			cancel()
			in := validUser()
			in.UserPrincipalName = Some("cancelled@contoso.com")
			in.PasswordProfile = Some(PasswordProfile{Password: "Burst-Passw0rd"})
			if _, err := f.CreateUser(ctx, in); !errors.Is(err, context.Canceled) {
				t.Errorf("CreateUser with cancelled ctx = %v, want context.Canceled", err)
			}
		})
	})
}
