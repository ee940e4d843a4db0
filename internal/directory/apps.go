package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// ApplicationInput is the body of an application create or update (PATCH).
// On create only DisplayName is required, as in Graph
// (https://learn.microsoft.com/en-us/graph/api/application-post-applications).
type ApplicationInput struct {
	DisplayName              Optional[string]
	IdentifierURIs           Optional[[]string]
	WebRedirectURIs          Optional[[]string]
	PublicClientRedirectURIs Optional[[]string]
	SPARedirectURIs          Optional[[]string]
	IsFallbackPublicClient   Optional[bool]
}

func (in *ApplicationInput) validate(create bool) error {
	err := checkPresence("Application", create, []presence{presenceOf("displayName", in.DisplayName)},
		presenceOf("isFallbackPublicClient", in.IsFallbackPublicClient))
	if err != nil {
		return err
	}
	if in.DisplayName.Set {
		if in.DisplayName.Value == "" {
			return invalidProp("displayName", "Application", "the value cannot be empty")
		}
		if err := checkLen("displayName", "Application", in.DisplayName.Value, maxDisplayName); err != nil {
			return err
		}
	}
	if in.IdentifierURIs.has() {
		if err := validateIdentifierURIs(in.IdentifierURIs.Value); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		kind string
		v    Optional[[]string]
	}{
		{redirectWeb, in.WebRedirectURIs},
		{redirectPublicClient, in.PublicClientRedirectURIs},
		{redirectSPA, in.SPARedirectURIs},
	} {
		if l.v.has() {
			if err := validateRedirectURIs(l.kind, l.v.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

// setList applies a list property: null or absent-after-set clears it.
func setList(dst *[]string, o Optional[[]string]) {
	if !o.Set {
		return
	}
	*dst = slices.Clone(o.Value)
	if *dst == nil {
		*dst = []string{}
	}
}

func (in *ApplicationInput) apply(a *store.Application) {
	if in.DisplayName.Set {
		a.DisplayName = in.DisplayName.Value
	}
	setList(&a.IdentifierURIs, in.IdentifierURIs)
	setList(&a.WebRedirectURIs, in.WebRedirectURIs)
	setList(&a.PublicClientRedirectURIs, in.PublicClientRedirectURIs)
	setList(&a.SPARedirectURIs, in.SPARedirectURIs)
	if in.IsFallbackPublicClient.Set {
		a.IsFallbackPublicClient = in.IsFallbackPublicClient.Value
	}
}

// CreateApplication registers an application with a new object id and a
// new appId (client id), both random GUIDs. Identifier and redirect URIs
// are validated as Entra does (see validateRedirectURIs,
// validateIdentifierURIs). It does not create the service principal.
func (s *Service) CreateApplication(ctx context.Context, in ApplicationInput) (store.Application, error) {
	if err := in.validate(true); err != nil {
		return store.Application{}, err
	}
	a := store.Application{
		ID:                       s.newID(),
		AppID:                    s.newID(),
		CreatedDateTime:          s.now(),
		IdentifierURIs:           []string{},
		WebRedirectURIs:          []string{},
		PublicClientRedirectURIs: []string{},
		SPARedirectURIs:          []string{},
	}
	in.apply(&a)
	err := s.audited(ctx, change{
		activity: ActivityAddApplication, category: revocation.CategoryApplicationManagement, operation: opAdd,
		targets: []revocation.AuditTarget{appTarget(a, modified(appProps(a)))},
	}, func(tx store.Tx) error {
		return wrap("create application", a.ID, tx.CreateApplication(ctx, a), msgConflictingValue)
	})
	if err != nil {
		return store.Application{}, err
	}
	return a, nil
}

// byIDOrAppID looks an object up by object id, then by appId, as Graph's
// /applications/{id} and /applications(appId='{appId}') (and the same for
// service principals) allow. A key that is not a GUID is KindNotFound.
func byIDOrAppID[T any](ctx context.Context, key, what string, byID, byAppID func(context.Context, string) (T, error)) (T, error) {
	var zero T
	if !odata.IsGUID(key) {
		return zero, notFound(key, nil)
	}
	v, err := byID(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		v, err = byAppID(ctx, key)
	}
	if err != nil {
		return zero, wrap("get "+what, key, err, "")
	}
	return v, nil
}

// appByKey resolves an application by object id or appId.
func appByKey(ctx context.Context, tx store.Applications, key string) (store.Application, error) {
	return byIDOrAppID(ctx, key, "application", tx.GetApplication, tx.GetApplicationByAppID)
}

// GetApplication returns an application by object id or appId.
func (s *Service) GetApplication(ctx context.Context, idOrAppID string) (store.Application, error) {
	return appByKey(ctx, s.Store, idOrAppID)
}

// UpdateApplication applies a PATCH to an application (appId is
// immutable).
func (s *Service) UpdateApplication(ctx context.Context, idOrAppID string, in ApplicationInput) (store.Application, error) {
	if err := in.validate(false); err != nil {
		return store.Application{}, err
	}
	var out store.Application
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, idOrAppID)
		if err != nil {
			return err
		}
		var before store.Application
		out, err = tx.UpdateApplication(ctx, a.ID, func(a store.Application) (store.Application, error) {
			before = a
			in.apply(&a)
			return a, nil
		})
		if err != nil {
			return wrap("update application", idOrAppID, err, msgConflictingValue)
		}
		mods := modified(diffProps(appProps(before), appProps(out)))
		if len(mods) == 0 {
			return nil
		}
		return s.audit(ctx, tx, change{
			activity: ActivityUpdateApplication, category: revocation.CategoryApplicationManagement, operation: opUpdate,
			targets: []revocation.AuditTarget{appTarget(out, mods)},
		})
	})
	return out, err
}

// DeleteApplication deletes an application, its secrets and its service
// principal, with everything the service principal holds (see
// DeleteServicePrincipal), in one transaction.
func (s *Service) DeleteApplication(ctx context.Context, idOrAppID string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, idOrAppID)
		if err != nil {
			return err
		}
		sp, err := tx.GetServicePrincipalByAppID(ctx, a.AppID)
		switch {
		case err == nil:
			if err := s.deleteServicePrincipal(ctx, tx, sp); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return wrap("delete application", idOrAppID, err, "")
		}
		if err := tx.DeleteApplication(ctx, a.ID); err != nil {
			return wrap("delete application", idOrAppID, err, "")
		}
		return s.audit(ctx, tx, change{
			activity: ActivityDeleteApplication, category: revocation.CategoryApplicationManagement, operation: opDelete,
			targets: []revocation.AuditTarget{appTarget(a, nil)},
		})
	})
}

// ListApplications pages applications.
func (s *Service) ListApplications(ctx context.Context, q store.Query) (store.Page[store.Application], error) {
	p, err := s.Store.ListApplications(ctx, q)
	return p, listErr("list applications", err)
}

// NewSecret is the result of AddPassword. SecretText is returned to the
// caller once and never stored; the credential holds only its keyed hash.
type NewSecret struct {
	Credential store.PasswordCredential
	SecretText string
}

// DefaultSecretLifetime is how long a client secret lasts when AddPassword
// is given no end time (Entra's default of two years).
const DefaultSecretLifetime = 2 * 365 * 24 * time.Hour

// AddPassword adds a client secret to an application (Graph
// application: addPassword,
// https://learn.microsoft.com/en-us/graph/api/application-addpassword).
// The secret is 40 random characters from secret.NewClientSecret; the
// store keeps only Secrets.Hash of it and the hint (its first three
// characters). The keyId is a new GUID, the start is now, and a zero end
// means now + DefaultSecretLifetime; an end not after the start is
// KindInvalid. applicationID is an object id or an appId.
func (s *Service) AddPassword(ctx context.Context, applicationID, displayName string, end time.Time) (NewSecret, error) {
	if s.Secrets == nil {
		return NewSecret{}, errors.New("directory: add password: Service.Secrets is not set")
	}
	if err := checkLen("displayName", "PasswordCredential", displayName, maxDisplayName); err != nil {
		return NewSecret{}, err
	}
	start := s.now()
	if end.IsZero() {
		end = start.Add(DefaultSecretLifetime)
	}
	end = end.UTC()
	if !end.After(start) {
		return NewSecret{}, invalidProp("endDateTime", "PasswordCredential", "the end must be later than the start (now)")
	}
	text, err := secret.NewClientSecret()
	if err != nil {
		return NewSecret{}, fmt.Errorf("directory: add password: %w", err)
	}
	c := store.PasswordCredential{
		KeyID:         s.newID(),
		DisplayName:   displayName,
		Hint:          text[:3],
		SecretHash:    s.Secrets.Hash(text),
		StartDateTime: start,
		EndDateTime:   end,
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, applicationID)
		if err != nil {
			return err
		}
		c.ApplicationID = a.ID
		if err := tx.AddPasswordCredential(ctx, c); err != nil {
			return wrap("add password", applicationID, err, msgConflictingValue)
		}
		return s.audit(ctx, tx, secretChange(a, []prop{{name: "KeyDescription", new: keyDescription(c)}}))
	})
	if err != nil {
		return NewSecret{}, err
	}
	return NewSecret{Credential: c, SecretText: text}, nil
}

// RemovePassword removes a client secret by keyId (Graph
// application: removePassword). A missing application or key is
// KindNotFound.
func (s *Service) RemovePassword(ctx context.Context, applicationID, keyID string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, applicationID)
		if err != nil {
			return err
		}
		cs, err := tx.ListPasswordCredentials(ctx, a.ID)
		if err != nil {
			return wrap("remove password", keyID, err, "")
		}
		var desc string
		for _, c := range cs {
			if c.KeyID == keyID {
				desc = keyDescription(c)
			}
		}
		if err := tx.RemovePasswordCredential(ctx, a.ID, keyID); err != nil {
			return wrap("remove password", keyID, err, "")
		}
		return s.audit(ctx, tx, secretChange(a, []prop{{name: "KeyDescription", old: desc}}))
	})
}

// secretChange is the audit record of adding or removing a client secret
// of a: Entra's "Update application – Certificates and secrets
// management", whose modified property KeyDescription describes the key
// (never the secret).
func secretChange(a store.Application, props []prop) change {
	return change{
		activity: ActivityUpdateAppSecrets, category: revocation.CategoryApplicationManagement, operation: opUpdate,
		targets: []revocation.AuditTarget{appTarget(a, modified(props))},
	}
}

// keyDescription describes a client secret as Entra's audit log does.
func keyDescription(c store.PasswordCredential) string {
	return "[KeyIdentifier=" + c.KeyID + ",KeyType=Password,KeyUsage=Verify,DisplayName=" + c.DisplayName + "]"
}

// ListPasswords lists an application's secrets (hashes and hints only).
func (s *Service) ListPasswords(ctx context.Context, applicationID string) ([]store.PasswordCredential, error) {
	var out []store.PasswordCredential
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, applicationID)
		if err != nil {
			return err
		}
		out, err = tx.ListPasswordCredentials(ctx, a.ID)
		return wrap("list passwords", applicationID, err, "")
	})
	return out, err
}
