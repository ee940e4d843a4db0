package sqlstore

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-idp/vigil/internal/odata"
)

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF", "", false},
		{"", "", false},
		{"\uD7FF", "\uE000", true}, // skips the surrogates
		{"é", "ê", true},
	} {
		got, ok := prefixEnd(c.in)
		if got != c.want || ok != c.ok || !utf8.ValidString(got) {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	if got, want := escapeLike(`50%_off\now`), `50\%\_off\\now`; got != want {
		t.Errorf("escapeLike = %q, want %q", got, want)
	}
}

// TestCompileHandBuiltASTs covers trees the parser never produces but the
// AST allows: errors carry the offending node's position.
func TestCompileHandBuiltASTs(t *testing.T) {
	str := func(s string, p int) odata.Literal { return odata.Literal{Kind: odata.LitString, Value: s, P: p} }
	cases := []struct {
		name        string
		expr        odata.Expr
		pos         int
		unsupported bool
	}{
		{"null in an in list", &odata.In{Prop: "department", Values: []odata.Literal{{Kind: odata.LitNull, P: 17}}, P: 0}, 17, false},
		{"nested any", &odata.Any{Prop: "businessPhones", Var: "p", P: 3, Pred: &odata.Any{Prop: "", Var: "q", P: 25}}, 25, true},
		{"outer property inside any", &odata.Any{Prop: "businessPhones", Var: "p", Pred: &odata.Compare{Prop: "mail", Op: odata.OpEq, Value: str("x", 40), P: 30}}, 30, true},
		{"unknown function", &odata.Func{Name: "matchesPattern", Prop: "mail", Value: str("x", 9), P: 4}, 4, true},
		{"unknown operator", &odata.Compare{Prop: "mail", Op: "has", Value: str("x", 9), P: 6}, 6, true},
		{"invalid UTF-8 prefix", &odata.Func{Name: odata.FuncStartsWith, Prop: "mobilePhone", Value: str("\xff", 21), P: 0}, 21, false},
		{"empty in list", &odata.In{Prop: "department"}, -1, false},
	}
	for _, c := range cases {
		b := sqlBuilder{d: sqliteDialect}
		comp := compiler{d: sqliteDialect, b: &b, props: users.props}
		err := comp.where(c.expr, nil)
		if c.pos < 0 {
			if err != nil || !strings.Contains(b.String(), "FALSE") {
				t.Errorf("%s: %v, %q", c.name, err, b.String())
			}
			continue
		}
		var oe *odata.Error
		if !errors.As(err, &oe) || oe.Pos != c.pos || oe.Option != "$filter" || errors.Is(err, odata.ErrUnsupported) != c.unsupported {
			t.Errorf("%s: error %#v, want an *odata.Error at %d (unsupported %v)", c.name, err, c.pos, c.unsupported)
		}
	}
}
