package odata

import (
	"errors"
	"fmt"
	"strings"
)

// PropType is the OData type of a property. Its String is the Edm name used
// in error messages.
type PropType int

// Property types. The zero value is invalid.
const (
	TypeString PropType = iota + 1
	TypeBool
	TypeInt
	TypeDateTime // Edm.DateTimeOffset
	TypeGUID     // compared with a GUID literal or a quoted GUID
	TypeComplex  // a single structured value; only its sub-paths (own Schema keys) filter
	TypeStringCollection
	TypeGUIDCollection
	TypeComplexCollection // elements described by Prop.Elem
)

var typeNames = map[PropType]string{
	TypeString: "Edm.String", TypeBool: "Edm.Boolean", TypeInt: "Edm.Int64",
	TypeDateTime: "Edm.DateTimeOffset", TypeGUID: "Edm.Guid", TypeComplex: "complex type",
	TypeStringCollection: "Collection(Edm.String)", TypeGUIDCollection: "Collection(Edm.Guid)",
	TypeComplexCollection: "Collection(complex type)",
}

// String returns the Edm name of t, e.g. "Edm.String".
func (t PropType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("PropType(%d)", int(t))
}

// elem returns the element type of a primitive collection, and 0 for
// anything else.
func (t PropType) elem() PropType {
	switch t {
	case TypeStringCollection:
		return TypeString
	case TypeGUIDCollection:
		return TypeGUID
	}
	return 0
}

func (t PropType) isCollection() bool {
	return t >= TypeStringCollection && t <= TypeComplexCollection
}

// OpSet is a set of $filter operations a property supports.
type OpSet uint16

// Filter operations. `in` is allowed wherever AllowEq is (Graph: "in works
// wherever eq works"). `not` is not per property: Graph allows it only in
// advanced queries, on any operand.
const (
	AllowEq OpSet = 1 << iota // eq, in, and eq null on a Nullable property
	AllowNe                   // ne, and ne null on a Nullable property
	AllowGt
	AllowGe
	AllowLt
	AllowLe
	AllowStartsWith
	AllowEndsWith
	AllowContains
	AllowAny   // coll/any(…), on collections
	AllowCount // coll/$count, on collections; Graph allows it only in AdvancedOps
)

// Prop describes what Graph allows on one property of a collection
// (https://learn.microsoft.com/en-us/graph/aad-advanced-queries).
//
// Ops are allowed in every query; AdvancedOps only in advanced queries
// (header ConsistencyLevel: eventual and $count=true), and using one makes
// CheckFilter report needsAdvanced. For a collection of primitives, Ops and
// AdvancedOps also say what the lambda variable supports inside any(), e.g.
// proxyAddresses: Ops AllowAny|AllowEq|AllowStartsWith.
type Prop struct {
	Type              PropType
	Ops               OpSet
	AdvancedOps       OpSet
	Orderable         bool // $orderby allowed in every query
	AdvancedOrderable bool // $orderby allowed only in advanced queries
	Nullable          bool // `eq null` / `ne null` allowed (with AllowEq / AllowNe)
	Searchable        bool // usable in $search "prop:value"
	// Elem describes the elements of a TypeComplexCollection, whose paths
	// inside any() are relative to the lambda variable (t/id → "id").
	Elem *Schema
}

// Schema lists the properties of one Graph resource type. Props keys are
// property names or '/'-separated paths (e.g. "initiatedBy/user/id") in
// Graph's spelling; they must differ other than by case. Lookups are
// case-insensitive, as Graph's are, and the Check methods rewrite the names
// they are given to the key's spelling in place.
type Schema struct {
	Name  string // qualified type name for messages, e.g. "microsoft.graph.user"
	Props map[string]Prop
}

// Validate reports every inconsistency in s and its element schemas:
// keys equal but for case, unknown types, Elem missing or misplaced, and
// collection operations on single values.
func (s Schema) Validate() error {
	var errs []error
	seen := map[string]string{}
	for name, p := range s.Props {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("odata: schema %s: property %q: "+format, append([]any{s.Name, name}, args...)...))
		}
		if other, ok := seen[strings.ToLower(name)]; ok {
			bad("differs from %q only by case", other)
		}
		seen[strings.ToLower(name)] = name
		switch {
		case typeNames[p.Type] == "":
			bad("invalid type %v", p.Type)
		case (p.Type == TypeComplexCollection) != (p.Elem != nil):
			bad("Elem must be set exactly for TypeComplexCollection")
		case !p.Type.isCollection() && (p.Ops|p.AdvancedOps)&(AllowAny|AllowCount) != 0:
			bad("any() and $count need a collection")
		}
		if p.Elem != nil {
			errs = append(errs, p.Elem.Validate())
		}
	}
	return errors.Join(errs...)
}

// lookup finds a property by exact name, else case-insensitively.
func (s Schema) lookup(name string) (string, Prop, bool) {
	if p, ok := s.Props[name]; ok {
		return name, p, true
	}
	for k, p := range s.Props {
		if strings.EqualFold(k, name) {
			return k, p, true
		}
	}
	return "", Prop{}, false
}

// notFound is Graph's message for an unknown property.
func (s Schema) notFound(option string, pos int, name string) *Error {
	msg := fmt.Sprintf("Could not find a property named '%s'", clip(name))
	if s.Name != "" {
		msg += " on type '" + s.Name + "'"
	}
	return &Error{Option: option, Pos: pos, Msg: msg + ".", Err: ErrUnsupported}
}

func unsupported(option string, pos int, format string, args ...any) *Error {
	return &Error{Option: option, Pos: pos, Msg: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

// CheckOrderBy checks that every key names a sortable property and rewrites
// o[i].Prop to the schema's spelling. needsAdvanced reports a key that
// Graph sorts by only in advanced queries. (Graph also needs an advanced
// query for $orderby combined with $filter; that rule is the caller's.)
func (s Schema) CheckOrderBy(o []OrderBy) (needsAdvanced bool, err error) {
	for i := range o {
		name, p, ok := s.lookup(o[i].Prop)
		switch {
		case !ok:
			return false, s.notFound("$orderby", o[i].P, o[i].Prop)
		case p.AdvancedOrderable && !p.Orderable:
			needsAdvanced = true
		case !p.Orderable:
			return false, unsupported("$orderby", o[i].P, "sorting by property '%s' is not supported", name)
		}
		o[i].Prop = name
	}
	return needsAdvanced, nil
}

// CheckSelect checks that every name is a property (not a sub-path) and
// rewrites props[i] to the schema's spelling. Error positions assume the
// names were written comma-separated without spaces, as clients send them.
func (s Schema) CheckSelect(props []string) error {
	pos := 0
	for i, name := range props {
		canon, _, ok := s.lookup(name)
		if !ok || strings.Contains(canon, "/") {
			return s.notFound("$select", pos, name)
		}
		props[i] = canon
		pos += len(name) + 1
	}
	return nil
}

// CheckSearch checks that every term names a Searchable property and
// rewrites t[i].Prop to the schema's spelling.
func (s Schema) CheckSearch(t []SearchTerm) error {
	for i := range t {
		name, p, ok := s.lookup(t[i].Prop)
		if !ok {
			return s.notFound("$search", t[i].P, t[i].Prop)
		}
		if !p.Searchable {
			return unsupported("$search", t[i].P, "property '%s' does not support $search", name)
		}
		t[i].Prop = name
	}
	return nil
}
