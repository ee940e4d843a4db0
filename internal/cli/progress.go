package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress draws a bar on stderr while work proceeds: only when stderr is
// a terminal (design contract), at most ten times a second; a nil
// *progress draws nothing.
type progress struct {
	w     io.Writer
	label string
	total int
	now   func() time.Time

	mu    sync.Mutex
	done  int
	last  time.Time
	drawn bool
}

// newProgress returns a bar for total units, or nil when no one watches.
func (s *state) newProgress(label string, total int) *progress {
	if !s.interactive() || total <= 1 {
		return nil
	}
	return &progress{w: s.env.Stderr, label: label, total: total, now: s.env.now}
}

// add records n more units done.
func (p *progress) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if t := p.now(); p.done >= p.total || t.Sub(p.last) >= 100*time.Millisecond {
		p.last = t
		p.draw()
	}
}

// setTotal changes the total (bulk jobs learn it from the server).
func (p *progress) setTotal(total, done int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done = total, done
	p.draw()
}

func (p *progress) draw() {
	const width = 30
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	full := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3.0f%%", p.label, strings.Repeat("#", full), strings.Repeat("-", width-full),
		p.done, p.total, frac*100)
	p.drawn = true
}

// finish erases the bar.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
