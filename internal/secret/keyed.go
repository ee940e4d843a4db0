package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Hasher makes keyed hashes of high-entropy secrets (client secrets, refresh
// tokens, codes). A fast keyed hash is right for them: they carry ≥ 256 bits
// of randomness, so brute force is hopeless, and a stolen database alone
// cannot verify guesses without the key.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher keyed with a sub-key derived from master.
func NewHasher(master []byte) *Hasher {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("vigil secret hash v1"))
	return &Hasher{key: m.Sum(nil)}
}

// Hash returns HMAC-SHA-256(key, s).
func (h *Hasher) Hash(s string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// Equal reports, in constant time, whether s hashes to sum.
func (h *Hasher) Equal(sum []byte, s string) bool {
	return hmac.Equal(sum, h.Hash(s))
}

// NewToken returns a URL-safe random string carrying n random bytes.
func NewToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// clientSecretAlphabet avoids characters that need escaping in URLs, shells
// and form bodies.
const clientSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"

// NewClientSecret returns a 40-character random client secret (≈ 244 bits),
// the length Entra's addPassword produces.
func NewClientSecret() (string, error) {
	return randomString(40, clientSecretAlphabet)
}

// passwordAlphabet is for generated human passwords.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// NewPassword returns a random password of n (≥ 8) characters holding
// upper case, lower case and digits, so it meets Entra's complexity rule.
func NewPassword(n int) (string, error) {
	if n < 8 {
		return "", fmt.Errorf("secret: password length %d is below 8", n)
	}
	for {
		pw, err := randomString(n, passwordAlphabet)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(pw, "ABCDEFGHJKLMNPQRSTUVWXYZ") && strings.ContainsAny(pw, "abcdefghijkmnopqrstuvwxyz") &&
			strings.ContainsAny(pw, "23456789") {
			return pw, nil
		}
	}
}

func randomString(n int, alphabet string) (string, error) {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet) // reject to avoid modulo bias
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("secret: random: %w", err)
		}
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out), nil
}
