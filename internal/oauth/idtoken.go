package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/store"
)

// IDTokenType is the JOSE typ header of ID tokens. It differs from
// AccessTokenType, so an ID token is never accepted as an access token
// (RFC 9068 §4, RFC 8725 §3.11).
const IDTokenType = "JWT"

// DefaultIDTokenLifetime is the lifetime of ID tokens unless IDToken.Lifetime
// or IDTokens.Lifetime says otherwise (Entra: one hour).
const DefaultIDTokenLifetime = time.Hour

// DefaultIDTokenAlgorithm signs ID tokens of clients that registered no
// id_token_signed_response_alg (OpenID Connect Registration §2: RS256).
const DefaultIDTokenAlgorithm = jose.RS256

// IDTokenAlgorithms are the algorithms a client may register as
// id_token_signed_response_alg; which of them work depends on the keys the
// keys.Manager keeps (IDTokens.Algorithms).
var IDTokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// ErrIDTokenHint is returned by IDTokens.VerifyHint for an id_token_hint
// that is not an ID token this server issued.
var ErrIDTokenHint = errors.New("oauth: id_token_hint is not an ID token issued here")

// IDToken describes an ID token to issue (OpenID Connect Core 1.0 §2). The
// issuer, times, tenant and the claims taken from User are added by
// IDTokens.Issue.
type IDToken struct {
	// User is the end-user; sub and oid are its object id.
	User store.User
	// ClientID is the aud (and azp) claim.
	ClientID string
	// Nonce is echoed from the authentication request (§3.1.2.1).
	Nonce string
	// AuthTime is when the user last authenticated interactively
	// (auth_time, §2).
	AuthTime time.Time
	// SessionID is the sid claim (Front- and Back-Channel Logout §2/§3).
	SessionID string
	// AMR lists the authentication methods (RFC 8176), e.g. "pwd".
	AMR []string
	// Scopes decide the profile and email claims (§5.4).
	Scopes Scopes
	// Requested are claim names asked for in the id_token member of the
	// claims request parameter (§5.5); they are included when known.
	Requested []string
	// AccessToken, when set, is hashed into at_hash (§3.1.3.6).
	AccessToken string
	// Algorithm is the client's id_token_signed_response_alg; "" means
	// DefaultIDTokenAlgorithm.
	Algorithm jose.SignatureAlgorithm
	// Lifetime overrides IDTokens.Lifetime when positive.
	Lifetime time.Duration
}

// idClaims is the claims set of a Vigil ID token.
type idClaims struct {
	Issuer            string           `json:"iss"`
	Subject           string           `json:"sub"`
	Audience          jwt.Audience     `json:"aud"`
	Expiry            *jwt.NumericDate `json:"exp"`
	IssuedAt          *jwt.NumericDate `json:"iat"`
	NotBefore         *jwt.NumericDate `json:"nbf,omitempty"`
	AuthTime          *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce             string           `json:"nonce,omitempty"`
	SessionID         string           `json:"sid,omitempty"`
	ATHash            string           `json:"at_hash,omitempty"`
	AMR               []string         `json:"amr,omitempty"`
	AZP               string           `json:"azp,omitempty"`
	OID               string           `json:"oid,omitempty"`
	TID               string           `json:"tid,omitempty"`
	Name              string           `json:"name,omitempty"`
	GivenName         string           `json:"given_name,omitempty"`
	FamilyName        string           `json:"family_name,omitempty"`
	PreferredUsername string           `json:"preferred_username,omitempty"`
	Email             string           `json:"email,omitempty"`
	Version           string           `json:"ver,omitempty"`
}

// IDTokens issues ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.6) and
// verifies the ones it issued when they come back as id_token_hint. Build
// it as a struct literal; Issuer, Signers, Keys and Meta are required. The
// refresh_token grant reuses it. It is safe for concurrent use and must not
// be copied after first use.
type IDTokens struct {
	// Issuer is the iss claim.
	Issuer string
	// Signers supplies the signing key of each algorithm.
	Signers Signers
	// Keys supplies the JWK Set hints are verified with.
	Keys KeySet
	// Meta supplies the tenant id (tid).
	Meta MetaReader
	// Algorithms are the algorithms Signers has keys for, advertised as
	// id_token_signing_alg_values_supported; nil means RS256 and ES256
	// (keys.Manager's default). Add EdDSA only when the Manager keeps
	// Ed25519 keys.
	Algorithms []jose.SignatureAlgorithm
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lifetime is the default lifetime; 0 means DefaultIDTokenLifetime.
	Lifetime time.Duration

	tenant tenantCache
}

// SupportedAlgorithms returns the algorithms ID tokens can be signed with.
func (t *IDTokens) SupportedAlgorithms() []jose.SignatureAlgorithm {
	if len(t.Algorithms) > 0 {
		return slices.Clone(t.Algorithms)
	}
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256}
}

// Supports reports whether alg ("" meaning the default) can sign ID tokens.
func (t *IDTokens) Supports(alg string) bool {
	if alg == "" {
		return true
	}
	return slices.Contains(t.SupportedAlgorithms(), jose.SignatureAlgorithm(alg))
}

func (t *IDTokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Issue signs the ID token tok describes.
func (t *IDTokens) Issue(ctx context.Context, tok IDToken) (string, error) {
	if t.Issuer == "" || t.Signers == nil || t.Meta == nil {
		return "", errors.New("oauth: IDTokens needs an Issuer, Signers and Meta")
	}
	if tok.User.ID == "" || tok.ClientID == "" {
		return "", errors.New("oauth: ID token needs a user and a client id")
	}
	alg := tok.Algorithm
	if alg == "" {
		alg = DefaultIDTokenAlgorithm
	}
	if !t.Supports(string(alg)) {
		return "", fmt.Errorf("oauth: ID token algorithm %s is not configured", alg)
	}
	tid, err := t.tenant.get(ctx, t.Meta)
	if err != nil {
		return "", err
	}
	now := t.now()
	c := idClaims{
		Issuer:    t.Issuer,
		Subject:   tok.User.ID,
		Audience:  jwt.Audience{tok.ClientID},
		Expiry:    jwt.NewNumericDate(now.Add(firstPositive(tok.Lifetime, t.Lifetime, DefaultIDTokenLifetime))),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Nonce:     tok.Nonce,
		SessionID: tok.SessionID,
		AMR:       tok.AMR,
		AZP:       tok.ClientID,
		OID:       tok.User.ID,
		TID:       tid,
		Version:   "2.0",
	}
	if !tok.AuthTime.IsZero() {
		c.AuthTime = jwt.NewNumericDate(tok.AuthTime)
	}
	if tok.AccessToken != "" {
		c.ATHash = tokenHash(alg, tok.AccessToken)
	}
	c.addUserClaims(tok.User, tok.Scopes, tok.Requested)
	s, err := t.Signers.Signer(ctx, alg)
	if err != nil {
		return "", fmt.Errorf("oauth: ID token signer: %w", err)
	}
	out, err := s.Sign(IDTokenType, c)
	if err != nil {
		return "", fmt.Errorf("oauth: sign ID token: %w", err)
	}
	return out, nil
}

// addUserClaims adds the standard claims (§5.1) the profile and email
// scopes (§5.4) or the claims request (§5.5) ask for.
func (c *idClaims) addUserClaims(u store.User, s Scopes, requested []string) {
	want := func(scope bool, claim string) bool { return scope || slices.Contains(requested, claim) }
	if want(s.Profile, "name") {
		c.Name = u.DisplayName
	}
	if want(s.Profile, "preferred_username") {
		c.PreferredUsername = u.UserPrincipalName
	}
	if want(s.Profile, "given_name") && u.GivenName != nil {
		c.GivenName = *u.GivenName
	}
	if want(s.Profile, "family_name") && u.Surname != nil {
		c.FamilyName = *u.Surname
	}
	if want(s.Email, "email") && u.Mail != nil {
		c.Email = *u.Mail
	}
}

// tokenHash is at_hash / c_hash (OpenID Connect Core 1.0 §3.1.3.6,
// §3.3.2.11): the base64url left half of the hash of the ASCII token, with
// the hash of the JWS algorithm: SHA-256 for RS256 and ES256, SHA-512 for
// EdDSA with Ed25519 (as relying parties such as go-oidc compute it).
func tokenHash(alg jose.SignatureAlgorithm, token string) string {
	var h hash.Hash
	switch alg {
	case jose.EdDSA, jose.RS512, jose.ES512, jose.PS512:
		h = sha512.New()
	case jose.RS384, jose.ES384, jose.PS384:
		h = sha512.New384()
	default:
		h = sha256.New()
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// IDTokenHint is what an id_token_hint says (RP-Initiated Logout 1.0 §2).
type IDTokenHint struct {
	// Subject is the sub claim: the user's object id.
	Subject string
	// ClientID is the aud claim.
	ClientID string
	// SessionID is the sid claim.
	SessionID string
}

// VerifyHint checks an id_token_hint: a compact JWT signed by a key of the
// JWK Set with an algorithm of IDTokenAlgorithms, typ JWT, iss this
// issuer, one audience. An expired token is accepted (RP-Initiated Logout
// 1.0 §2 lets the OP accept a hint past exp); the hint only identifies a
// client and its redirect, never whose session ends. Any failure wraps
// ErrIDTokenHint, except a failure to read the keys.
func (t *IDTokens) VerifyHint(ctx context.Context, raw string) (IDTokenHint, error) {
	if t.Keys == nil {
		return IDTokenHint{}, errors.New("oauth: IDTokens needs Keys to verify hints")
	}
	tok, err := jwt.ParseSigned(raw, IDTokenAlgorithms)
	if err != nil {
		return IDTokenHint{}, fmt.Errorf("%w: %w", ErrIDTokenHint, err)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "" && !strings.EqualFold(typ, IDTokenType) {
		return IDTokenHint{}, fmt.Errorf("%w: typ %q", ErrIDTokenHint, typ)
	}
	set, err := t.Keys.JWKS(ctx)
	if err != nil {
		return IDTokenHint{}, fmt.Errorf("oauth: hint keys: %w", err)
	}
	var c idClaims
	verified := false
	for _, k := range set.Key(h.KeyID) {
		if k.Algorithm == h.Algorithm && tok.Claims(k.Key, &c) == nil {
			verified = true
			break
		}
	}
	switch {
	case !verified:
		return IDTokenHint{}, fmt.Errorf("%w: no key of the JWK Set verifies it", ErrIDTokenHint)
	case c.Issuer != t.Issuer:
		return IDTokenHint{}, fmt.Errorf("%w: wrong issuer", ErrIDTokenHint)
	case len(c.Audience) != 1 || c.Subject == "":
		return IDTokenHint{}, fmt.Errorf("%w: needs sub and exactly one aud", ErrIDTokenHint)
	}
	return IDTokenHint{Subject: c.Subject, ClientID: c.Audience[0], SessionID: c.SessionID}, nil
}
