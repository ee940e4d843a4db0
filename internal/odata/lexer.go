package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxOptionLength is the longest query option value, in bytes, that the
// parsers accept. Longer values are refused with an *Error at this offset.
const MaxOptionLength = 8 << 10

// tokKind is the kind of a lexical token of $filter, $orderby and $select.
type tokKind int

const (
	tokEOF tokKind = iota
	tokError
	tokIdent // a name, keyword or `$count`
	tokString
	tokInt
	tokFloat
	tokDateTime
	tokGUID
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokSlash
)

// token is one lexical token. For literal kinds lit holds the parsed value;
// for tokError err holds the problem.
type token struct {
	kind tokKind
	pos  int
	text string // the source text of the token
	lit  Literal
	err  *Error
}

// lexer splits a query option into tokens on demand, so that a syntax error
// early in the text is reported before a lexical error later in it.
type lexer struct {
	option string
	src    string
	pos    int
}

// checkInput enforces the limits shared by every option: at most
// MaxOptionLength bytes of valid UTF-8.
func checkInput(option, s string) error {
	if len(s) > MaxOptionLength {
		return &Error{Option: option, Pos: MaxOptionLength,
			Msg: fmt.Sprintf("the value is longer than %d bytes", MaxOptionLength)}
	}
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return &Error{Option: option, Pos: i, Msg: fmt.Sprintf("invalid UTF-8 byte 0x%02x", s[i])}
		}
	}
	return nil
}

func (l *lexer) errorf(pos int, format string, args ...any) *Error {
	return &Error{Option: l.option, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// unexpected reports that tok is not what the grammar wants here. A lexical
// error token reports its own problem instead.
func (l *lexer) unexpected(tok token, want string) *Error {
	if tok.kind == tokError {
		return tok.err
	}
	return l.errorf(tok.pos, "expected %s but found %s", want, describe(tok))
}

// describe names a token for an error message.
func describe(tok token) string {
	switch tok.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "string literal " + clip(tok.text)
	}
	return "'" + clip(tok.text) + "'"
}

// clip shortens s for an error message without splitting a rune.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || 'a' <= c|0x20 && c|0x20 <= 'z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }
func isHex(c byte) bool        { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// isIdent reports whether s is an OData simple identifier (ASCII subset).
func isIdent(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

// CanonicalGUID is s lower-cased when it is a GUID (the form Vigil
// generates and stores object ids in, so ids compare without regard to
// case, as Graph's do); any other string is returned as written.
func CanonicalGUID(s string) string {
	if IsGUID(s) {
		return strings.ToLower(s)
	}
	return s
}

// IsGUID reports whether s is a GUID in its canonical 8-4-4-4-12 hex form
// (either case). Graph treats a GUID-shaped key as an object id and
// anything else as an alternate key such as userPrincipalName.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// peekByte returns the first non-space byte after the current token, or 0.
func (l *lexer) peekByte() byte {
	for i := l.pos; i < len(l.src); i++ {
		if !isSpace(l.src[i]) {
			return l.src[i]
		}
	}
	return 0
}

// next returns the next token. After a tokError or tokEOF it keeps
// returning tokEOF.
func (l *lexer) next() token {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}
	}
	c := l.src[start]
	if k, ok := punct[c]; ok {
		if c == '/' && (start > 0 && isSpace(l.src[start-1]) || start+1 < len(l.src) && isSpace(l.src[start+1])) {
			return l.fail(l.errorf(start, "a property path cannot have spaces around '/'"))
		}
		l.pos++
		return token{kind: k, pos: start, text: l.src[start:l.pos]}
	}
	switch {
	case c == '\'':
		return l.lexString()
	case start+36 <= len(l.src) && IsGUID(l.src[start:start+36]) &&
		(start+36 == len(l.src) || !isIdentChar(l.src[start+36]) && l.src[start+36] != '-'):
		l.pos += 36
		text := l.src[start:l.pos]
		return token{kind: tokGUID, pos: start, text: text, lit: Literal{Kind: LitGUID, Value: text, P: start}}
	case isDigit(c) || c == '-' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.lexNumber()
	case isIdentStart(c) || c == '$' && start+1 < len(l.src) && isIdentStart(l.src[start+1]):
		l.pos++
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tokIdent, pos: start, text: l.src[start:l.pos]}
	}
	return l.fail(l.errorf(start, "unexpected character %s", quoteRune(l.src[start:])))
}

var punct = map[byte]tokKind{'(': tokLParen, ')': tokRParen, ',': tokComma, ':': tokColon, '/': tokSlash}

// fail turns err into an error token and stops the lexer.
func (l *lexer) fail(err *Error) token {
	l.pos = len(l.src)
	return token{kind: tokError, pos: err.Pos, err: err}
}

func quoteRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == '"' {
		return `'"' (string literals use single quotes)`
	}
	return strconv.QuoteRune(r)
}

// lexString scans a single-quoted string; a doubled quote inside it stands for one.
func (l *lexer) lexString() token {
	start := l.pos
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(l.src[i:], '\'')
		if j < 0 {
			return l.fail(l.errorf(start, "unterminated string literal"))
		}
		b.WriteString(l.src[i : i+j])
		i += j + 1
		if i < len(l.src) && l.src[i] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		break
	}
	l.pos = i
	return token{kind: tokString, pos: start, text: l.src[start:i],
		lit: Literal{Kind: LitString, Value: b.String(), P: start}}
}

// lexNumber scans an integer, a float (with optional fraction and exponent)
// or, when four digits are followed by '-', a DateTimeOffset.
func (l *lexer) lexNumber() token {
	start := l.pos
	i := start
	if l.src[i] == '-' {
		i++
	}
	digits := i
	for i < len(l.src) && isDigit(l.src[i]) {
		i++
	}
	if i-start == 4 && digits == start && i < len(l.src) && l.src[i] == '-' {
		return l.lexDateTime()
	}
	float := false
	if i+1 < len(l.src) && l.src[i] == '.' && isDigit(l.src[i+1]) {
		float = true
		for i++; i < len(l.src) && isDigit(l.src[i]); i++ {
		}
	}
	if i < len(l.src) && l.src[i]|0x20 == 'e' {
		j := i + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			float = true
			for i = j; i < len(l.src) && isDigit(l.src[i]); i++ {
			}
		}
	}
	if i < len(l.src) && (isIdentChar(l.src[i]) || strings.IndexByte(".-+:", l.src[i]) >= 0) {
		return l.fail(l.errorf(start, "invalid number literal '%s'", clip(l.src[start:wordEnd(l.src, i)])))
	}
	l.pos = i
	text := l.src[start:i]
	tok := token{kind: tokInt, pos: start, text: text}
	if float {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return l.fail(l.errorf(start, "number literal '%s' is out of range", clip(text)))
		}
		tok.kind, tok.lit = tokFloat, Literal{Kind: LitFloat, Value: f, P: start}
		return tok
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return l.fail(l.errorf(start, "integer literal '%s' is out of range", clip(text)))
	}
	tok.lit = Literal{Kind: LitInt, Value: n, P: start}
	return tok
}

// wordEnd returns the end of the run of literal-like bytes starting at i.
func wordEnd(s string, i int) int {
	for i < len(s) && (isIdentChar(s[i]) || strings.IndexByte(".-+:", s[i]) >= 0) {
		i++
	}
	return i
}

// dateTimeLayouts are the DateTimeOffset forms OData allows: seconds (and a
// fraction, which time.Parse accepts after the seconds) are optional.
var dateTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00"}

func (l *lexer) lexDateTime() token {
	start := l.pos
	end := wordEnd(l.src, start)
	text := l.src[start:end]
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			l.pos = end
			return token{kind: tokDateTime, pos: start, text: text,
				lit: Literal{Kind: LitDateTime, Value: t, P: start}}
		}
	}
	return l.fail(l.errorf(start,
		"invalid DateTimeOffset literal '%s' (expected a form like 2024-01-02T03:04:05Z)", clip(text)))
}
