package graph

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"testing"
)

func TestSkipTokenRoundTrip(t *testing.T) {
	s := skipScope{path: "/v1.0/users", filter: "startsWith(displayName,'a')", orderBy: "displayName"}
	for _, cursor := range []string{"", "x", "eyJpZCI6IjEyMyJ9", "\x00\xff weird"} {
		got, err := s.decode(s.encode(cursor))
		if err != nil || got != cursor {
			t.Errorf("decode(encode(%q)) = %q, %v", cursor, got, err)
		}
	}
}

func TestSkipTokenRefusesTampering(t *testing.T) {
	s := skipScope{path: "/v1.0/users"}
	tok := s.encode("cursor-123")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-bit change anywhere in the token is refused.
	for i := range raw {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			if c, err := s.decode(base64.RawURLEncoding.EncodeToString(b)); err == nil {
				t.Fatalf("flipping bit %d of byte %d was accepted as cursor %q", bit, i, c)
			}
		}
	}
	tests := map[string]string{
		"garbage":        "not base64!",
		"empty":          "",
		"truncated":      tok[:len(tok)-3],
		"other path":     skipScope{path: "/v1.0/groups"}.encode("cursor-123"),
		"other filter":   skipScope{path: "/v1.0/users", filter: "x"}.encode("cursor-123"),
		"other order":    skipScope{path: "/v1.0/users", orderBy: "x"}.encode("cursor-123"),
		"other search":   skipScope{path: "/v1.0/users", search: `"x:y"`}.encode("cursor-123"),
		"future version": base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...)),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.decode(tok); err == nil {
				t.Fatalf("decode(%q) accepted", tok)
			}
			if ge := errorFrom(func() error { _, err := s.decode(tok); return err }()); ge.Status != 400 {
				t.Fatalf("status %d, want 400", ge.Status)
			}
		})
	}
}

func TestNextLinkKeepsOptionsVerbatim(t *testing.T) {
	a := &API{BaseURL: "http://127.0.0.1:8080/v1.0/"}
	tests := []struct {
		target, want string
	}{
		{"/v1.0/users?$top=5", "http://127.0.0.1:8080/v1.0/users?$top=5&$skiptoken=TOK"},
		{"/v1.0/users?$filter=startsWith(displayName,%27a%27)&$top=5&$skiptoken=OLD&$select=id",
			"http://127.0.0.1:8080/v1.0/users?$filter=startsWith(displayName,%27a%27)&$top=5&$select=id&$skiptoken=TOK"},
		{"/v1.0/users?%24skiptoken=OLD&%24top=2", "http://127.0.0.1:8080/v1.0/users?%24top=2&$skiptoken=TOK"},
		{"/v1.0/groups/abc/members", "http://127.0.0.1:8080/v1.0/groups/abc/members?$skiptoken=TOK"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r = r.WithContext(context.WithValue(r.Context(), infoKey{}, requestInfo{escapedPath: r.URL.EscapedPath()}))
			if got := a.nextLink(r, "TOK"); got != tt.want {
				t.Fatalf("nextLink = %q\nwant        %q", got, tt.want)
			}
		})
	}
}
