package oauth

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name, scope, resource string
		wantRes               string   // audience
		wantPerms             []string // nil = none
		wantDefault           bool
		wantOIDC              []string
		wantErr               string // error code
	}{
		{name: "bare Graph permission", scope: "User.Read", wantRes: authz.GraphResource, wantPerms: []string{"User.Read"}},
		{name: "qualified", scope: "https://graph.microsoft.com/User.Read openid profile", wantRes: authz.GraphResource,
			wantPerms: []string{"User.Read"}, wantOIDC: []string{"openid", "profile"}},
		{name: "by appId", scope: authz.GraphAppID + "/Group.Read.All", wantRes: authz.GraphResource, wantPerms: []string{"Group.Read.All"}},
		{name: "case-insensitive name canonicalised", scope: "user.read USER.READ", wantRes: authz.GraphResource, wantPerms: []string{"User.Read"}},
		{name: "default", scope: "https://graph.microsoft.com/.default offline_access", wantRes: authz.GraphResource,
			wantDefault: true, wantOIDC: []string{"offline_access"}},
		{name: "double slash default", scope: "https://graph.microsoft.com//.default", wantRes: authz.GraphResource, wantDefault: true},
		{name: "only OIDC scopes mean Graph", scope: "openid email", wantRes: authz.GraphResource, wantOIDC: []string{"openid", "email"}},
		{name: "Vigil resource", scope: "api://vigil/Vigil.Sessions.ReadWrite.All openid", wantRes: authz.VigilResource,
			wantPerms: []string{"Vigil.Sessions.ReadWrite.All"}, wantOIDC: []string{"openid"}},
		{name: "resource parameter decides bare names", scope: "Vigil.Sessions.ReadWrite.All", resource: authz.VigilResource,
			wantRes: authz.VigilResource, wantPerms: []string{"Vigil.Sessions.ReadWrite.All"}},
		{name: "two resources", scope: "User.Read api://vigil/Vigil.Sessions.ReadWrite.All", wantErr: CodeInvalidScope},
		{name: "qualified against resource parameter", scope: "https://graph.microsoft.com/User.Read", resource: authz.VigilResource, wantErr: CodeInvalidScope},
		{name: "unknown resource parameter", scope: "User.Read", resource: "https://unknown.example", wantErr: CodeInvalidTarget},
		{name: "unknown resource", scope: "https://unknown.example/Read", wantErr: CodeInvalidScope},
		{name: "unknown permission", scope: "Mail.Send", wantErr: CodeInvalidScope},
		{name: "unknown qualified permission", scope: "https://graph.microsoft.com/Nope.All", wantErr: CodeInvalidScope},
		{name: "default with named", scope: "https://graph.microsoft.com/.default User.Read", wantErr: CodeInvalidScope},
		{name: "bad character", scope: "User.Read\x01", wantErr: CodeInvalidScope},
		{name: "empty", scope: "", wantRes: authz.GraphResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScopes(tt.scope, tt.resource)
			if tt.wantErr != "" {
				var oe *Error
				if !errors.As(err, &oe) || oe.Code != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Resource.Audience != tt.wantRes || !slices.Equal(s.Permissions, tt.wantPerms) || s.Default != tt.wantDefault ||
				!slices.Equal(s.OIDC(), tt.wantOIDC) {
				t.Fatalf("got %+v (oidc %v)", s, s.OIDC())
			}
		})
	}
}

// TestScopesRoundTrip: List is the stored form and parses back to the same
// scopes; SCP leaves offline_access out and adds the OIDC scopes only for
// Graph.
func TestScopesRoundTrip(t *testing.T) {
	s, err := ParseScopes("openid profile email offline_access User.Read Group.Read.All", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "https://graph.microsoft.com/Group.Read.All https://graph.microsoft.com/User.Read openid profile email offline_access"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	back, err := ParseScopes(strings.Join(s.List(), " "), s.Resource.Audience)
	if err != nil || back.String() != s.String() {
		t.Fatalf("round trip: %v %q", err, back.String())
	}
	if got := strings.Join(s.SCP(), " "); got != "Group.Read.All User.Read openid profile email" {
		t.Fatalf("SCP = %q", got)
	}
	v, _ := ParseScopes("api://vigil/Vigil.Sessions.ReadWrite.All openid", "")
	if got := strings.Join(v.SCP(), " "); got != "Vigil.Sessions.ReadWrite.All" {
		t.Fatalf("Vigil SCP = %q", got)
	}
	narrower, _ := ParseScopes("User.Read openid", "")
	wider, _ := ParseScopes("User.ReadWrite.All", "")
	if !s.Covers(narrower) || s.Covers(wider) || !s.Covers(Scopes{}) || narrower.Covers(s) {
		t.Fatal("Covers is wrong")
	}
	if (Scopes{}).Empty() != true || s.Empty() {
		t.Fatal("Empty is wrong")
	}
}

// FuzzParseScopes: ParseScopes never panics, and whatever it accepts is
// one resource whose List parses back to the same scopes.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"openid User.Read", "https://graph.microsoft.com/.default", "api://vigil/Vigil.Sessions.ReadWrite.All",
		"https://graph.microsoft.com//.default offline_access", "a/b/c", "/", "//.default", "User.Read api://vigil/x"} {
		f.Add(s, "")
		f.Add(s, authz.VigilResource)
	}
	f.Fuzz(func(t *testing.T, scope, resource string) {
		s, err := ParseScopes(scope, resource)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || (oe.Code != CodeInvalidScope && oe.Code != CodeInvalidTarget) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if s.Resource.AppID == "" {
			t.Fatal("no resource")
		}
		for _, p := range s.Permissions {
			if perm, ok := s.Resource.PermissionByName(p); !ok || perm.ScopeID == "" || perm.Name != p {
				t.Fatalf("permission %q not a delegated permission of %s", p, s.Resource.DisplayName)
			}
		}
		back, err := ParseScopes(strings.Join(s.List(), " "), s.Resource.Audience)
		if err != nil || back.String() != s.String() {
			t.Fatalf("List %q does not parse back: %v %q", s.List(), err, back.String())
		}
	})
}
