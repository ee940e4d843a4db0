package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteError(t *testing.T) {
	secretCause := errors.New("db password=hunter2")
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
		wantAuth   string
	}{
		{"invalid_request", errorf(CodeInvalidRequest, "missing grant_type"), 400,
			`{"error":"invalid_request","error_description":"missing grant_type"}`, ""},
		{"invalid_client without a challenge (Provider.fail adds one)", errorf(CodeInvalidClient, "client authentication failed"), 401,
			`{"error":"invalid_client","error_description":"client authentication failed"}`, ""},
		{"invalid_client with a challenge", &Error{Code: CodeInvalidClient, Description: "client authentication failed", challenge: `Basic realm="vigil"`}, 401,
			`{"error":"invalid_client","error_description":"client authentication failed"}`, `Basic realm="vigil"`},
		{"cause stays private", fmt.Errorf("wrapped: %w", errorf(CodeInvalidGrant, "bad grant").WithCause(secretCause)), 400,
			`{"error":"invalid_grant","error_description":"bad grant"}`, ""},
		{"explicit status", &Error{Code: CodeInvalidRequest, Description: "too large", Status: 413}, 413,
			`{"error":"invalid_request","error_description":"too large"}`, ""},
		{"plain error becomes server_error", secretCause, 500,
			`{"error":"server_error","error_description":"internal error"}`, ""},
		{"temporarily unavailable", errorf(CodeTemporarilyUnavailable, "try later"), 503,
			`{"error":"temporarily_unavailable","error_description":"try later"}`, ""},
		{"description sanitised", errorf(CodeInvalidScope, "bad \"scope\"\n\\ é"), 400,
			`{"error":"invalid_scope","error_description":"bad ?scope??? ?"}`, ""},
		{"no description", &Error{Code: CodeUnsupportedGrantType}, 400, `{"error":"unsupported_grant_type"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", got, tt.wantBody)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Error("cause leaked to the client")
			}
			h := rec.Header()
			if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("headers = %v", h)
			}
			if got := h.Get("WWW-Authenticate"); got != tt.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuth)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestErrorChain(t *testing.T) {
	cause := errors.New("root")
	e := errorf(CodeInvalidClient, "nope").WithCause(cause)
	if !errors.Is(e, cause) {
		t.Fatal("cause not reachable through Unwrap")
	}
	if !strings.Contains(e.Error(), "root") || !strings.Contains(e.LogValue().String(), "root") {
		t.Fatalf("Error() / LogValue lack the cause: %s / %s", e.Error(), e.LogValue())
	}
	var oe *Error
	if !errors.As(fmt.Errorf("x: %w", e), &oe) || oe.Code != CodeInvalidClient {
		t.Fatal("errors.As failed")
	}
}
