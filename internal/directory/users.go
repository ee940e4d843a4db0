package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// PasswordProfile is Graph's passwordProfile. Password is hashed with
// argon2id before it reaches the store and is never returned or logged.
type PasswordProfile struct {
	Password                      string
	ForceChangePasswordNextSignIn bool
}

// UserInput is the body of a user create or update (PATCH).
//
// On create, AccountEnabled, DisplayName, UserPrincipalName and
// MailNickname are required, as in Graph; PasswordProfile is optional in
// Vigil (a user without a password cannot sign in with one). On update
// every field is optional; an explicit null clears an optional property and
// is refused on a required one.
type UserInput struct {
	AccountEnabled    Optional[bool]
	DisplayName       Optional[string]
	UserPrincipalName Optional[string]
	MailNickname      Optional[string]
	GivenName         Optional[string]
	Surname           Optional[string]
	Mail              Optional[string]
	JobTitle          Optional[string]
	Department        Optional[string]
	OfficeLocation    Optional[string]
	MobilePhone       Optional[string]
	BusinessPhones    Optional[[]string]
	PasswordProfile   Optional[PasswordProfile]
}

// Length limits of user properties, from the Graph user resource
// (https://learn.microsoft.com/en-us/graph/api/resources/user).
const (
	maxDisplayName   = 256
	maxGivenName     = 64
	maxSurname       = 64
	maxJobTitle      = 128
	maxDepartment    = 64
	maxOfficeLoc     = 128
	maxPhone         = 64
	maxBusinessPhone = 1 // "Only one number can be set for this property."
)

// optionalString describes one optional string property for validation
// and application.
type optionalString struct {
	prop  string
	in    Optional[string]
	max   int
	field func(*store.User) **string
}

func (in *UserInput) optionalStrings() []optionalString {
	return []optionalString{
		{"givenName", in.GivenName, maxGivenName, func(u *store.User) **string { return &u.GivenName }},
		{"surname", in.Surname, maxSurname, func(u *store.User) **string { return &u.Surname }},
		{"mail", in.Mail, 256, func(u *store.User) **string { return &u.Mail }},
		{"jobTitle", in.JobTitle, maxJobTitle, func(u *store.User) **string { return &u.JobTitle }},
		{"department", in.Department, maxDepartment, func(u *store.User) **string { return &u.Department }},
		{"officeLocation", in.OfficeLocation, maxOfficeLoc, func(u *store.User) **string { return &u.OfficeLocation }},
		{"mobilePhone", in.MobilePhone, maxPhone, func(u *store.User) **string { return &u.MobilePhone }},
	}
}

// validate checks every set field; create additionally requires Graph's
// required properties. It does not hash the password.
func (in *UserInput) validate(create bool) error {
	err := checkPresence("User", create, []presence{
		presenceOf("accountEnabled", in.AccountEnabled),
		presenceOf("displayName", in.DisplayName),
		presenceOf("mailNickname", in.MailNickname),
		presenceOf("userPrincipalName", in.UserPrincipalName),
	}, presenceOf("passwordProfile", in.PasswordProfile))
	if err != nil {
		return err
	}
	if in.DisplayName.Set {
		if in.DisplayName.Value == "" {
			return invalidProp("displayName", "User", "the value is empty")
		}
		if err := checkLen("displayName", "User", in.DisplayName.Value, maxDisplayName); err != nil {
			return err
		}
	}
	if in.UserPrincipalName.Set {
		if err := validateUPN(in.UserPrincipalName.Value); err != nil {
			return err
		}
	}
	if in.MailNickname.Set {
		if err := validateMailNickname("User", in.MailNickname.Value); err != nil {
			return err
		}
	}
	for _, o := range in.optionalStrings() {
		if !o.in.has() {
			continue
		}
		if err := checkLen(o.prop, "User", o.in.Value, o.max); err != nil {
			return err
		}
		if o.prop == "mail" {
			if err := validateMail("User", o.in.Value); err != nil {
				return err
			}
		}
	}
	if in.BusinessPhones.has() {
		if len(in.BusinessPhones.Value) > maxBusinessPhone {
			return invalidProp("businessPhones", "User", "only one number can be set for this property")
		}
		for _, p := range in.BusinessPhones.Value {
			if p == "" {
				return invalidProp("businessPhones", "User", "a phone number cannot be empty")
			}
			if err := checkLen("businessPhones", "User", p, maxPhone); err != nil {
				return err
			}
		}
	}
	if in.PasswordProfile.has() && in.PasswordProfile.Value.Password != "" {
		if err := validatePassword(in.PasswordProfile.Value.Password); err != nil {
			return err
		}
	}
	if create && in.PasswordProfile.has() && in.PasswordProfile.Value.Password == "" {
		return invalidProp("passwordProfile", "User", "a password must be specified when passwordProfile is given")
	}
	return nil
}

// apply copies the set fields of in onto u. hash is the password hash to
// store, or "" to leave the password as it is. (The revocation that a new
// password causes is UpdateUser's, through revocation.ApplyInTx.)
func (in *UserInput) apply(u *store.User, hash string) {
	if in.AccountEnabled.Set {
		u.AccountEnabled = in.AccountEnabled.Value
	}
	if in.DisplayName.Set {
		u.DisplayName = in.DisplayName.Value
	}
	if in.UserPrincipalName.Set {
		u.UserPrincipalName = in.UserPrincipalName.Value
	}
	if in.MailNickname.Set {
		v := in.MailNickname.Value
		u.MailNickname = &v
	}
	for _, o := range in.optionalStrings() {
		if !o.in.Set {
			continue
		}
		p := o.field(u)
		if o.in.Null {
			*p = nil
			continue
		}
		v := o.in.Value
		*p = &v
	}
	if in.BusinessPhones.Set {
		u.BusinessPhones = slices.Clone(in.BusinessPhones.Value)
		if u.BusinessPhones == nil {
			u.BusinessPhones = []string{}
		}
	}
	if in.PasswordProfile.has() {
		u.ForceChangePasswordNextSignIn = in.PasswordProfile.Value.ForceChangePasswordNextSignIn
		if hash != "" {
			u.PasswordHash = hash
		}
	}
}

// passwordHash hashes the input's new password, if any, outside any
// transaction (argon2id is deliberately slow); it validates nothing.
func (s *Service) passwordHash(ctx context.Context, in *UserInput) (string, error) {
	if !in.PasswordProfile.has() || in.PasswordProfile.Value.Password == "" {
		return "", nil
	}
	h, err := s.hashPassword(ctx, in.PasswordProfile.Value.Password)
	if err != nil {
		return "", fmt.Errorf("directory: hash password: %w", err)
	}
	return h, nil
}

// CreateUser creates a user (Graph "Create user",
// https://learn.microsoft.com/en-us/graph/api/user-post-users). The server
// sets id, createdDateTime and signInSessionsValidFromDateTime (= created).
// Without a password it is one transaction of two inserts (the user and
// its "Add user" audit record), with no reads; a duplicate
// userPrincipalName (case-insensitive) is a KindConflict with Graph's
// message.
func (s *Service) CreateUser(ctx context.Context, in UserInput) (store.User, error) {
	if err := in.validate(true); err != nil {
		return store.User{}, err
	}
	hash, err := s.passwordHash(ctx, &in)
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	// Sessions are valid from the start of the second of creation: access
	// tokens carry iat in whole seconds, and one issued within that
	// second must not look older than the user's validFrom.
	validFrom := now.Truncate(time.Second)
	u := store.User{
		ID:                      s.newID(),
		CreatedDateTime:         now,
		SignInSessionsValidFrom: validFrom,
		RefreshTokensValidFrom:  validFrom,
		BusinessPhones:          []string{},
	}
	in.apply(&u, hash)
	err = s.audited(ctx, change{
		activity: ActivityAddUser, category: revocation.CategoryUserManagement, operation: opAdd,
		targets: []revocation.AuditTarget{userTarget(u, modified(userProps(u)))},
	}, func(tx store.Tx) error {
		return wrap("create user", u.ID, tx.CreateUser(ctx, u), msgDuplicateUPN)
	})
	if err != nil {
		return store.User{}, err
	}
	return u, nil
}

// userByKey resolves a user key inside tx: a GUID-shaped key is an id,
// anything else a userPrincipalName (compared case-insensitively).
func userByKey(ctx context.Context, tx store.Users, key string) (store.User, error) {
	var (
		u   store.User
		err error
	)
	if odata.IsGUID(key) {
		u, err = tx.GetUser(ctx, key)
	} else {
		u, err = tx.GetUserByUPN(ctx, key)
	}
	if err != nil {
		return store.User{}, wrap("get user", key, err, "")
	}
	return u, nil
}

// GetUser returns a user by id, or by userPrincipalName when idOrUPN is not
// GUID-shaped (Graph's GET /users/{id | userPrincipalName}).
func (s *Service) GetUser(ctx context.Context, idOrUPN string) (store.User, error) {
	return userByKey(ctx, s.Store, idOrUPN)
}

// UpdateUser applies a PATCH to a user
// (https://learn.microsoft.com/en-us/graph/api/user-update). A new password
// (passwordProfile.password) is hashed first, outside the transaction.
// In one transaction it writes the user, an "Update user" audit record of
// the changed properties (none for a password alone), and the effects of
// revocation.ApplyInTx: accountEnabled true → false revokes the user
// (CauseAccountDisabled), false → true emits RISC account-enabled
// (CauseAccountEnabled), and a new password revokes the user
// (CausePasswordChanged), moving signInSessionsValidFromDateTime and
// refreshTokensValidFromDateTime to now, never backwards. The initiator is
// WithInitiator's.
func (s *Service) UpdateUser(ctx context.Context, idOrUPN string, in UserInput) (store.User, error) {
	if err := in.validate(false); err != nil {
		return store.User{}, err
	}
	hash, err := s.passwordHash(ctx, &in)
	if err != nil {
		return store.User{}, err
	}
	var out store.User
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := userByKey(ctx, tx, idOrUPN)
		if err != nil {
			return err
		}
		var before store.User
		u, err := tx.UpdateUser(ctx, cur.ID, func(u store.User) (store.User, error) {
			before = u
			in.apply(&u, hash)
			return u, nil
		})
		if err != nil {
			return wrap("update user", idOrUPN, err, msgDuplicateUPN)
		}
		out, err = s.userChanged(ctx, tx, before, u, hash != "")
		return err
	})
	return out, err
}

// userChanged audits an update of before to after inside tx and applies
// its revocation effects; it returns the user as stored afterwards.
func (s *Service) userChanged(ctx context.Context, tx store.Tx, before, after store.User, newPassword bool) (store.User, error) {
	corr := s.newID()
	if mods := modified(diffProps(userProps(before), userProps(after))); len(mods) > 0 {
		err := s.audit(ctx, tx, change{
			activity: ActivityUpdateUser, category: revocation.CategoryUserManagement, operation: opUpdate,
			targets: []revocation.AuditTarget{userTarget(after, mods)}, correlation: corr,
		})
		if err != nil {
			return store.User{}, err
		}
	}
	var causes []revocation.Cause
	switch {
	case before.AccountEnabled && !after.AccountEnabled:
		causes = append(causes, revocation.CauseAccountDisabled)
	case !before.AccountEnabled && after.AccountEnabled:
		causes = append(causes, revocation.CauseAccountEnabled)
	}
	if newPassword {
		causes = append(causes, revocation.CausePasswordChanged)
	}
	if len(causes) == 0 {
		return after, nil
	}
	for _, c := range causes {
		if _, err := revocation.ApplyInTx(ctx, tx, initiator(ctx), c, []string{after.ID}, s.now(), revocation.Options{CorrelationID: corr, NewID: s.newID}); err != nil {
			return store.User{}, fmt.Errorf("directory: update user: %w", err)
		}
	}
	u, err := tx.GetUser(ctx, after.ID)
	return u, wrap("update user", after.ID, err, "")
}

// DeleteUser deletes a user. In one transaction, revocation.ApplyInTx
// (CauseUserDeleted) revokes its sessions and refresh tokens, writes the
// "Delete user" audit record and emits RISC account-purged, and the store
// removes the user with its sessions, tokens, group memberships and role
// assignments. Vigil has no recycle bin: the deletion is permanent.
func (s *Service) DeleteUser(ctx context.Context, idOrUPN string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := userByKey(ctx, tx, idOrUPN)
		if err != nil {
			return err
		}
		if _, err := revocation.ApplyInTx(ctx, tx, initiator(ctx), revocation.CauseUserDeleted, []string{u.ID}, s.now(), revocation.Options{CorrelationID: s.newID(), NewID: s.newID}); err != nil {
			return fmt.Errorf("directory: delete user: %w", err)
		}
		return wrap("delete user", idOrUPN, tx.DeleteUser(ctx, u.ID), "")
	})
}

// ListUsers pages users matching q.
func (s *Service) ListUsers(ctx context.Context, q store.Query) (store.Page[store.User], error) {
	p, err := s.Store.ListUsers(ctx, q)
	return p, listErr("list users", err)
}

// CountUsers counts users matching q's filter and search.
func (s *Service) CountUsers(ctx context.Context, q store.Query) (int, error) {
	n, err := s.Store.CountUsers(ctx, q)
	return n, listErr("count users", err)
}

// listErr maps query errors: a bad cursor or an unsupported filter is the
// caller's mistake (KindInvalid), anything else internal.
func listErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *odata.Error
	switch {
	case errors.Is(err, store.ErrBadCursor):
		return &Error{Kind: KindInvalid, Code: CodeBadRequest, Message: "The $skiptoken value is invalid.", Err: err}
	case errors.As(err, &oe):
		return &Error{Kind: KindInvalid, Code: CodeUnsupportedQuery, Message: "Unsupported query: " + oe.Error() + ".", Err: err}
	case errors.Is(err, odata.ErrUnsupported):
		return &Error{Kind: KindInvalid, Code: CodeUnsupportedQuery, Message: "Unsupported or invalid query.", Err: err}
	}
	return fmt.Errorf("directory: %s: %w", op, err)
}

// ChangeOwnPassword is Graph's user: changePassword (POST
// /me/changePassword): the signed-in user userID replaces their password,
// proving the current one. The current password is checked (argon2id,
// with the hashing slots of hashPassword) before the transaction, and the
// write then requires the stored hash to be the one checked, so a password
// changed meanwhile refuses the request instead of being overwritten. The
// effect is a password change by the user themself: "Change user
// password" audited, T moved, sessions and refresh tokens revoked,
// CAEP credential-change (revocation.CausePasswordChanged). A wrong
// current password, or a user without one, is KindInvalid; the new one
// must pass the password rules of passwordProfile.
func (s *Service) ChangeOwnPassword(ctx context.Context, userID, current, next string) error {
	switch {
	case current == "":
		return invalid("currentPassword is required.")
	case next == "":
		return invalid("newPassword is required.")
	case current == next:
		return invalid("The new password must differ from the current one.")
	}
	in := UserInput{PasswordProfile: Some(PasswordProfile{Password: next})}
	if err := in.validate(false); err != nil {
		return err
	}
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return wrap("change password", userID, err, "")
	}
	if err := s.verifyPassword(ctx, u.PasswordHash, current); err != nil {
		return err
	}
	hash, err := s.passwordHash(ctx, &in)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		var before store.User
		after, err := tx.UpdateUser(ctx, userID, func(cur store.User) (store.User, error) {
			if cur.PasswordHash != u.PasswordHash {
				return cur, invalid("The password was changed meanwhile; sign in again and retry.")
			}
			before = cur
			in.apply(&cur, hash)
			return cur, nil
		})
		if err != nil {
			var de *Error
			if errors.As(err, &de) {
				return de
			}
			return wrap("change password", userID, err, "")
		}
		_, err = s.userChanged(ctx, tx, before, after, true)
		return err
	})
}
