package sqlstore

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

var users = (&entity[store.User]{
	name:  "user",
	table: "users",
	alias: "u",
	cols: []string{
		"id", "user_principal_name", "upn_lower", "display_name", "display_name_lower",
		"given_name", "given_name_lower", "surname", "surname_lower", "mail", "mail_lower",
		"mail_nickname", "mail_nickname_lower", "job_title", "job_title_lower",
		"department", "department_lower", "office_location", "office_location_lower",
		"mobile_phone", "business_phones", "account_enabled", "created_at",
		"sign_in_sessions_valid_from", "refresh_tokens_valid_from", "password_hash", "force_change_password",
	},
	sel: "u.id, u.user_principal_name, u.display_name, u.given_name, u.surname, u.mail, u.mail_nickname, " +
		"u.job_title, u.department, u.office_location, u.mobile_phone, u.business_phones, u.account_enabled, " +
		"u.created_at, u.sign_in_sessions_valid_from, u.refresh_tokens_valid_from, u.password_hash, u.force_change_password",
	scan: func(sc scanner, extra ...any) (store.User, error) {
		var u store.User
		err := sc.Scan(append([]any{
			&u.ID, &u.UserPrincipalName, &u.DisplayName, &u.GivenName, &u.Surname, &u.Mail, &u.MailNickname,
			&u.JobTitle, &u.Department, &u.OfficeLocation, &u.MobilePhone, listDest{&u.BusinessPhones}, &u.AccountEnabled,
			timeDest{&u.CreatedDateTime}, timeDest{&u.SignInSessionsValidFrom}, timeDest{&u.RefreshTokensValidFrom},
			&u.PasswordHash, &u.ForceChangePasswordNextSignIn,
		}, extra...)...)
		return u, err
	},
	values: func(t *txn, u store.User) []any {
		if u.CreatedDateTime.IsZero() {
			u.CreatedDateTime = t.s.now()
		}
		d := t.s.d
		return []any{
			u.ID, u.UserPrincipalName, fold(u.UserPrincipalName), u.DisplayName, fold(u.DisplayName),
			strPtr(u.GivenName), foldPtr(u.GivenName), strPtr(u.Surname), foldPtr(u.Surname), strPtr(u.Mail), foldPtr(u.Mail),
			strPtr(u.MailNickname), foldPtr(u.MailNickname), strPtr(u.JobTitle), foldPtr(u.JobTitle),
			strPtr(u.Department), foldPtr(u.Department), strPtr(u.OfficeLocation), foldPtr(u.OfficeLocation),
			strPtr(u.MobilePhone), jsonList(u.BusinessPhones), u.AccountEnabled, d.timeVal(u.CreatedDateTime),
			d.nullTime(u.SignInSessionsValidFrom), d.nullTime(u.RefreshTokensValidFrom), u.PasswordHash, u.ForceChangePasswordNextSignIn,
		}
	},
	id: func(u store.User) string { return u.ID },
	props: props(map[string]column{
		"id":                              idCol("u.id"),
		"userPrincipalName":               strCol("u.upn_lower"),
		"displayName":                     strCol("u.display_name_lower"),
		"givenName":                       nstrCol("u.given_name_lower"),
		"surname":                         nstrCol("u.surname_lower"),
		"mail":                            nstrCol("u.mail_lower"),
		"mailNickname":                    nstrCol("u.mail_nickname_lower"),
		"jobTitle":                        nstrCol("u.job_title_lower"),
		"department":                      nstrCol("u.department_lower"),
		"officeLocation":                  nstrCol("u.office_location_lower"),
		"mobilePhone":                     {expr: "u.mobile_phone", typ: typeString, nullable: true, fold: exact},
		"businessPhones":                  listCol("u.business_phones"),
		"accountEnabled":                  boolCol("u.account_enabled"),
		"createdDateTime":                 timeCol("u.created_at"),
		"signInSessionsValidFromDateTime": ntimeCol("u.sign_in_sessions_valid_from"),
	}),
}).init()

// CreateUser inserts u. A zero CreatedDateTime is set to the store's clock.
// ErrConflict when the id or, case-insensitively, the userPrincipalName is
// taken.
func (t *txn) CreateUser(ctx context.Context, u store.User) error {
	return users.create(ctx, t, u)
}

// GetUser returns the user with this id, or ErrNotFound.
func (t *txn) GetUser(ctx context.Context, id string) (store.User, error) {
	return users.get(ctx, t.rq(), "u.id = $1", id)
}

// GetUserByUPN returns the user whose userPrincipalName equals upn
// case-insensitively, or ErrNotFound.
func (t *txn) GetUserByUPN(ctx context.Context, upn string) (store.User, error) {
	return users.get(ctx, t.rq(), "u.upn_lower = $1", fold(upn))
}

// UpdateUser is the atomic read-modify-write of a user (see
// store.Users.UpdateUser); it returns the user as stored.
func (t *txn) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	return users.update(ctx, t, id, fn)
}

// DeleteUser removes the user; its memberships and role assignments go with
// it (ON DELETE CASCADE).
func (t *txn) DeleteUser(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return users.delete(ctx, t, id)
}

// ListUsers answers one page of users matching q.
func (t *txn) ListUsers(ctx context.Context, q store.Query) (store.Page[store.User], error) {
	return users.list(ctx, t, nil, q)
}

// CountUsers counts the users matching q.Filter and q.Search.
func (t *txn) CountUsers(ctx context.Context, q store.Query) (int, error) {
	return users.count(ctx, t, nil, q)
}
