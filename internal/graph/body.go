package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/directory"
)

// field decodes the JSON value of one body property named name. raw is the
// value as sent, possibly the literal null.
type field func(name string, raw json.RawMessage) error

// bodyType describes the properties a request body of one Graph type may
// carry.
type bodyType struct {
	// name is the Graph type, e.g. "microsoft.graph.user", used in messages
	// and to check an @odata.type annotation.
	name string
	// fields are the writable properties.
	fields map[string]field
	// readOnly properties exist on the type but cannot be set; sending one
	// is a 400.
	readOnly []string
	// unsupported properties exist on Graph's type but Vigil does not store
	// them; sending one is a 400 that says so.
	unsupported []string
}

// Graph's messages for unreadable bodies.
const (
	msgEmptyBody   = "Empty Payload. JSON content expected."
	msgInvalidJSON = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)

// readJSON checks that r has a JSON body and decodes it as t: 415 for
// another media type, 400 for an empty or malformed body, unknown or
// read-only properties and values of the wrong type, 413 (through
// *http.MaxBytesError) for a body over the limit.
func (a *API) readJSON(r *http.Request, t bodyType) error {
	body, err := readJSONBody(r, false)
	if err != nil {
		return err
	}
	return decodeObject(body, t)
}

// readJSONBody reads r's body for a JSON request: 413 (through
// *http.MaxBytesError) over the limit, 400 when empty unless
// emptyAllowed (then an empty body is returned as nil), 415 when a body
// is sent with another media type.
func readJSONBody(r *http.Request, emptyAllowed bool) ([]byte, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, tooLarge(mb.Limit)
			}
			return nil, NewError(http.StatusBadRequest, CodeBadRequest, msgInvalidJSON, err)
		}
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0 && emptyAllowed:
		return nil, nil
	case len(bytes.TrimSpace(body)) == 0:
		return nil, NewError(http.StatusBadRequest, CodeBadRequest, msgEmptyBody, nil)
	case !isJSONMediaType(r.Header.Get("Content-Type")):
		return nil, NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"The request body must be JSON: send it with Content-Type: application/json.", nil)
	}
	return body, nil
}

func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// decodeObject decodes one JSON object property by property, in the order
// sent, so the first problem reported is the first in the body.
func decodeObject(raw []byte, t bodyType) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return invalidJSON(err)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalidJSON(err)
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return invalidJSON(err)
		}
		if seen[name] {
			return badRequest("Property '%s' appears more than once in the request body.", name)
		}
		seen[name] = true
		if err := t.decodeProperty(name, value); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return invalidJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidJSON(err)
	}
	return nil
}

func invalidJSON(cause error) *Error {
	return NewError(http.StatusBadRequest, CodeBadRequest, msgInvalidJSON, cause)
}

func (t bodyType) decodeProperty(name string, value json.RawMessage) error {
	if f, ok := t.fields[name]; ok {
		return f(name, value)
	}
	switch {
	case name == "@odata.type":
		var typ string
		if json.Unmarshal(value, &typ) != nil || !strings.EqualFold(strings.TrimPrefix(typ, "#"), t.name) {
			return badRequest("The @odata.type %s is not the type '%s' of this request body.", value, t.name)
		}
		return nil
	case strings.HasPrefix(name, "@"):
		return nil // other instance annotations (@odata.context, @odata.etag…) carry no data
	case strings.Contains(name, "@"):
		return badRequest("The property annotation '%s' is not supported on type '%s'.", name, t.name)
	}
	if slices.Contains(t.readOnly, name) {
		return badRequest("Property '%s' is read-only and cannot be set.", name)
	}
	if slices.Contains(t.unsupported, name) {
		return badRequest("Property '%s' of type '%s' is not supported by this service.", name, t.name)
	}
	return badRequest("Property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", name, t.name)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// convertError is Graph's message for a value of the wrong type.
func convertError(name string, raw json.RawMessage, edm string) *Error {
	lit := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		lit = s
	}
	if len(lit) > 64 {
		lit = lit[:64] + "…"
	}
	return badRequest("Cannot convert the literal '%s' to the expected type '%s' of property '%s'.", lit, edm, name)
}

// opt decodes a property into a directory.Optional: null becomes an
// explicit null, a value of the right type a set value. edm names the
// expected type for the error message (Edm.String, Collection(Edm.String)…).
func opt[T any](dst *directory.Optional[T], edm string) field {
	return func(name string, raw json.RawMessage) error {
		if isNull(raw) {
			*dst = directory.Null[T]()
			return nil
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return convertError(name, raw, edm)
		}
		*dst = directory.Some(v)
		return nil
	}
}

func optString(dst *directory.Optional[string]) field { return opt(dst, "Edm.String") }
func optBool(dst *directory.Optional[bool]) field     { return opt(dst, "Edm.Boolean") }
func optStrings(dst *directory.Optional[[]string]) field {
	return opt(dst, "Collection(Edm.String)")
}
func optTime(dst *directory.Optional[time.Time]) field { return opt(dst, "Edm.DateTimeOffset") }

// nested decodes an object-valued property (e.g. passwordProfile, web) with
// its own body type; set is called unless the value is null, when onNull
// is.
func nested(t bodyType, set, onNull func()) field {
	return func(name string, raw json.RawMessage) error {
		if isNull(raw) {
			onNull()
			return nil
		}
		if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
			return convertError(name, raw, t.name)
		}
		if err := decodeObject(raw, t); err != nil {
			return err
		}
		set()
		return nil
	}
}

// required reports a missing or null required property of a body.
func required[T any](o directory.Optional[T], name string) error {
	if !o.Set || o.Null {
		return badRequest("Property '%s' is required and cannot be null.", name)
	}
	return nil
}

// requiredStrings reports the first of the named string properties that is
// missing or null; names[i] names values[i].
func requiredStrings(names []string, values ...directory.Optional[string]) error {
	for i, v := range values {
		if err := required(v, names[i]); err != nil {
			return err
		}
	}
	return nil
}

// recording returns t whose fields also append the name of every property
// they decode to *names, so a handler can tell which properties a body
// set.
func (t bodyType) recording(names *[]string) bodyType {
	fields := make(map[string]field, len(t.fields))
	for name, f := range t.fields {
		fields[name] = func(n string, raw json.RawMessage) error {
			*names = append(*names, n)
			return f(n, raw)
		}
	}
	t.fields = fields
	return t
}
