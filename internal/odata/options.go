package odata

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseOrderBy parses an OData $orderby value: comma-separated property
// paths ('/'-separated identifiers), each optionally followed by `asc` or
// `desc` (case-insensitive; asc is the default). Errors are *Error with
// Option "$orderby".
func ParseOrderBy(s string) ([]OrderBy, error) {
	if err := checkInput("$orderby", s); err != nil {
		return nil, err
	}
	l := &lexer{option: "$orderby", src: s}
	var out []OrderBy
	tok := l.next()
	for {
		if !isName(tok) {
			return nil, l.unexpected(tok, "a property name")
		}
		ob := OrderBy{Prop: tok.text, P: tok.pos}
		for tok = l.next(); tok.kind == tokSlash; tok = l.next() {
			if tok = l.next(); !isName(tok) {
				return nil, l.unexpected(tok, "a property name after '/'")
			}
			ob.Prop += "/" + tok.text
		}
		if tok.kind == tokIdent {
			switch strings.ToLower(tok.text) {
			case "asc":
			case "desc":
				ob.Desc = true
			default:
				return nil, l.unexpected(tok, "'asc', 'desc', ',' or end of input")
			}
			tok = l.next()
		}
		out = append(out, ob)
		if more, err := moreItems(l, tok); err != nil {
			return nil, err
		} else if !more {
			return out, nil
		}
		tok = l.next()
	}
}

// isName reports whether tok is a plain identifier.
func isName(tok token) bool { return tok.kind == tokIdent && tok.text[0] != '$' }

// moreItems checks the token after a list item: a ',' (more items follow)
// or the end of input. Anything else is an error.
func moreItems(l *lexer, tok token) (bool, error) {
	switch tok.kind {
	case tokComma:
		return true, nil
	case tokEOF:
		return false, nil
	}
	return false, l.unexpected(tok, "',' or end of input")
}

// ParseSelect parses an OData $select value: comma-separated property
// names, each a simple identifier. Errors are *Error with Option "$select".
func ParseSelect(s string) ([]string, error) {
	if err := checkInput("$select", s); err != nil {
		return nil, err
	}
	l := &lexer{option: "$select", src: s}
	var out []string
	for {
		tok := l.next()
		if !isName(tok) {
			return nil, l.unexpected(tok, "a property name")
		}
		out = append(out, tok.text)
		if more, err := moreItems(l, l.next()); err != nil {
			return nil, err
		} else if !more {
			return out, nil
		}
	}
}

// ParseSearch parses Graph's $search value for directory objects
// (https://learn.microsoft.com/en-us/graph/search-query-parameter):
// one or more double-quoted "property:value" clauses joined by AND or OR
// (case-insensitive), e.g. `"displayName:Browser" AND "mail:contoso"`. The
// quotes are required, as Graph answers 400 without them; inside them \"
// and \\ escape a quote and a backslash. The property is the text before the
// first ':', the value the rest, trimmed of spaces. AND binds tighter than
// OR (see SearchTerm). Errors are *Error with Option "$search".
func ParseSearch(s string) ([]SearchTerm, error) {
	if err := checkInput("$search", s); err != nil {
		return nil, err
	}
	fail := func(pos int, format string, args ...any) ([]SearchTerm, error) {
		return nil, &Error{Option: "$search", Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	var out []SearchTerm
	or := false
	i := skipSpace(s, 0)
	for {
		if i >= len(s) {
			return fail(i, `expected a quoted "property:value" clause but found end of input`)
		}
		if s[i] != '"' {
			return fail(i, `expected '"': $search clauses are quoted, as in "displayName:Browser"`)
		}
		start := i
		var b strings.Builder
		for i++; ; i++ {
			if i >= len(s) {
				return fail(start, "unterminated quoted clause")
			}
			if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
			} else if s[i] == '"' {
				break
			}
			b.WriteByte(s[i])
		}
		i++
		clause := b.String()
		prop, value, ok := strings.Cut(clause, ":")
		switch {
		case !ok:
			return fail(start, `expected "property:value" but found "%s"`, clip(clause))
		case !isIdent(prop):
			return fail(start+1, "expected a property name before ':' but found '%s'", clip(prop))
		case strings.TrimSpace(value) == "":
			return fail(start+1+len(prop)+1, "expected a search value after '%s:'", prop)
		}
		out = append(out, SearchTerm{Prop: prop, Value: strings.TrimSpace(value), Or: or, P: start + 1})
		if i = skipSpace(s, i); i >= len(s) {
			return out, nil
		}
		j := i
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		switch strings.ToUpper(s[i:j]) {
		case "AND":
			or = false
		case "OR":
			or = true
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			return fail(i, "expected AND, OR or end of input but found '%s'", clip(s[i:wordEnd(s, i+size)]))
		}
		i = skipSpace(s, j)
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// ParseTop parses an OData $top value: a decimal integer from 1 to max.
// Errors are *Error with Option "$top"; out of range, the message is
// Graph's "Invalid page size specified".
func ParseTop(s string, max int) (int, error) {
	if err := checkInput("$top", s); err != nil {
		return 0, err
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, &Error{Option: "$top", Pos: i, Msg: fmt.Sprintf("expected a positive integer but found '%s'", clip(s))}
		}
	}
	if s == "" {
		return 0, &Error{Option: "$top", Msg: "expected a positive integer but found end of input"}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, &Error{Option: "$top", Msg: fmt.Sprintf(
			"Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", clip(s), max)}
	}
	return n, nil
}
