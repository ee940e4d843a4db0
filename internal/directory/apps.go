package directory

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"

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
	return s.updateApp(ctx, idOrAppID, appProps, func(a *store.Application) error {
		in.apply(a)
		return nil
	})
}

// updateApp is the read-modify-write of an application (object id or
// appId) by apply, in one transaction with the audit record "Update
// application" of the properties of props that changed (none: no record).
func (s *Service) updateApp(ctx context.Context, idOrAppID string, props func(store.Application) []prop, apply func(*store.Application) error) (store.Application, error) {
	var out store.Application
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := appByKey(ctx, tx, idOrAppID)
		if err != nil {
			return err
		}
		var before store.Application
		out, err = tx.UpdateApplication(ctx, a.ID, func(a store.Application) (store.Application, error) {
			before = a
			return a, apply(&a)
		})
		if err != nil {
			return wrap("update application", idOrAppID, err, msgConflictingValue)
		}
		mods := modified(diffProps(props(before), props(out)))
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

// OIDCSettingsInput is a PATCH of an application's OpenID Connect client
// metadata, the members OpenID Connect Dynamic Client Registration 1.0 §2
// names (post_logout_redirect_uris from RP-Initiated Logout 1.0 §3.1,
// backchannel_logout_uri from Back-Channel Logout 1.0 §2.2). An absent
// member stays as it is; an explicit null resets it (no URIs, no keys,
// the server's default algorithm).
type OIDCSettingsInput struct {
	PostLogoutRedirectURIs   Optional[[]string]
	BackchannelLogoutURI     Optional[string]
	IDTokenSignedResponseAlg Optional[string]
	// JWKS is the client's JWK Set (its JSON) for private_key_jwt
	// (RFC 7523 §2.2): public keys only.
	JWKS    Optional[json.RawMessage]
	JWKSURI Optional[string]
}

// DefaultIDTokenSignedResponseAlg is the algorithm of ID tokens for a
// client that registered none (OpenID Connect Registration §2: RS256).
const DefaultIDTokenSignedResponseAlg = "RS256"

// IDTokenSignedResponseAlgs are the id_token_signed_response_alg values a
// client may register: the algorithms the server signs ID tokens with.
var IDTokenSignedResponseAlgs = []string{"RS256", "ES256", "EdDSA"}

// Limits of the OpenID Connect client settings.
const (
	maxPostLogoutRedirectURIs = 32
	maxClientKeys             = 16
)

// privateJWKMembers are the JWK members that carry private or secret key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// Problems lists every problem of in, each naming its member, without
// looking at the stored application (see UpdateOIDCSettings for the rule
// that does).
func (in OIDCSettingsInput) Problems() []string {
	var out []string
	if in.PostLogoutRedirectURIs.has() {
		uris := in.PostLogoutRedirectURIs.Value
		if len(uris) > maxPostLogoutRedirectURIs {
			out = append(out, fmt.Sprintf("post_logout_redirect_uris: at most %d URIs are allowed, not %d", maxPostLogoutRedirectURIs, len(uris)))
			uris = nil // not each one as well
		}
		seen := map[string]bool{}
		for i, u := range uris {
			if p := clientURIProblem(u, true); p != "" {
				out = append(out, fmt.Sprintf("post_logout_redirect_uris[%d] %q: %s", i, u, p))
			} else if seen[u] {
				out = append(out, fmt.Sprintf("post_logout_redirect_uris[%d] %q: duplicate URI", i, u))
			}
			seen[u] = true
		}
	}
	if in.BackchannelLogoutURI.has() {
		if p := clientURIProblem(in.BackchannelLogoutURI.Value, true); p != "" {
			out = append(out, fmt.Sprintf("backchannel_logout_uri %q: %s", in.BackchannelLogoutURI.Value, p))
		}
	}
	if alg := in.IDTokenSignedResponseAlg; alg.has() && !slices.Contains(IDTokenSignedResponseAlgs, alg.Value) {
		out = append(out, fmt.Sprintf("id_token_signed_response_alg %q: must be one of %s", alg.Value, strings.Join(IDTokenSignedResponseAlgs, ", ")))
	}
	if in.JWKS.has() {
		out = append(out, jwksProblems(in.JWKS.Value)...)
	}
	if in.JWKSURI.has() {
		if p := clientURIProblem(in.JWKSURI.Value, false); p != "" {
			out = append(out, fmt.Sprintf("jwks_uri %q: %s", in.JWKSURI.Value, p))
		}
	}
	if in.JWKS.has() && in.JWKSURI.has() {
		out = append(out, "jwks and jwks_uri are mutually exclusive: register one of them")
	}
	return out
}

// Validate returns a KindInvalid *Error listing extra (problems the caller
// found, such as members it could not decode) and every problem of in, or
// nil when there are none.
func (in OIDCSettingsInput) Validate(extra ...string) error {
	if ps := append(slices.Clone(extra), in.Problems()...); len(ps) > 0 {
		return invalidOIDCSettings(ps)
	}
	return nil
}

func invalidOIDCSettings(problems []string) *Error {
	return invalid("Invalid OpenID Connect client settings: %s.", strings.Join(problems, "; "))
}

// clientURIProblem checks a URI of client metadata: absolute, with a host,
// no fragment, user information, wildcard, whitespace or backslash, at
// most maxURILen characters, and https, or (loopbackHTTP) http on
// localhost or a loopback address (RFC 8252 §7.3, §8.3). It returns ""
// for a good URI, else why not.
func clientURIProblem(raw string, loopbackHTTP bool) string {
	switch {
	case raw == "":
		return "must not be empty (null removes it)"
	case len(raw) > maxURILen:
		return fmt.Sprintf("may have at most %d characters", maxURILen)
	case strings.Contains(raw, "#"):
		return "must not contain a fragment"
	case strings.Contains(raw, "*"):
		return "wildcards are not allowed"
	case strings.IndexFunc(raw, func(r rune) bool { return r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "must not contain whitespace, control characters or backslashes"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "":
		return "must be an absolute URI with a host, such as https://rp.example/path"
	case u.User != nil:
		return "must not contain user information"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopbackHTTP && isLoopbackHost(u.Hostname()):
		return ""
	case loopbackHTTP:
		return "must use https, or http on localhost or a loopback address"
	}
	return "must use https"
}

// jwksProblems checks a client's JWK Set: an object {"keys":[…]} of 1 to
// maxClientKeys public keys, each usable for private_key_jwt, each with a
// kid of its own.
func jwksProblems(raw json.RawMessage) []string {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil || set.Keys == nil {
		return []string{`jwks: must be a JWK Set, {"keys":[…]} (RFC 7517 §5)`}
	}
	keys := *set.Keys
	switch {
	case len(keys) == 0:
		return []string{"jwks: the set holds no key (null removes it)"}
	case len(keys) > maxClientKeys:
		return []string{fmt.Sprintf("jwks: at most %d keys are allowed, not %d", maxClientKeys, len(keys))}
	}
	var out []string
	kids := map[string]bool{}
	for i, k := range keys {
		kid, ps := clientKeyProblems(k)
		if kid != "" && kids[kid] {
			ps = append(ps, "another key has the same kid")
		}
		kids[kid] = true
		label := fmt.Sprintf("jwks.keys[%d]", i)
		if kid != "" {
			label += fmt.Sprintf(" (kid %q)", kid)
		}
		for _, p := range ps {
			out = append(out, label+": "+p)
		}
	}
	return out
}

// clientKeyProblems parses one JWK with go-jose and checks that it is a
// public signing key private_key_jwt can use here: RSA of at least 2048
// bits (RS256), EC on P-256 (ES256) or OKP Ed25519 (EdDSA), the
// algorithms client assertions are verified with; an alg or use member,
// when present, must agree. It returns the key's kid and its problems.
func clientKeyProblems(raw json.RawMessage) (string, []string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return "", []string{"must be a JSON object (a JWK, RFC 7517 §4)"}
	}
	var kid string
	_ = json.Unmarshal(members["kid"], &kid)
	var private []string
	for _, m := range privateJWKMembers {
		if _, ok := members[m]; ok {
			private = append(private, `"`+m+`"`)
		}
	}
	if len(private) > 0 {
		return kid, []string{fmt.Sprintf("holds private or secret key material (%s): register public keys only", strings.Join(private, ", "))}
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return kid, []string{"is not a valid JWK: " + strings.TrimPrefix(err.Error(), "go-jose/go-jose: ")}
	}
	var ps []string
	if k.KeyID == "" {
		ps = append(ps, `has no "kid": every key needs one, named in the header of the client's assertions`)
	}
	var alg string
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		alg = "RS256"
		if n := pub.N.BitLen(); n < 2048 {
			ps = append(ps, fmt.Sprintf("an RSA key of %d bits is too weak: at least 2048 are required", n))
		}
	case *ecdsa.PublicKey:
		alg = "ES256"
		if pub.Curve != elliptic.P256() {
			ps = append(ps, fmt.Sprintf("curve %s cannot be used: client assertions are verified with ES256, which needs P-256", pub.Curve.Params().Name))
		}
	case ed25519.PublicKey:
		alg = "EdDSA"
	default:
		return kid, append(ps, "is not a usable public signing key: use RSA (2048 bits or more), EC P-256 or OKP Ed25519")
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		ps = append(ps, fmt.Sprintf("alg %q does not fit: this key verifies %s assertions", k.Algorithm, alg))
	}
	if k.Use != "" && k.Use != "sig" {
		ps = append(ps, fmt.Sprintf(`use %q: a client authentication key has use "sig" or none`, k.Use))
	}
	return kid, ps
}

// apply sets the members of in on a, a JWK Set compacted.
func (in *OIDCSettingsInput) apply(a *store.Application) error {
	setList(&a.PostLogoutRedirectURIs, in.PostLogoutRedirectURIs)
	for _, f := range []struct {
		dst *string
		o   Optional[string]
	}{
		{&a.BackchannelLogoutURI, in.BackchannelLogoutURI},
		{&a.IDTokenSignedResponseAlg, in.IDTokenSignedResponseAlg},
		{&a.JWKSURI, in.JWKSURI},
	} {
		if f.o.Set {
			*f.dst = f.o.Value // null: Value is ""
		}
	}
	if in.JWKS.Set {
		a.JWKS = nil
		if in.JWKS.has() {
			var buf bytes.Buffer
			if err := json.Compact(&buf, in.JWKS.Value); err != nil {
				return invalidOIDCSettings([]string{"jwks: " + err.Error()})
			}
			a.JWKS = buf.Bytes()
		}
	}
	return nil
}

// UpdateOIDCSettings applies a PATCH of the OpenID Connect client settings
// of an application (object id or appId), in one transaction with the
// audit record "Update application" naming the changed settings. Every
// problem of in is reported at once (KindInvalid); so is a JWK Set and a
// jwks_uri both registered once in is applied (register one of them).
// The store's write drops its client lookup cache, so the next token
// request sees the change.
func (s *Service) UpdateOIDCSettings(ctx context.Context, idOrAppID string, in OIDCSettingsInput) (store.Application, error) {
	if err := in.Validate(); err != nil {
		return store.Application{}, err
	}
	return s.updateApp(ctx, idOrAppID, oidcProps, func(a *store.Application) error {
		if err := in.apply(a); err != nil {
			return err
		}
		if len(a.JWKS) > 0 && a.JWKSURI != "" {
			return invalidOIDCSettings([]string{"jwks and jwks_uri are mutually exclusive: the application has the other one; set it to null in the same request"})
		}
		return nil
	})
}

// oidcProps lists the audited OpenID Connect client settings of a. Keys
// are described, as Entra describes credentials, by kid, type and RFC 7638
// thumbprint.
func oidcProps(a store.Application) []prop {
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return []prop{
		{name: "PostLogoutRedirectUris", new: a.PostLogoutRedirectURIs},
		{name: "BackchannelLogoutUri", new: orNil(a.BackchannelLogoutURI)},
		{name: "IdTokenSignedResponseAlg", new: orNil(a.IDTokenSignedResponseAlg)},
		{name: "Jwks", new: jwksDescription(a.JWKS)},
		{name: "JwksUri", new: orNil(a.JWKSURI)},
	}
}

// jwksDescription describes each key of a stored JWK Set.
func jwksDescription(raw []byte) []string {
	if len(raw) == 0 {
		return nil
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return []string{"[unreadable JWK Set]"}
	}
	out := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		tp, _ := k.Thumbprint(crypto.SHA256)
		out = append(out, "[KeyIdentifier="+k.KeyID+",KeyType="+jwkType(k)+",Thumbprint="+base64.RawURLEncoding.EncodeToString(tp)+"]")
	}
	return out
}

// jwkType is a key's kty.
func jwkType(k jose.JSONWebKey) string {
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "OKP"
	}
	return "unknown"
}
