package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vigil-idp/vigil/internal/store"
)

var applications = (&entity[store.Application]{
	name:  "application",
	table: "applications",
	alias: "a",
	cols: []string{
		"id", "app_id", "display_name", "display_name_lower", "identifier_uris", "web_redirect_uris",
		"public_client_redirect_uris", "spa_redirect_uris", "is_fallback_public_client", "created_at",
		"post_logout_redirect_uris", "backchannel_logout_uri", "id_token_signed_response_alg", "jwks", "jwks_uri",
	},
	sel: "a.id, a.app_id, a.display_name, a.identifier_uris, a.web_redirect_uris, " +
		"a.public_client_redirect_uris, a.spa_redirect_uris, a.is_fallback_public_client, a.created_at, " +
		"a.post_logout_redirect_uris, a.backchannel_logout_uri, a.id_token_signed_response_alg, a.jwks, a.jwks_uri",
	scan: func(sc scanner, extra ...any) (store.Application, error) {
		var a store.Application
		err := sc.Scan(append([]any{
			&a.ID, &a.AppID, &a.DisplayName, listDest{&a.IdentifierURIs}, listDest{&a.WebRedirectURIs},
			listDest{&a.PublicClientRedirectURIs}, listDest{&a.SPARedirectURIs}, &a.IsFallbackPublicClient,
			timeDest{&a.CreatedDateTime}, listDest{&a.PostLogoutRedirectURIs}, &a.BackchannelLogoutURI,
			&a.IDTokenSignedResponseAlg, &a.JWKS, &a.JWKSURI,
		}, extra...)...)
		return a, err
	},
	values: func(t *txn, a store.Application) []any {
		if a.CreatedDateTime.IsZero() {
			a.CreatedDateTime = t.s.now()
		}
		return []any{
			a.ID, a.AppID, a.DisplayName, fold(a.DisplayName), jsonList(a.IdentifierURIs), jsonList(a.WebRedirectURIs),
			jsonList(a.PublicClientRedirectURIs), jsonList(a.SPARedirectURIs), a.IsFallbackPublicClient,
			t.s.d.timeVal(a.CreatedDateTime), jsonList(a.PostLogoutRedirectURIs), a.BackchannelLogoutURI,
			a.IDTokenSignedResponseAlg, nullBlob(a.JWKS), a.JWKSURI,
		}
	},
	children: putIdentifierURIs,
	id:       func(a store.Application) string { return a.ID },
	props: props(map[string]column{
		"id":                     idCol("a.id"),
		"appId":                  idCol("a.app_id"),
		"displayName":            strCol("a.display_name_lower"),
		"identifierUris":         listCol("a.identifier_uris"),
		"isFallbackPublicClient": boolCol("a.is_fallback_public_client"),
		"createdDateTime":        timeCol("a.created_at"),
	}),
}).init()

// putIdentifierURIs rewrites the application's rows in
// application_identifier_uris, whose primary key makes every URI (ASCII
// case folded) belong to one application at most: a URI another
// application holds is a unique violation, so ErrConflict.
func putIdentifierURIs(ctx context.Context, q querier, t *txn, a store.Application) error {
	if _, err := q.ExecContext(ctx, "DELETE FROM application_identifier_uris WHERE application_id = $1", a.ID); err != nil {
		return t.classify("identifier uris", err)
	}
	var uris []string
	seen := map[string]bool{}
	for _, u := range a.IdentifierURIs {
		if f := asciiFold(u); !seen[f] {
			seen[f] = true
			uris = append(uris, f)
		}
	}
	err := t.insertMany(ctx, q, "INSERT INTO application_identifier_uris (uri_lower, application_id) VALUES ", "",
		2, len(uris), func(i int, b *rowsBuilder) { b.row(uris[i], a.ID) }, nil)
	if err != nil {
		return t.classify("identifier uris", err)
	}
	return nil
}

var passwordCredentials = (&entity[store.PasswordCredential]{
	name:  "password credential",
	table: "password_credentials",
	alias: "pc",
	cols:  []string{"application_id", "key_id", "display_name", "hint", "secret_hash", "start_at", "end_at"},
	sel:   "pc.application_id, pc.key_id, pc.display_name, pc.hint, pc.secret_hash, pc.start_at, pc.end_at",
	scan: func(sc scanner, extra ...any) (store.PasswordCredential, error) {
		var c store.PasswordCredential
		err := sc.Scan(append([]any{
			&c.ApplicationID, &c.KeyID, &c.DisplayName, &c.Hint, &c.SecretHash,
			timeDest{&c.StartDateTime}, timeDest{&c.EndDateTime},
		}, extra...)...)
		return c, err
	},
	values: func(t *txn, c store.PasswordCredential) []any {
		return []any{
			c.ApplicationID, c.KeyID, c.DisplayName, c.Hint, nullBlob(c.SecretHash),
			t.s.d.nullTime(c.StartDateTime), t.s.d.nullTime(c.EndDateTime),
		}
	},
	id: func(c store.PasswordCredential) string { return c.KeyID },
}).init()

// CreateApplication inserts a. A zero CreatedDateTime is set to the store's
// clock. ErrConflict when the id or the appId is taken, or when another
// application holds one of its identifierUris.
func (t *txn) CreateApplication(ctx context.Context, a store.Application) error {
	defer t.lookupsChanged()
	return applications.create(ctx, t, a)
}

// GetApplication returns the application with this object id, or
// ErrNotFound.
func (t *txn) GetApplication(ctx context.Context, id string) (store.Application, error) {
	return applications.get(ctx, t.rq(), "a.id = $1", id)
}

// GetApplicationByAppID returns the application with this client id, or
// ErrNotFound.
func (t *txn) GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error) {
	return applications.get(ctx, t.rq(), "a.app_id = $1", appID)
}

// GetApplicationByIdentifierURI returns the application listing uri among
// its identifierUris (ASCII case folded), or ErrNotFound.
func (t *txn) GetApplicationByIdentifierURI(ctx context.Context, uri string) (store.Application, error) {
	return applications.get(ctx, t.rq(),
		"a.id = (SELECT application_id FROM application_identifier_uris WHERE uri_lower = $1)", asciiFold(uri))
}

// UpdateApplication is the atomic read-modify-write of an application; it
// returns the application as stored. ErrConflict when the new appId, or
// one of the new identifierUris, belongs to another application.
func (t *txn) UpdateApplication(ctx context.Context, id string, fn func(store.Application) (store.Application, error)) (store.Application, error) {
	defer t.lookupsChanged()
	return applications.update(ctx, t, id, fn)
}

// DeleteApplication removes the application, its secrets (ON DELETE
// CASCADE), its service principal and, through it, that principal's app
// role assignments, memberships and role assignments.
func (t *txn) DeleteApplication(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return t.write(ctx, func(q querier) error {
		var appID string
		err := q.QueryRowContext(ctx, "DELETE FROM applications WHERE id = $1 RETURNING app_id", id).Scan(&appID)
		if err != nil {
			return notFound("delete application", err)
		}
		if _, err := q.ExecContext(ctx, "DELETE FROM service_principals WHERE app_id = $1", appID); err != nil {
			return t.classify("delete application", err)
		}
		return nil
	})
}

// ListApplications answers one page of applications matching q.
func (t *txn) ListApplications(ctx context.Context, q store.Query) (store.Page[store.Application], error) {
	return applications.list(ctx, t, nil, q)
}

// AddPasswordCredential stores a secret's hash for an application:
// ErrNotFound when the application does not exist, ErrConflict when it
// already has a secret with this KeyID.
func (t *txn) AddPasswordCredential(ctx context.Context, c store.PasswordCredential) error {
	defer t.lookupsChanged()
	return passwordCredentials.create(ctx, t, c)
}

// RemovePasswordCredential deletes one secret, or returns ErrNotFound.
func (t *txn) RemovePasswordCredential(ctx context.Context, applicationID, keyID string) error {
	defer t.lookupsChanged()
	res, err := t.exec(ctx, "DELETE FROM password_credentials WHERE application_id = $1 AND key_id = $2", applicationID, keyID)
	return affected("remove password credential", res, err)
}

// ListPasswordCredentials lists an application's secrets, by start time
// then key id.
func (t *txn) ListPasswordCredentials(ctx context.Context, applicationID string) ([]store.PasswordCredential, error) {
	return passwordCredentials.all(ctx, t.rq(), "WHERE pc.application_id = $1 ORDER BY pc.start_at, pc.key_id", applicationID)
}

// clientSQL reads an application with its secrets (one row each, or one
// row of NULLs) and its service principal's id: every token request
// authenticates its client, so this is one round trip, not three.
var clientSQL = "SELECT " + applications.sel + ", pc.key_id, pc.display_name, pc.hint, pc.secret_hash, pc.start_at, pc.end_at, sp.id" +
	" FROM applications a LEFT JOIN password_credentials pc ON pc.application_id = a.id" +
	" LEFT JOIN service_principals sp ON sp.app_id = a.app_id" +
	" WHERE a.app_id = $1 ORDER BY pc.start_at, pc.key_id"

// GetClientByAppID returns the application with this client id, its
// secrets by start time and its service principal's id, or ErrNotFound. At
// the Store level it is served from the lookup cache (lookupcache.go), and
// the Client returned must not be modified.
func (t *txn) GetClientByAppID(ctx context.Context, appID string) (store.Client, error) {
	return t.cachedClient(ctx, appID)
}

func (t *txn) getClient(ctx context.Context, appID string) (store.Client, error) {
	rows, err := t.rq().QueryContext(ctx, clientSQL, appID)
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlstore: get client: %w", err)
	}
	defer rows.Close()
	var (
		c     store.Client
		found bool
	)
	for rows.Next() {
		var (
			keyID, name, hint, spID sql.NullString
			pc                      store.PasswordCredential
		)
		app, err := applications.scan(rows, &keyID, &name, &hint, &pc.SecretHash,
			timeDest{&pc.StartDateTime}, timeDest{&pc.EndDateTime}, &spID)
		if err != nil {
			return store.Client{}, fmt.Errorf("sqlstore: get client: %w", err)
		}
		found = true
		c.Application, c.ServicePrincipalID = app, spID.String
		if keyID.Valid {
			pc.ApplicationID, pc.KeyID, pc.DisplayName, pc.Hint = app.ID, keyID.String, name.String, hint.String
			c.Secrets = append(c.Secrets, pc)
		}
	}
	if err := rows.Err(); err != nil {
		return store.Client{}, fmt.Errorf("sqlstore: get client: %w", err)
	}
	if !found {
		return store.Client{}, fmt.Errorf("sqlstore: client %s: %w", appID, store.ErrNotFound)
	}
	return c, nil
}
