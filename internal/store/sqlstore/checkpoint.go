package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite checkpoints. In WAL mode a commit appends pages to the WAL, and a
// checkpoint copies them back into the database file (and syncs it). By
// default the writer that pushes the WAL past 1,000 pages does this inside
// its commit, so every few hundred kilobytes one unlucky commit (and the
// whole group commit batch behind it) pays for the copy and a second
// fsync. A checkpointer instead runs PASSIVE checkpoints on a connection
// of its own every checkpointEvery: it never blocks the writer or readers,
// and commits pay only for their WAL fsync. The writer's own automatic
// checkpoint stays as a backstop, at checkpointBackstop pages, for when
// the checkpointer cannot keep up (readers holding old snapshots).

const (
	checkpointEvery    = 50 * time.Millisecond
	checkpointBackstop = 10000 // pages (40 MB of WAL at 4 KiB pages)
)

type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done sync.WaitGroup
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// Errors (SQLITE_BUSY from another checkpointer) only mean this
		// round did less; the next one tries again.
		c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// close stops the checkpointer and closes its connection.
func (c *checkpointer) close() error {
	close(c.stop)
	c.done.Wait()
	return c.db.Close()
}
