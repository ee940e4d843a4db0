package odata

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// validFilters maps filters to their canonical Format. They also seed
// FuzzParseFilter.
var validFilters = []struct{ name, in, want string }{
	// Forms from the Graph reference (§3.1–3.2) and Graph's filter docs.
	{"ne bool", "accountEnabled ne true", "accountEnabled ne true"},
	{"startsWith", "startsWith(displayName,'a')", "startsWith(displayName, 'a')"},
	{"eq string", "department eq 'HP'", "department eq 'HP'"},
	{"in", "id in ('a','b')", "id in ('a', 'b')"},
	{"eq null", "mail eq null", "mail eq null"},
	{"ne null", "mail ne null", "mail ne null"},
	{"lambda with function", "proxyAddresses/any(x:startswith(x,'smtp:'))", "proxyAddresses/any(x: startsWith(x, 'smtp:'))"},
	{"lambda with path", "targetResources/any(t: t/id eq '8c1d4b3e-0000-4000-8000-000000000001')", "targetResources/any(t: t/id eq '8c1d4b3e-0000-4000-8000-000000000001')"},
	{"datetime", "activityDateTime ge 2024-01-01T00:00:00Z", "activityDateTime ge 2024-01-01T00:00:00Z"},
	{"property path", "initiatedBy/user/id eq 'abc'", "initiatedBy/user/id eq 'abc'"},
	{"count", "assignedLicenses/$count eq 0", "assignedLicenses/$count eq 0"},
	{"displayName eq", "displayName eq 'Megan Bowen'", "displayName eq 'Megan Bowen'"},

	// Keywords, functions and spacing.
	{"keywords any case", "accountEnabled EQ TRUE And Not mail Eq NULL", "accountEnabled eq true and not (mail eq null)"},
	{"startswith lower", "startswith(displayName, 'a')", "startsWith(displayName, 'a')"},
	{"STARTSWITH upper", "STARTSWITH(displayName,'a')", "startsWith(displayName, 'a')"},
	{"endsWith", "endsWith(mail,'@contoso.com')", "endsWith(mail, '@contoso.com')"},
	{"contains", "contains(displayName,'ada')", "contains(displayName, 'ada')"},
	{"count any case", "assignedLicenses/$COUNT ge 1", "assignedLicenses/$count ge 1"},
	{"spaces everywhere", " \tstartsWith ( displayName , 'a' ) and a/any ( x : x eq 1 ) ", "startsWith(displayName, 'a') and a/any(x: x eq 1)"},
	{"no spaces in lists", "n in (1,2,3)", "n in (1, 2, 3)"},
	{"in single value", "id in ('a')", "id in ('a')"},
	{"all comparisons", "a eq 1 and b ne 2 and c gt 3 and d ge 4 and e lt 5 and f le 6", "a eq 1 and b ne 2 and c gt 3 and d ge 4 and e lt 5 and f le 6"},

	// Precedence: or < and < not < comparison.
	{"and binds tighter than or", "a eq 1 or b eq 2 and c eq 3", "a eq 1 or b eq 2 and c eq 3"},
	{"parens override precedence", "(a eq 1 or b eq 2) and c eq 3", "(a eq 1 or b eq 2) and c eq 3"},
	{"redundant parens dropped", "((a eq 1)) and ((b eq 2))", "a eq 1 and b eq 2"},
	{"right-nested and kept", "a eq 1 and (b eq 2 and c eq 3)", "a eq 1 and (b eq 2 and c eq 3)"},
	{"right-nested or kept", "a eq 1 or (b eq 2 or c eq 3)", "a eq 1 or (b eq 2 or c eq 3)"},
	{"left-nested and flattened", "(a eq 1 and b eq 2) and c eq 3", "a eq 1 and b eq 2 and c eq 3"},
	{"not binds a comparison", "not a eq 1 and b eq 2", "not (a eq 1) and b eq 2"},
	{"not call form", "not(a eq 1)", "not (a eq 1)"},
	{"not of group", "not (a eq 1 or b eq 2)", "not (a eq 1 or b eq 2)"},
	{"not startsWith", "not startsWith(displayName,'a')", "not startsWith(displayName, 'a')"},
	{"not lambda", "not a/any(x: x eq 'v')", "not a/any(x: x eq 'v')"},
	{"double not", "not not a eq 1", "not (not (a eq 1))"},

	// Lambdas.
	{"lambda nested", "a/any(x: x/b/any(y: y eq 1))", "a/any(x: x/b/any(y: y eq 1))"},
	{"lambda compound", "a/any(x: x/b eq 1 and not (x/c in ('p','q')))", "a/any(x: x/b eq 1 and not (x/c in ('p', 'q')))"},
	{"lambda shadowing", "a/any(x: x/b/any(x: x eq 1))", "a/any(x: x/b/any(x: x eq 1))"},
	{"lambda count", "a/any(t: t/members/$count gt 2)", "a/any(t: t/members/$count gt 2)"},
	{"lambda over path", "a/b/any(x: x eq 1)", "a/b/any(x: x eq 1)"},
	{"property named any", "a/any eq 1", "a/any eq 1"},

	// Literals.
	{"string escape", "displayName eq 'O''Brien'", "displayName eq 'O''Brien'"},
	{"empty string", "displayName eq ''", "displayName eq ''"},
	{"only quotes", "displayName eq ''''", "displayName eq ''''"},
	{"unicode string", "displayName eq 'Zoë 日本'", "displayName eq 'Zoë 日本'"},
	{"false", "accountEnabled eq false", "accountEnabled eq false"},
	{"negative int", "n gt -5", "n gt -5"},
	{"leading zeros", "n eq 007", "n eq 7"},
	{"float", "n le 1.5", "n le 1.5"},
	{"float exponent", "n le 2E-3", "n le 0.002"},
	{"float big exponent", "n le 1.5e+300", "n le 1.5e+300"},
	{"integral float stays float", "n eq 3.0", "n eq 3.0"},
	{"datetime fraction and offset", "d lt 2024-01-02T03:04:05.678-05:30", "d lt 2024-01-02T03:04:05.678-05:30"},
	{"datetime without seconds", "d lt 2024-01-02T03:04Z", "d lt 2024-01-02T03:04:00Z"},
	{"datetime in list", "d in (2024-01-02T03:04:05Z, 2025-01-02T03:04:05+01:00)", "d in (2024-01-02T03:04:05Z, 2025-01-02T03:04:05+01:00)"},
	{"guid", "id eq 8c1d4b3e-0000-4000-8000-00000000000a", "id eq 8c1d4b3e-0000-4000-8000-00000000000a"},
	{"guid upper and digits first", "id in (12345678-ABCD-4000-8000-00000000000A, abcdef01-0000-4000-8000-000000000000)", "id in (12345678-ABCD-4000-8000-00000000000A, abcdef01-0000-4000-8000-000000000000)"},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range validFilters {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseFilter(tc.in)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.in, err)
			}
			if got := Format(e); got != tc.want {
				t.Errorf("Format(ParseFilter(%q))\n got %s\nwant %s", tc.in, got, tc.want)
			}
		})
	}
}

func lit(k LiteralKind, v any, p int) Literal { return Literal{Kind: k, Value: v, P: p} }

// TestParseFilterAST pins the exact tree, positions included.
func TestParseFilterAST(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Expr
	}{
		{"compare", "accountEnabled ne true", &Compare{Prop: "accountEnabled", Op: OpNe, Value: lit(LitBool, true, 18)}},
		{"or of and", "a eq 1 or b eq 'x' and c eq null", &Or{
			Left: &Compare{Prop: "a", Op: OpEq, Value: lit(LitInt, int64(1), 5)},
			Right: &And{
				Left:  &Compare{Prop: "b", Op: OpEq, Value: lit(LitString, "x", 15), P: 10},
				Right: &Compare{Prop: "c", Op: OpEq, Value: lit(LitNull, nil, 28), P: 23},
				P:     10,
			},
		}},
		{"left associative and", "a eq 1 and b eq 2 and c eq 3", &And{
			Left: &And{
				Left:  &Compare{Prop: "a", Op: OpEq, Value: lit(LitInt, int64(1), 5)},
				Right: &Compare{Prop: "b", Op: OpEq, Value: lit(LitInt, int64(2), 16), P: 11},
			},
			Right: &Compare{Prop: "c", Op: OpEq, Value: lit(LitInt, int64(3), 27), P: 22},
		}},
		{"not function", "not startswith(displayName,'a')", &Not{
			X: &Func{Name: FuncStartsWith, Prop: "displayName", Value: lit(LitString, "a", 27), P: 4},
		}},
		{"in", "id in ('a', 8c1d4b3e-0000-4000-8000-00000000000a)", &In{Prop: "id", Values: []Literal{
			lit(LitString, "a", 7), lit(LitGUID, "8c1d4b3e-0000-4000-8000-00000000000a", 12),
		}}},
		{"lambda relative paths", "targetResources/any(t: t/id eq 'u' or startsWith(t/displayName,'x'))", &Any{
			Prop: "targetResources", Var: "t",
			Pred: &Or{
				Left:  &Compare{Prop: "id", Op: OpEq, Value: lit(LitString, "u", 31), P: 23},
				Right: &Func{Name: FuncStartsWith, Prop: "displayName", Value: lit(LitString, "x", 63), P: 38},
				P:     23,
			},
		}},
		{"lambda bare variable", "proxyAddresses/any(x: x eq 'smtp:a@b')", &Any{
			Prop: "proxyAddresses", Var: "x",
			Pred: &Compare{Prop: "", Op: OpEq, Value: lit(LitString, "smtp:a@b", 27), P: 22},
		}},
		{"count", "assignedLicenses/$count eq 0", &Compare{Prop: "assignedLicenses/$count", Op: OpEq, Value: lit(LitInt, int64(0), 27)}},
		{"datetime", "d ge 2024-01-02T03:04:05.5+02:00", &Compare{Prop: "d", Op: OpGe,
			Value: lit(LitDateTime, time.Date(2024, 1, 2, 3, 4, 5, 5e8, time.FixedZone("", 7200)), 5)}},
		{"float", "n lt -2.5e1", &Compare{Prop: "n", Op: OpLt, Value: lit(LitFloat, -25.0, 5)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFilter(tc.in)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.in, err)
			}
			// time.Time carries a *Location; compare instants and offsets.
			normalizeTimes(got)
			normalizeTimes(tc.want)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseFilter(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
		})
	}
}

// literals returns pointers to every literal in e.
func literals(e Expr) []*Literal {
	var out []*Literal
	_ = Walk(e, func(e Expr) error {
		switch e := e.(type) {
		case *Compare:
			out = append(out, &e.Value)
		case *Func:
			out = append(out, &e.Value)
		case *In:
			for i := range e.Values {
				out = append(out, &e.Values[i])
			}
		}
		return nil
	})
	return out
}

// normalizeTimes replaces DateTimeOffset values by their RFC 3339 text, which
// keeps the instant and the offset but not the *Location pointer.
func normalizeTimes(e Expr) {
	for _, l := range literals(e) {
		if v, ok := l.Value.(time.Time); ok {
			l.Value = v.Format(time.RFC3339Nano)
		}
	}
}

// invalidFilters lists bad filters with the position and message expected.
// They also seed FuzzParseFilter.
var invalidFilters = []struct {
	name, in    string
	pos         int
	msg         string
	unsupported bool
}{
	{"empty", "", 0, "expected a property, a function or '(' but found end of input", false},
	{"blank", "   ", 3, "found end of input", false},
	{"missing value", "a eq", 4, "expected a literal value but found end of input", false},
	{"missing operator", "a", 1, "expected a comparison operator or 'in' after 'a' but found end of input", false},
	{"unknown operator", "a has 1", 2, "expected a comparison operator or 'in' after 'a' but found 'has'", false},
	{"bare boolean property", "accountEnabled and a eq 1", 15, "after 'accountEnabled' but found 'and'", false},
	{"unclosed paren", "(a eq 1", 7, "expected ')' but found end of input", false},
	{"stray close paren", "a eq 1)", 6, "expected 'and', 'or' or end of input but found ')'", false},
	{"juxtaposed", "a eq 1 b eq 2", 7, "expected 'and', 'or' or end of input but found 'b'", false},
	{"trailing and", "a eq 1 and", 10, "expected a property, a function or '(' but found end of input", false},
	{"not at end", "not", 3, "found end of input", false},
	{"not group unclosed", "not (a eq 1", 11, "expected ')' but found end of input", false},
	{"literal on the left", "'x' eq a", 0, "expected a property, a function or '(' but found string literal 'x'", false},
	{"true alone", "true", 0, "found 'true'", false},
	{"property on the right", "a eq b", 5, "expected a literal value but found 'b'", false},
	{"null with gt", "a gt null", 5, "null can only be compared with 'eq' or 'ne'", false},
	{"null in list", "a in ('x', null)", 11, "null is not allowed in an 'in' list", false},
	{"empty in list", "a in ()", 6, "expected a literal value but found ')'", false},
	{"in without parens", "a in 'x'", 5, "expected '(' after 'in' but found string literal 'x'", false},
	{"in missing comma", "a in ('x' 'y')", 10, "expected ',' or ')' but found string literal 'y'", false},
	{"in unclosed", "a in ('x'", 9, "expected ',' or ')' but found end of input", false},
	{"unsupported function", "tolower(a) eq 'x'", 0, "function 'tolower' is not supported", true},
	{"function with number", "startsWith(a, 1)", 14, "expected a string literal as the second argument of startsWith but found '1'", false},
	{"function missing comma", "startsWith(a 'x')", 13, "expected ',' but found string literal 'x'", false},
	{"function literal first", "startsWith('x', a)", 11, "expected a property as the first argument of startsWith", false},
	{"function unclosed", "endswith(mail,'x'", 17, "expected ')' but found end of input", false},
	{"function with count path", "contains(a/$count,'x')", 11, "expected a property name after '/' but found '$count'", false},
	{"all lambda", "a/all(x: x eq 1)", 2, "the 'all' lambda operator is not supported", true},
	{"any without predicate", "a/any()", 6, "any() without a lambda expression is not supported", true},
	{"lambda missing colon", "a/any(x x eq 1)", 8, "expected ':' after the lambda variable but found 'x'", false},
	{"lambda keyword variable", "a/any(eq: eq eq 1)", 6, "expected a lambda variable name but found 'eq'", false},
	{"lambda wrong variable", "a/any(x: y eq 1)", 9, "expected a path starting with the lambda variable 'x' but found 'y'", false},
	{"lambda outer property", "a/any(x: displayName eq 'v')", 9, "lambda variable 'x' but found 'displayName'", false},
	{"lambda outer variable", "a/any(x: x/b/any(y: x eq 1))", 20, "lambda variable 'y' but found 'x'", false},
	{"lambda unclosed", "a/any(x: x eq 1", 15, "expected ')' but found end of input", false},
	{"count first", "$count eq 1", 0, "expected a property name but found '$count'", false},
	{"count on lambda variable", "a/any(x: x/$count eq 1)", 11, "$count must follow a collection property", false},
	{"count with string", "a/$count eq 'x'", 12, "$count must be compared with an integer", false},
	{"count with in", "a/$count in (1)", 9, "after 'a/$count' but found 'in'", false},
	{"other dollar segment", "a/$value eq 1", 2, "expected a property name after '/' but found '$value'", false},
	{"space before slash", "a /b eq 1", 2, "a property path cannot have spaces around '/'", false},
	{"space after slash", "a/ any(x: x eq 1)", 1, "a property path cannot have spaces around '/'", false},
	{"trailing slash", "a/", 2, "expected a property name after '/' but found end of input", false},
	{"date without time", "d ge 2024-01-02", 5, "invalid DateTimeOffset literal '2024-01-02'", false},
	{"bad month", "d ge 2024-13-01T00:00:00Z", 5, "invalid DateTimeOffset literal", false},
	{"datetime without zone", "d ge 2024-01-01T00:00:00", 5, "invalid DateTimeOffset literal", false},
	{"number with letters", "a eq 12abc", 5, "invalid number literal '12abc'", false},
	{"number with trailing dot", "a eq 1.", 5, "invalid number literal '1.'", false},
	{"integer overflow", "a eq 99999999999999999999", 5, "integer literal '99999999999999999999' is out of range", false},
	{"float overflow", "a eq 1e999", 5, "number literal '1e999' is out of range", false},
	{"partial guid", "id eq 8c1d4b3e-0000", 6, "invalid number literal '8c1d4b3e-0000'", false},
	{"unterminated string", "a eq 'abc", 5, "unterminated string literal", false},
	{"double quotes", `a eq "x"`, 5, `unexpected character '"' (string literals use single quotes)`, false},
	{"stray character", "a eq 1 & b eq 2", 7, "unexpected character '&'", false},
	{"lone minus", "a eq -x", 5, "unexpected character '-'", false},
	{"invalid UTF-8", "a eq '\xff'", 6, "invalid UTF-8 byte 0xff", false},
	{"syntax error before lexical error", "a eq 1) 'open", 6, "found ')'", false},
	{"long token clipped", "a eq 1 " + strings.Repeat("x", 60), 7, "found '" + strings.Repeat("x", 40) + "…'", false},
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range invalidFilters {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseFilter(tc.in)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %s, want an error", tc.in, Format(e))
			}
			checkError(t, err, "$filter", tc.pos, tc.msg, tc.unsupported)
		})
	}
}

// checkError asserts err is an *Error for option at pos whose message
// contains msg, wrapping ErrUnsupported exactly when unsupported is set.
func checkError(t *testing.T, err error, option string, pos int, msg string, unsupported bool) {
	t.Helper()
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if oe.Option != option || oe.Pos != pos || !strings.Contains(oe.Msg, msg) {
		t.Errorf("got %s %d %q\nwant %s %d containing %q", oe.Option, oe.Pos, oe.Msg, option, pos, msg)
	}
	if got := errors.Is(err, ErrUnsupported); got != unsupported {
		t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v (%v)", got, unsupported, err)
	}
}

func TestParseFilterLimits(t *testing.T) {
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + "a eq 1" + strings.Repeat(close, n)
	}
	lambdas := func(n int) string {
		s := "x eq 1"
		for i := 0; i < n; i++ {
			s = "x/c/any(x: " + s + ")"
		}
		return strings.Replace(s, "x/c/any", "c/any", 1)
	}
	longString := func(n int) string { return "a eq '" + strings.Repeat("z", n-len("a eq ''")) + "'" }
	tests := []struct {
		name string
		in   string
		pos  int // -1: valid
		msg  string
	}{
		{"parens at limit", nest("(", ")", MaxFilterDepth), -1, ""},
		{"parens over limit", nest("(", ")", MaxFilterDepth+1), MaxFilterDepth, "nested more than 100 levels deep"},
		{"not at limit", nest("not ", "", MaxFilterDepth), -1, ""},
		{"not over limit", nest("not ", "", MaxFilterDepth+1), 4 * MaxFilterDepth, "nested more than 100 levels deep"},
		{"not( counts once", nest("not (", ")", MaxFilterDepth), -1, ""},
		{"lambdas at limit", lambdas(MaxFilterDepth), -1, ""},
		{"lambdas over limit", lambdas(MaxFilterDepth + 1), -2, "nested more than 100 levels deep"},
		{"length at limit", longString(MaxOptionLength), -1, ""},
		{"length over limit", longString(MaxOptionLength + 1), MaxOptionLength, "longer than 8192 bytes"},
		{"long and chain", strings.Repeat("a eq 1 and ", 700) + "a eq 1", -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseFilter(tc.in)
			switch {
			case tc.pos == -1:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if again, err := ParseFilter(Format(e)); err != nil || Format(again) != Format(e) {
					t.Errorf("canonical form does not round-trip: %v", err)
				}
			case tc.pos == -2: // position inside generated text: check the message only
				var oe *Error
				if !errors.As(err, &oe) || !strings.Contains(oe.Msg, tc.msg) || tc.in[oe.Pos:oe.Pos+5] != "any(x" {
					t.Errorf("got %v, want %q at an any(", err, tc.msg)
				}
			default:
				checkError(t, err, "$filter", tc.pos, tc.msg, false)
			}
		})
	}
}

func TestWalk(t *testing.T) {
	e, err := ParseFilter("not a eq 1 and (b/any(x: x eq 2 or startsWith(x,'c')) or d in (1, 2))")
	if err != nil {
		t.Fatal(err)
	}
	var visited []string
	err = Walk(e, func(e Expr) error {
		visited = append(visited, reflect.TypeOf(e).Elem().Name())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "And Not Compare Or Any Or Compare Func In"
	if got := strings.Join(visited, " "); got != want {
		t.Errorf("Walk order\n got %s\nwant %s", got, want)
	}

	stop := errors.New("stop")
	n := 0
	err = Walk(e, func(e Expr) error {
		n++
		if _, ok := e.(*Any); ok {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("Walk after error: err %v after %d visits, want stop after 5", err, n)
	}
	if err := Walk(nil, func(Expr) error { return stop }); err != nil {
		t.Errorf("Walk(nil) = %v", err)
	}
}

func TestStringMethods(t *testing.T) {
	e, err := ParseFilter("a eq 1 or not b/any(x: contains(x,'y') and x ne 'z''s')")
	if err != nil {
		t.Fatal(err)
	}
	or := e.(*Or)
	not := or.Right.(*Not)
	any := not.X.(*Any)
	and := any.Pred.(*And)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Or", or.String(), "a eq 1 or not b/any(x: contains(x, 'y') and x ne 'z''s')"},
		{"Compare", or.Left.(*Compare).String(), "a eq 1"},
		{"Not", not.String(), "not b/any(x: contains(x, 'y') and x ne 'z''s')"},
		// Outside its lambda the bare variable shows as $it.
		{"And in lambda", and.String(), "contains($it, 'y') and $it ne 'z''s'"},
		{"Literal", and.Right.(*Compare).Value.String(), "'z''s'"},
		{"In", (&In{Prop: "n", Values: []Literal{lit(LitInt, int64(1), 0)}}).String(), "n in (1)"},
		{"Format nil", Format(nil), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func BenchmarkParseFilter(b *testing.B) {
	const filter = "startsWith(displayName,'Adele') and accountEnabled eq true and " +
		"createdDateTime ge 2024-01-01T00:00:00Z and proxyAddresses/any(x:startswith(x,'smtp:adele')) and " +
		"id in ('8c1d4b3e-0000-4000-8000-000000000001','8c1d4b3e-0000-4000-8000-000000000002')"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(filter); err != nil {
			b.Fatal(err)
		}
	}
}
