package sqlstore

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-idp/vigil/internal/odata"
)

// This file compiles an OData $filter AST and $search terms to SQL shared
// by both dialects. The semantics, identical on SQLite and PostgreSQL:
//
//   - Strings compare case-insensitively: the column side is a *_lower
//     shadow column holding strings.ToLower of the value, the literal is
//     lower-cased the same way in Go, and the comparison is bytewise
//     (code point order), so eq/ne/in/ge/le/gt/lt and ordering agree on
//     both databases and every eq, in and startsWith on an indexed property
//     is an index lookup or range scan.
//   - startsWith(p, 'v') is the range p >= 'v' AND p < 'v'' (v with its last
//     character incremented), which is exact in code point order and uses
//     the index; endsWith and contains are LIKE with %, _ and \ escaped.
//   - id and appId compare exactly, except that a literal that parses as a
//     GUID is first put in the canonical lower-case form Vigil stores.
//   - Logic is two-valued. A NULL property matches `eq null`, `ne v`,
//     `not (p eq v)` and the negation of any comparison, and nothing else:
//     `p ne 'x'` includes objects whose p is unset, exactly as
//     `not (p eq 'x')` does (NOT is pushed down to the leaves, so SQL's
//     three-valued logic never shows through).
//   - Inside c/any(x: …) on a JSON string collection, elements compare with
//     ASCII-only case folding (SQL lower() on both dialects); c/$count
//     compares the collection's length (0 when unset).
//   - $search is a disjunction of conjunctions of "prop:value" terms; a
//     term matches when the folded property contains the folded value.
//   - Values are always bound as parameters.

// colType is how a property is stored and compared.
type colType uint8

const (
	typeString colType = iota // case-insensitive string (a *_lower column)
	typeID                    // exact string; GUID literals canonicalised
	typeBool
	typeTime
	typeList // JSON array of strings: any(), eq null, ne null
)

// column maps one Graph property to SQL.
type column struct {
	expr     string // alias-qualified SQL expression compared and sorted on
	typ      colType
	nullable bool
	order    bool                // may appear in $orderby (scalar, NOT NULL)
	fold     func(string) string // folds literals for typeString
	side     *sideTable          // a typeList kept as rows of another table
}

// sideTable is a collection property stored as rows of another table (one
// per element) instead of a JSON array: the column's expr is the owner's
// key, matched against owner; only any() applies, its lambda variable's
// properties being props.
type sideTable struct {
	from  string // table and alias, e.g. "audit_targets x"
	owner string // alias-qualified column holding the owner's key
	props map[string]column
}

func strCol(expr string) column { return column{expr: expr, typ: typeString, order: true, fold: fold} }
func nstrCol(expr string) column {
	return column{expr: expr, typ: typeString, nullable: true, fold: fold}
}
func idCol(expr string) column   { return column{expr: expr, typ: typeID, order: true} }
func boolCol(expr string) column { return column{expr: expr, typ: typeBool} }
func timeCol(expr string) column { return column{expr: expr, typ: typeTime, order: true} }
func ntimeCol(expr string) column {
	return column{expr: expr, typ: typeTime, nullable: true}
}
func listCol(expr string) column { return column{expr: expr, typ: typeList, nullable: true} }

// exact is the fold of strings compared as written (phone numbers).
func exact(s string) string { return s }

// props indexes columns by lower-cased Graph property name (Graph matches
// property names case-insensitively).
func props(m map[string]column) map[string]column {
	out := make(map[string]column, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// sqlBuilder accumulates SQL text and its bound arguments.
type sqlBuilder struct {
	strings.Builder
	d    *dialect
	args []any
}

// arg binds v and returns its placeholder.
func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.placeholder(len(b.args))
}

// unsupported is an *odata.Error wrapping odata.ErrUnsupported.
func unsupported(option string, pos int, format string, a ...any) error {
	return &odata.Error{Option: option, Pos: pos, Msg: fmt.Sprintf(format, a...), Err: odata.ErrUnsupported}
}

// invalid is an *odata.Error for a well-formed but ill-typed expression.
func invalid(option string, pos int, format string, a ...any) error {
	return &odata.Error{Option: option, Pos: pos, Msg: fmt.Sprintf(format, a...)}
}

// compiler writes one entity's filter into b.
type compiler struct {
	d     *dialect
	b     *sqlBuilder
	props map[string]column
	elem  *column // the lambda variable inside any()
}

// where writes the filter and the search terms, ANDed, as one condition.
func (c *compiler) where(f odata.Expr, search []odata.SearchTerm) error {
	c.b.WriteString("(")
	switch {
	case f == nil && len(search) == 0:
		c.b.WriteString("TRUE")
	case f != nil:
		if err := c.expr(f, false); err != nil {
			return err
		}
		if len(search) > 0 {
			c.b.WriteString(" AND ")
		}
	}
	if err := c.search(search); err != nil {
		return err
	}
	c.b.WriteString(")")
	return nil
}

// search writes $search terms: a disjunction of conjunctions (a term with
// Or set starts a new conjunction). A term matches when the property,
// case-folded, contains the case-folded value: Graph's tokenised word
// search approximated as substring.
func (c *compiler) search(terms []odata.SearchTerm) error {
	if len(terms) == 0 {
		return nil
	}
	c.b.WriteString("((")
	for i, t := range terms {
		switch {
		case i > 0 && t.Or:
			c.b.WriteString(") OR (")
		case i > 0:
			c.b.WriteString(" AND ")
		}
		col, ok := c.props[strings.ToLower(t.Prop)]
		if !ok || col.typ != typeString {
			return unsupported("$search", t.P, "cannot search on property %q", t.Prop)
		}
		c.b.WriteString(col.expr + " LIKE " + c.b.arg("%"+escapeLike(col.fold(t.Value))+"%") + ` ESCAPE '\'`)
	}
	c.b.WriteString("))")
	return nil
}

// expr writes e, or its negation when neg is set.
func (c *compiler) expr(e odata.Expr, neg bool) error {
	switch e := e.(type) {
	case *odata.And:
		return c.junction(e.Left, e.Right, neg, " AND ", " OR ")
	case *odata.Or:
		return c.junction(e.Left, e.Right, neg, " OR ", " AND ")
	case *odata.Not:
		return c.expr(e.X, !neg)
	case *odata.Compare:
		return c.compare(e, neg)
	case *odata.In:
		return c.in(e, neg)
	case *odata.Func:
		return c.fn(e, neg)
	case *odata.Any:
		return c.any(e, neg)
	case nil:
		return invalid("$filter", 0, "empty expression")
	}
	return unsupported("$filter", e.Pos(), "unsupported expression %T", e)
}

// junction writes l op r, or by De Morgan (not l) negOp (not r).
func (c *compiler) junction(l, r odata.Expr, neg bool, op, negOp string) error {
	if neg {
		op = negOp
	}
	c.b.WriteString("(")
	if err := c.expr(l, neg); err != nil {
		return err
	}
	c.b.WriteString(op)
	if err := c.expr(r, neg); err != nil {
		return err
	}
	c.b.WriteString(")")
	return nil
}

func (c *compiler) lookup(prop string, pos int) (column, error) {
	if c.elem != nil {
		if prop != "" {
			return column{}, unsupported("$filter", pos, "inside any() only the lambda variable may be used, not %q", prop)
		}
		return *c.elem, nil
	}
	col, ok := c.props[strings.ToLower(prop)]
	if !ok {
		return column{}, unsupported("$filter", pos, "cannot filter on property %q", prop)
	}
	return col, nil
}

var negated = map[odata.CompareOp]odata.CompareOp{
	odata.OpEq: odata.OpNe, odata.OpNe: odata.OpEq,
	odata.OpGt: odata.OpLe, odata.OpLe: odata.OpGt,
	odata.OpLt: odata.OpGe, odata.OpGe: odata.OpLt,
}

var sqlOps = map[odata.CompareOp]string{
	odata.OpEq: "=", odata.OpNe: "<>", odata.OpGt: ">", odata.OpGe: ">=", odata.OpLt: "<", odata.OpLe: "<=",
}

func (c *compiler) compare(e *odata.Compare, neg bool) error {
	if base, ok := strings.CutSuffix(e.Prop, "/$count"); ok {
		return c.count(e, base, neg)
	}
	col, err := c.lookup(e.Prop, e.P)
	if err != nil {
		return err
	}
	if col.side != nil {
		return unsupported("$filter", e.P, "property %q is a collection: use %s/any(…)", e.Prop, e.Prop)
	}
	if _, ok := sqlOps[e.Op]; !ok {
		return unsupported("$filter", e.P, "unknown operator %q", e.Op)
	}
	if e.Value.Kind == odata.LitNull {
		if e.Op != odata.OpEq && e.Op != odata.OpNe {
			return invalid("$filter", e.P, "null can only be compared with eq or ne")
		}
		isNull := (e.Op == odata.OpEq) != neg
		switch {
		case !col.nullable && isNull:
			c.b.WriteString("FALSE")
		case !col.nullable:
			c.b.WriteString("TRUE")
		case isNull:
			c.b.WriteString(col.expr + " IS NULL")
		default:
			c.b.WriteString(col.expr + " IS NOT NULL")
		}
		return nil
	}
	if col.typ == typeList {
		return unsupported("$filter", e.P, "property %q is a collection: use %s/any(…)", e.Prop, e.Prop)
	}
	if (col.typ == typeID || col.typ == typeBool) && e.Op != odata.OpEq && e.Op != odata.OpNe {
		return unsupported("$filter", e.P, "operator %s is not supported on property %q", e.Op, e.Prop)
	}
	v, err := c.value(col, e.Value, e.Prop)
	if err != nil {
		return err
	}
	// A NULL property fails every comparison except ne; negation flips
	// both the operator and whether NULL matches.
	op := e.Op
	matchNull := (op == odata.OpNe) != neg
	if neg {
		op = negated[op]
	}
	c.orNull(col, matchNull, col.expr+" "+sqlOps[op]+" "+c.b.arg(v))
	return nil
}

// count writes `coll/$count op n`: the length of a collection, 0 when unset.
func (c *compiler) count(e *odata.Compare, prop string, neg bool) error {
	col, err := c.lookup(prop, e.P)
	if err != nil {
		return err
	}
	if col.typ != typeList || col.side != nil {
		return unsupported("$filter", e.P, "$count is not supported on property %q", prop)
	}
	n, ok := e.Value.Value.(int64)
	if !ok || e.Value.Kind != odata.LitInt {
		return invalid("$filter", e.Value.P, "$count compares with an integer")
	}
	op, ok := sqlOps[e.Op]
	if neg {
		op, ok = sqlOps[negated[e.Op]]
	}
	if !ok {
		return unsupported("$filter", e.P, "unknown operator %q", e.Op)
	}
	c.b.WriteString("COALESCE(" + c.d.jsonLen + "(" + col.expr + "), 0) " + op + " " + c.b.arg(n))
	return nil
}

// orNull writes cond, widened to NULL values of col when matchNull is set.
func (c *compiler) orNull(col column, matchNull bool, cond string) {
	if matchNull && col.nullable {
		c.b.WriteString("(" + col.expr + " IS NULL OR " + cond + ")")
		return
	}
	c.b.WriteString(cond)
}

func (c *compiler) in(e *odata.In, neg bool) error {
	col, err := c.lookup(e.Prop, e.P)
	if err != nil {
		return err
	}
	if col.typ == typeList {
		return unsupported("$filter", e.P, "property %q is a collection: use %s/any(…)", e.Prop, e.Prop)
	}
	if len(e.Values) == 0 { // in () is false, not in () true
		if neg {
			c.b.WriteString("TRUE")
		} else {
			c.b.WriteString("FALSE")
		}
		return nil
	}
	vals := make([]string, len(e.Values))
	for i, lit := range e.Values {
		if lit.Kind == odata.LitNull {
			return invalid("$filter", lit.P, "null is not allowed in an 'in' list; use 'eq null'")
		}
		v, err := c.value(col, lit, e.Prop)
		if err != nil {
			return err
		}
		vals[i] = c.b.arg(v)
	}
	op := " IN ("
	if neg {
		op = " NOT IN ("
	}
	c.orNull(col, neg, col.expr+op+strings.Join(vals, ", ")+")")
	return nil
}

func (c *compiler) fn(e *odata.Func, neg bool) error {
	col, err := c.lookup(e.Prop, e.P)
	if err != nil {
		return err
	}
	if col.typ != typeString {
		return unsupported("$filter", e.P, "%s is not supported on property %q", e.Name, e.Prop)
	}
	if e.Value.Kind != odata.LitString {
		return invalid("$filter", e.Value.P, "%s needs a string literal", e.Name)
	}
	s := col.fold(e.Value.Value.(string))
	if !utf8.ValidString(s) {
		return invalid("$filter", e.Value.P, "%s needs valid UTF-8", e.Name)
	}
	var cond string
	switch e.Name {
	case odata.FuncStartsWith:
		cond = col.expr + " >= " + c.b.arg(s)
		if end, ok := prefixEnd(s); ok {
			cond = "(" + cond + " AND " + col.expr + " < " + c.b.arg(end) + ")"
		}
	case odata.FuncEndsWith:
		cond = col.expr + " LIKE " + c.b.arg("%"+escapeLike(s)) + ` ESCAPE '\'`
	case odata.FuncContains:
		cond = col.expr + " LIKE " + c.b.arg("%"+escapeLike(s)+"%") + ` ESCAPE '\'`
	default:
		return unsupported("$filter", e.P, "unknown function %q", e.Name)
	}
	if neg {
		cond = "NOT (" + cond + ")"
	}
	c.orNull(col, neg, cond)
	return nil
}

func (c *compiler) any(e *odata.Any, neg bool) error {
	if c.elem != nil {
		return unsupported("$filter", e.P, "nested any() is not supported")
	}
	col, err := c.lookup(e.Prop, e.P)
	if err != nil {
		return err
	}
	if col.typ != typeList {
		return unsupported("$filter", e.P, "any() needs a collection property, not %q", e.Prop)
	}
	if col.side != nil {
		return c.sideAny(col, e, neg)
	}
	if neg {
		c.b.WriteString("NOT ")
	}
	c.b.WriteString("EXISTS (SELECT 1 FROM " + c.d.jsonElems(col.expr))
	if e.Pred != nil {
		c.b.WriteString(" WHERE ")
		inner := compiler{d: c.d, b: c.b, props: c.props, elem: &column{
			expr: c.d.elemFold, typ: typeString, nullable: true, fold: asciiFold,
		}}
		if err := inner.expr(e.Pred, false); err != nil {
			return err
		}
	}
	c.b.WriteString(")")
	return nil
}

// sideAny writes c/any(x: pred) on a collection kept in a side table: the
// owner's key is among those of the side rows matching pred. The rows'
// owner column is NOT NULL, so NOT IN is the exact negation.
func (c *compiler) sideAny(col column, e *odata.Any, neg bool) error {
	c.b.WriteString(col.expr)
	if neg {
		c.b.WriteString(" NOT")
	}
	c.b.WriteString(" IN (SELECT " + col.side.owner + " FROM " + col.side.from)
	if e.Pred != nil {
		c.b.WriteString(" WHERE ")
		inner := compiler{d: c.d, b: c.b, props: col.side.props}
		if err := inner.expr(e.Pred, false); err != nil {
			return err
		}
	}
	c.b.WriteString(")")
	return nil
}

// value converts a literal to the argument compared with col.
func (c *compiler) value(col column, lit odata.Literal, prop string) (any, error) {
	switch col.typ {
	case typeString:
		if s, ok := lit.Value.(string); ok && (lit.Kind == odata.LitString || lit.Kind == odata.LitGUID) {
			return col.fold(s), nil
		}
	case typeID:
		if s, ok := lit.Value.(string); ok && (lit.Kind == odata.LitString || lit.Kind == odata.LitGUID) {
			return odata.CanonicalGUID(s), nil
		}
	case typeBool:
		if b, ok := lit.Value.(bool); ok && lit.Kind == odata.LitBool {
			return b, nil
		}
	case typeTime:
		if t, ok := lit.Value.(time.Time); ok && lit.Kind == odata.LitDateTime {
			return c.d.timeArg(stored(t)), nil
		}
	}
	return nil, invalid("$filter", lit.P, "literal of the wrong type for property %q", prop)
}

// escapeLike escapes LIKE's wildcards and its escape character '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// prefixEnd returns the least string greater than every string that starts
// with the valid UTF-8 string p (p with its last incrementable character
// incremented), or false when there is none. The result is valid UTF-8 too,
// which PostgreSQL requires of text parameters.
func prefixEnd(p string) (string, bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		next := r[i] + 1
		if next == 0xD800 { // skip the surrogate block
			next = 0xE000
		}
		if next <= unicode.MaxRune {
			r[i] = next
			return string(r[:i+1]), true
		}
	}
	return "", false
}
