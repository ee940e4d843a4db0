package guard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/ssf"
)

// AccessTokenType is the JOSE typ of a JWT access token (RFC 9068 §2.1).
const AccessTokenType = "at+jwt"

// maxTokenBytes bounds the size of a token the guard parses.
const maxTokenBytes = 16 << 10

// joseHeader is the part of a JOSE header checked before any crypto.
type joseHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
}

// peekHeader decodes the protected header of a compact JWS.
func peekHeader(raw string) (joseHeader, error) {
	var h joseHeader
	if len(raw) > maxTokenBytes {
		return h, fmt.Errorf("token longer than %d bytes", maxTokenBytes)
	}
	if strings.Count(raw, ".") != 2 {
		return h, fmt.Errorf("not a compact JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
	if err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("header: %w", err)
	}
	return h, nil
}

// typIs reports whether the typ header names want, bare or as an
// application/ media type, case-insensitively (RFC 7515 §4.1.9).
func typIs(typ, want string) bool {
	return strings.EqualFold(typ, want) || strings.EqualFold(typ, "application/"+want)
}

// accessClaims are the claims of a Vigil (or Entra) access token the
// guard reads: RFC 9068 §2.2 plus Entra's.
type accessClaims struct {
	Issuer            string           `json:"iss"`
	Subject           string           `json:"sub"`
	Audience          ssf.Audience     `json:"aud"`
	Expiry            *jwt.NumericDate `json:"exp"`
	NotBefore         *jwt.NumericDate `json:"nbf"`
	IssuedAt          *jwt.NumericDate `json:"iat"`
	ClientID          string           `json:"client_id"`
	AZP               string           `json:"azp"`
	AppID             string           `json:"appid"`
	OID               string           `json:"oid"`
	TID               string           `json:"tid"`
	SID               string           `json:"sid"`
	Scope             string           `json:"scp"`
	Roles             []string         `json:"roles"`
	XMSCC             []string         `json:"xms_cc"`
	UPN               string           `json:"upn"`
	PreferredUsername string           `json:"preferred_username"`
	Email             string           `json:"email"`
	IDType            string           `json:"idtyp"`
}

// verifyToken checks raw as an access token of Config.Issuer for one of
// Config.Audiences at now: typ, algorithm, signature, iss, aud, exp, nbf
// and iat (RFC 9068 §4). It does not consult the revocation table.
func (g *Guard) verifyToken(ctx context.Context, raw string, now time.Time) (*Identity, *Error) {
	h, err := peekHeader(raw)
	if err != nil {
		return nil, fail(KindMalformed, err)
	}
	if !g.algAllowed(h.Alg) {
		return nil, failf(KindAlgorithm, fmt.Sprintf("alg %q is not allowed", h.Alg))
	}
	if !typIs(h.Typ, AccessTokenType) {
		return nil, failf(KindType, fmt.Sprintf("typ %q, want %q", h.Typ, AccessTokenType))
	}
	jws, err := jose.ParseSignedCompact(raw, g.algs)
	if err != nil {
		return nil, fail(KindMalformed, err)
	}
	payload, _, ferr := g.keys.verify(ctx, jws)
	if ferr != nil {
		return nil, ferr
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fail(KindMalformed, fmt.Errorf("claims: %w", err))
	}
	if c.Issuer != g.cfg.Issuer {
		return nil, failf(KindIssuer, fmt.Sprintf("iss %q, want %q", c.Issuer, g.cfg.Issuer))
	}
	if !g.audienceOK(c.Audience) {
		return nil, failf(KindAudience, fmt.Sprintf("aud %q names none of %q", c.Audience, g.cfg.Audiences))
	}
	if c.Expiry == nil || c.IssuedAt == nil {
		return nil, failf(KindMalformed, "token lacks exp or iat")
	}
	skew := g.cfg.Skew
	if life := c.Expiry.Time().Sub(c.IssuedAt.Time()); life > g.cfg.MaxTokenLifetime {
		// The table forgets revocations older than MaxTokenLifetime: such
		// a token could outlive its own revocation's entry.
		return nil, failf(KindMalformed, fmt.Sprintf("lifetime %s exceeds the guard's MaxTokenLifetime %s", life, g.cfg.MaxTokenLifetime))
	}
	if now.After(c.Expiry.Time().Add(skew)) {
		return nil, failf(KindExpired, fmt.Sprintf("expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339)))
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(skew)) {
		return nil, failf(KindNotYetValid, fmt.Sprintf("nbf %s is in the future", c.NotBefore.Time().UTC().Format(time.RFC3339)))
	}
	if c.IssuedAt.Time().After(now.Add(skew)) {
		return nil, failf(KindNotYetValid, fmt.Sprintf("iat %s is in the future", c.IssuedAt.Time().UTC().Format(time.RFC3339)))
	}
	return newIdentity(&c, payload), nil
}

func (g *Guard) algAllowed(alg string) bool {
	for _, a := range g.algs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

func (g *Guard) audienceOK(aud []string) bool {
	for _, a := range aud {
		if contains(g.cfg.Audiences, a) {
			return true
		}
	}
	return false
}

func newIdentity(c *accessClaims, payload []byte) *Identity {
	id := &Identity{
		ObjectID:           firstNonEmpty(c.OID, c.Subject),
		Subject:            c.Subject,
		SessionID:          c.SID,
		TenantID:           c.TID,
		ClientID:           firstNonEmpty(c.ClientID, c.AZP, c.AppID),
		UPN:                firstNonEmpty(c.UPN, c.PreferredUsername, c.Email),
		Scopes:             strings.Fields(c.Scope),
		Roles:              c.Roles,
		AppOnly:            c.IDType == "app" || (c.IDType == "" && c.Scope == "" && c.SID == ""),
		ClientCapabilities: c.XMSCC,
		IssuedAt:           c.IssuedAt.Time(),
		ExpiresAt:          c.Expiry.Time(),
		Claims:             json.RawMessage(payload),
		iat:                int64(*c.IssuedAt),
		exp:                int64(*c.Expiry),
	}
	id.oid, id.sid = keyOf(id.ObjectID), keyOf(c.SID)
	for _, cc := range c.XMSCC {
		if strings.EqualFold(cc, "cp1") {
			id.cp1 = true
		}
	}
	return id
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
