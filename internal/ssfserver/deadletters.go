package ssfserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// DeadLetter is one dead SET of a stream, as GET
// …/ssf/streams/{id}/deadletters lists it (a Vigil extension; SSF defines
// no such endpoint): a push that the receiver refused (400) or that failed
// MaxAttempts times, a polled SET the receiver reported in setErrs, or a
// SET dropped because the stream was disabled.
type DeadLetter struct {
	JTI          string    `json:"jti"`
	Queue        string    `json:"queue"` // "events" or "control"
	Type         string    `json:"type"`  // the event type URI
	RevocationID string    `json:"revocationId,omitempty"`
	Attempts     int       `json:"attempts"`
	LastError    string    `json:"lastError"`
	DeadAt       time.Time `json:"deadAt"`
	CreatedAt    time.Time `json:"createdAt"`
}

// DeadLetterPage is the body of the dead-letter list: Next, when not
// empty, is the cursor query parameter of the next page.
type DeadLetterPage struct {
	DeadLetters []DeadLetter `json:"deadLetters"`
	Next        string       `json:"next,omitempty"`
}

// ReplayRequest is the body of POST …/deadletters/replay: the jtis to
// deliver again; none means every dead SET of the stream.
type ReplayRequest struct {
	JTIs []string `json:"jtis,omitempty"`
}

// ReplayResponse says how many SETs were made due again.
type ReplayResponse struct {
	Replayed int `json:"replayed"`
}

// deadLetters lists a stream's dead SETs: ?queue=events (default) or
// control, ?top= (1..500, default 100), ?cursor= from the previous page.
func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request, c caller) error {
	st, err := s.ownStream(r, c)
	if err != nil {
		return err
	}
	queue, name := eventsQueue(st.ID), "events"
	switch v := r.URL.Query().Get("queue"); v {
	case "", "events":
	case "control":
		queue, name = controlQueue(st.ID), v
	default:
		return badRequest("queue must be events or control")
	}
	top := 100
	if v := r.URL.Query().Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return badRequest("top must be an integer from 1 to 500")
		}
		top = n
	}
	page, err := s.Store.ListDeliveries(r.Context(), queue, true, store.Query{Top: top, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		if errors.Is(err, store.ErrBadCursor) {
			return badRequest("cursor is not valid")
		}
		return err
	}
	out := DeadLetterPage{DeadLetters: []DeadLetter{}, Next: page.Next}
	for _, d := range page.Items {
		dl := DeadLetter{JTI: d.ID, Queue: name, Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt}
		if d.DeadAt != nil {
			dl.DeadAt = *d.DeadAt
		}
		if q, err := decodeQueued(d); err == nil {
			dl.Type, dl.RevocationID = q.Type, q.RevocationID
		}
		out.DeadLetters = append(out.DeadLetters, dl)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// replay makes dead SETs due again (attempts reset), for push and poll
// alike; they keep their jti. 200 with the number replayed.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, c caller) error {
	st, err := s.ownStream(r, c)
	if err != nil {
		return err
	}
	var in ReplayRequest
	if r.ContentLength != 0 {
		if _, err := readObject(w, r, &in); err != nil {
			return err
		}
	}
	for _, id := range in.JTIs {
		if !validJTI(id) {
			return badRequest("%q is not a jti this transmitter issued", truncate(id, 64))
		}
	}
	ctx := r.Context()
	queues := []string{eventsQueue(st.ID), controlQueue(st.ID)}
	var dead []store.Delivery
	if len(in.JTIs) > 0 {
		found, err := findDeliveries(ctx, s.Store, queues, in.JTIs)
		if err != nil {
			return err
		}
		for _, id := range in.JTIs {
			d, ok := found[id]
			if !ok {
				return badRequest("unknown jti on this stream: %s", id)
			}
			if d.DeadAt != nil {
				dead = append(dead, d)
			}
		}
	} else {
		for _, q := range queues {
			cursor := ""
			for {
				page, err := s.Store.ListDeliveries(ctx, q, true, store.Query{Top: 500, Cursor: cursor})
				if err != nil {
					return err
				}
				dead = append(dead, page.Items...)
				if cursor = page.Next; cursor == "" {
					break
				}
			}
		}
	}
	n := 0
	var revs []string
	for _, d := range dead {
		o := outcomeReplayed
		if d.LastError == droppedError {
			o = outcomeUndropped
		}
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.RetryDelivery(ctx, d.ID, s.now()); err != nil {
				return err
			}
			q, err := decodeQueued(d)
			if err != nil || q.RevocationID == "" {
				return nil
			}
			revs = append(revs, q.RevocationID)
			return countOutcomes(ctx, tx, st.ID, s.now(), map[string][]outcome{q.RevocationID: {o}})
		})
		switch {
		case err == nil:
			n++
		case errors.Is(err, store.ErrConflict): // replayed meanwhile
		default:
			return err
		}
	}
	s.markDirty(revs...)
	s.flushReceipts(ctx)
	s.wakePush()
	writeJSON(w, http.StatusOK, ReplayResponse{Replayed: n})
	return nil
}

// ownStream returns the caller's stream named by the {id} path value.
func (s *Server) ownStream(r *http.Request, c caller) (*stream, error) {
	id := r.PathValue("id")
	d, err := s.streams(r.Context())
	if err != nil {
		return nil, err
	}
	st := d.find(id, c.receiver)
	if st == nil {
		return nil, errNotFound(id)
	}
	return st, nil
}
