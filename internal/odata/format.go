package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format renders e as canonical $filter text: keywords in lower case,
// functions spelled as Graph documents them (startsWith), one space around
// operators, only the parentheses the precedence needs (plus one pair
// around the operand of `not` unless it is a function or a lambda), and
// lambda paths prefixed with their variable again. ParseFilter(Format(e))
// yields e back, apart from positions. A nil e formats as "".
func Format(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e, "")
	return b.String()
}

// String returns Format(e).
func (e *And) String() string { return Format(e) }

// String returns Format(e).
func (e *Or) String() string { return Format(e) }

// String returns Format(e).
func (e *Not) String() string { return Format(e) }

// String returns Format(e). Inside a lambda predicate, the bare variable
// shows as $it.
func (e *Compare) String() string { return Format(e) }

// String returns Format(e).
func (e *In) String() string { return Format(e) }

// String returns Format(e).
func (e *Func) String() string { return Format(e) }

// String returns Format(e).
func (e *Any) String() string { return Format(e) }

// formatExpr writes e; v is the innermost lambda variable ("" outside).
func formatExpr(b *strings.Builder, e Expr, v string) {
	switch e := e.(type) {
	case *Or:
		formatOperand(b, e.Left, v, false)
		b.WriteString(" or ")
		formatOperand(b, e.Right, v, isOr(e.Right))
	case *And:
		formatOperand(b, e.Left, v, isOr(e.Left))
		b.WriteString(" and ")
		formatOperand(b, e.Right, v, isOr(e.Right) || isAnd(e.Right))
	case *Not:
		b.WriteString("not ")
		switch e.X.(type) {
		case *Func, *Any:
			formatExpr(b, e.X, v)
		default:
			formatOperand(b, e.X, v, true)
		}
	case *Compare:
		b.WriteString(joinPath(v, e.Prop))
		b.WriteString(" " + string(e.Op) + " ")
		b.WriteString(e.Value.String())
	case *In:
		b.WriteString(joinPath(v, e.Prop))
		b.WriteString(" in (")
		for i, l := range e.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.String())
		}
		b.WriteByte(')')
	case *Func:
		name := string(e.Name)
		if n, ok := funcSpelling[e.Name]; ok {
			name = n
		}
		fmt.Fprintf(b, "%s(%s, %s)", name, joinPath(v, e.Prop), e.Value)
	case *Any:
		fmt.Fprintf(b, "%s/any(%s: ", joinPath(v, e.Prop), e.Var)
		formatExpr(b, e.Pred, e.Var)
		b.WriteByte(')')
	}
}

var funcSpelling = map[FuncName]string{
	FuncStartsWith: "startsWith", FuncEndsWith: "endsWith", FuncContains: "contains",
}

func formatOperand(b *strings.Builder, e Expr, v string, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	formatExpr(b, e, v)
	if parens {
		b.WriteByte(')')
	}
}

func isOr(e Expr) bool  { _, ok := e.(*Or); return ok }
func isAnd(e Expr) bool { _, ok := e.(*And); return ok }

// joinPath prefixes a lambda-relative path with its variable. A bare
// variable formatted outside its lambda (String on a node inside a
// predicate) shows as OData's $it.
func joinPath(v, prop string) string {
	switch {
	case prop == "" && v == "":
		return "$it"
	case v == "":
		return prop
	case prop == "":
		return v
	}
	return v + "/" + prop
}

// String renders the literal as $filter text: strings single-quoted with
// quotes doubled, DateTimeOffset in RFC 3339 with its original offset, and
// floats always with a '.' or an exponent so they read back as floats.
func (l Literal) String() string {
	switch v := l.Value.(type) {
	case nil:
		return "null"
	case string:
		if l.Kind == LitGUID {
			return v
		}
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		return s
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(l.Value)
}

// Walk calls fn for e and then, depth first and left to right, for every
// expression below it, and stops at the first error fn returns, which Walk
// returns. It descends into the predicate of an Any, whose paths are
// relative to the lambda variable. A nil e is not visited.
func Walk(e Expr, fn func(Expr) error) error {
	if e == nil {
		return nil
	}
	if err := fn(e); err != nil {
		return err
	}
	switch e := e.(type) {
	case *And:
		return walkPair(e.Left, e.Right, fn)
	case *Or:
		return walkPair(e.Left, e.Right, fn)
	case *Not:
		return Walk(e.X, fn)
	case *Any:
		return Walk(e.Pred, fn)
	}
	return nil
}

func walkPair(l, r Expr, fn func(Expr) error) error {
	if err := Walk(l, fn); err != nil {
		return err
	}
	return Walk(r, fn)
}
