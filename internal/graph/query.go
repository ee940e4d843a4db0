package graph

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// Page sizes: Graph's directory collections answer 100 items by default and
// accept $top from 1 to 999 (https://learn.microsoft.com/en-us/graph/paging).
const (
	defaultTop = 100
	maxTop     = 999
)

// System query options Vigil understands, and those Graph defines that
// Vigil's directory does not support.
var (
	knownOptions       = []string{"$filter", "$select", "$top", "$orderby", "$count", "$search", "$skiptoken"}
	unsupportedOptions = []string{"$expand", "$skip", "$format", "$levels", "$apply", "$compute", "$index", "$deltatoken", "$schemaversion"}
)

// options are the system query options of a request.
type options struct {
	values   map[string]string // "$filter" → value, for the options present
	eventual bool              // ConsistencyLevel: eventual was sent
}

// parseOptions reads the request's system query options. Each may appear
// once; one not in allowed is refused: Graph's options Vigil does not
// implement with "'$skip' is not supported by the service.", unknown
// $-options with Graph's "Unrecognized query argument specified". Options
// without a '$' are custom options and ignored, as OData specifies.
func parseOptions(r *http.Request, allowed ...string) (options, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return options{}, badRequest("The query string is malformed.")
	}
	o := options{
		values:   make(map[string]string),
		eventual: strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual"),
	}
	// Sorted, so that the error for several bad options is deterministic.
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range vals {
			if !yield(k) {
				return
			}
		}
	}) {
		if !strings.HasPrefix(name, "$") {
			continue
		}
		canon := strings.ToLower(name)
		switch {
		case slices.Contains(allowed, canon):
		case slices.Contains(knownOptions, canon) || slices.Contains(unsupportedOptions, canon):
			return options{}, badRequest("'%s' is not supported by the service.", name)
		default:
			return options{}, badRequest("Unrecognized query argument specified: '%s'.", name)
		}
		if _, dup := o.values[canon]; dup || len(vals[name]) > 1 {
			return options{}, badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", name)
		}
		o.values[canon] = vals[name][0]
	}
	return o, nil
}

func (o options) has(name string) bool { _, ok := o.values[name]; return ok }

// countRequested reports $count=true, refusing values other than true and
// false.
func (o options) countRequested() (bool, error) {
	v, ok := o.values["$count"]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badRequest("Invalid value '%s' for $count: expected true or false.", v)
}

// selection parses $select against s. nil means "no $select".
func (o options) selection(s odata.Schema) ([]string, error) {
	v, ok := o.values["$select"]
	if !ok {
		return nil, nil
	}
	sel, err := odata.ParseSelect(v)
	if err != nil {
		return nil, err
	}
	if err := s.CheckSelect(sel); err != nil {
		return nil, err
	}
	return slices.Compact(sel), nil
}

// listQuery is a parsed list request.
type listQuery struct {
	store.Query
	// sel is the $select list in the schema's spelling; nil for defaults.
	sel []string
	// count says to send @odata.count: $count=true with ConsistencyLevel:
	// eventual, on the first page only (reference §3.3). Without the
	// header $count=true is ignored, as Graph does.
	count bool
	// scope binds the page's $skiptoken to this collection and query.
	scope skipScope
}

// Advanced-query messages (reference §3.2). Graph answers these with 400
// Request_UnsupportedQuery; Vigil adds how to make the query work.
const (
	msgAdvancedFilter = "Unsupported Query. This filter needs an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true."
	msgAdvancedSort   = "Sorting not supported for current query. Sorting together with $filter, or by this property, needs an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true."
)

// parseList reads the query options of a list request on a collection
// described by s (path is the collection's path under /v1.0, to which skip
// tokens are bound). It applies Graph's rules (reference §3.2): $search
// needs ConsistencyLevel: eventual; ne, not, endsWith, $filter together
// with $orderby and sorting by createdDateTime need an advanced query
// (ConsistencyLevel: eventual and $count=true); $top is 1–999.
func parseList(r *http.Request, s odata.Schema) (listQuery, error) {
	o, err := parseOptions(r, knownOptions...)
	if err != nil {
		return listQuery{}, err
	}
	return o.list(r, s)
}

func (o options) list(r *http.Request, s odata.Schema) (listQuery, error) {
	var lq listQuery
	countOn, err := o.countRequested()
	if err != nil {
		return lq, err
	}
	advanced := o.eventual && countOn
	needFilter, needSort := false, false

	if lq.Filter, needFilter, err = o.filter(s); err != nil {
		return lq, err
	}
	if v, ok := o.values["$orderby"]; ok {
		if lq.OrderBy, err = odata.ParseOrderBy(v); err != nil {
			return lq, err
		}
		if needSort, err = s.CheckOrderBy(lq.OrderBy); err != nil {
			return lq, err
		}
		needSort = needSort || lq.Filter != nil
	}
	if v, ok := o.values["$search"]; ok {
		if !o.eventual {
			return lq, unsupportedQuery(msgSearchHeader)
		}
		if lq.Search, err = odata.ParseSearch(v); err != nil {
			return lq, err
		}
		if err := s.CheckSearch(lq.Search); err != nil {
			return lq, err
		}
	}
	switch {
	case needFilter && !advanced:
		return lq, unsupportedQuery(msgAdvancedFilter)
	case needSort && !advanced:
		return lq, unsupportedQuery(msgAdvancedSort)
	}
	if lq.Top, err = o.top(defaultTop, maxTop); err != nil {
		return lq, err
	}
	if lq.sel, err = o.selection(s); err != nil {
		return lq, err
	}
	if err := o.paging(r, &lq); err != nil {
		return lq, err
	}
	lq.count = advanced && lq.Cursor == ""
	return lq, nil
}

// filter parses $filter, if present, and checks it against s;
// needsAdvanced reports a filter only advanced queries allow.
func (o options) filter(s odata.Schema) (e odata.Expr, needsAdvanced bool, err error) {
	v, ok := o.values["$filter"]
	if !ok {
		return nil, false, nil
	}
	if e, err = odata.ParseFilter(v); err != nil {
		return nil, false, err
	}
	needsAdvanced, err = s.CheckFilter(e)
	return e, needsAdvanced, err
}

// top reads $top, from 1 to maxN; def when absent.
func (o options) top(def, maxN int) (int, error) {
	v, ok := o.values["$top"]
	if !ok {
		return def, nil
	}
	n, err := odata.ParseTop(v, maxN)
	if err != nil {
		var oe *odata.Error
		if errors.As(err, &oe) {
			return 0, NewError(http.StatusBadRequest, CodeRequestBadRequest, oe.Msg, err)
		}
		return 0, err
	}
	return n, nil
}

// paging binds lq's skip tokens to the request's collection and query and
// decodes the $skiptoken sent, if any, into lq.Cursor.
func (o options) paging(r *http.Request, lq *listQuery) error {
	lq.scope = skipScope{
		path:    r.URL.Path,
		filter:  o.values["$filter"],
		orderBy: o.values["$orderby"],
		search:  o.values["$search"],
	}
	tok, ok := o.values["$skiptoken"]
	if !ok {
		return nil
	}
	var err error
	lq.Cursor, err = lq.scope.decode(tok)
	return err
}

// countQuery reads the options of a /$count request: Graph answers 400
// "$count is not currently supported." without ConsistencyLevel: eventual
// (reference §3.2), and accepts $filter and $search.
func countQuery(r *http.Request, s odata.Schema) (store.Query, error) {
	o, err := parseOptions(r, "$filter", "$search")
	if err != nil {
		return store.Query{}, err
	}
	if !o.eventual {
		return store.Query{}, badRequest(msgCountHeader)
	}
	// A /$count request is an advanced query by definition.
	o.values["$count"] = "true"
	lq, err := o.list(r, s)
	return lq.Query, err
}

// entityOptions reads the options of a request for one entity: only
// $select.
func entityOptions(r *http.Request, s odata.Schema) ([]string, error) {
	o, err := parseOptions(r, "$select")
	if err != nil {
		return nil, err
	}
	return o.selection(s)
}

// noOptions refuses every system query option (actions, writes).
func noOptions(r *http.Request) error {
	_, err := parseOptions(r)
	return err
}

// page is one page of rendered items plus its continuation.
type page struct {
	items []object
	next  string // store cursor; "" on the last page
	count *int
}

// writePage sends a collection page: @odata.context for set (with the
// selection), @odata.count when given, and an absolute @odata.nextLink
// carrying a $skiptoken when there is more.
func (a *API) writePage(w http.ResponseWriter, r *http.Request, set string, lq listQuery, p page) {
	c := collection{Context: a.contextURL(set, lq.sel), Count: p.count, Value: p.items}
	if c.Value == nil {
		c.Value = []object{}
	}
	if p.next != "" {
		c.NextLink = a.nextLink(r, lq.scope.encode(p.next))
	}
	a.writeJSON(w, http.StatusOK, c)
}

// project applies a selection to a rendered entity: the defaults when sel
// is nil, else the selected properties in the order asked.
func project(o object, defaults, sel []string) object {
	if sel == nil {
		return o.project(defaults)
	}
	return o.project(sel)
}
