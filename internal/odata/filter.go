package odata

import (
	"strings"
)

// MaxFilterDepth is the deepest nesting ParseFilter accepts. Each `not`,
// each parenthesised group and each any() lambda is one level; `not (…)`
// counts once.
const MaxFilterDepth = 100

// ParseFilter parses an OData v4 $filter value in the subset Microsoft Graph
// supports on directory objects
// (https://learn.microsoft.com/en-us/graph/filter-query-parameter):
//
//   - comparisons `prop eq|ne|gt|ge|lt|le literal`, including `eq null` and
//     `ne null`, and `prop in (lit, …)`;
//   - `and`, `or`, `not x`, `not(x)` and parentheses, with the precedence
//     or < and < not < comparison (so `not a eq 1` is `not (a eq 1)`);
//   - `startsWith`, `endsWith` and `contains` as `f(prop, 'text')`;
//   - lambdas `coll/any(v: pred)`, inside which paths start with v and are
//     stored relative to it (see Compare);
//   - `coll/$count op integer`;
//   - property paths with '/' and no spaces around it
//     (`initiatedBy/user/id`);
//   - literals: 'strings' (a doubled quote escapes a quote), true, false,
//     null, integers, floats, DateTimeOffset (2024-01-02T03:04:05Z, with
//     optional seconds, fraction and numeric offset) and unquoted GUIDs.
//
// Keywords and function names match case-insensitively; property names are
// kept as written (Schema.CheckFilter canonicalises them). Comparisons need
// the property on the left and a literal on the right. `all` lambdas,
// `any()` without a predicate and other functions are refused with an
// *Error wrapping ErrUnsupported.
//
// Every error is an *Error with Option "$filter" and the byte offset of the
// problem. Input longer than MaxOptionLength or nested deeper than
// MaxFilterDepth is refused.
func ParseFilter(s string) (Expr, error) {
	if err := checkInput("$filter", s); err != nil {
		return nil, err
	}
	p := &parser{lex: lexer{option: "$filter", src: s}}
	p.advance()
	e, err := p.parseBinary(true)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.lex.unexpected(p.tok, "'and', 'or' or end of input")
	}
	return e, nil
}

// parser is a recursive-descent $filter parser with one token of lookahead
// (plus lexer.peekByte to tell a function call from a property).
type parser struct {
	lex   lexer
	tok   token
	depth int
	vars  []string // enclosing lambda variables, innermost last
}

func (p *parser) advance() { p.tok = p.lex.next() }

// isKeyword reports whether the current token is the keyword kw.
func (p *parser) isKeyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

// expect consumes a token of kind k, described as want in the error.
func (p *parser) expect(k tokKind, want string) error {
	if p.tok.kind != k {
		return p.lex.unexpected(p.tok, want)
	}
	p.advance()
	return nil
}

// enter counts one level of nesting opened at pos.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.lex.errorf(pos, "the filter is nested more than %d levels deep", MaxFilterDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseBinary parses `x {or x}` (or == true) or `x {and x}`. Both are
// left-associative.
func (p *parser) parseBinary(or bool) (Expr, error) {
	kw, sub := "and", p.parseNot
	if or {
		kw, sub = "or", func() (Expr, error) { return p.parseBinary(false) }
	}
	left, err := sub()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(kw) {
		p.advance()
		right, err := sub()
		if err != nil {
			return nil, err
		}
		if or {
			left = &Or{Left: left, Right: right, P: left.Pos()}
		} else {
			left = &And{Left: left, Right: right, P: left.Pos()}
		}
	}
	return left, nil
}

// parseNot parses `not x`, `not (x)` or a primary.
func (p *parser) parseNot() (Expr, error) {
	if !p.isKeyword("not") {
		return p.parsePrimary()
	}
	pos := p.tok.pos
	if err := p.enter(pos); err != nil {
		return nil, err
	}
	defer p.leave()
	p.advance()
	var x Expr
	var err error
	if p.tok.kind == tokLParen {
		x, err = p.parseGroup()
	} else {
		x, err = p.parseNot()
	}
	if err != nil {
		return nil, err
	}
	return &Not{X: x, P: pos}, nil
}

// parseGroup parses `( expr )`.
func (p *parser) parseGroup() (Expr, error) {
	p.advance()
	e, err := p.parseBinary(true)
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return e, nil
}

var literalKeywords = map[string]bool{"true": true, "false": true, "null": true}

// parsePrimary parses a group, a function call or a path expression.
func (p *parser) parsePrimary() (Expr, error) {
	switch p.tok.kind {
	case tokLParen:
		if err := p.enter(p.tok.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		return p.parseGroup()
	case tokIdent:
		if p.lex.peekByte() == '(' {
			return p.parseCall()
		}
		if !literalKeywords[strings.ToLower(p.tok.text)] {
			return p.parsePathExpr()
		}
	}
	return nil, p.lex.unexpected(p.tok, "a property, a function or '('")
}

var funcNames = map[string]FuncName{
	"startswith": FuncStartsWith, "endswith": FuncEndsWith, "contains": FuncContains,
}

// parseCall parses `startsWith(path, 'text')` and its siblings.
func (p *parser) parseCall() (Expr, error) {
	pos, text := p.tok.pos, p.tok.text
	name, ok := funcNames[strings.ToLower(text)]
	if !ok {
		return nil, &Error{Option: p.lex.option, Pos: pos, Err: ErrUnsupported,
			Msg: "function '" + clip(text) + "' is not supported (use startsWith, endsWith or contains)"}
	}
	p.advance()
	p.advance() // '(' seen by peekByte
	if p.tok.kind != tokIdent {
		return nil, p.lex.unexpected(p.tok, "a property as the first argument of "+text)
	}
	prop, err := p.parseSimplePath()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	if p.tok.kind != tokString {
		return nil, p.lex.unexpected(p.tok, "a string literal as the second argument of "+text)
	}
	lit := p.tok.lit
	p.advance()
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return &Func{Name: name, Prop: prop, Value: lit, P: pos}, nil
}

// parsePathHead consumes the first segment of a path. Inside a lambda it
// must be the innermost variable, which is dropped from the result.
func (p *parser) parsePathHead() ([]string, error) {
	seg := p.tok.text
	if seg[0] == '$' {
		return nil, p.lex.unexpected(p.tok, "a property name")
	}
	if len(p.vars) > 0 {
		v := p.vars[len(p.vars)-1]
		if seg != v {
			return nil, p.lex.errorf(p.tok.pos,
				"expected a path starting with the lambda variable '%s' but found '%s'", v, clip(seg))
		}
		p.advance()
		return nil, nil
	}
	p.advance()
	return []string{seg}, nil
}

// parseSegment consumes the property name after a '/'.
func (p *parser) parseSegment(segs []string) ([]string, error) {
	p.advance()
	if p.tok.kind != tokIdent || p.tok.text[0] == '$' {
		return nil, p.lex.unexpected(p.tok, "a property name after '/'")
	}
	segs = append(segs, p.tok.text)
	p.advance()
	return segs, nil
}

// parseSimplePath parses a path without lambda or $count segments.
func (p *parser) parseSimplePath() (string, error) {
	segs, err := p.parsePathHead()
	for err == nil && p.tok.kind == tokSlash {
		segs, err = p.parseSegment(segs)
	}
	return strings.Join(segs, "/"), err
}

// parsePathExpr parses a path followed by a comparison, `in (…)`, a
// `/$count` comparison or a `/any(…)` lambda.
func (p *parser) parsePathExpr() (Expr, error) {
	pos := p.tok.pos
	segs, err := p.parsePathHead()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokSlash {
		next := p.lex.src[p.lex.pos:] // text after '/', which the lexer ensures is not a space
		word := next[:identLen(next)]
		switch lw := strings.ToLower(word); {
		case (lw == "any" || lw == "all") && strings.HasPrefix(strings.TrimLeft(next[len(word):], " \t\r\n"), "("):
			p.advance()
			return p.parseLambda(pos, segs)
		case lw == "$count":
			p.advance()
			if len(segs) == 0 {
				return nil, p.lex.errorf(p.tok.pos, "$count must follow a collection property")
			}
			p.advance()
			return p.parseComparison(pos, strings.Join(segs, "/")+"/$count", true)
		}
		if segs, err = p.parseSegment(segs); err != nil {
			return nil, err
		}
	}
	return p.parseComparison(pos, strings.Join(segs, "/"), false)
}

// identLen returns the length of the identifier (or $identifier) at the
// start of s.
func identLen(s string) int {
	i := 0
	if i < len(s) && s[i] == '$' {
		i++
	}
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i
}

var compareOps = map[string]CompareOp{
	"eq": OpEq, "ne": OpNe, "gt": OpGt, "ge": OpGe, "lt": OpLt, "le": OpLe,
}

// parseComparison parses the operator and operand after the path prop,
// which started at pos.
func (p *parser) parseComparison(pos int, prop string, count bool) (Expr, error) {
	shown := strings.TrimSpace(p.lex.src[pos:p.tok.pos])
	want := "a comparison operator or 'in' after '" + clip(shown) + "'"
	if p.tok.kind != tokIdent {
		return nil, p.lex.unexpected(p.tok, want)
	}
	kw := strings.ToLower(p.tok.text)
	if kw == "in" && !count {
		return p.parseIn(pos, prop)
	}
	op, ok := compareOps[kw]
	if !ok {
		return nil, p.lex.unexpected(p.tok, want)
	}
	p.advance()
	lit, err := p.parseLiteral()
	if err != nil {
		return nil, err
	}
	if lit.Kind == LitNull && op != OpEq && op != OpNe {
		return nil, p.lex.errorf(lit.P, "null can only be compared with 'eq' or 'ne'")
	}
	if count && lit.Kind != LitInt {
		return nil, p.lex.errorf(lit.P, "$count must be compared with an integer")
	}
	return &Compare{Prop: prop, Op: op, Value: lit, P: pos}, nil
}

// parseIn parses `in (lit, …)`.
func (p *parser) parseIn(pos int, prop string) (Expr, error) {
	p.advance()
	if err := p.expect(tokLParen, "'(' after 'in'"); err != nil {
		return nil, err
	}
	in := &In{Prop: prop, P: pos}
	for {
		lit, err := p.parseLiteral()
		if err != nil {
			return nil, err
		}
		if lit.Kind == LitNull {
			return nil, p.lex.errorf(lit.P, "null is not allowed in an 'in' list; use 'eq null'")
		}
		in.Values = append(in.Values, lit)
		if p.tok.kind == tokRParen {
			p.advance()
			return in, nil
		}
		if err := p.expect(tokComma, "',' or ')'"); err != nil {
			return nil, err
		}
	}
}

// parseLiteral parses a literal value.
func (p *parser) parseLiteral() (Literal, error) {
	t := p.tok
	switch t.kind {
	case tokString, tokInt, tokFloat, tokDateTime, tokGUID:
		p.advance()
		return t.lit, nil
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			p.advance()
			return Literal{Kind: LitBool, Value: strings.EqualFold(t.text, "true"), P: t.pos}, nil
		case "null":
			p.advance()
			return Literal{Kind: LitNull, P: t.pos}, nil
		}
	}
	return Literal{}, p.lex.unexpected(t, "a literal value")
}

var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "any": true, "all": true,
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"true": true, "false": true, "null": true,
}

// parseLambda parses `any(v: pred)` on the collection segs; the current
// token is `any` or `all`.
func (p *parser) parseLambda(pos int, segs []string) (Expr, error) {
	if !strings.EqualFold(p.tok.text, "any") {
		return nil, &Error{Option: p.lex.option, Pos: p.tok.pos, Err: ErrUnsupported,
			Msg: "the 'all' lambda operator is not supported; use 'not …/any(…)'"}
	}
	if err := p.enter(p.tok.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	p.advance()
	p.advance() // '(' seen by parsePathExpr
	if p.tok.kind == tokRParen {
		return nil, &Error{Option: p.lex.option, Pos: p.tok.pos, Err: ErrUnsupported,
			Msg: "any() without a lambda expression is not supported; write any(x: …)"}
	}
	if p.tok.kind != tokIdent || p.tok.text[0] == '$' || reserved[strings.ToLower(p.tok.text)] {
		return nil, p.lex.unexpected(p.tok, "a lambda variable name")
	}
	v := p.tok.text
	p.advance()
	if err := p.expect(tokColon, "':' after the lambda variable"); err != nil {
		return nil, err
	}
	p.vars = append(p.vars, v)
	pred, err := p.parseBinary(true)
	p.vars = p.vars[:len(p.vars)-1]
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	return &Any{Prop: strings.Join(segs, "/"), Var: v, Pred: pred, P: pos}, nil
}
