package ssf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vigil-idp/vigil/ssf"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ptr[T any](v T) *T { return &v }

// golden compares got's indented JSON with testdata/name.golden.json and
// checks that the golden file unmarshals back into an equal value.
func golden[T any](t *testing.T, name string, got T) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ssf -update)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s: JSON differs from the golden file\ngot:\n%s\nwant:\n%s", name, b, want)
	}
	var back T
	if err := json.Unmarshal(want, &back); err != nil {
		t.Fatalf("unmarshal golden: %v", err)
	}
	// Compare compact re-encodings: json.RawMessage keeps the golden
	// file's indentation.
	again, _ := json.Marshal(back)
	first, _ := json.Marshal(got)
	if !bytes.Equal(again, first) {
		t.Errorf("%s: round trip changed the value\ngot:  %s\nwant: %s", name, again, first)
	}
}

func TestWireGolden(t *testing.T) {
	user := ssf.IssSubSubject("https://idp.example.com", "6e3f0c1e-5d0e-4f55-9b7e-2a1c0e1f2a3b")
	sessionRevoked, err := ssf.NewSET("https://idp.example.com", 1767225600, "8a2c3f1e-4b5d-4e6f-8a9b-0c1d2e3f4a5b",
		ssf.Audience{"client-1"}, "rev-1",
		ssf.Subject{Format: ssf.FormatComplex, User: &user, Session: ptr(ssf.OpaqueSubject("sid-1"))},
		ssf.EventSessionRevoked, ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{
			EventTimestamp: 1767225599, InitiatingEntity: ssf.InitiatedByAdmin, ReasonAdmin: map[string]string{"en": "Offboarding"}}})
	if err != nil {
		t.Fatal(err)
	}
	verification, err := ssf.NewSET("https://idp.example.com", 1767225600, "v-1", ssf.Audience{"a", "b"}, "",
		ssf.OpaqueSubject("stream-1"), ssf.EventVerification, ssf.Verification{State: "VGhpcyBpcyBhbiBleGFtcGxl"})
	if err != nil {
		t.Fatal(err)
	}
	verification.TOE = 1767225600
	updated, err := ssf.NewSET("https://idp.example.com", 1767225600, "u-1", ssf.Audience{"client-1"}, "u-1",
		ssf.OpaqueSubject("stream-1"), ssf.EventStreamUpdated, ssf.StreamUpdated{Status: ssf.StatusPaused, Reason: "too many failures"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("set_session_revoked", func(t *testing.T) { golden(t, "set_session_revoked", sessionRevoked) })
	t.Run("set_verification", func(t *testing.T) { golden(t, "set_verification", verification) })
	t.Run("set_stream_updated", func(t *testing.T) { golden(t, "set_stream_updated", updated) })
	t.Run("stream_config_push", func(t *testing.T) {
		golden(t, "stream_config_push", ssf.StreamConfiguration{
			StreamID: "f67e39a0a4d34d56b3aa1bc4cff0069f", Issuer: "https://idp.example.com", Audience: ssf.Audience{"client-1"},
			EventsSupported: []string{ssf.EventSessionRevoked, ssf.EventCredentialChange},
			EventsRequested: []string{ssf.EventSessionRevoked, "https://example.com/unknown"},
			EventsDelivered: []string{ssf.EventSessionRevoked},
			Delivery: &ssf.Delivery{Method: ssf.DeliveryPush, EndpointURL: "https://rp.example.com/ssf",
				AuthorizationHeader: "Bearer receiver-secret"},
			MinVerificationInterval: 60, Description: "guard on api.example.com", InactivityTimeout: 86400,
		})
	})
	t.Run("stream_config_poll_request", func(t *testing.T) {
		golden(t, "stream_config_poll_request", ssf.StreamConfiguration{
			EventsRequested: []string{ssf.EventSessionRevoked},
			Delivery:        &ssf.Delivery{Method: ssf.DeliveryPoll},
		})
	})
	t.Run("stream_status", func(t *testing.T) {
		golden(t, "stream_status", ssf.StreamStatus{StreamID: "s1", Status: ssf.StatusDisabled, Reason: "receiver asked"})
	})
	t.Run("add_subject", func(t *testing.T) {
		golden(t, "add_subject", ssf.AddSubjectRequest{StreamID: "s1", Subject: ssf.EmailSubject("ada@example.com"), Verified: ptr(true)})
	})
	t.Run("remove_subject", func(t *testing.T) {
		golden(t, "remove_subject", ssf.RemoveSubjectRequest{StreamID: "s1", Subject: ssf.IssSubSubject("https://idp.example.com", "u1")})
	})
	t.Run("verification_request", func(t *testing.T) {
		golden(t, "verification_request", ssf.VerificationRequest{StreamID: "s1", State: "abc"})
	})
	t.Run("metadata", func(t *testing.T) {
		golden(t, "metadata", ssf.TransmitterMetadata{
			SpecVersion: ssf.SpecVersion10, Issuer: "https://idp.example.com", JWKSURI: "https://idp.example.com/jwks",
			DeliveryMethodsSupported: []string{ssf.DeliveryPush, ssf.DeliveryPoll},
			ConfigurationEndpoint:    "https://idp.example.com/ssf/streams",
			StatusEndpoint:           "https://idp.example.com/ssf/status",
			AddSubjectEndpoint:       "https://idp.example.com/ssf/subjects:add",
			RemoveSubjectEndpoint:    "https://idp.example.com/ssf/subjects:remove",
			VerificationEndpoint:     "https://idp.example.com/ssf/verify",
			CriticalSubjectMembers:   []string{"user"},
			AuthorizationSchemes:     []ssf.AuthorizationScheme{{SpecURN: ssf.SchemeOAuth}},
			DefaultSubjects:          ssf.DefaultSubjectsAll,
		})
	})
	t.Run("poll_request", func(t *testing.T) {
		golden(t, "poll_request", ssf.PollRequest{
			MaxEvents: ptr(10), ReturnImmediately: true, Ack: []string{"j1", "j2"},
			SetErrs: map[string]ssf.SETError{"j3": {Err: ssf.SETErrInvalidKey, Description: "unknown kid"}},
		})
	})
	t.Run("poll_request_ack_only", func(t *testing.T) {
		golden(t, "poll_request_ack_only", ssf.PollRequest{MaxEvents: ptr(0), Ack: []string{"j1"}})
	})
	t.Run("poll_response", func(t *testing.T) {
		golden(t, "poll_response", ssf.PollResponse{Sets: map[string]string{"j4": "eyJ.eyJ.c2ln"}, MoreAvailable: true})
	})
	t.Run("poll_response_empty", func(t *testing.T) {
		golden(t, "poll_response_empty", ssf.PollResponse{Sets: map[string]string{}})
	})
	t.Run("push_error", func(t *testing.T) {
		golden(t, "push_error", ssf.SETError{Err: ssf.SETErrInvalidAudience, Description: "aud is not this receiver"})
	})
}

func TestAudience(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     ssf.Audience
		out      string
	}{
		{"string", `"a"`, ssf.Audience{"a"}, `"a"`},
		{"array of one", `["a"]`, ssf.Audience{"a"}, `"a"`},
		{"array", `["a","b"]`, ssf.Audience{"a", "b"}, `["a","b"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a ssf.Audience
			if err := json.Unmarshal([]byte(tc.in), &a); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, tc.want) {
				t.Errorf("unmarshal %s = %q, want %q", tc.in, a, tc.want)
			}
			out, _ := json.Marshal(a)
			if string(out) != tc.out {
				t.Errorf("marshal = %s, want %s", out, tc.out)
			}
			if !a.Contains("a") || a.Contains("z") {
				t.Errorf("Contains is wrong for %q", a)
			}
		})
	}
	var a ssf.Audience
	if err := json.Unmarshal([]byte(`7`), &a); err == nil {
		t.Error("aud 7 was accepted")
	}
}

func TestSETEvent(t *testing.T) {
	s, err := ssf.NewSET("i", 1, "j", nil, "", ssf.OpaqueSubject("x"), ssf.EventAccountEnabled, ssf.AccountEnabled{})
	if err != nil {
		t.Fatal(err)
	}
	typ, body, err := s.Event()
	if err != nil || typ != ssf.EventAccountEnabled || string(body) != "{}" {
		t.Errorf("Event() = %q, %s, %v", typ, body, err)
	}
	s.Events["x"] = json.RawMessage("{}")
	if _, _, err := s.Event(); !errors.Is(err, ssf.ErrNotOneEvent) {
		t.Errorf("two events: err = %v, want ErrNotOneEvent", err)
	}
	if _, err := ssf.NewSET("i", 1, "j", nil, "", ssf.OpaqueSubject("x"), "t", []int{1}); err == nil {
		t.Error("a non-object payload was accepted")
	}
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, banned := range []string{"sub", "exp"} {
		if _, ok := m[banned]; ok {
			t.Errorf("SET JSON has %q: %s", banned, b)
		}
	}
}

func TestMetadataURL(t *testing.T) {
	for _, tc := range []struct{ issuer, want string }{
		{"https://tr.example.com", "https://tr.example.com/.well-known/ssf-configuration"},
		{"https://tr.example.com/", "https://tr.example.com/.well-known/ssf-configuration"},
		{"https://tr.example.com/issuer1", "https://tr.example.com/.well-known/ssf-configuration/issuer1"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/.well-known/ssf-configuration"},
	} {
		got, err := ssf.MetadataURL(tc.issuer)
		if err != nil || got != tc.want {
			t.Errorf("MetadataURL(%q) = %q, %v; want %q", tc.issuer, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "tr.example.com", "https://tr.example.com/?x=1", "https://tr.example.com/#f"} {
		if got, err := ssf.MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSubjectMatches(t *testing.T) {
	u := ssf.IssSubSubject("https://i", "u1")
	u2 := ssf.IssSubSubject("https://i", "u2")
	s1, s2 := ssf.OpaqueSubject("s1"), ssf.OpaqueSubject("s2")
	userOnly := ssf.Subject{Format: ssf.FormatComplex, User: &u}
	userSess1 := ssf.Subject{Format: ssf.FormatComplex, User: &u, Session: &s1}
	userSess2 := ssf.Subject{Format: ssf.FormatComplex, User: &u, Session: &s2}
	other := ssf.Subject{Format: ssf.FormatComplex, User: &u2}
	aliases := ssf.Subject{Format: ssf.FormatAliases, Identifiers: []ssf.Subject{ssf.EmailSubject("a@x"), u}}
	for _, tc := range []struct {
		name          string
		filter, event ssf.Subject
		want          bool
	}{
		{"same simple", u, u, true},
		{"different simple", u, u2, false},
		{"email case", ssf.EmailSubject("Ada@Example.com"), ssf.EmailSubject("ada@example.com"), true},
		{"formats differ", ssf.EmailSubject("u1"), ssf.OpaqueSubject("u1"), false},
		{"less specific filter", userOnly, userSess1, true},
		{"more specific filter", userSess1, userOnly, true},
		{"sessions differ", userSess1, userSess2, false},
		{"users differ", userOnly, other, false},
		{"simple filter, complex event", u, userSess1, true},
		{"simple filter, other user", u2, userSess1, false},
		{"complex filter, simple event", userSess1, u, true},
		{"aliases filter", aliases, userSess1, true},
		{"aliases event", ssf.EmailSubject("A@x"), aliases, true},
		{"aliases no match", aliases, other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.filter.Matches(tc.event); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
