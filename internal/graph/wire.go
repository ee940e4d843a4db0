package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// jsonContentType is the Content-Type of every Graph JSON response
// (reference §1.2, captured headers).
const jsonContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// property is one name/value pair of a JSON object whose order matters.
type property struct {
	name  string
	value any
}

// object is a JSON object that keeps its properties in order, so responses
// list properties as Graph does (@odata.* first, then the entity's).
type object []property

// MarshalJSON writes the properties in order. Values are encoded without
// HTML escaping, like Graph.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodeValue(&b, p.name); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encodeValue(&b, p.value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// get returns the value of the named property.
func (o object) get(name string) (any, bool) {
	for _, p := range o {
		if p.name == name {
			return p.value, true
		}
	}
	return nil, false
}

// project keeps the named properties, in the order given; names the object
// lacks are skipped (a directoryObject list may mix types).
func (o object) project(names []string) object {
	out := make(object, 0, len(names))
	for _, n := range names {
		if v, ok := o.get(n); ok {
			out = append(out, property{n, v})
		}
	}
	return out
}

// with returns o with extra properties in front (e.g. @odata.context).
func (o object) with(front ...property) object {
	return append(front, o...)
}

func encodeValue(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode appends a newline
	return nil
}

// dateTime renders a DateTimeOffset as Graph does, RFC 3339 in UTC to the
// second (2024-01-02T03:04:05Z); the zero time is null.
func dateTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// emptyIfNil renders a string collection; nil becomes [] (Graph never sends
// null for a collection, e.g. businessPhones).
func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSON sends v with Graph's JSON content type.
func (a *API) writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	if err := encodeValue(&b, v); err != nil {
		// Only an unencodable value gets here: a programming error.
		a.logger().Error("graph: encoding response", "error", err)
		w.Header().Set("Content-Type", jsonContentType)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"code":"generalException","message":"` + msgInternal + `"}}`))
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// writeEntity sends one entity with its @odata.context.
func (a *API) writeEntity(w http.ResponseWriter, status int, context string, o object) {
	a.writeJSON(w, status, o.with(property{"@odata.context", context}))
}

// writeCreated sends 201 with the new entity and a Location header naming
// it under the Graph base URL.
func (a *API) writeCreated(w http.ResponseWriter, location, context string, o object) {
	w.Header().Set("Location", a.base()+location)
	a.writeEntity(w, http.StatusCreated, context, o)
}

// writeCount sends a bare integer as text/plain, Graph's answer to a
// /$count segment (reference §3.4).
func writeCount(w http.ResponseWriter, n int) {
	body := strconv.Itoa(n)
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// collection is a Graph collection response. Properties are in Graph's
// order: context, count, nextLink, value.
type collection struct {
	Context  string   `json:"@odata.context"`
	Count    *int     `json:"@odata.count,omitempty"`
	NextLink string   `json:"@odata.nextLink,omitempty"`
	Value    []object `json:"value"`
}

// base is the Graph base URL without a trailing slash.
func (a *API) base() string { return strings.TrimSuffix(a.BaseURL, "/") }

// contextURL is @odata.context for an entity set or path, e.g.
// contextURL("users", nil) = "<base>/$metadata#users" and, with a $select,
// "<base>/$metadata#users(displayName,id)".
func (a *API) contextURL(set string, sel []string) string {
	c := a.base() + "/$metadata#" + set
	if len(sel) > 0 {
		c += "(" + strings.Join(sel, ",") + ")"
	}
	return c
}

// entityContextURL is @odata.context for a single entity of a set.
func (a *API) entityContextURL(set string, sel []string) string {
	return a.contextURL(set, sel) + "/$entity"
}
