package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// This file holds the helpers of set-based writes: multi-row INSERTs and
// statements over a list of ids.

// maxParams bounds the bound parameters of one built statement, under
// SQLite's 32,766 and PostgreSQL's 65,535.
const maxParams = 30000

// maxRows bounds the rows of one multi-row INSERT, so that statement text
// and planning stay small.
const maxRows = 1000

// idChunk is how many ids one set-based UPDATE names.
const idChunk = 500

// rowsBuilder writes the VALUES list of a multi-row INSERT. In SQLite the
// parameters are anonymous "?": modernc.org/sqlite binds numbered or named
// parameters in time quadratic in their number, anonymous ones in linear
// time.
type rowsBuilder struct {
	strings.Builder
	anon bool
	args []any
}

// arg binds v and returns its placeholder.
func (b *rowsBuilder) arg(v any) string {
	b.args = append(b.args, v)
	if b.anon {
		return "?"
	}
	return "$" + strconv.Itoa(len(b.args))
}

// row writes one parenthesised row of plain parameters.
func (b *rowsBuilder) row(vals ...any) {
	b.WriteString("(")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(b.arg(v))
	}
	b.WriteString(")")
}

// insertMany inserts n rows with as few multi-row INSERT statements as the
// parameter limits allow: head is "INSERT INTO t (cols) VALUES ", row(i, b)
// writes row i (perRow parameters), tail follows the VALUES list (ON
// CONFLICT …, RETURNING …). When each is set, it is called for every
// returned row.
func (t *txn) insertMany(ctx context.Context, q querier, head, tail string, perRow, n int, row func(i int, b *rowsBuilder), each func(*sql.Rows) error) error {
	per := max(1, min(maxRows, maxParams/perRow))
	if n > 1 {
		// The text varies with the number of rows; a single row's does
		// not (one revocation, one audit record), and that is prepared.
		q = unprepared(q)
	}
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		b := rowsBuilder{anon: t.s.d == sqliteDialect, args: make([]any, 0, (end-start)*perRow)}
		b.WriteString(head)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			row(i, &b)
		}
		b.WriteString(tail)
		if each == nil {
			if _, err := q.ExecContext(ctx, b.String(), b.args...); err != nil {
				return err
			}
			continue
		}
		if err := queryEach(ctx, q, b.String(), b.args, each); err != nil {
			return err
		}
	}
	return nil
}

// joinCols is the column list of an INSERT.
func joinCols(cols []string) string { return strings.Join(cols, ", ") }

// queryEach runs a query and calls each for every row.
func queryEach(ctx context.Context, q querier, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// chunks calls fn with consecutive slices of at most idChunk distinct ids,
// stopping at the first error.
func chunks(ids []string, fn func(ids []string) error) error {
	seen := make(map[string]bool, len(ids))
	uniq := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	for len(uniq) > 0 {
		n := min(idChunk, len(uniq))
		if err := fn(uniq[:n]); err != nil {
			return err
		}
		uniq = uniq[n:]
	}
	return nil
}

// updateByIDs runs one set-based statement per chunk of ids: stmt has
// "%s" where the condition "col is one of the chunk" goes, its other
// parameters are args, numbered from $2 on ($1 is the chunk). It returns
// the rows changed.
func (t *txn) updateByIDs(ctx context.Context, op, stmt, col string, ids []string, args ...any) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	d := t.s.d
	query, one := fmt.Sprintf(stmt, d.inIDs(col, "$1")), fmt.Sprintf(stmt, d.inIDsN(col, "$1", 1))
	total := 0
	err := t.write(ctx, func(q querier) error {
		total = 0 // the write may run again after a serialization failure
		return chunks(ids, func(chunk []string) error {
			text := query
			if len(chunk) == 1 {
				text = one
			}
			res, err := q.ExecContext(ctx, text, append([]any{d.idsArgN(chunk)}, args...)...)
			if err != nil {
				return fmt.Errorf("sqlstore: %s: %w", op, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlstore: %s: %w", op, err)
			}
			total += int(n)
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
