package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// entity describes how one aggregate maps to its table: the columns it
// writes, how rows are read back, and which Graph properties a query may
// filter, search and sort on.
type entity[T any] struct {
	name   string // "user", in error messages
	table  string
	alias  string
	cols   []string // written columns; cols[0] is the key
	sel    string   // alias-qualified select list
	scan   func(sc scanner, extra ...any) (T, error)
	values func(t *txn, v T) []any // in cols order; fills defaults
	id     func(T) string
	// keyArg converts a key as id returns it to the argument compared with
	// cols[0]; nil means the string itself (BLOB keys need []byte).
	keyArg func(id string) any
	props  map[string]column // by lower-cased Graph property name
	// children, when set, rewrites rows that belong to v in other tables
	// (side tables kept in step with a column) after v is inserted or
	// updated, in the same transaction.
	children func(ctx context.Context, q querier, t *txn, v T) error

	insertSQL, updateSQL, selectSQL string
	returning                       string // the select list without the alias, for RETURNING
}

// key is the argument that finds the row whose id is id.
func (e *entity[T]) key(id string) any {
	if e.keyArg != nil {
		return e.keyArg(id)
	}
	return id
}

// init derives the statements from the column lists.
func (e *entity[T]) init() *entity[T] {
	ph := make([]string, len(e.cols))
	set := make([]string, 0, len(e.cols)-1)
	for i, c := range e.cols {
		ph[i] = "$" + strconv.Itoa(i+1)
		if i > 0 {
			set = append(set, c+" = "+ph[i])
		}
	}
	e.insertSQL = "INSERT INTO " + e.table + " (" + strings.Join(e.cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
	e.updateSQL = "UPDATE " + e.table + " SET " + strings.Join(set, ", ") + " WHERE " + e.cols[0] + " = $1"
	e.selectSQL = "SELECT " + e.sel + " FROM " + e.table + " " + e.alias
	e.returning = strings.ReplaceAll(e.sel, e.alias+".", "")
	return e
}

// create inserts v: ErrConflict on a duplicate key, ErrNotFound when a
// referenced object is missing.
func (e *entity[T]) create(ctx context.Context, t *txn, v T) error {
	if e.id(v) == "" {
		return fmt.Errorf("sqlstore: create %s: empty id", e.name)
	}
	if e.children == nil {
		if _, err := t.exec(ctx, e.insertSQL, e.values(t, v)...); err != nil {
			return t.classify("create "+e.name, err)
		}
		return nil
	}
	return t.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, e.insertSQL, e.values(t, v)...); err != nil {
			return t.classify("create "+e.name, err)
		}
		return e.children(ctx, q, t, v)
	})
}

// get reads the one row matching where (written against e.alias).
func (e *entity[T]) get(ctx context.Context, q querier, where string, args ...any) (T, error) {
	v, err := e.scan(q.QueryRowContext(ctx, e.selectSQL+" WHERE "+where, args...))
	if err != nil {
		return v, notFound("get "+e.name, err)
	}
	return v, nil
}

// all reads every row matching the rest of the statement (WHERE … ORDER BY …).
func (e *entity[T]) all(ctx context.Context, q querier, rest string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, e.selectSQL+" "+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list %s: %w", e.name, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := e.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list %s: %w", e.name, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list %s: %w", e.name, err)
	}
	return out, nil
}

// update is the atomic read-modify-write behind UpdateUser and friends: it
// locks the row, calls fn, writes what fn returns and reads it back as
// stored. fn's error is returned unchanged and nothing is written.
func (e *entity[T]) update(ctx context.Context, t *txn, id string, fn func(T) (T, error)) (T, error) {
	var out T
	err := t.write(ctx, func(q querier) error {
		old, err := e.get(ctx, q, e.alias+"."+e.cols[0]+" = $1"+t.s.d.forUpdate, e.key(id))
		if err != nil {
			return err
		}
		v, err := fn(old)
		if err != nil {
			return err
		}
		if e.id(v) != id {
			return fmt.Errorf("sqlstore: update %s: updater changed the id from %q to %q", e.name, id, e.id(v))
		}
		if _, err := q.ExecContext(ctx, e.updateSQL, e.values(t, v)...); err != nil {
			return t.classify("update "+e.name, err)
		}
		if e.children != nil {
			if err := e.children(ctx, q, t, v); err != nil {
				return err
			}
		}
		out, err = e.get(ctx, q, e.alias+"."+e.cols[0]+" = $1", e.key(id))
		return err
	})
	return out, err
}

// delete removes the row with this key, or returns ErrNotFound.
func (e *entity[T]) delete(ctx context.Context, t *txn, id string) error {
	res, err := t.exec(ctx, "DELETE FROM "+e.table+" WHERE "+e.cols[0]+" = $1", e.key(id))
	return affected("delete "+e.name, res, err)
}
