package vigilapi

import (
	"context"
	"net/http"
)

// requestInfo carries a request's ids in its context.
type requestInfo struct {
	requestID       string
	clientRequestID string
}

type infoKey struct{}

func infoFrom(ctx context.Context) requestInfo {
	info, _ := ctx.Value(infoKey{}).(requestInfo)
	return info
}

// maxClientRequestID bounds the echoed client-request-id header.
const maxClientRequestID = 256

// withRequestIDs gives every request a GUID request-id and echoes the
// client's client-request-id (or repeats the request-id), as Graph does.
func (a *API) withRequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := a.newRequestID()
		client := r.Header.Get("client-request-id")
		if client == "" || len(client) > maxClientRequestID || !printable(client) {
			client = id
		}
		h := w.Header()
		h.Set("request-id", id)
		h.Set("client-request-id", client)
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, requestInfo{id, client})))
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
