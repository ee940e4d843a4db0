package graph

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseKeySegment(t *testing.T) {
	tests := []struct {
		seg  string
		want keySegment
		ok   bool
	}{
		{"applications(appId='abc')", keySegment{"applications", "appId", "abc"}, true},
		{"applications(appId = 'abc')", keySegment{"applications", "appId", "abc"}, true},
		{"directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')",
			keySegment{"directoryRoles", "roleTemplateId", "62e90394-69f5-4237-9190-012177145e10"}, true},
		{"users('a@b.c')", keySegment{"users", "", "a@b.c"}, true},
		{"users('o''brien@x')", keySegment{"users", "", "o'brien@x"}, true},
		{"users('a=b')", keySegment{"users", "", "a=b"}, true},
		{"users", keySegment{}, false},
		{"users()", keySegment{}, false},
		{"users('')", keySegment{}, false},
		{"users('a'b')", keySegment{}, false},
		{"users(a)", keySegment{}, false},
		{"users('a'", keySegment{}, false},
		{"(appId='x')", keySegment{}, false},
		{"app-s(appId='x')", keySegment{}, false},
		{"apps(1d='x')", keySegment{}, false},
		{"apps(appId=x)", keySegment{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.seg, func(t *testing.T) {
			got, ok := parseKeySegment(tt.seg)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseKeySegment(%q) = %+v, %v; want %+v, %v", tt.seg, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseKeySegment(f *testing.F) {
	for _, s := range []string{"applications(appId='abc')", "users('o''b')", "x('')", "a(b=')", "a(b='c''')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, ok := parseKeySegment(s)
		if !ok {
			return
		}
		if k.value == "" || !isName(k.set) || k.prop != "" && !isName(k.prop) {
			t.Fatalf("parseKeySegment(%q) = %+v: accepted an invalid key", s, k)
		}
		again, ok := parseKeySegment(k.String())
		if !ok || again != k {
			t.Fatalf("round trip of %q: %q parses as %+v, %v; want %+v", s, k.String(), again, ok, k)
		}
	})
}

func TestParseReference(t *testing.T) {
	const id = "8e5bb8a4-2c3c-4e54-8d4b-9b3f0b5c0f3a"
	tests := []struct {
		ref, want string
		ok        bool
	}{
		{"https://graph.microsoft.com/v1.0/directoryObjects/" + id, id, true},
		{"https://graph.microsoft.com/v1.0/users/" + id, id, true},
		{"http://127.0.0.1:8080/v1.0/groups/" + id, id, true},
		{"https://graph.microsoft.com/v1.0/servicePrincipals/" + id, id, true},
		{"https://graph.microsoft.com/beta/DirectoryObjects/" + id, id, true},
		{"/v1.0/directoryObjects/" + id + "/", id, true},
		{"directoryObjects/" + id, id, true},
		{"https://graph.microsoft.com/v1.0/directoryObjects('" + id + "')", id, true},
		{"https://graph.microsoft.com/v1.0/users/a%40b.c", "a@b.c", true},
		{"https://graph.microsoft.com/v1.0/applications/" + id, "", false},
		{"https://graph.microsoft.com/v1.0/directoryObjects", "", false},
		{"https://graph.microsoft.com/v1.0/directoryObjects/", "", false},
		{id, "", false},
		{"https://graph.microsoft.com/v1.0/users/" + id + "?x=1", "", false},
		{"https://graph.microsoft.com/v1.0/users/a%2Fb", "", false},
		{"https://graph.microsoft.com/v1.0/users(appId='x')", "", false},
		{"%zz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, ok := parseReference(tt.ref)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("parseReference(%q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"https://graph.microsoft.com/v1.0/directoryObjects/abc",
		"/users/x", "directoryObjects('a''b')", "http://h/groups/%2F", "::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		id, ok := parseReference(ref)
		if !ok {
			return
		}
		if id == "" || strings.Contains(id, "/") {
			t.Fatalf("parseReference(%q) = %q: an id must be one non-empty path segment", ref, id)
		}
	})
}

func TestRewriteKeySegment(t *testing.T) {
	tests := []struct {
		target   string
		wantPath string
		wantErr  bool
	}{
		{"/v1.0/applications(appId='abc')", "/v1.0/applications/abc", false},
		{"/v1.0/applications(appId=%27abc%27)/addPassword", "/v1.0/applications/abc/addPassword", false},
		{"/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", "/v1.0/servicePrincipals/00000003-0000-0000-c000-000000000000", false},
		{"/v1.0/directoryRoles(roleTemplateId='62e90394-69f5-4237-9190-012177145e10')/members", "/v1.0/directoryRoles/62e90394-69f5-4237-9190-012177145e10/members", false},
		{"/v1.0/users('a%2Fb@c')", "/v1.0/users/a/b@c", false},
		{"/v1.0/users/abc", "/v1.0/users/abc", false},
		{"/v1.0/users(displayName='x')", "", true},
		{"/v1.0/users(oops", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			r, err := rewriteKeySegment(httptest.NewRequest("GET", tt.target, nil))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && r.URL.Path != tt.wantPath {
				t.Fatalf("path = %q, want %q", r.URL.Path, tt.wantPath)
			}
		})
	}
	// A '/' inside a key stays inside one path segment for the router.
	r, err := rewriteKeySegment(httptest.NewRequest("GET", "/v1.0/users('a%2Fb@c')", nil))
	if err != nil || r.URL.EscapedPath() != "/v1.0/users/a%2Fb@c" {
		t.Fatalf("escaped path = %q, %v", r.URL.EscapedPath(), err)
	}
}

func TestLowerGUIDs(t *testing.T) {
	for target, want := range map[string]string{
		"/v1.0/users/5D1E8A3C-2B4F-4C6D-8E9F-0A1B2C3D4E5F/revokeSignInSessions":                               "/v1.0/users/5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f/revokeSignInSessions",
		"/v1.0/groups/5D1E8A3C-2B4F-4C6D-8E9F-0A1B2C3D4E5F/members/0F9E8D7C-6B5A-4938-8271-605F4E3D2C1B/$ref": "/v1.0/groups/5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f/members/0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b/$ref",
		"/v1.0/users/Ada@Contoso.com":                     "/v1.0/users/Ada@Contoso.com", // not a GUID: as written
		"/v1.0/users/5D1E8A3C-2B4F-4C6D-8E9F-0A1B2C3D4E5": "/v1.0/users/5D1E8A3C-2B4F-4C6D-8E9F-0A1B2C3D4E5",
	} {
		if got := lowerGUIDs(httptest.NewRequest("POST", target, nil)).URL.Path; got != want {
			t.Errorf("lowerGUIDs(%s) = %s, want %s", target, got, want)
		}
	}
	if id, ok := parseReference("https://graph.microsoft.com/v1.0/directoryObjects/5D1E8A3C-2B4F-4C6D-8E9F-0A1B2C3D4E5F"); !ok || id != "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f" {
		t.Errorf("parseReference of an upper-case GUID = %q, %v", id, ok)
	}
}
