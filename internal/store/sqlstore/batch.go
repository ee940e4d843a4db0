package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// SQLite commits are group commits. SQLite has one writer at a time, and in
// WAL mode with synchronous=FULL each commit waits for an fsync, so
// committing writers one by one caps throughput at one fsync per write. A
// batcher instead runs the work of every writer that is waiting back to
// back in one transaction on the single write connection, and answers them
// all after one COMMIT (one fsync):
//
//   - a writer whose work fails gets its own error and the others commit:
//     the batch runs first without savepoints and, when a writer fails, is
//     rolled back and run again with each writer in its own savepoint, so
//     the failing writer alone is rolled back (its savepoint);
//   - nobody is answered before the COMMIT is durable, and if the COMMIT
//     (or any savepoint bookkeeping) fails, every writer in the batch gets
//     that error, so no write is ever reported done that is not;
//   - work runs in arrival order, so the batch is equivalent to running the
//     transactions one after another (serializable);
//   - a batch starts as soon as the previous one has committed: there is no
//     timer, so a lone writer pays no extra latency.
//
// Writers' statements run with their context's values but not its
// cancellation: interrupting a statement inside SQLite aborts the whole
// transaction, which would fail every writer in the batch. A writer whose
// context ends while it waits in the queue is skipped.

// maxBatch bounds how many transactions share one commit.
const maxBatch = 256

// errClosed answers writes queued after Close.
var errClosed = errors.New("sqlstore: store is closed")

type batcher struct {
	db    *sql.DB       // the single-connection write pool
	stmts *stmtCache    // db's statements; nil: none cached
	wake  chan struct{} // buffered: work may be queued
	quit  chan struct{}
	done  sync.WaitGroup

	mu     sync.Mutex
	queue  []*job
	closed bool
}

type job struct {
	ctx  context.Context
	fn   func(q querier) error
	err  error
	pnc  any // a panic in fn, re-raised in the writer's goroutine
	done chan struct{}
}

func newBatcher(db *sql.DB, stmts *stmtCache) *batcher {
	b := &batcher{db: db, stmts: stmts, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	b.done.Add(1)
	go b.loop()
	return b
}

// do runs fn in a batched transaction and returns once it is durably
// committed or has failed; fn's error is returned unchanged.
func (b *batcher) do(ctx context.Context, fn func(q querier) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	b.queue = append(b.queue, j)
	b.mu.Unlock()
	b.signal()
	<-j.done // bounded by the batch's run; a job whose ctx ends while queued is skipped
	if j.pnc != nil {
		panic(j.pnc)
	}
	return j.err
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// queued is how many transactions wait for the next batch.
func (b *batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// close lets the running batch finish and fails what is still queued.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	b.done.Wait()
	for _, j := range b.queue {
		j.err = errClosed
		close(j.done)
	}
	b.queue = nil
}

func (b *batcher) loop() {
	defer b.done.Done()
	for {
		select {
		case <-b.wake:
		case <-b.quit:
			return
		}
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		more := len(b.queue) > 0
		b.mu.Unlock()
		if more {
			b.signal()
		}
		if n == 0 {
			continue
		}
		b.commit(batch)
		for _, j := range batch {
			close(j.done)
		}
		if b.stmts != nil {
			b.stmts.flush() // the connection is idle now
		}
	}
}

// commit runs batch in one transaction: first without savepoints (two
// statements fewer per writer, which is what most of a writer's work costs
// for a token rotation); if a writer fails, that attempt is rolled back and
// the batch runs again with each writer in its own savepoint, so only the
// failing writer's work is lost. A writer's fn may therefore run twice,
// which InTx already requires it to bear.
func (b *batcher) commit(batch []*job) {
	if len(batch) > 1 && b.commitOptimistic(batch) {
		return
	}
	for _, j := range batch {
		j.err, j.pnc = nil, nil
	}
	b.commitCareful(batch)
}

// commitOptimistic runs batch without savepoints. It returns false, having
// rolled back, when a writer failed; true when it answered every writer
// (committed, or failed them all because the transaction was lost).
func (b *batcher) commitOptimistic(batch []*job) bool {
	fail := func(err error) { failRest(batch, err) }
	tx, err := b.db.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE
	if err != nil {
		fail(fmt.Errorf("sqlstore: begin: %w", err))
		return true
	}
	q := noCancel{tx: tx, c: b.stmts}
	ran := 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		j.run(q)
		if j.err != nil || j.pnc != nil {
			tx.Rollback()
			return false
		}
		ran++
	}
	if ran == 0 {
		tx.Rollback()
		return true
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlstore: commit: %w", err))
	}
	return true
}

// commitCareful runs batch with each writer in a savepoint.
func (b *batcher) commitCareful(batch []*job) {
	fail := func(err error) { failRest(batch, err) }
	tx, err := b.db.BeginTx(context.Background(), nil) // BEGIN IMMEDIATE
	if err != nil {
		fail(fmt.Errorf("sqlstore: begin: %w", err))
		return
	}
	q := noCancel{tx: tx, c: b.stmts} // the savepoint statements too are prepared once
	bg := context.Background()
	alone := len(batch) == 1 // no savepoint needed: failure rolls back all
	var ok int
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		if !alone {
			if _, err := q.ExecContext(bg, "SAVEPOINT job"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlstore: savepoint: %w", err))
				return
			}
		}
		j.run(q)
		if alone && (j.err != nil || j.pnc != nil) {
			tx.Rollback()
			return
		}
		if !alone {
			// These fail if the job's error aborted the whole transaction.
			stmts := []string{"RELEASE job"}
			if j.err != nil || j.pnc != nil {
				stmts = []string{"ROLLBACK TO job", "RELEASE job"}
			}
			for _, stmt := range stmts {
				if _, err := q.ExecContext(bg, stmt); err != nil {
					tx.Rollback()
					fail(fmt.Errorf("sqlstore: batched transaction aborted: %w", err))
					return
				}
			}
		}
		if j.err == nil && j.pnc == nil {
			ok++
		}
	}
	if ok == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlstore: commit: %w", err))
	}
}

// failRest gives err to every job of batch that has no outcome of its own.
func failRest(batch []*job, err error) {
	for _, j := range batch {
		if j.err == nil && j.pnc == nil {
			j.err = err
		}
	}
}

// run calls the job's fn, catching a panic.
func (j *job) run(q querier) {
	defer func() {
		if p := recover(); p != nil {
			j.pnc = p
		}
	}()
	j.err = j.fn(q)
}

// noCancel runs statements with their context's values but not its
// cancellation (see the comment at the top of this file).
// A text the write connection has prepared runs as the cached statement
// (c, nil for unprepared); a new one runs unprepared and is noted for the
// batcher to prepare after the transaction.
type noCancel struct {
	tx *sql.Tx
	c  *stmtCache
}

// stmt returns the transaction's view of the cached statement for query,
// or nil.
func (n noCancel) stmt(ctx context.Context, query string) *sql.Stmt {
	if n.c == nil {
		return nil
	}
	if st := n.c.lookup(query); st != nil {
		return n.tx.StmtContext(ctx, st)
	}
	n.c.note(query)
	return nil
}

func (n noCancel) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := n.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return n.tx.ExecContext(ctx, query, args...)
}

func (n noCancel) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := n.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return n.tx.QueryContext(ctx, query, args...)
}

func (n noCancel) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := n.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return n.tx.QueryRowContext(ctx, query, args...)
}
