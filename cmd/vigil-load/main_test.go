package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
)

// appendUser must send exactly what encoding/json makes of the user.
func TestAppendUser(t *testing.T) {
	for _, password := range []bool{false, true} {
		for _, i := range []int{0, 7, 123456} {
			const runID = 1795738048169674152
			u := map[string]any{
				"accountEnabled": true, "displayName": fmt.Sprintf("Load %d", i),
				"mailNickname":      fmt.Sprintf("load%d_%d", runID, i),
				"userPrincipalName": fmt.Sprintf("load%d_%d@vigil.local", runID, i),
				"department":        "Load",
			}
			if password {
				u["passwordProfile"] = map[string]any{"password": fmt.Sprintf("Load-pass-%d!", i)}
			}
			want, _ := json.Marshal(u)
			if got := appendUser(nil, runID, i, password); string(got) != string(want) {
				t.Errorf("password=%v i=%d:\n got %s\nwant %s", password, i, got, want)
			}
		}
	}
}

func TestRefreshToken(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"access_token":"a.b.c","token_type":"Bearer","refresh_token":"r-1_x","expires_in":3600}`, "r-1_x"},
		{`{"refresh_token":"first"}`, "first"},
		{"{\n  \"id_token\": \"x\",\n  \"refresh_token\" : \"spaced\"\n}", "spaced"},
		{`{"note":"\"refresh_token\":\"fake\"","refresh_token":"real"}`, "real"},
		{`{"refresh_token":"a\/b\u0041"}`, "a/bA"},
		{`{"access_token":"a"}`, ""},
		{`not json`, ""},
	} {
		if got := string(refreshToken([]byte(c.body))); got != c.want {
			t.Errorf("refreshToken(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

func TestAppendQueryEscape(t *testing.T) {
	for _, s := range []string{"", "abc-._~XYZ019", "a+b/c=d e&f", "ü"} {
		if got := string(appendQueryEscape([]byte("p="), []byte(s))); got != "p="+url.QueryEscape(s) {
			t.Errorf("appendQueryEscape(%q) = %q", s, got)
		}
	}
}
