package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE code challenge methods (RFC 7636 §4.2).
const (
	PKCES256  = "S256"
	PKCEPlain = "plain"
)

// validPKCEString checks the ABNF shared by code_verifier (RFC 7636 §4.1)
// and code_challenge (§4.2): 43–128 characters of ALPHA / DIGIT / "-" /
// "." / "_" / "~".
func validPKCEString(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// checkChallenge validates the code_challenge and code_challenge_method of
// an authorization request (RFC 7636 §4.3, §4.4.1). A public client must
// send one; a confidential client may omit it. The only method is S256, as
// discovery says: plain, whether sent or the default of a challenge without
// a method, is refused for every client like any other unsupported method
// (RFC 9700 §2.1.1). It returns the method to store ("" when there is no
// challenge).
func checkChallenge(challenge, method string, public bool) (string, error) {
	if challenge == "" {
		if method != "" {
			return "", errorf(CodeInvalidRequest, "code_challenge_method without code_challenge")
		}
		if public {
			return "", errorf(CodeInvalidRequest, "PKCE is required for public clients: send code_challenge with code_challenge_method=S256")
		}
		return "", nil
	}
	if method == "" {
		method = PKCEPlain // RFC 7636 §4.3 default
	}
	if method != PKCES256 {
		return "", errorf(CodeInvalidRequest, "unsupported code_challenge_method '%s'", truncate(method, 16))
	}
	if len(challenge) != 43 || !validPKCEString(challenge) {
		return "", errorf(CodeInvalidRequest, "code_challenge is not a base64url SHA-256 hash")
	}
	return method, nil
}

// verifyPKCE checks a code_verifier against the stored challenge
// (RFC 7636 §4.6), in constant time. A code issued without a challenge
// must be redeemed without a verifier. Codes stored with plain (issued
// before plain was refused) still verify until they expire.
func verifyPKCE(challenge, method, verifier string) error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return errorf(CodeInvalidGrant, "code_verifier sent for a code issued without code_challenge")
	case verifier == "":
		return errorf(CodeInvalidGrant, "code_verifier is required")
	case !validPKCEString(verifier):
		return errorf(CodeInvalidGrant, "malformed code_verifier")
	}
	want := verifier
	if method == PKCES256 {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) != 1 {
		return errorf(CodeInvalidGrant, "code_verifier does not match code_challenge")
	}
	return nil
}
