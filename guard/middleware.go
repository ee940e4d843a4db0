package guard

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Middleware lets a request through to next only when its Authorization
// header carries a bearer token (RFC 6750 §2.1) that Verify accepts; next
// finds the caller with FromContext. Refusals are answered by WriteError.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := BearerToken(r)
		if !ok {
			g.m.refused(KindNoToken)
			g.WriteError(w, r, &Error{Kind: KindNoToken})
			return
		}
		id, err := g.verify(r.Context(), tok)
		if err != nil {
			g.m.refused(err.Kind)
			if err.Kind == KindUnavailable || err.Kind == KindStreamDown {
				g.log.Warn("guard: refusing token", "kind", err.Kind.label(), "err", err)
			}
			g.WriteError(w, r, err)
			return
		}
		g.m.accepted.Inc()
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (RFC 6750 §2.1; the scheme is case-insensitive).
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// WriteError answers a refused request as Middleware does:
//
//   - a revocation (KindRevoked, KindSessionRevoked, KindUserDisabled) of
//     a token that declared cp1 (xms_cc): 401 with the claims challenge of
//     Entra's continuous access evaluation,
//     WWW-Authenticate: Bearer realm="", authorization_uri="<authorize
//     endpoint>", error="insufficient_claims", claims="<base64 of
//     {"access_token":{"nbf":{"essential":true,"value":"<unix validFrom>"}}}>";
//   - KindNoToken: 401 with Bearer realm and authorization_uri, and no
//     error (RFC 6750 §3.1);
//   - KindStreamDown, KindUnavailable: 503 with Retry-After (the token may
//     be fine; the guard cannot tell);
//   - any other refusal: 401 with error="invalid_token" (RFC 6750 §3.1).
//
// The body is a JSON object with error and error_description. Errors that
// are not *Error are answered as invalid tokens.
func (g *Guard) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Kind: KindMalformed}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	switch {
	case e.Kind == KindStreamDown || e.Kind == KindUnavailable:
		h.Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		writeBody(w, "temporarily_unavailable", e.Kind.String())
		return
	case e.Kind.revocation() && e.CP1:
		h.Set("WWW-Authenticate", ClaimsChallenge(g.authorizationURL(r.Context()), e.ValidFrom.Unix()))
		w.WriteHeader(http.StatusUnauthorized)
		writeBody(w, "insufficient_claims", e.Kind.String())
		return
	case e.Kind == KindNoToken:
		h.Set("WWW-Authenticate", "Bearer "+authParams(g.authorizationURL(r.Context())))
		w.WriteHeader(http.StatusUnauthorized)
		writeBody(w, "invalid_request", e.Kind.String())
		return
	}
	h.Set("WWW-Authenticate", "Bearer "+authParams(g.authorizationURL(r.Context()))+
		`, error="invalid_token", error_description="`+e.Kind.String()+`"`)
	w.WriteHeader(http.StatusUnauthorized)
	writeBody(w, "invalid_token", e.Kind.String())
}

// authParams is `realm=""` followed by the authorization_uri when known.
func authParams(authorizationURI string) string {
	if authorizationURI == "" {
		return `realm=""`
	}
	return `realm="", authorization_uri="` + authorizationURI + `"`
}

// ClaimsChallenge is the WWW-Authenticate value asking a CAE-capable
// client for a token issued at or after validFrom (Unix seconds), in the
// format of Entra's claims challenge: Bearer realm="",
// authorization_uri="…", error="insufficient_claims", claims="<standard
// base64 of {"access_token":{"nbf":{"essential":true,"value":"<validFrom>"}}}>".
func ClaimsChallenge(authorizationURI string, validFrom int64) string {
	return "Bearer " + authParams(authorizationURI) + `, error="insufficient_claims", claims="` + NBFClaims(validFrom) + `"`
}

// NBFClaims is the claims of a challenge for a token issued at or after
// validFrom (Unix seconds): the standard base64 of
// {"access_token":{"nbf":{"essential":true,"value":"<validFrom>"}}}, as
// Entra's continuous access evaluation sends it.
func NBFClaims(validFrom int64) string {
	claims := `{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(validFrom, 10) + `"}}}`
	return base64.StdEncoding.EncodeToString([]byte(claims))
}

func writeBody(w http.ResponseWriter, code, desc string) {
	// code and desc are fixed ASCII strings without quotes or escapes.
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"` + desc + `"}` + "\n"))
}
