package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/secret"
)

// Errors callers may test for with errors.Is.
var (
	// ErrDecrypt is returned when a stored private key cannot be
	// decrypted: the server's encryption key (VIGIL_ENCRYPTION_KEY or the
	// key file) differs from the one the key was sealed with, or the row
	// was tampered with.
	ErrDecrypt = errors.New("keys: cannot decrypt signing key")
	// ErrAlgorithm is returned for a signing algorithm the Manager is not
	// configured to keep keys for.
	ErrAlgorithm = errors.New("keys: unsupported signing algorithm")
	// ErrNoKey is returned when no key can sign now, even after trying to
	// create one.
	ErrNoKey = errors.New("keys: no active signing key")
)

// SupportedAlgorithms are the JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1)
// Vigil can generate keys for.
var SupportedAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// rsaBits is the RSA modulus size for RS256 keys (RFC 7518 §3.3 requires at
// least 2048).
const rsaBits = 2048

// generate makes a new private key for alg.
func generate(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("%w: %s", ErrAlgorithm, alg)
}

// publicJWK returns the public JWK of priv with its RFC 7638 kid.
func publicJWK(priv crypto.Signer, alg jose.SignatureAlgorithm) (jose.JSONWebKey, error) {
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("keys: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, nil
}

// sealedKey is a freshly generated key ready to be stored.
type sealedKey struct {
	kid       string
	alg       jose.SignatureAlgorithm
	sealed    []byte // PKCS #8, sealed with the box under AD = kid
	publicJWK []byte
}

// newSealedKey generates a key for alg and seals its private half.
func newSealedKey(box *secret.Box, alg jose.SignatureAlgorithm) (sealedKey, error) {
	priv, err := generate(alg)
	if err != nil {
		return sealedKey{}, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	jwk, err := publicJWK(priv, alg)
	if err != nil {
		return sealedKey{}, err
	}
	pub, err := json.Marshal(jwk)
	if err != nil {
		return sealedKey{}, fmt.Errorf("keys: marshal JWK: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return sealedKey{}, fmt.Errorf("keys: marshal private key: %w", err)
	}
	sealed, err := box.Seal(der, []byte(jwk.KeyID))
	if err != nil {
		return sealedKey{}, fmt.Errorf("keys: seal private key: %w", err)
	}
	return sealedKey{kid: jwk.KeyID, alg: alg, sealed: sealed, publicJWK: pub}, nil
}

// openPrivate decrypts a stored private key and checks that it belongs to
// the public JWK it is stored with.
func openPrivate(box *secret.Box, kid string, sealed []byte, pub jose.JSONWebKey) (crypto.Signer, error) {
	der, err := box.Open(sealed, []byte(kid))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDecrypt, kid, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: parse private key %s: %w", kid, err)
	}
	priv, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keys: private key %s is a %T, not a signer", kid, k)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := priv.Public().(equaler); !ok || !e.Equal(pub.Key) {
		return nil, fmt.Errorf("keys: private key %s does not match its public JWK", kid)
	}
	return priv, nil
}

// Signer signs JWTs (RFC 7519) as compact JWS (RFC 7515 §7.1) with one key.
// Its header carries alg, kid and the typ the caller names. A Signer is safe
// for concurrent use.
type Signer struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer

	byTyp sync.Map // typ → jose.Signer, built once per typ
}

// KeyID returns the key's kid: its RFC 7638 JWK thumbprint (SHA-256,
// base64url).
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the JWS algorithm the key signs with.
func (s *Signer) Algorithm() jose.SignatureAlgorithm { return s.alg }

// Sign serialises claims (anything encoding/json accepts as an object) as a
// signed JWT with header typ (e.g. "at+jwt" per RFC 9068 §2.1, "JWT",
// "secevent+jwt" per RFC 8417 §2.3).
func (s *Signer) Sign(typ string, claims any) (string, error) {
	js, err := s.joseSigner(typ)
	if err != nil {
		return "", err
	}
	// The claims are marshalled once, as they are. (go-jose's jwt builder
	// marshals, unmarshals into a map and marshals again to sort keys,
	// which cost as much as the ES256 signature itself.)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("keys: sign: marshal claims: %w", err)
	}
	if len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("keys: sign: claims must be a JSON object")
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("keys: sign: %w", err)
	}
	return tok, nil
}

// joseSigner returns the go-jose signer for typ, built once per typ.
func (s *Signer) joseSigner(typ string) (jose.Signer, error) {
	if js, ok := s.byTyp.Load(typ); ok {
		return js.(jose.Signer), nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	js, err := jose.NewSigner(jose.SigningKey{
		Algorithm: s.alg,
		Key:       jose.JSONWebKey{Key: s.priv, KeyID: s.kid, Algorithm: string(s.alg)},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("keys: signer: %w", err)
	}
	actual, _ := s.byTyp.LoadOrStore(typ, js)
	return actual.(jose.Signer), nil
}
