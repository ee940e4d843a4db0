package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CapabilityCP1 is the client capability a client declares to say it
// handles claims challenges (Entra's continuous access evaluation): the
// claims request {"access_token":{"xms_cc":{"values":["cp1"]}}}, answered
// with xms_cc ["cp1"] in its access tokens.
const CapabilityCP1 = "cp1"

// maxClaimsLen bounds the claims parameter.
const maxClaimsLen = 4096

// ClaimsRequest is the parsed claims request parameter (OpenID Connect Core
// 1.0 §5.5). Vigil acts on what it understands and ignores the rest, as
// §5.5 allows for claims it does not support.
type ClaimsRequest struct {
	// Capabilities are the xms_cc values asked for in access_token,
	// lower-cased, sorted and without duplicates (Entra's client
	// capabilities, e.g. CapabilityCP1).
	Capabilities []string
	// NotBefore is the access_token nbf value of a claims challenge (the
	// RP wants a token issued at or after it): a session authenticated
	// before it must sign in again. Zero when absent.
	NotBefore time.Time
	// IDToken names the claims requested in the ID token (§5.5.1), which
	// are then included whatever the scopes.
	IDToken []string
	// UserInfo names the claims requested from the userinfo endpoint.
	UserInfo []string
}

// claimSpec is one entry of a claims request member (§5.5.1): null or an
// object with essential, value and values.
type claimSpec struct {
	Essential bool              `json:"essential"`
	Value     json.RawMessage   `json:"value"`
	Values    []json.RawMessage `json:"values"`
}

// ParseClaimsRequest parses the claims parameter: a JSON object whose
// members userinfo, id_token and access_token (Entra) are objects mapping
// claim names to null or to {essential, value, values}. The object may
// also come base64-encoded (standard or URL alphabet, padded or not), as
// the claims value of an insufficient_claims challenge is, which Entra
// clients pass on as they got it. An empty string gives the zero value;
// anything malformed is invalid_request.
func ParseClaimsRequest(s string) (ClaimsRequest, error) {
	var cr ClaimsRequest
	s = strings.TrimSpace(s)
	if s == "" {
		return cr, nil
	}
	if len(s) > base64.StdEncoding.EncodedLen(maxClaimsLen) {
		return cr, errorf(CodeInvalidRequest, "claims parameter too long")
	}
	if !strings.HasPrefix(s, "{") {
		dec, ok := decodeClaimsBase64(s)
		if !ok {
			return cr, errorf(CodeInvalidRequest, "claims must be a JSON object or its base64 encoding (OpenID Connect Core 5.5)")
		}
		s = dec
	}
	if len(s) > maxClaimsLen {
		return cr, errorf(CodeInvalidRequest, "claims parameter too long")
	}
	var top map[string]json.RawMessage
	if err := strictJSON([]byte(s), &top); err != nil || top == nil {
		return cr, errorf(CodeInvalidRequest, "claims must be a JSON object (OpenID Connect Core 5.5)")
	}
	for member, raw := range top {
		specs, err := parseClaimMember(raw)
		if err != nil {
			return ClaimsRequest{}, errorf(CodeInvalidRequest, "claims member '%s': %s", truncate(member, 32), err.Error())
		}
		switch member {
		case "id_token":
			cr.IDToken = sortedKeys(specs)
		case "userinfo":
			cr.UserInfo = sortedKeys(specs)
		case "access_token":
			if err := cr.accessToken(specs); err != nil {
				return ClaimsRequest{}, err
			}
		}
	}
	return cr, nil
}

// decodeClaimsBase64 decodes a base64 claims value in any of the four
// alphabet and padding variants; the result must look like a JSON object.
func decodeClaimsBase64(s string) (string, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
				return t, true
			}
		}
	}
	return "", false
}

// accessToken reads the access_token member: xms_cc and nbf.
func (cr *ClaimsRequest) accessToken(specs map[string]*claimSpec) error {
	if cc := specs["xms_cc"]; cc != nil {
		vals := cc.Values
		if len(cc.Value) > 0 {
			vals = append(vals, cc.Value)
		}
		for _, raw := range vals {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil || v == "" || len(v) > 32 {
				return errorf(CodeInvalidRequest, "claims: xms_cc values must be short strings")
			}
			cr.Capabilities = append(cr.Capabilities, strings.ToLower(v))
		}
		slices.Sort(cr.Capabilities)
		cr.Capabilities = slices.Compact(cr.Capabilities)
	}
	if nbf := specs["nbf"]; nbf != nil && len(nbf.Value) > 0 {
		// Entra sends the value as a string of Unix seconds; accept a
		// number too.
		var str string
		var num json.Number
		text := ""
		if json.Unmarshal(nbf.Value, &str) == nil {
			text = str
		} else if json.Unmarshal(nbf.Value, &num) == nil {
			text = num.String()
		}
		secs, err := strconv.ParseInt(text, 10, 64)
		if err != nil || secs <= 0 || secs > 1<<40 {
			return errorf(CodeInvalidRequest, "claims: access_token nbf must be Unix seconds")
		}
		cr.NotBefore = time.Unix(secs, 0)
	}
	return nil
}

// HasCapability reports whether the client declared capability c.
func (cr ClaimsRequest) HasCapability(c string) bool {
	return slices.Contains(cr.Capabilities, strings.ToLower(c))
}

// parseClaimMember parses {"claim": null | {...}, ...}.
func parseClaimMember(raw json.RawMessage) (map[string]*claimSpec, error) {
	var m map[string]json.RawMessage
	if err := strictJSON(raw, &m); err != nil || m == nil {
		return nil, errString("must be a JSON object")
	}
	out := make(map[string]*claimSpec, len(m))
	for name, v := range m {
		if name == "" || len(name) > 64 {
			return nil, errString("bad claim name")
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			out[name] = &claimSpec{}
			continue
		}
		var cs claimSpec
		if err := strictJSON(v, &cs); err != nil {
			return nil, errString("claim '" + truncate(name, 32) + "' must be null or an object")
		}
		out[name] = &cs
	}
	return out, nil
}

// strictJSON decodes exactly one JSON value into v.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errString("trailing data")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return errString("trailing data")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// errString is a constant error message.
type errString string

func (e errString) Error() string { return string(e) }
