package odata

import (
	"fmt"
	"strings"
)

// CheckFilter checks a parsed $filter against Graph's per-property rules
// and canonicalises it: every property path in e (including those inside
// lambdas) is rewritten in place to the schema's spelling, so backends can
// map names exactly. It checks that
//
//   - every path names a property (inside any() on a complex collection,
//     a property of Prop.Elem; on a primitive collection, the bare lambda
//     variable), else "Could not find a property named …";
//   - the operator or function is in the property's Ops or AdvancedOps
//     (`in` counts as eq, `eq null`/`ne null` as eq/ne and also need
//     Nullable; functions need a TypeString property);
//   - any() and $count are used on collections (AllowAny, AllowCount) and
//     collections are not compared directly;
//   - each literal has the property's type (a TypeGUID property takes a GUID
//     literal or a quoted GUID).
//
// needsAdvanced reports that e is valid only in an advanced query: it uses
// `not`, or an operation found only in AdvancedOps. Errors are *Error with
// Option "$filter" and the position of the offending node or literal;
// unknown properties and unsupported operations wrap ErrUnsupported, type
// mismatches do not. On error e may be partly rewritten. A nil e is valid
// and needs nothing.
func (s Schema) CheckFilter(e Expr) (needsAdvanced bool, err error) {
	if e == nil {
		return false, nil
	}
	c := &checker{}
	if err := c.check(e, scope{schema: s}); err != nil {
		return false, err
	}
	return c.advanced, nil
}

// scope is where paths resolve: the schema at top level or on a complex
// collection's elements, or the element itself of a primitive collection.
type scope struct {
	schema Schema
	elem   *Prop  // non-nil: the lambda variable is a primitive element
	coll   string // the collection of the enclosing lambda, "" at top level
}

// ref is a resolved path: its canonical spelling, the name to show in
// messages and the property.
type ref struct {
	canon, shown string
	p            Prop
}

func (sc scope) resolve(path string, pos int) (ref, error) {
	if sc.elem != nil {
		if path != "" {
			return ref{}, unsupported("$filter", pos,
				"elements of '%s' are %s values and have no property '%s'", sc.coll, sc.elem.Type, clip(path))
		}
		return ref{shown: sc.coll, p: *sc.elem}, nil
	}
	if path == "" {
		return ref{}, &Error{Option: "$filter", Pos: pos,
			Msg: fmt.Sprintf("the lambda variable over '%s' must be followed by a property, as in t/id", sc.coll)}
	}
	name, p, ok := sc.schema.lookup(path)
	if !ok {
		return ref{}, sc.schema.notFound("$filter", pos, path)
	}
	return ref{canon: name, shown: name, p: p}, nil
}

// single resolves a path that must not be a collection.
func (sc scope) single(path string, pos int) (ref, error) {
	r, err := sc.resolve(path, pos)
	if err == nil && r.p.Type.isCollection() {
		err = unsupported("$filter", pos,
			"property '%s' is a collection; filter it with %s/any(x: …)", r.shown, r.shown)
	}
	return r, err
}

type checker struct{ advanced bool }

// allow checks that r supports op, noting when only advanced queries do.
func (c *checker) allow(r ref, op OpSet, pos int, what string) error {
	switch {
	case r.p.Ops&op != 0:
	case r.p.AdvancedOps&op != 0:
		c.advanced = true
	default:
		return unsupported("$filter", pos, "%s is not supported on property '%s'", what, r.shown)
	}
	return nil
}

var opBits = map[CompareOp]OpSet{
	OpEq: AllowEq, OpNe: AllowNe, OpGt: AllowGt, OpGe: AllowGe, OpLt: AllowLt, OpLe: AllowLe,
}

var funcBits = map[FuncName]OpSet{
	FuncStartsWith: AllowStartsWith, FuncEndsWith: AllowEndsWith, FuncContains: AllowContains,
}

func (c *checker) check(e Expr, sc scope) error {
	switch e := e.(type) {
	case *And:
		return c.checkPair(e.Left, e.Right, sc)
	case *Or:
		return c.checkPair(e.Left, e.Right, sc)
	case *Not:
		c.advanced = true
		return c.check(e.X, sc)
	case *Compare:
		return c.checkCompare(e, sc)
	case *In:
		return c.checkIn(e, sc)
	case *Func:
		return c.checkFunc(e, sc)
	case *Any:
		return c.checkAny(e, sc)
	case nil:
		return &Error{Option: "$filter", Msg: "missing expression"}
	}
	return &Error{Option: "$filter", Pos: e.Pos(), Msg: fmt.Sprintf("unsupported expression %T", e)}
}

func (c *checker) checkPair(l, r Expr, sc scope) error {
	if err := c.check(l, sc); err != nil {
		return err
	}
	return c.check(r, sc)
}

// operand resolves the single-valued path of a comparison, `in` or
// function and checks that it supports op.
func (c *checker) operand(sc scope, prop string, pos int, op OpSet, what string) (ref, error) {
	r, err := sc.single(prop, pos)
	if err != nil {
		return r, err
	}
	return r, c.allow(r, op, pos, what)
}

func (c *checker) checkIn(e *In, sc scope) error {
	r, err := c.operand(sc, e.Prop, e.P, AllowEq, "operator 'in'")
	if err == nil {
		err = checkValues(r, e.Values...)
	}
	if err != nil {
		return err
	}
	e.Prop = r.canon
	return nil
}

func (c *checker) checkFunc(e *Func, sc scope) error {
	name := funcSpelling[e.Name]
	r, err := c.operand(sc, e.Prop, e.P, funcBits[e.Name], "function '"+name+"'")
	if err != nil {
		return err
	}
	if r.p.Type != TypeString {
		return unsupported("$filter", e.P, "function '%s' needs a string property; '%s' is %s", name, r.shown, r.p.Type)
	}
	if err := checkValues(r, e.Value); err != nil {
		return err
	}
	e.Prop = r.canon
	return nil
}

func (c *checker) checkCompare(e *Compare, sc scope) error {
	if coll, ok := strings.CutSuffix(e.Prop, "/$count"); ok {
		// The parser ensures the operand of $count is an integer.
		r, err := c.collection(sc, coll, e.P, AllowCount, "$count")
		if err != nil {
			return err
		}
		e.Prop = r.canon + "/$count"
		return nil
	}
	r, err := c.operand(sc, e.Prop, e.P, opBits[e.Op], "operator '"+string(e.Op)+"'")
	if err == nil {
		err = checkValues(r, e.Value)
	}
	if err != nil {
		return err
	}
	e.Prop = r.canon
	return nil
}

// collection resolves a path that must be a collection supporting op
// (any() or $count, named what).
func (c *checker) collection(sc scope, path string, pos int, op OpSet, what string) (ref, error) {
	r, err := sc.resolve(path, pos)
	if err != nil {
		return r, err
	}
	if !r.p.Type.isCollection() {
		return r, unsupported("$filter", pos, "%s needs a collection; '%s' is %s", what, r.shown, r.p.Type)
	}
	return r, c.allow(r, op, pos, what)
}

func (c *checker) checkAny(e *Any, sc scope) error {
	r, err := c.collection(sc, e.Prop, e.P, AllowAny, "any()")
	if err != nil {
		return err
	}
	inner := scope{coll: r.shown}
	if et := r.p.Type.elem(); et != 0 {
		inner.elem = &Prop{Type: et, Ops: r.p.Ops, AdvancedOps: r.p.AdvancedOps}
	} else if r.p.Elem != nil {
		inner.schema = *r.p.Elem
	} else {
		return unsupported("$filter", e.P, "the elements of '%s' are not described", r.shown)
	}
	if err := c.check(e.Pred, inner); err != nil {
		return err
	}
	e.Prop = r.canon
	return nil
}

var literalTypes = map[LiteralKind]string{
	LitNull: "null", LitString: "Edm.String", LitBool: "Edm.Boolean", LitInt: "Edm.Int64",
	LitFloat: "Edm.Double", LitDateTime: "Edm.DateTimeOffset", LitGUID: "Edm.Guid",
}

// literalFits lists the literal kinds each property type accepts.
var literalFits = map[PropType][]LiteralKind{
	TypeString:   {LitString},
	TypeBool:     {LitBool},
	TypeInt:      {LitInt},
	TypeDateTime: {LitDateTime},
	TypeGUID:     {LitGUID, LitString},
}

// checkValues checks that each literal may be compared with r.
func checkValues(r ref, lits ...Literal) error {
	for _, lit := range lits {
		if err := checkValue(r, lit); err != nil {
			return err
		}
	}
	return nil
}

// checkValue checks that lit may be compared with r.
func checkValue(r ref, lit Literal) error {
	if lit.Kind == LitNull {
		if !r.p.Nullable {
			return unsupported("$filter", lit.P, "property '%s' cannot be compared with null", r.shown)
		}
		return nil
	}
	for _, k := range literalFits[r.p.Type] {
		if k != lit.Kind {
			continue
		}
		if s, _ := lit.Value.(string); r.p.Type == TypeGUID && !IsGUID(s) {
			return &Error{Option: "$filter", Pos: lit.P,
				Msg: fmt.Sprintf("%s is not a valid GUID for property '%s'", clip(lit.String()), r.shown)}
		}
		return nil
	}
	return &Error{Option: "$filter", Pos: lit.P, Msg: fmt.Sprintf(
		"incompatible types: property '%s' is %s but %s is %s",
		r.shown, r.p.Type, clip(lit.String()), literalTypes[lit.Kind])}
}
