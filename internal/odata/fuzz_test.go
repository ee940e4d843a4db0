package odata

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkFuzzError asserts the error contract every parser shares: an *Error
// for option whose Pos lies within the input.
func checkFuzzError(t *testing.T, err error, option, in string) {
	t.Helper()
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("%q: error %v (%T) is not an *Error", in, err, err)
	}
	if oe.Option != option || oe.Pos < 0 || oe.Pos > len(in) || oe.Msg == "" {
		t.Fatalf("%q: bad error %#v", in, oe)
	}
}

// stripPositions zeroes every position in e and replaces DateTimeOffset
// values by their text, so trees parsed from different texts compare.
func stripPositions(e Expr) {
	normalizeTimes(e)
	for _, l := range literals(e) {
		l.P = 0
	}
	_ = Walk(e, func(e Expr) error {
		switch e := e.(type) {
		case *And:
			e.P = 0
		case *Or:
			e.P = 0
		case *Not:
			e.P = 0
		case *Compare:
			e.P = 0
		case *In:
			e.P = 0
		case *Func:
			e.P = 0
		case *Any:
			e.P = 0
		}
		return nil
	})
}

func FuzzParseFilter(f *testing.F) {
	for _, tc := range validFilters {
		f.Add(tc.in)
	}
	for _, tc := range invalidFilters {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := ParseFilter(in)
		if err != nil {
			checkFuzzError(t, err, "$filter", in)
			if e != nil {
				t.Fatalf("%q: non-nil Expr with error", in)
			}
			return
		}
		// The schema check keeps the error contract on any tree it is given.
		for _, s := range []Schema{testUsers, testAudits} {
			fresh, _ := ParseFilter(in)
			if _, err := s.CheckFilter(fresh); err != nil {
				checkFuzzError(t, err, "$filter", in)
			}
		}
		canon := Format(e)
		if len(canon) > MaxOptionLength {
			return // Format may add spaces, so a near-limit input may not re-parse
		}
		again, err := ParseFilter(canon)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", in, canon, err)
		}
		if Format(again) != canon {
			t.Fatalf("%q: Format is not stable: %q then %q", in, canon, Format(again))
		}
		stripPositions(e)
		stripPositions(again)
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("%q: round trip through %q changed the tree\n got %#v\nwant %#v", in, canon, again, e)
		}
	})
}

func FuzzParseOrderBy(f *testing.F) {
	for _, tc := range validOrderBy {
		f.Add(tc.in)
	}
	for _, tc := range invalidOrderBy {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		o, err := ParseOrderBy(in)
		if err != nil {
			checkFuzzError(t, err, "$orderby", in)
			return
		}
		var b strings.Builder
		for i, ob := range o {
			if ob.P < 0 || !strings.HasPrefix(in[ob.P:], strings.Split(ob.Prop, "/")[0]) {
				t.Fatalf("%q: key %+v does not point at its property", in, ob)
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ob.Prop)
			if ob.Desc {
				b.WriteString(" desc")
			}
		}
		again, err := ParseOrderBy(b.String())
		if err != nil || len(again) != len(o) {
			t.Fatalf("%q: %q does not round-trip: %v", in, b.String(), err)
		}
		for i := range o {
			if again[i].Prop != o[i].Prop || again[i].Desc != o[i].Desc {
				t.Fatalf("%q: round trip changed key %d: %+v → %+v", in, i, o[i], again[i])
			}
		}
	})
}

func FuzzParseSelect(f *testing.F) {
	for _, s := range []string{"id", "id,displayName", " id , mail ", "", "id,", "a/b", "*", "$count"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		props, err := ParseSelect(in)
		if err != nil {
			checkFuzzError(t, err, "$select", in)
			return
		}
		for _, p := range props {
			if !isIdent(p) {
				t.Fatalf("%q: %q is not an identifier", in, p)
			}
		}
		if again, err := ParseSelect(strings.Join(props, ",")); err != nil || !reflect.DeepEqual(again, props) {
			t.Fatalf("%q: round trip gave %q, %v", in, again, err)
		}
		if err := testUsers.CheckSelect(props); err != nil {
			checkFuzzError(t, err, "$select", strings.Join(props, ","))
		}
	})
}

// formatSearch renders terms as a $search value.
func formatSearch(terms []SearchTerm) string {
	var b strings.Builder
	for i, term := range terms {
		switch {
		case i == 0:
		case term.Or:
			b.WriteString(" OR ")
		default:
			b.WriteString(" AND ")
		}
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(term.Value)
		b.WriteString(`"` + term.Prop + ":" + v + `"`)
	}
	return b.String()
}

func FuzzParseSearch(f *testing.F) {
	for _, tc := range validSearch {
		f.Add(tc.in)
	}
	for _, tc := range invalidSearch {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		terms, err := ParseSearch(in)
		if err != nil {
			checkFuzzError(t, err, "$search", in)
			return
		}
		for _, term := range terms {
			if !strings.HasPrefix(in[term.P:], term.Prop+":") || term.Value == "" {
				t.Fatalf("%q: bad term %+v", in, term)
			}
		}
		again, err := ParseSearch(formatSearch(terms))
		if err != nil || len(again) != len(terms) {
			t.Fatalf("%q: %q does not round-trip: %v", in, formatSearch(terms), err)
		}
		for i := range terms {
			again[i].P = terms[i].P
		}
		if !reflect.DeepEqual(again, terms) {
			t.Fatalf("%q: round trip changed the terms\n got %+v\nwant %+v", in, again, terms)
		}
		if err := testUsers.CheckSearch(terms); err != nil {
			checkFuzzError(t, err, "$search", in)
		}
	})
}

func FuzzParseTop(f *testing.F) {
	for _, s := range []string{"1", "999", "1000", "0", "-1", "", "007", "99999999999999999999"} {
		f.Add(s, 999)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		n, err := ParseTop(in, max)
		if err != nil {
			checkFuzzError(t, err, "$top", in)
			return
		}
		if n < 1 || n > max {
			t.Fatalf("ParseTop(%q, %d) = %d", in, max, n)
		}
	})
}
