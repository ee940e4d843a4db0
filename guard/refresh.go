package guard

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errThrottled is returned by refresher.refresh when the last fetch
// attempt started less than the minimum interval ago.
var errThrottled = errors.New("refetch rate-limited")

// refresher caches a remote document (a JWKS, a discovery document). It
// dedupes refreshes (one fetch at a time, every caller waits for it) and
// rate-limits them: a fetch starts at most once per interval, however
// many callers ask (go-oidc's RemoteKeySet without its ctx field, and with
// the throttle it lacks). The fetch runs detached from the caller that
// started it, bounded by timeout, so one cancelled request does not fail
// the others waiting on it.
type refresher[T any] struct {
	fetch    func(ctx context.Context) (T, error)
	now      func() time.Time
	interval time.Duration
	timeout  time.Duration
	// onUpdate, when set, runs after every successful fetch.
	onUpdate func()

	mu       sync.Mutex
	val      T
	have     bool
	gen      uint64 // bumped on every successful fetch
	last     time.Time
	lastErr  error
	inflight *flight[T]
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// current returns the cached value, whether there is one, and its
// generation.
func (r *refresher[T]) current() (T, bool, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.val, r.have, r.gen
}

// get returns the cached value, fetching it when there is none yet.
func (r *refresher[T]) get(ctx context.Context) (T, error) {
	if v, ok, _ := r.current(); ok {
		return v, nil
	}
	return r.refresh(ctx)
}

// refresh fetches the value anew, or joins the fetch in flight. When the
// last attempt started less than interval ago it fetches nothing and
// returns the cached value with errThrottled (or the last error when there
// is no value).
func (r *refresher[T]) refresh(ctx context.Context) (T, error) {
	r.mu.Lock()
	f := r.inflight
	if f == nil {
		if !r.last.IsZero() && r.now().Sub(r.last) < r.interval {
			v, have, err := r.val, r.have, r.lastErr
			r.mu.Unlock()
			if have || err == nil {
				err = errThrottled
			}
			return v, err
		}
		f = &flight[T]{done: make(chan struct{})}
		r.inflight, r.last = f, r.now()
		go r.run(context.WithoutCancel(ctx), f)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (r *refresher[T]) run(ctx context.Context, f *flight[T]) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	v, err := r.fetch(ctx)
	cancel()
	r.mu.Lock()
	if err == nil {
		r.val, r.have = v, true
		r.gen++
	}
	r.lastErr = err
	r.inflight = nil
	f.val, f.err = v, err
	r.mu.Unlock()
	if err == nil && r.onUpdate != nil {
		r.onUpdate()
	}
	close(f.done)
}
