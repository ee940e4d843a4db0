package ssfserver_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/ssf"
)

func TestMetadata(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		r := want(t, h.do(t, "GET", "/.well-known/ssf-configuration", "", nil), http.StatusOK)
		var md ssf.TransmitterMetadata
		r.decode(t, &md)
		wantMD := ssf.TransmitterMetadata{
			SpecVersion: "1_0", Issuer: issuer, JWKSURI: issuer + "/jwks",
			DeliveryMethodsSupported: []string{ssf.DeliveryPush, ssf.DeliveryPoll},
			ConfigurationEndpoint:    issuer + "/ssf/streams", StatusEndpoint: issuer + "/ssf/status",
			AddSubjectEndpoint: issuer + "/ssf/subjects/add", RemoveSubjectEndpoint: issuer + "/ssf/subjects/remove",
			VerificationEndpoint: issuer + "/ssf/verify",
			AuthorizationSchemes: []ssf.AuthorizationScheme{{SpecURN: ssf.SchemeOAuth}}, DefaultSubjects: "ALL",
		}
		if got := jsonOf(md); got != jsonOf(wantMD) {
			t.Errorf("metadata = %s\nwant %s", got, jsonOf(wantMD))
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	})
}

func TestStreamCRUD(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		created := h.createStream(t, tok, ssf.StreamConfiguration{
			EventsRequested: []string{ssf.EventSessionRevoked, ssf.EventAccountDisabled, "https://example.com/unknown"},
			Description:     "guard for api",
		})
		if created.StreamID == "" || created.Issuer != issuer || !slices.Equal(created.Audience, ssf.Audience{"rp-1"}) {
			t.Fatalf("created = %+v", created)
		}
		if !slices.Equal(created.EventsDelivered, []string{ssf.EventSessionRevoked, ssf.EventAccountDisabled}) {
			t.Errorf("events_delivered = %v", created.EventsDelivered)
		}
		if !slices.Equal(created.EventsSupported, ssfserver.SupportedEvents) {
			t.Errorf("events_supported = %v", created.EventsSupported)
		}
		if d := created.Delivery; d == nil || d.Method != ssf.DeliveryPoll || d.EndpointURL != issuer+"/ssf/streams/"+created.StreamID+"/poll" {
			t.Errorf("delivery (none given: poll) = %+v", d)
		}
		if created.MinVerificationInterval != 30 {
			t.Errorf("min_verification_interval = %d", created.MinVerificationInterval)
		}
		id := created.StreamID

		// Read one, read all.
		var one ssf.StreamConfiguration
		want(t, h.do(t, "GET", "/ssf/streams?stream_id="+id, h.token("rp-1", authz.PermSSFRead), nil), http.StatusOK).decode(t, &one)
		if jsonOf(one) != jsonOf(created) {
			t.Errorf("read = %s, want %s", jsonOf(one), jsonOf(created))
		}
		second := h.createStream(t, tok, pollCfg())
		var all []ssf.StreamConfiguration
		want(t, h.do(t, "GET", "/ssf/streams", tok, nil), http.StatusOK).decode(t, &all)
		if len(all) != 2 || all[0].StreamID != id || all[1].StreamID != second.StreamID {
			t.Errorf("list = %s", jsonOf(all))
		}
		var none []ssf.StreamConfiguration
		want(t, h.do(t, "GET", "/ssf/streams", h.manager("rp-2"), nil), http.StatusOK).decode(t, &none)
		if none == nil || len(none) != 0 {
			t.Errorf("another receiver's list = %v, want []", none)
		}

		// PATCH changes only what is present; transmitter fields may be echoed.
		var patched ssf.StreamConfiguration
		want(t, h.do(t, "PATCH", "/ssf/streams", tok, map[string]any{
			"stream_id": id, "description": "renamed", "aud": "rp-1", "iss": issuer,
		}), http.StatusOK).decode(t, &patched)
		if patched.Description != "renamed" || !slices.Equal(patched.EventsDelivered, created.EventsDelivered) {
			t.Errorf("patched = %s", jsonOf(patched))
		}
		// PUT replaces: absent receiver fields go back to their defaults.
		var replaced ssf.StreamConfiguration
		want(t, h.do(t, "PUT", "/ssf/streams", tok, map[string]any{
			"stream_id": id, "delivery": map[string]any{"method": ssf.DeliveryPoll},
		}), http.StatusOK).decode(t, &replaced)
		if replaced.Description != "" || replaced.EventsRequested != nil || len(replaced.EventsDelivered) != len(ssfserver.SupportedEvents) {
			t.Errorf("replaced = %s", jsonOf(replaced))
		}

		// Status.
		var status ssf.StreamStatus
		want(t, h.do(t, "GET", "/ssf/status?stream_id="+id, tok, nil), http.StatusOK).decode(t, &status)
		if status != (ssf.StreamStatus{StreamID: id, Status: ssf.StatusEnabled}) {
			t.Errorf("status = %+v", status)
		}
		want(t, h.do(t, "POST", "/ssf/status", tok, ssf.StreamStatus{StreamID: id, Status: ssf.StatusPaused, Reason: "maintenance"}), http.StatusOK).decode(t, &status)
		if status != (ssf.StreamStatus{StreamID: id, Status: ssf.StatusPaused, Reason: "maintenance"}) {
			t.Errorf("updated status = %+v", status)
		}

		// Delete.
		want(t, h.do(t, "DELETE", "/ssf/streams?stream_id="+id, tok, nil), http.StatusNoContent)
		want(t, h.do(t, "GET", "/ssf/streams?stream_id="+id, tok, nil), http.StatusNotFound)
		want(t, h.do(t, "DELETE", "/ssf/streams?stream_id="+id, tok, nil), http.StatusNotFound)
	})
}

func TestStreamAuth(t *testing.T) {
	each(t, func(s *ssfserver.Server) { s.MaxStreamsPerReceiver = 2 }, func(t *testing.T, h *harness) {
		owner := h.manager("rp-1")
		id := h.createStream(t, owner, pollCfg()).StreamID
		reader := h.token("rp-1", authz.PermSSFRead)
		other := h.manager("rp-2")
		graphOnly := h.token("rp-1", "User.Read.All")

		t.Run("no token", func(t *testing.T) {
			r := want(t, h.do(t, "GET", "/ssf/streams", "", nil), http.StatusUnauthorized)
			if r.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("challenge = %q", r.header.Get("WWW-Authenticate"))
			}
			assertErr(t, r, ssf.SETErrAuthenticationFailed)
		})
		t.Run("forged token", func(t *testing.T) {
			forged := owner[:len(owner)-4] + "AAAA"
			r := want(t, h.do(t, "GET", "/ssf/streams", forged, nil), http.StatusUnauthorized)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("challenge = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		t.Run("token for another audience", func(t *testing.T) {
			tok, _, err := h.tokens.Issue(h.ctx, oauthToken("rp-1", authz.GraphResource, authz.PermSSFManage))
			if err != nil {
				t.Fatal(err)
			}
			want(t, h.do(t, "GET", "/ssf/streams", tok, nil), http.StatusUnauthorized)
		})
		t.Run("no SSF permission", func(t *testing.T) {
			r := want(t, h.do(t, "GET", "/ssf/streams", graphOnly, nil), http.StatusForbidden)
			assertErr(t, r, ssf.SETErrAccessDenied)
		})
		t.Run("ssf.read reads but does not write", func(t *testing.T) {
			want(t, h.do(t, "GET", "/ssf/streams?stream_id="+id, reader, nil), http.StatusOK)
			want(t, h.do(t, "GET", "/ssf/status?stream_id="+id, reader, nil), http.StatusOK)
			want(t, h.do(t, "POST", "/ssf/streams/"+id+"/poll", reader, ssf.PollRequest{ReturnImmediately: true}), http.StatusOK)
			for _, c := range []struct{ method, path string }{
				{"POST", "/ssf/streams"}, {"PATCH", "/ssf/streams"}, {"PUT", "/ssf/streams"},
				{"DELETE", "/ssf/streams?stream_id=" + id}, {"POST", "/ssf/status"}, {"POST", "/ssf/subjects/add"},
				{"POST", "/ssf/subjects/remove"}, {"POST", "/ssf/verify"}, {"POST", "/ssf/streams/" + id + "/deadletters/replay"},
			} {
				r := want(t, h.do(t, c.method, c.path, reader, map[string]any{"stream_id": id}), http.StatusForbidden)
				assertErr(t, r, ssf.SETErrAccessDenied)
			}
		})
		t.Run("another receiver's stream is not found", func(t *testing.T) {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/ssf/streams?stream_id=" + id, nil},
				{"PATCH", "/ssf/streams", map[string]any{"stream_id": id, "description": "x"}},
				{"PUT", "/ssf/streams", map[string]any{"stream_id": id}},
				{"DELETE", "/ssf/streams?stream_id=" + id, nil},
				{"GET", "/ssf/status?stream_id=" + id, nil},
				{"POST", "/ssf/status", ssf.StreamStatus{StreamID: id, Status: ssf.StatusDisabled}},
				{"POST", "/ssf/subjects/add", ssf.AddSubjectRequest{StreamID: id, Subject: ssf.EmailSubject("a@b")}},
				{"POST", "/ssf/subjects/remove", ssf.RemoveSubjectRequest{StreamID: id, Subject: ssf.EmailSubject("a@b")}},
				{"POST", "/ssf/verify", ssf.VerificationRequest{StreamID: id}},
				{"POST", "/ssf/streams/" + id + "/poll", ssf.PollRequest{ReturnImmediately: true}},
				{"GET", "/ssf/streams/" + id + "/deadletters", nil},
				{"POST", "/ssf/streams/" + id + "/deadletters/replay", nil},
			} {
				r := want(t, h.do(t, c.method, c.path, other, c.body), http.StatusNotFound)
				assertErr(t, r, ssfserver.CodeNotFound)
				// An unknown id answers exactly the same.
				unknown := strings.ReplaceAll(c.path, id, "0123456789abcdef0123456789abcdef")
				var body any = c.body
				if c.body != nil {
					var m map[string]any
					_ = json.Unmarshal([]byte(jsonOf(c.body)), &m)
					if _, ok := m["stream_id"]; ok {
						m["stream_id"] = "0123456789abcdef0123456789abcdef"
					}
					body = m
				}
				r2 := h.do(t, c.method, unknown, owner, body)
				if r2.status != http.StatusNotFound {
					t.Errorf("%s %s with an unknown id: %s", c.method, unknown, r2)
				}
			}
			// The stream is untouched.
			var st ssf.StreamStatus
			want(t, h.do(t, "GET", "/ssf/status?stream_id="+id, owner, nil), http.StatusOK).decode(t, &st)
			if st.Status != ssf.StatusEnabled {
				t.Errorf("status after another receiver's attempts = %+v", st)
			}
		})
		t.Run("too many streams", func(t *testing.T) {
			h.createStream(t, owner, pollCfg())
			r := want(t, h.do(t, "POST", "/ssf/streams", owner, pollCfg()), http.StatusConflict)
			assertErr(t, r, ssfserver.CodeConflict)
			h.createStream(t, other, pollCfg()) // the limit is per receiver
		})
	})
}

func TestMalformedConfigs(t *testing.T) {
	each(t, func(s *ssfserver.Server) {
		s.InsecureAllowLoopbackPush = false
		s.PushAllowList = ssfserver.StaticAllowList{"rp-1": {"https://rp.example.com/ssf/"}}
	}, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		push := func(u string) map[string]any {
			return map[string]any{"delivery": map[string]any{"method": ssf.DeliveryPush, "endpoint_url": u}}
		}
		for _, c := range []struct {
			name, method string
			body         any
			status       int
			code, says   string
		}{
			{"not JSON", "POST", "{", 400, "invalid_request", "not valid JSON"},
			{"array", "POST", "[]", 400, "invalid_request", "JSON object"},
			{"empty body", "POST", "", 400, "invalid_request", "JSON object"},
			{"two objects", "POST", "{} {}", 400, "invalid_request", "one JSON object"},
			{"wrong member type", "POST", `{"events_requested": "x"}`, 400, "invalid_request", `"events_requested" must be an array`},
			{"delivery not an object", "POST", `{"delivery": 7}`, 400, "invalid_request", `"delivery" must be an object`},
			{"no supported event", "POST", map[string]any{"events_requested": []string{"urn:x"}}, 400, "invalid_request", "supports"},
			{"unknown method", "POST", map[string]any{"delivery": map[string]any{"method": "urn:x"}}, 400, "invalid_request", "not supported"},
			{"no method", "POST", map[string]any{"delivery": map[string]any{}}, 400, "invalid_request", "method is required"},
			{"push without URL", "POST", map[string]any{"delivery": map[string]any{"method": ssf.DeliveryPush}}, 400, "invalid_request", "endpoint_url is required"},
			{"push over http", "POST", push("http://rp.example.com/ssf/x"), 400, "invalid_request", "https"},
			{"push relative", "POST", push("/ssf"), 400, "invalid_request", "absolute"},
			{"push not allowed", "POST", push("https://evil.example.com/ssf/x"), 400, "access_denied", "allow-list"},
			{"push outside the allowed path", "POST", push("https://rp.example.com/other"), 400, "access_denied", "allow-list"},
			{"push to loopback", "POST", push("http://127.0.0.1:9/x"), 400, "invalid_request", "loopback"},
			{"push to localhost", "POST", push("https://localhost/x"), 400, "invalid_request", "loopback"},
			{"push to a private address", "POST", push("https://10.1.2.3/ssf/"), 400, "invalid_request", "private"},
			{"push to link-local", "POST", push("https://[fe80::1]/ssf/"), 400, "invalid_request", "private"},
			{"push to metadata service", "POST", push("https://169.254.169.254/latest"), 400, "invalid_request", "private"},
			{"push with userinfo", "POST", push("https://u:p@rp.example.com/ssf/"), 400, "invalid_request", "user information"},
			{"PATCH without stream_id", "PATCH", map[string]any{"description": "x"}, 400, "invalid_request", "stream_id is required"},
			{"PATCH aud", "PATCH", map[string]any{"stream_id": id, "aud": "someone-else"}, 400, "invalid_request", "aud is set by the transmitter"},
			{"PATCH events_delivered", "PATCH", map[string]any{"stream_id": id, "events_delivered": []string{ssf.EventAccountPurged}}, 400, "invalid_request", "events_delivered"},
			{"PUT iss", "PUT", map[string]any{"stream_id": id, "iss": "https://other"}, 400, "invalid_request", "iss is set by the transmitter"},
			{"body too large", "POST", `{"description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ssfserver.CodeTooLarge, "exceeds"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := want(t, h.do(t, c.method, "/ssf/streams", tok, c.body), c.status)
				e := assertErr(t, r, c.code)
				if !strings.Contains(e.Description, c.says) {
					t.Errorf("description %q does not say %q", e.Description, c.says)
				}
			})
		}
		// An allowed push endpoint works, and the stream is unchanged by
		// the refused updates.
		ok := h.createStream(t, tok, ssf.StreamConfiguration{Delivery: &ssf.Delivery{Method: ssf.DeliveryPush,
			EndpointURL: "https://rp.example.com/ssf/events", AuthorizationHeader: "Bearer s3cret"}})
		if ok.Delivery.EndpointURL != "https://rp.example.com/ssf/events" || ok.Delivery.AuthorizationHeader != "Bearer s3cret" {
			t.Errorf("push delivery = %+v", ok.Delivery)
		}
		var cur ssf.StreamConfiguration
		want(t, h.do(t, "GET", "/ssf/streams?stream_id="+id, tok, nil), http.StatusOK).decode(t, &cur)
		if !slices.Equal(cur.Audience, ssf.Audience{"rp-1"}) || cur.Delivery.Method != ssf.DeliveryPoll {
			t.Errorf("stream changed by refused updates: %s", jsonOf(cur))
		}
		// Long descriptions are truncated, not refused.
		long := h.createStream(t, tok, ssf.StreamConfiguration{Description: strings.Repeat("é", 1500)})
		if n := len([]rune(long.Description)); n != 1000 {
			t.Errorf("description kept %d runes, want 1000", n)
		}
	})
}

func TestSubjectsAndVerification(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		for _, c := range []struct {
			name string
			body any
			says string
		}{
			{"no stream id", map[string]any{"subject": ssf.EmailSubject("a@b")}, "stream_id is required"},
			{"no subject", map[string]any{"stream_id": id}, "subject is required"},
			{"no format", map[string]any{"stream_id": id, "subject": map[string]any{"email": "a@b"}}, "format is required"},
			{"unknown format", map[string]any{"stream_id": id, "subject": map[string]any{"format": "shoe_size"}}, "not supported"},
			{"email without email", map[string]any{"stream_id": id, "subject": map[string]any{"format": "email"}}, "needs email"},
			{"empty complex", map[string]any{"stream_id": id, "subject": map[string]any{"format": "complex"}}, "at least one member"},
			{"nested complex", map[string]any{"stream_id": id, "subject": map[string]any{"format": "complex",
				"user": map[string]any{"format": "complex"}}}, "simple subjects"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := assertErr(t, want(t, h.do(t, "POST", "/ssf/subjects/add", tok, c.body), 400), ssf.SETErrInvalidRequest)
				if !strings.Contains(e.Description, c.says) {
					t.Errorf("description %q does not say %q", e.Description, c.says)
				}
			})
		}
		sub := ssf.IssSubSubject(issuer, "u1")
		r := want(t, h.do(t, "POST", "/ssf/subjects/add", tok, ssf.AddSubjectRequest{StreamID: id, Subject: sub}), http.StatusOK)
		if len(r.body) != 0 {
			t.Errorf("add subject body = %q, want empty", r.body)
		}
		want(t, h.do(t, "POST", "/ssf/subjects/remove", tok, ssf.RemoveSubjectRequest{StreamID: id, Subject: sub}), http.StatusNoContent)

		// Verification: 204, then a verification SET with the state; a
		// second request within min_verification_interval gets 429.
		want(t, h.do(t, "POST", "/ssf/verify", tok, ssf.VerificationRequest{StreamID: id, State: "st-1"}), http.StatusNoContent)
		r = want(t, h.do(t, "POST", "/ssf/verify", tok, ssf.VerificationRequest{StreamID: id, State: "st-2"}), http.StatusTooManyRequests)
		if r.header.Get("Retry-After") != "30" {
			t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
		}
		got := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if len(got.Sets) != 1 {
			t.Fatalf("poll = %+v, want the verification SET", got)
		}
		for jti, raw := range got.Sets {
			_, set := h.verifySET(raw)
			typ, body, _ := set.Event()
			if typ != ssf.EventVerification || string(body) != `{"state":"st-1"}` || set.JTI != jti ||
				set.SubID == nil || !set.SubID.Equal(ssf.OpaqueSubject(id)) || !slices.Equal(set.Audience, ssf.Audience{"rp-1"}) {
				t.Errorf("verification SET = %s", jsonOf(set))
			}
		}
		h.clock.Advance(31e9)
		want(t, h.do(t, "POST", "/ssf/verify", tok, ssf.VerificationRequest{StreamID: id}), http.StatusNoContent)
	})
}

// assertErr checks an RFC 8935-style error body and returns it.
func assertErr(t testing.TB, r response, code string) ssf.SETError {
	t.Helper()
	var e ssf.SETError
	r.decode(t, &e)
	if e.Err != code || e.Description == "" {
		t.Errorf("error body = %s, want err %q with a description", r.body, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	return e
}
