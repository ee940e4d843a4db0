package routelabel

import (
	"context"
	"net/http/httptest"
	"testing"
)

func TestTrackAndSet(t *testing.T) {
	r, got := Track(httptest.NewRequest("GET", "/v1.0/users/42", nil))
	if got() != "" {
		t.Fatalf("pattern before Set: %q", got())
	}
	Set(r.Context(), "GET /v1.0/users/{id}")
	if got() != "GET /v1.0/users/{id}" {
		t.Fatalf("pattern = %q", got())
	}
	Set(r.Context(), "GET /v1.0/me") // a request inside the request: the first route stays
	if got() != "GET /v1.0/users/{id}" {
		t.Fatalf("a later Set relabelled the request: %q", got())
	}
	Set(context.Background(), "/ignored") // untracked: no panic, no effect
	Set(r.Context(), "")
	if got() != "GET /v1.0/users/{id}" {
		t.Fatalf("an empty pattern replaced the route: %q", got())
	}
}
