package odata

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks a well-formed query that names a property, operator or
// function the collection does not support. Wrapped by *Error.
var ErrUnsupported = errors.New("odata: unsupported")

// Error is a parse or check failure at a byte offset of the query option.
type Error struct {
	Option string // "$filter", "$orderby", …
	Pos    int    // 0-based byte offset in the option's value
	Msg    string
	Err    error // ErrUnsupported or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid %s at position %d: %s", e.Option, e.Pos, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Expr is a boolean $filter expression node.
type Expr interface {
	// Pos is the byte offset where the node starts in the $filter text.
	Pos() int
	isExpr()
}

// LiteralKind is the type of a literal.
type LiteralKind int

// Literal kinds.
const (
	LitNull LiteralKind = iota
	LitString
	LitBool
	LitInt
	LitFloat
	LitDateTime // DateTimeOffset, e.g. 2024-01-02T03:04:05Z
	LitGUID     // unquoted GUID literal
)

// Literal is a constant value. Value holds string (LitString, LitGUID),
// bool, int64, float64, time.Time (LitDateTime) or nil (LitNull).
type Literal struct {
	Kind  LiteralKind
	Value any
	P     int
}

// CompareOp is a comparison operator.
type CompareOp string

// Comparison operators.
const (
	OpEq CompareOp = "eq"
	OpNe CompareOp = "ne"
	OpGt CompareOp = "gt"
	OpGe CompareOp = "ge"
	OpLt CompareOp = "lt"
	OpLe CompareOp = "le"
)

// And is `Left and Right`.
type And struct {
	Left, Right Expr
	P           int
}

// Or is `Left or Right`.
type Or struct {
	Left, Right Expr
	P           int
}

// Not is `not X` (or `not(X)`).
type Not struct {
	X Expr
	P int
}

// Compare is `Prop Op Value`. Prop is a property path with '/' separators
// (e.g. "initiatedBy/user/id"). Inside an Any lambda, a path relative to the
// lambda variable is stored without the variable: `t/id` becomes "id" and
// the bare variable `x` becomes "". A path ending in "/$count" (e.g.
// "assignedLicenses/$count") compares the size of a collection; its Value is
// then always a LitInt.
type Compare struct {
	Prop  string
	Op    CompareOp
	Value Literal
	P     int
}

// In is `Prop in (v1, v2, …)`.
type In struct {
	Prop   string
	Values []Literal
	P      int
}

// FuncName is a boolean string function.
type FuncName string

// String functions.
const (
	FuncStartsWith FuncName = "startswith"
	FuncEndsWith   FuncName = "endswith"
	FuncContains   FuncName = "contains"
)

// Func is `startsWith(Prop, 'v')` (names are matched case-insensitively and
// stored lower-case).
type Func struct {
	Name  FuncName
	Prop  string
	Value Literal
	P     int
}

// Any is `Prop/any(v: Pred)` on a collection property. Paths inside Pred are
// relative to the lambda variable (see Compare).
type Any struct {
	Prop string
	Var  string
	Pred Expr
	P    int
}

func (e *And) Pos() int     { return e.P }
func (e *Or) Pos() int      { return e.P }
func (e *Not) Pos() int     { return e.P }
func (e *Compare) Pos() int { return e.P }
func (e *In) Pos() int      { return e.P }
func (e *Func) Pos() int    { return e.P }
func (e *Any) Pos() int     { return e.P }

func (*And) isExpr()     {}
func (*Or) isExpr()      {}
func (*Not) isExpr()     {}
func (*Compare) isExpr() {}
func (*In) isExpr()      {}
func (*Func) isExpr()    {}
func (*Any) isExpr()     {}

// OrderBy is one $orderby key.
type OrderBy struct {
	Prop string
	Desc bool
	P    int // byte offset of Prop in the $orderby text
}

// SearchTerm is one `"prop:value"` clause of $search.
//
// A $search value is a disjunction of conjunctions: AND binds tighter than
// OR, so `"a:1" AND "b:2" OR "c:3"` means (a:1 AND b:2) OR c:3. Or is true on
// a term that follows OR, i.e. on the first term of every AND group but the
// first. A backend that supports only AND must refuse terms with Or set.
type SearchTerm struct {
	Prop  string
	Value string // the text after the first ':', trimmed of spaces; never empty
	Or    bool   // the term was joined to the previous one with OR, not AND
	P     int    // byte offset of Prop in the $search text
}
