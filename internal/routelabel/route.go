package routelabel

import (
	"context"
	"net/http"
)

type key struct{}

// holder is where an inner router writes its pattern.
type holder struct{ pattern string }

// Track returns r with a place for an inner router's pattern, and the
// function that reads it after the request was served ("" if none was
// set).
func Track(r *http.Request) (*http.Request, func() string) {
	h := &holder{}
	return r.WithContext(context.WithValue(r.Context(), key{}, h)), func() string { return h.pattern }
}

// Set records pattern (a ServeMux pattern, such as
// "POST /v1.0/users/{id}/revokeSignInSessions") as the route of the request
// whose context ctx is, if it is tracked. The first pattern set counts:
// requests a handler makes inside the request (the parts of a Graph $batch)
// share its context and must not relabel it.
func Set(ctx context.Context, pattern string) {
	if h, ok := ctx.Value(key{}).(*holder); ok && pattern != "" && h.pattern == "" {
		h.pattern = pattern
	}
}
