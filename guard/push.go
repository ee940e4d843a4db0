package guard

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-idp/vigil/ssf"
)

// maxSETBytes bounds a pushed SET.
const maxSETBytes = 64 << 10

// PushHandler receives pushed SETs (RFC 8935) when Stream.PushURL is set:
// serve it at that URL. For each POST it checks the Authorization header
// the guard gave the transmitter when it created the stream, verifies the
// SET (typ secevent+jwt, signature by the transmitter's JWKS, iss, aud),
// refuses a jti it has already received (a bounded cache of
// Stream.ReplayCacheSize jtis), applies the event to the revocation table
// and answers 202. A SET it cannot accept is answered 400 with
// {"err": code, "description": text} (RFC 8935 §2.3); a failed
// Authorization 401; a SET pushed before the stream is established, or
// while the transmitter's keys cannot be fetched, 503. A SET for the
// stream being created (its Authorization) waits up to 5 s for the
// transmitter's answer, so a backfill pushed at creation is not refused.
func (g *Guard) PushHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			pushError(w, http.StatusMethodNotAllowed, ssf.SETErrInvalidRequest, "POST a SET")
			return
		}
		info := g.stream.Load()
		if auth := r.Header.Get("Authorization"); info == nil || info.pushAuth != auth {
			if p := g.pendingPush.Load(); p != nil && subtle.ConstantTimeCompare([]byte(auth), []byte(*p)) == 1 {
				info = g.awaitStream(r, *p)
			}
		}
		if info == nil || info.pushAuth == "" {
			w.Header().Set("Retry-After", "1")
			pushError(w, http.StatusServiceUnavailable, ssf.SETErrAccessDenied, "no push stream is established")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(info.pushAuth)) != 1 {
			pushError(w, http.StatusUnauthorized, ssf.SETErrAuthenticationFailed, "wrong or missing Authorization")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != ssf.SETMediaType {
				pushError(w, http.StatusBadRequest, ssf.SETErrInvalidRequest, "Content-Type must be "+ssf.SETMediaType)
				return
			}
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxSETBytes+1))
		if err != nil || len(raw) > maxSETBytes {
			pushError(w, http.StatusBadRequest, ssf.SETErrInvalidRequest, "unreadable or oversized SET")
			return
		}
		set, e := g.verifySET(r.Context(), info, string(raw))
		if e == errKeysUnavailable {
			w.Header().Set("Retry-After", "5")
			pushError(w, http.StatusServiceUnavailable, e.Err, e.Description)
			return
		}
		if e == nil && !g.replays.add(set.JTI) {
			e = &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "jti already received (replay)"}
		}
		if e != nil {
			g.m.events.WithLabelValues("unknown", resultRejected).Inc()
			pushError(w, http.StatusBadRequest, e.Err, e.Description)
			return
		}
		if e := g.applySET(info, set); e != nil {
			g.replays.remove(set.JTI)
			pushError(w, http.StatusBadRequest, e.Err, e.Description)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// pushWait bounds how long a SET pushed for a stream being created waits
// for the transmitter's answer to its creation.
const pushWait = 5 * time.Second

// awaitStream waits (up to pushWait, or the request's end) until the
// stream whose push Authorization is auth is established, and returns the
// stream then established.
func (g *Guard) awaitStream(r *http.Request, auth string) *streamInfo {
	deadline := time.NewTimer(pushWait)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if info := g.stream.Load(); info != nil && info.pushAuth == auth {
			return info
		}
		select {
		case <-r.Context().Done():
			return g.stream.Load()
		case <-deadline.C:
			return g.stream.Load()
		case <-tick.C:
		}
	}
}

func pushError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ssf.SETError{Err: code, Description: desc})
}

// replayCache remembers the last max jtis received, first in first out.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]struct{}, max), ring: make([]string, 0, max)}
}

// add records jti and reports whether it is new.
func (c *replayCache) add(jti string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[jti]; ok {
		return false
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, jti)
	} else {
		delete(c.seen, c.ring[c.next])
		c.ring[c.next] = jti
		c.next = (c.next + 1) % c.max
	}
	c.seen[jti] = struct{}{}
	return true
}

// remove forgets jti (a SET that could not be applied may come again).
// Its ring slot stays until it is reused.
func (c *replayCache) remove(jti string) {
	c.mu.Lock()
	delete(c.seen, jti)
	c.mu.Unlock()
}
