package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var fastArgon = Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse", fastArgon)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	if err := VerifyPassword(h, "correct horse"); err != nil {
		t.Fatalf("verify right password: %v", err)
	}
	if err := VerifyPassword(h, "wrong"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("verify wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := HashPassword("correct horse", fastArgon)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for name, h := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"argon2i":      "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"huge memory":  "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"zero time":    "$argon2id$v=19$m=1024,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"bad salt":     "$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"short hash":   "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",
		"old version":  "$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"extra fields": "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA$x",
	} {
		t.Run(name, func(t *testing.T) {
			err := VerifyPassword(h, "pw")
			if err == nil || errors.Is(err, ErrMismatch) {
				t.Fatalf("got %v, want a malformed-hash error", err)
			}
		})
	}
}

func FuzzVerifyPassword(f *testing.F) {
	h, _ := HashPassword("pw", fastArgon)
	f.Add(h, "pw")
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		_ = VerifyPassword(hash, pw) // must not panic or allocate unboundedly
	})
}

func TestHasher(t *testing.T) {
	h := NewHasher(bytes.Repeat([]byte{1}, 32))
	other := NewHasher(bytes.Repeat([]byte{2}, 32))
	sum := h.Hash("s3cret")
	if !h.Equal(sum, "s3cret") {
		t.Fatal("Equal(right secret) = false")
	}
	if h.Equal(sum, "s3cres") {
		t.Fatal("Equal(wrong secret) = true")
	}
	if other.Equal(sum, "s3cret") {
		t.Fatal("a hash made under one key verified under another")
	}
}

func TestNewClientSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewClientSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 40 || strings.Trim(s, clientSecretAlphabet) != "" {
			t.Fatalf("secret %q: want 40 characters of the alphabet", s)
		}
		if seen[s] {
			t.Fatal("duplicate secret")
		}
		seen[s] = true
	}
}

func TestBox(t *testing.T) {
	b, err := NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := b.Seal([]byte("private key"), []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private key")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	pt, err := b.Open(sealed, []byte("kid-1"))
	if err != nil || string(pt) != "private key" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := b.Open(sealed, []byte("kid-2")); err == nil {
		t.Fatal("Open with other additional data succeeded")
	}
	wrong, _ := NewBox(bytes.Repeat([]byte{8}, 32))
	if _, err := wrong.Open(sealed, []byte("kid-1")); err == nil {
		t.Fatal("Open under another key succeeded")
	}
	if _, err := NewBox([]byte("short")); err == nil {
		t.Fatal("NewBox accepted a short key")
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, 32)
	for name, s := range map[string]string{
		"hex":       strings.Repeat("ab", 32),
		"base64":    "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
		"base64raw": "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s",
		"newline":   "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
	} {
		t.Run(name, func(t *testing.T) {
			k, err := ParseKey(s)
			if err != nil || !bytes.Equal(k, raw) {
				t.Fatalf("ParseKey = %x, %v", k, err)
			}
		})
	}
	if _, err := ParseKey("too short"); err == nil {
		t.Fatal("ParseKey accepted a short key")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "encryption.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %o, want 600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load = %x, %v; want the same key", k2, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("loaded a world-readable key file")
	}
}

func TestNewPasswordComplexity(t *testing.T) {
	for range 200 {
		pw, err := NewPassword(8)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 8 || !strings.ContainsAny(pw, "ABCDEFGHJKLMNPQRSTUVWXYZ") ||
			!strings.ContainsAny(pw, "abcdefghijkmnopqrstuvwxyz") || !strings.ContainsAny(pw, "23456789") {
			t.Fatalf("password %q lacks a character class", pw)
		}
	}
	if _, err := NewPassword(4); err == nil {
		t.Fatal("NewPassword(4) succeeded")
	}
}
