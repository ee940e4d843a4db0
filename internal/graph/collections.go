package graph

import (
	"context"
	"net/http"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// entitySet describes a paged directory collection of T for listEntities.
type entitySet[T any] struct {
	// name is the @odata.context fragment, e.g. "users" or "directoryObjects".
	name   string
	schema odata.Schema
	// schemaFor, when set, gives the schema of the query options of a
	// request, which may narrow schema for the caller in ctx.
	schemaFor func(ctx context.Context) odata.Schema
	// render renders one item with the selection applied (nil sel: the
	// type's default properties).
	render func(ctx context.Context, item T, sel []string) (object, error)
	// list answers one page.
	list func(ctx context.Context, q store.Query) (store.Page[T], error)
	// count counts what list would return across pages; nil means count by
	// paging through list.
	count func(ctx context.Context, q store.Query) (int, error)
	// keep, when set, drops items from every page (an OData type cast such
	// as /members/microsoft.graph.user). A page may then be shorter than
	// $top, or empty, while @odata.nextLink goes on: Graph's paging allows
	// both (reference §3.3).
	keep func(T) bool
}

// defaultsOf returns a render function for a type rendered by fn whose
// default properties are defaults.
func defaultsOf[T any](fn func(T) object, defaults []string) func(context.Context, T, []string) (object, error) {
	return func(_ context.Context, item T, sel []string) (object, error) {
		return project(fn(item), defaults, sel), nil
	}
}

// listEntities answers a GET on a paged collection: it parses the query
// options against es.schema, asks for one page, renders it and adds
// @odata.count and @odata.nextLink as Graph does.
func listEntities[T any](a *API, w http.ResponseWriter, r *http.Request, es entitySet[T]) error {
	lq, err := parseList(r, es.querySchema(r.Context()))
	if err != nil {
		return err
	}
	ctx := r.Context()
	pg, err := es.list(ctx, lq.Query)
	if err != nil {
		return err
	}
	p := page{next: pg.Next, items: make([]object, 0, len(pg.Items))}
	for _, item := range pg.Items {
		if es.keep != nil && !es.keep(item) {
			continue
		}
		o, err := es.render(ctx, item, lq.sel)
		if err != nil {
			return err
		}
		p.items = append(p.items, o)
	}
	if lq.count {
		n, err := es.countAll(ctx, lq.Query)
		if err != nil {
			return err
		}
		p.count = &n
	}
	a.writePage(w, r, es.name, lq, p)
	return nil
}

// querySchema is the schema of the query options of a request in ctx.
func (es entitySet[T]) querySchema(ctx context.Context) odata.Schema {
	if es.schemaFor != nil {
		return es.schemaFor(ctx)
	}
	return es.schema
}

// countAll counts the items matching q.
func (es entitySet[T]) countAll(ctx context.Context, q store.Query) (int, error) {
	if es.count != nil && es.keep == nil {
		return es.count(ctx, q)
	}
	q.Top, q.Cursor = maxTop, ""
	n := 0
	for {
		pg, err := es.list(ctx, q)
		if err != nil {
			return 0, err
		}
		for _, item := range pg.Items {
			if es.keep == nil || es.keep(item) {
				n++
			}
		}
		if pg.Next == "" {
			return n, nil
		}
		q.Cursor = pg.Next
	}
}

// countEntities answers a /$count segment of a collection.
func countEntities[T any](w http.ResponseWriter, r *http.Request, es entitySet[T]) error {
	q, err := countQuery(r, es.querySchema(r.Context()))
	if err != nil {
		return err
	}
	n, err := es.countAll(r.Context(), q)
	if err != nil {
		return err
	}
	writeCount(w, n)
	return nil
}

// resource is a top-level collection with Graph's CRUD on its entities
// ({id} in the path names one). Its methods return the route handlers.
type resource[In, T any] struct {
	entitySet[T]
	// body describes the create and PATCH body, decoded into an In.
	body   func(*In) bodyType
	id     func(T) string
	create func(context.Context, In) (T, error)
	get    func(context.Context, string) (T, error)
	update func(context.Context, string, In) (T, error)
	remove func(context.Context, string) error
}

type handler = func(http.ResponseWriter, *http.Request) error

// listHandler answers GET on the collection.
func (rs resource[In, T]) listHandler(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return listEntities(a, w, r, rs.entitySet)
	}
}

// countHandler answers GET on the collection's /$count segment.
func (rs resource[In, T]) countHandler() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return countEntities(w, r, rs.entitySet)
	}
}

// getHandler answers GET on one entity, honouring $select.
func (rs resource[In, T]) getHandler(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		sel, err := entityOptions(r, rs.schema)
		if err != nil {
			return err
		}
		ctx := r.Context()
		item, err := rs.get(ctx, r.PathValue("id"))
		if err != nil {
			return err
		}
		o, err := rs.render(ctx, item, sel)
		if err != nil {
			return err
		}
		a.writeEntity(w, http.StatusOK, a.entityContextURL(rs.name, sel), o)
		return nil
	}
}

// createHandler answers POST on the collection: 201 with the new entity
// and its Location.
func (rs resource[In, T]) createHandler(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := rs.decode(a, r)
		if err != nil {
			return err
		}
		ctx := r.Context()
		item, err := rs.create(ctx, in)
		if err != nil {
			return err
		}
		o, err := rs.render(ctx, item, nil)
		if err != nil {
			return err
		}
		a.writeCreated(w, "/"+rs.name+"/"+rs.id(item), a.entityContextURL(rs.name, nil), o)
		return nil
	}
}

// decode reads a create or PATCH request: no query options, a JSON body.
func (rs resource[In, T]) decode(a *API, r *http.Request) (In, error) {
	var in In
	if err := noOptions(r); err != nil {
		return in, err
	}
	return in, a.readJSON(r, rs.body(&in))
}

// updateHandler answers PATCH on one entity: 204 on success.
func (rs resource[In, T]) updateHandler(a *API) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := rs.decode(a, r)
		if err != nil {
			return err
		}
		if _, err := rs.update(r.Context(), r.PathValue("id"), in); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// deleteHandler answers DELETE on one entity: 204 on success.
func (rs resource[In, T]) deleteHandler() handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return deleteEntity(w, r, rs.remove)
	}
}

// deleteEntity answers DELETE on the entity {id}: 204 on success.
func deleteEntity(w http.ResponseWriter, r *http.Request, del func(context.Context, string) error) error {
	if err := noOptions(r); err != nil {
		return err
	}
	if err := del(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
