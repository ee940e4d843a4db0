package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// query holds the list flags shared by users, groups and audit.
type query struct {
	filter, search, orderby string
	top                     int
}

func (q *query) addFlags(cmd *cobra.Command, search bool) {
	f := cmd.Flags()
	f.StringVar(&q.filter, "filter", "", "OData $filter, e.g. \"department eq 'HP'\"")
	f.IntVar(&q.top, "top", 0, "stop after this many items (default: every page)")
	if search {
		f.StringVar(&q.search, "search", "", "OData $search, e.g. '\"displayName:ada\"' (sends ConsistencyLevel: eventual)")
		f.StringVar(&q.orderby, "orderby", "", "OData $orderby, e.g. displayName")
	}
}

// listSpec is one collection to print.
type listSpec struct {
	path    string
	query   query
	params  url.Values // more query parameters
	columns []string   // table columns
	// pageable: the collection takes $top (role collections do not).
	pageable bool
	// selectable: it takes $select too.
	selectable bool
	// advanced sends Graph's advanced query (ConsistencyLevel: eventual,
	// $count=true), which OData casts need.
	advanced bool
	// flatten, when set, turns an item into its table row (a table
	// without --select only).
	flatten func(json.RawMessage) (any, error)
	empty   string
}

// runList prints a Graph collection, following every @odata.nextLink.
// $select asks only for what is shown: --select, else the table columns on
// a table, else (json, jsonl) Graph's default properties.
func (s *state) runList(ctx context.Context, spec listSpec) error {
	if spec.query.top < 0 {
		return usagef("--top must be positive")
	}
	p, err := s.newPrinter(printerOpts{columns: spec.columns, empty: spec.empty})
	if err != nil {
		return err
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	q := cloneValues(spec.params)
	var header http.Header
	if spec.advanced {
		header = http.Header{"Consistencylevel": {"eventual"}}
	}
	if f := spec.query.filter; f != "" {
		q.Set("$filter", f)
	}
	if v := spec.query.search; v != "" {
		q.Set("$search", v)
		header = http.Header{"Consistencylevel": {"eventual"}}
	}
	if v := spec.query.orderby; v != "" {
		q.Set("$orderby", v)
		if spec.query.filter != "" {
			header = http.Header{"Consistencylevel": {"eventual"}}
		}
	}
	if header != nil {
		// Graph's advanced queries: ConsistencyLevel: eventual with
		// $count=true.
		q.Set("$count", "true")
	}
	if spec.pageable || spec.selectable {
		q.Set("$top", topFor(spec.query.top))
	}
	if spec.selectable {
		switch {
		case len(s.columns) > 0:
			cols := slices.DeleteFunc(withID(slices.Clone(s.columns)), func(c string) bool { return strings.HasPrefix(c, "@") })
			q.Set("$select", strings.Join(cols, ","))
		case p.format == "table":
			// Annotations (@odata.type) come without being selected.
			cols := slices.DeleteFunc(slices.Clone(spec.columns), func(c string) bool { return strings.HasPrefix(c, "@") })
			q.Set("$select", strings.Join(cols, ","))
		case p.format == "ids":
			q.Set("$select", "id")
		}
	}
	err = c.list(ctx, spec.path, q, header, spec.query.top, func(item json.RawMessage) error {
		if spec.flatten == nil || p.format != "table" || p.selected {
			return p.add(item)
		}
		row, err := spec.flatten(item)
		if err != nil {
			return err
		}
		return p.add(row)
	})
	if err != nil {
		return notFoundIsFailure(queryError(err))
	}
	return p.close()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// withID adds id to a $select list: -o ids and the key need it.
func withID(cols []string) []string {
	for _, c := range cols {
		if c == "id" {
			return cols
		}
	}
	return append([]string{"id"}, cols...)
}
