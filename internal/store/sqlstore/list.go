package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// defaultTop is the page size when Query.Top is 0.
const defaultTop = 100

// sortKey is one ORDER BY key.
type sortKey struct {
	name string // lower-cased property name, part of the cursor's signature
	col  column
	desc bool
}

// orderKeys resolves $orderby and appends id as the final tie-breaker, in
// the direction of the last key (so a single index on (key, id) serves the
// query both ways).
func orderKeys(p map[string]column, ob []odata.OrderBy) ([]sortKey, error) {
	var keys []sortKey
	for _, o := range ob {
		name := strings.ToLower(o.Prop)
		col, ok := p[name]
		if !ok || !col.order {
			return nil, unsupported("$orderby", o.P, "cannot sort on property %q", o.Prop)
		}
		keys = append(keys, sortKey{name: name, col: col, desc: o.Desc})
		if name == "id" { // unique: later keys never apply
			return keys, nil
		}
	}
	desc := len(keys) > 0 && keys[len(keys)-1].desc
	return append(keys, sortKey{name: "id", col: p["id"], desc: desc}), nil
}

func pageSize(top int) (int, error) {
	switch {
	case top < 0:
		return 0, fmt.Errorf("negative page size %d", top)
	case top == 0:
		return defaultTop, nil
	}
	return top, nil
}

// cursor is what a page's Next encodes: the sort values of the last row
// returned, and which sort they belong to.
type cursor struct {
	Order string   `json:"o"`
	Vals  []string `json:"v"`
}

func signature(keys []sortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.name
		if k.desc {
			parts[i] += " desc"
		}
	}
	return strings.Join(parts, ",")
}

// encodeCursor builds the opaque cursor from the sort values of a row, as
// scanned from the database.
func encodeCursor(keys []sortKey, vals []any) (string, error) {
	c := cursor{Order: signature(keys), Vals: make([]string, len(keys))}
	for i, k := range keys {
		if k.col.typ == typeTime {
			var t time.Time
			if err := (timeDest{&t}).Scan(vals[i]); err != nil {
				return "", err
			}
			c.Vals[i] = t.Format(time.RFC3339Nano)
			continue
		}
		switch v := vals[i].(type) {
		case string:
			c.Vals[i] = v
		case []byte:
			c.Vals[i] = string(v)
		default:
			return "", fmt.Errorf("sqlstore: cursor: unexpected %T for %s", v, k.name)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("sqlstore: cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor returns the cursor's values as query arguments, or an error
// wrapping store.ErrBadCursor.
func decodeCursor(d *dialect, s string, keys []sortKey) ([]any, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", store.ErrBadCursor, why) }
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad("not base64url")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad("not a cursor")
	}
	if c.Order != signature(keys) || len(c.Vals) != len(keys) {
		return nil, bad("from a different $orderby")
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = c.Vals[i]
		if k.col.typ == typeTime {
			t, err := time.Parse(time.RFC3339Nano, c.Vals[i])
			if err != nil {
				return nil, bad("bad time")
			}
			args[i] = d.timeArg(stored(t))
		}
	}
	return args, nil
}

// keyset writes the condition "after the cursor row" for keys.
func keyset(b *sqlBuilder, keys []sortKey, vals []any) {
	ph := make([]string, len(keys))
	for i := range keys {
		ph[i] = b.arg(vals[i])
	}
	op := func(k sortKey, strict bool) string {
		switch {
		case k.desc && strict:
			return " < "
		case k.desc:
			return " <= "
		case strict:
			return " > "
		}
		return " >= "
	}
	uniform := true
	for _, k := range keys {
		uniform = uniform && k.desc == keys[0].desc
	}
	if uniform { // a row-value comparison, which both databases index
		exprs := make([]string, len(keys))
		for i, k := range keys {
			exprs[i] = k.col.expr
		}
		fmt.Fprintf(b, "(%s)%s(%s)", strings.Join(exprs, ", "), op(keys[0], true), strings.Join(ph, ", "))
		return
	}
	// Mixed directions: k1 ≥ v1 bounds the scan, then the lexicographic
	// comparison spelled out.
	b.WriteString("(" + keys[0].col.expr + op(keys[0], false) + ph[0] + " AND (")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		for j := range i {
			b.WriteString(keys[j].col.expr + " = " + ph[j] + " AND ")
		}
		b.WriteString(k.col.expr + op(k, true) + ph[i] + ")")
	}
	b.WriteString("))")
}

// orderBy writes the ORDER BY clause for keys.
func orderBy(b *sqlBuilder, keys []sortKey) {
	b.WriteString(" ORDER BY ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.col.expr)
		if k.desc {
			b.WriteString(" DESC")
		}
	}
}

// scope restricts a listing to a subset of the table (the groups a member
// belongs to…); it writes a condition on the entity's alias.
type scope func(b *sqlBuilder)

// listSQL builds the query for one page of e matching q within scope: it
// selects Top+1 rows (the extra one tells whether there is a next page),
// each followed by its sort key values.
func (e *entity[T]) listSQL(d *dialect, in scope, q store.Query) (b *sqlBuilder, keys []sortKey, top int, err error) {
	if keys, err = orderKeys(e.props, q.OrderBy); err != nil {
		return nil, nil, 0, err
	}
	if top, err = pageSize(q.Top); err != nil {
		return nil, nil, 0, err
	}
	b = &sqlBuilder{d: d}
	b.WriteString("SELECT " + e.sel)
	for _, k := range keys {
		b.WriteString(", " + k.col.expr)
	}
	b.WriteString(" FROM " + e.table + " " + e.alias + " WHERE ")
	if err := e.where(d, b, in, q); err != nil {
		return nil, nil, 0, err
	}
	if q.Cursor != "" {
		vals, err := decodeCursor(d, q.Cursor, keys)
		if err != nil {
			return nil, nil, 0, err
		}
		b.WriteString(" AND ")
		keyset(b, keys, vals)
	}
	orderBy(b, keys)
	b.WriteString(" LIMIT " + b.arg(top+1))
	return b, keys, top, nil
}

// list answers one page of e matching q within scope.
func (e *entity[T]) list(ctx context.Context, t *txn, in scope, q store.Query) (store.Page[T], error) {
	op := "list " + e.name + "s"
	b, keys, top, err := e.listSQL(t.s.d, in, q)
	if err != nil {
		return store.Page[T]{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	rows, err := unprepared(t.rq()).QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return store.Page[T]{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	page := store.Page[T]{Items: make([]T, 0, min(top, 1024))}
	var last []any
	for rows.Next() {
		vals := make([]any, len(keys))
		ptrs := make([]any, len(keys))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		v, err := e.scan(rows, ptrs...)
		if err != nil {
			return store.Page[T]{}, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		if len(page.Items) == top { // one more row exists: there is a next page
			if page.Next, err = encodeCursor(keys, last); err != nil {
				return store.Page[T]{}, err
			}
			break
		}
		page.Items = append(page.Items, v)
		last = vals
	}
	if err := rows.Err(); err != nil {
		return store.Page[T]{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return page, nil
}

// count counts the rows of e matching q's filter and search within scope.
func (e *entity[T]) count(ctx context.Context, t *txn, in scope, q store.Query) (int, error) {
	op := "count " + e.name + "s"
	b := sqlBuilder{d: t.s.d}
	b.WriteString("SELECT count(*) FROM " + e.table + " " + e.alias + " WHERE ")
	if err := e.where(t.s.d, &b, in, q); err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	var n int
	if err := unprepared(t.rq()).QueryRowContext(ctx, b.String(), b.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return n, nil
}

func (e *entity[T]) where(d *dialect, b *sqlBuilder, in scope, q store.Query) error {
	if in != nil {
		in(b)
		b.WriteString(" AND ")
	}
	c := compiler{d: d, b: b, props: e.props}
	return c.where(q.Filter, q.Search)
}
