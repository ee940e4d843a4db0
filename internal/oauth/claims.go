package oauth

import "github.com/go-jose/go-jose/v4/jwt"

// AccessTokenType is the JOSE typ header of access tokens (RFC 9068 §2.1).
const AccessTokenType = "at+jwt"

// accessClaims is the JWT claims set of a Vigil access token: RFC 9068 §2.2
// plus the Entra claims listed in the design's token contract.
type accessClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	AppID     string           `json:"appid,omitempty"`
	AZP       string           `json:"azp,omitempty"`
	OID       string           `json:"oid,omitempty"`
	TID       string           `json:"tid,omitempty"`
	Roles     []string         `json:"roles,omitempty"`
	Scope     string           `json:"scp,omitempty"`
	WIDs      []string         `json:"wids,omitempty"`
	SID       string           `json:"sid,omitempty"`
	IDType    string           `json:"idtyp,omitempty"`
	Version   string           `json:"ver,omitempty"`
	XMSCC     []string         `json:"xms_cc,omitempty"`
}
