package odata

import "testing"

func TestCanonicalGUID(t *testing.T) {
	for in, want := range map[string]string{
		"0000000A-0000-4000-8000-00000000000B":   "0000000a-0000-4000-8000-00000000000b",
		"{0000000A-0000-4000-8000-00000000000B}": "{0000000A-0000-4000-8000-00000000000B}", // not Vigil's form: as written
		"Not-A-Guid":                             "Not-A-Guid",
		"Ada@Contoso.com":                        "Ada@Contoso.com",
	} {
		if got := CanonicalGUID(in); got != want {
			t.Errorf("CanonicalGUID(%q) = %q, want %q", in, got, want)
		}
	}
}
