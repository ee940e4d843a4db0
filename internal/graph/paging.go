package graph

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// A $skiptoken wraps a store cursor (store.Page.Next) for the client:
//
//	base64url( version(1) || check(8) || cursor )
//
// check is the first 8 bytes of SHA-256 over the collection path, the
// $filter, $orderby and $search values and the cursor. It is an integrity
// check, not a secret MAC: it turns a tampered or truncated token, or one
// replayed against another collection or query (store.Query.Cursor is only
// valid with the same filter, search and order), into a 400 before the
// store sees it. Cursors carry no secrets, so forging one gains nothing a
// $filter could not.
const skipTokenVersion = 1

// skipScope is what a skip token is bound to.
type skipScope struct {
	path, filter, orderBy, search string
}

func (s skipScope) check(cursor string) []byte {
	h := sha256.New()
	for _, part := range []string{"vigil-graph-skiptoken", s.path, s.filter, s.orderBy, s.search, cursor} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return h.Sum(nil)[:8]
}

func (s skipScope) encode(cursor string) string {
	b := make([]byte, 0, 9+len(cursor))
	b = append(b, skipTokenVersion)
	b = append(b, s.check(cursor)...)
	b = append(b, cursor...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode returns the cursor inside token, or an error for a token this
// scope did not issue.
func (s skipScope) decode(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 9 || b[0] != skipTokenVersion {
		return "", errBadSkipToken(err)
	}
	cursor := string(b[9:])
	if !bytes.Equal(b[1:9], s.check(cursor)) {
		return "", errBadSkipToken(nil)
	}
	return cursor, nil
}

func errBadSkipToken(cause error) *Error {
	return NewError(http.StatusBadRequest, CodeRequestBadRequest, "The $skiptoken value is invalid.", cause)
}

// nextLink is the absolute @odata.nextLink for the page after this one:
// the Graph base URL, the path as the client sent it and every original
// query option in its original order and encoding, with $skiptoken
// replaced (reference §3.3: clients use the URL verbatim).
func (a *API) nextLink(r *http.Request, token string) string {
	path := strings.TrimPrefix(infoFrom(r.Context()).escapedPath, prefixV1)
	var q []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && strings.EqualFold(k, "$skiptoken") {
			continue
		}
		q = append(q, part)
	}
	q = append(q, "$skiptoken="+token)
	return a.base() + path + "?" + strings.Join(q, "&")
}
