package graph

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/directory"
)

func TestDecodeUserBody(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    directory.UserInput
		wantErr string // substring of the message; "" for success
	}{
		{
			name: "absent, null and value",
			body: `{"displayName":"Ada","jobTitle":null,"accountEnabled":false,"businessPhones":["+1 555"]}`,
			want: directory.UserInput{
				DisplayName:    directory.Some("Ada"),
				JobTitle:       directory.Null[string](),
				AccountEnabled: directory.Some(false),
				BusinessPhones: directory.Some([]string{"+1 555"}),
			},
		},
		{
			name: "password profile",
			body: `{"passwordProfile":{"password":"Secret-123","forceChangePasswordNextSignIn":true}}`,
			want: directory.UserInput{PasswordProfile: directory.Some(directory.PasswordProfile{
				Password: "Secret-123", ForceChangePasswordNextSignIn: true,
			})},
		},
		{
			name: "password profile null",
			body: `{"passwordProfile":null}`,
			want: directory.UserInput{PasswordProfile: directory.Null[directory.PasswordProfile]()},
		},
		{
			name: "odata.type annotation",
			body: `{"@odata.type":"#microsoft.graph.user","surname":"L"}`,
			want: directory.UserInput{Surname: directory.Some("L")},
		},
		{name: "unknown property", body: `{"foo":1}`,
			wantErr: "Property 'foo' does not exist on type 'microsoft.graph.user'"},
		{name: "unknown nested property", body: `{"passwordProfile":{"pw":"x"}}`,
			wantErr: "Property 'pw' does not exist on type 'microsoft.graph.passwordProfile'"},
		{name: "read-only id", body: `{"id":"x"}`, wantErr: "Property 'id' is read-only"},
		{name: "read-only createdDateTime", body: `{"createdDateTime":"2024-01-01T00:00:00Z"}`,
			wantErr: "Property 'createdDateTime' is read-only"},
		{name: "read-only signInSessionsValidFromDateTime", body: `{"signInSessionsValidFromDateTime":null}`,
			wantErr: "Property 'signInSessionsValidFromDateTime' is read-only"},
		{name: "not stored", body: `{"preferredLanguage":"en"}`, wantErr: "is not supported"},
		{name: "bool as string", body: `{"accountEnabled":"true"}`,
			wantErr: "Cannot convert the literal 'true' to the expected type 'Edm.Boolean'"},
		{name: "string as number", body: `{"displayName":12}`,
			wantErr: "Cannot convert the literal '12' to the expected type 'Edm.String'"},
		{name: "collection as string", body: `{"businessPhones":"555"}`,
			wantErr: "'Collection(Edm.String)'"},
		{name: "profile as string", body: `{"passwordProfile":"x"}`,
			wantErr: "'microsoft.graph.passwordProfile'"},
		{name: "duplicate property", body: `{"surname":"a","surname":"b"}`, wantErr: "more than once"},
		{name: "wrong odata.type", body: `{"@odata.type":"#microsoft.graph.group"}`, wantErr: "@odata.type"},
		{name: "bind annotation", body: `{"manager@odata.bind":"x"}`, wantErr: "annotation 'manager@odata.bind'"},
		{name: "array body", body: `[1]`, wantErr: msgInvalidJSON},
		{name: "truncated", body: `{"surname":"a"`, wantErr: msgInvalidJSON},
		{name: "trailing data", body: `{"surname":"a"} {}`, wantErr: msgInvalidJSON},
		{name: "empty", body: "  ", wantErr: msgEmptyBody},
	}
	a := &API{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1.0/users", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			var got directory.UserInput
			err := a.readJSON(r, userBody(&got))
			if tt.wantErr != "" {
				ge := errorFrom(err)
				if err == nil || ge.Status != http.StatusBadRequest || !strings.Contains(ge.Message, tt.wantErr) {
					t.Fatalf("err = %v; want 400 containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("decoded %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}

func TestReadJSONMediaTypeAndSize(t *testing.T) {
	a := &API{MaxBodyBytes: 16}
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"text/plain", "text/plain", `{"surname":"a"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", `{"surname":"a"}`, http.StatusUnsupportedMediaType},
		{"too large", "application/json", `{"surname":"` + strings.Repeat("a", 64) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("PATCH", "/v1.0/users/x", strings.NewReader(tt.body))
			r.ContentLength = -1 // as a chunked upload: only the reader enforces the limit
			r.Body = http.MaxBytesReader(w, r.Body, a.maxBodyBytes())
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var in directory.UserInput
			err := a.readJSON(r, userBody(&in))
			var ge *Error
			if !errors.As(errorFrom(err), &ge) || ge.Status != tt.status {
				t.Fatalf("err = %v, want status %d", err, tt.status)
			}
		})
	}
}
