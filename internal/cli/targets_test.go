package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/odata"
)

func TestParseTarget(t *testing.T) {
	const id = "0f9522f6-115f-4565-a5d1-adb371bd3109"
	tests := []struct {
		name, line string
		want       target
		skip       bool
		err        string
	}{
		{name: "id", line: id, want: target{ID: id}},
		{name: "id upper case", line: strings.ToUpper(id), want: target{ID: id}},
		{name: "id with spaces and CR", line: "  " + id + " \r", want: target{ID: id}},
		{name: "upn", line: "ada@vigil.local", want: target{UPN: "ada@vigil.local"}},
		{name: "guest upn", line: "ada_contoso.com#EXT#@vigil.onmicrosoft.com", want: target{UPN: "ada_contoso.com#EXT#@vigil.onmicrosoft.com"}},
		{name: "upn with apostrophe", line: "o'brien@vigil.local", want: target{UPN: "o'brien@vigil.local"}},
		{name: "jsonl from users list", line: `{"businessPhones":[],"displayName":"Ada","userPrincipalName":"ada@vigil.local","id":"` + id + `"}`,
			want: target{ID: id, UPN: "ada@vigil.local"}},
		{name: "json id only", line: `{"id":"` + id + `"}`, want: target{ID: id}},
		{name: "json upn only", line: `{"userPrincipalName":"ada@vigil.local","id":null}`, want: target{UPN: "ada@vigil.local"}},
		{name: "revoke output", line: `{"id":"` + id + `","userPrincipalName":"ada@vigil.local","revoked":true,"validFrom":"2025-01-01T00:00:00Z"}`,
			want: target{ID: id, UPN: "ada@vigil.local"}},
		{name: "blank", line: "   ", skip: true},
		{name: "comment", line: "# HP department", skip: true},
		{name: "table row", line: id + "  Ada  ada@vigil.local", err: "not a user id"},
		{name: "word", line: "ada", err: "not a user id"},
		{name: "bare at", line: "@vigil.local", err: "not a user id"},
		{name: "json array", line: `["` + id + `"]`, err: "JSON array"},
		{name: "bad json", line: `{"id":`, err: "bad JSON"},
		{name: "two json values", line: `{"id":"` + id + `"} {}`, err: "more than one"},
		{name: "json without keys", line: `{"displayName":"Ada"}`, err: "without"},
		{name: "json id not a guid", line: `{"id":"ada"}`, err: "not a user object id"},
		{name: "json id not a string", line: `{"id":42}`, err: "not a string"},
		{name: "json upn invalid", line: `{"userPrincipalName":"a b@c"}`, err: "not a user principal name"},
		{name: "invalid utf-8", line: "ada\xff@vigil.local", err: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := parseTarget(tt.line)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseTarget(%q) error = %v, want %q", tt.line, err, tt.err)
				}
			case err != nil:
				t.Fatalf("parseTarget(%q): %v", tt.line, err)
			case ok == tt.skip:
				t.Fatalf("parseTarget(%q) ok = %v, want %v", tt.line, ok, !tt.skip)
			case got != tt.want:
				t.Fatalf("parseTarget(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestReadTargets(t *testing.T) {
	const a, b = "0f9522f6-115f-4565-a5d1-adb371bd3109", "1f9522f6-115f-4565-a5d1-adb371bd3109"
	in := "\ufeff" + a + "\r\n\n# comment\nada@vigil.local\n" + strings.ToUpper(a) + "\nADA@vigil.local\n" +
		`{"id":"` + b + `","userPrincipalName":"bob@vigil.local"}` + "\n"
	got, err := readTargets(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []target{{ID: a, Line: 1}, {UPN: "ada@vigil.local", Line: 4}, {ID: b, UPN: "bob@vigil.local", Line: 7}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	t.Run("bad line is a usage error naming the line", func(t *testing.T) {
		_, err := readTargets(strings.NewReader(a + "\nnot-a-user\n"))
		if KindOf(err) != KindUsage || !strings.Contains(err.Error(), "stdin line 2") {
			t.Fatalf("err = %v (kind %d)", err, KindOf(err))
		}
	})
	t.Run("line too long", func(t *testing.T) {
		_, err := readTargets(strings.NewReader(strings.Repeat("x", maxTargetLine+1)))
		if KindOf(err) != KindUsage || !strings.Contains(err.Error(), "longer than") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		got, err := readTargets(strings.NewReader("\n# nothing\n"))
		if err != nil || len(got) != 0 {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}

func TestArgTargets(t *testing.T) {
	got, err := argTargets([]string{"ada@vigil.local", "ADA@VIGIL.LOCAL", "0f9522f6-115f-4565-a5d1-adb371bd3109"})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := argTargets([]string{"ada"}); KindOf(err) != KindUsage {
		t.Fatalf("argTargets(ada) = %v, want a usage error", err)
	}
}

// FuzzParseTarget: any line either parses to a well-formed target (a
// lower-case GUID and/or a UPN, which round-trips through its printed
// forms), is skipped, or is refused with errTargetLine or a message — and
// the parser never panics.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"0f9522f6-115f-4565-a5d1-adb371bd3109", "ada@vigil.local", "# c", "", `{"id":"0f9522f6-115f-4565-a5d1-adb371bd3109"}`,
		`{"userPrincipalName":"ada@vigil.local","id":null}`, `[1]`, `{"id":1}`, "a@b@c", "\ufeffada@x", "o'brien@x.y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tg, ok, err := parseTarget(line)
		if err != nil {
			if strings.HasPrefix(strings.TrimSpace(line), "{") || strings.HasPrefix(strings.TrimSpace(line), "[") {
				return
			}
			if !errors.Is(err, errTargetLine) && !strings.Contains(err.Error(), "UTF-8") {
				t.Fatalf("%q: plain line refused with %v", line, err)
			}
			if ok || tg != (target{}) {
				t.Fatalf("error %v with a target %+v", err, tg)
			}
			return
		}
		if !ok {
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				t.Fatalf("%q skipped", line)
			}
			return
		}
		if tg.ID == "" && tg.UPN == "" {
			t.Fatalf("%q: empty target", line)
		}
		if tg.ID != "" && (!odata.IsGUID(tg.ID) || tg.ID != strings.ToLower(tg.ID)) {
			t.Fatalf("%q: bad id %q", line, tg.ID)
		}
		if tg.UPN != "" && !isUPN(tg.UPN) {
			t.Fatalf("%q: bad UPN %q", line, tg.UPN)
		}
		// What -o ids and -o jsonl print for it parses back the same.
		for _, printed := range []string{tg.ID, tg.UPN} {
			if printed == "" {
				continue
			}
			back, ok, err := parseTarget(printed)
			if err != nil || !ok || (back.ID != tg.ID && back.UPN != tg.UPN) {
				t.Fatalf("%q printed as %q parses to %+v, %v, %v", line, printed, back, ok, err)
			}
		}
	})
}
