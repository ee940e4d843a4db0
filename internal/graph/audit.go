package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// AuditLog reads the directory audit log: store.Audit's reader. Records
// are immutable and listed newest first; q.Filter uses the paths of
// directoryAuditsSchema, and `id eq '…'` finds one record.
type AuditLog interface {
	ListAudit(ctx context.Context, q store.Query) (store.Page[store.AuditRecord], error)
}

var _ AuditLog = store.Audit(nil)

// setDirectoryAudits is the entity set of the audit log, as Graph's
// @odata.context names it.
const setDirectoryAudits = "auditLogs/directoryAudits"

// Audit log page sizes. Graph's directory audit log answers 1,000 records
// a page by default, and clients ask for $top=1000 (third-party
// observations: "events in the audit log (1000)",
// https://bonguides.com/microsoft-graph-api-result-size-limit; Graph's page,
// https://learn.microsoft.com/en-us/graph/api/directoryaudit-list, names
// $top without a bound). Vigil takes 1,000 as both default and maximum.
const (
	defaultAuditTop = 1000
	maxAuditTop     = 1000
)

// auditDefaults are the properties of a directoryAudit, in Graph's order
// (https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit).
var auditDefaults = []string{
	"id", "category", "correlationId", "result", "resultReason", "activityDisplayName", "activityDateTime",
	"loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails",
}

// auditEq is a string property filtered with eq (and in).
var auditEq = odata.Prop{Type: odata.TypeString, Ops: odata.AllowEq}

// auditGUID is an object id filtered with eq (and in).
var auditGUID = odata.Prop{Type: odata.TypeGUID, Ops: odata.AllowEq}

// directoryAuditsSchema: what $filter and $select accept on the audit log
// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list:
// "$filter (eq, ge, le, startswith), $top, $orderby, skiptoken"), limited
// to the columns store.Audit filters on: activityDateTime (eq, ge, le, gt,
// lt), activityDisplayName (eq, startswith), category, correlationId,
// result, loggedByService, id, initiatedBy/user/id and
// initiatedBy/app/appId (eq), and targetResources/any(t: t/id eq '…').
var directoryAuditsSchema = odata.Schema{Name: "microsoft.graph.directoryAudit", Props: map[string]odata.Prop{
	"id":                  auditEq,
	"category":            auditEq,
	"correlationId":       auditEq,
	"result":              auditEq,
	"resultReason":        selectOnly(odata.TypeString),
	"activityDisplayName": {Type: odata.TypeString, Ops: odata.AllowEq | odata.AllowStartsWith},
	"activityDateTime": {Type: odata.TypeDateTime,
		Ops: odata.AllowEq | odata.AllowGe | odata.AllowLe | odata.AllowGt | odata.AllowLt},
	"loggedByService":       auditEq,
	"operationType":         selectOnly(odata.TypeString),
	"initiatedBy":           selectOnly(odata.TypeComplex),
	"initiatedBy/user/id":   auditGUID,
	"initiatedBy/app/appId": auditGUID,
	"targetResources": {Type: odata.TypeComplexCollection, Ops: odata.AllowAny,
		Elem: &odata.Schema{Name: "microsoft.graph.targetResource", Props: map[string]odata.Prop{"id": auditGUID}}},
	"additionalDetails": {Type: odata.TypeComplexCollection,
		Elem: &odata.Schema{Name: "microsoft.graph.keyValue", Props: map[string]odata.Prop{}}},
}}

// auditTimeLayout is activityDateTime as Graph writes it: UTC with seven
// fractional digits (2018-01-09T21:20:02.7215374Z).
const auditTimeLayout = "2006-01-02T15:04:05.0000000Z"

// auditObject renders a record in Graph's shape. The nested objects are
// stored as Graph JSON and sent as stored; missing ones are Graph's empty
// values.
func auditObject(rec store.AuditRecord) (object, error) {
	nested := func(name string, raw []byte, empty string) (json.RawMessage, error) {
		if len(raw) == 0 {
			return json.RawMessage(empty), nil
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("graph: audit record %s: %s is not JSON", rec.ID, name)
		}
		return json.RawMessage(raw), nil
	}
	by, err := nested("initiatedBy", rec.InitiatedBy, `{"user":null,"app":null}`)
	if err != nil {
		return nil, err
	}
	targets, err := nested("targetResources", rec.TargetResources, `[]`)
	if err != nil {
		return nil, err
	}
	details, err := nested("additionalDetails", rec.AdditionalDetails, `[]`)
	if err != nil {
		return nil, err
	}
	return object{
		{"id", rec.ID},
		{"category", rec.Category},
		{"correlationId", nullString(rec.CorrelationID)},
		{"result", rec.Result},
		{"resultReason", rec.ResultReason},
		{"activityDisplayName", rec.ActivityDisplayName},
		{"activityDateTime", rec.ActivityDateTime.UTC().Format(auditTimeLayout)},
		{"loggedByService", rec.LoggedByService},
		{"operationType", rec.OperationType},
		{"initiatedBy", by},
		{"targetResources", targets},
		{"additionalDetails", details},
	}, nil
}

// nullString renders "" as null.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// listDirectoryAudits is GET /auditLogs/directoryAudits
// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list):
// newest first, $filter on directoryAuditsSchema, $select, $top (1–1000,
// default 1000), paging by @odata.nextLink, and $orderby=activityDateTime
// desc (the only order, so the only one accepted).
func (a *API) listDirectoryAudits(w http.ResponseWriter, r *http.Request) error {
	lq, err := auditQuery(r)
	if err != nil {
		return err
	}
	pg, err := a.Audit.ListAudit(r.Context(), lq.Query)
	if err != nil {
		return err
	}
	p := page{next: pg.Next, items: make([]object, 0, len(pg.Items))}
	for _, rec := range pg.Items {
		o, err := auditObject(rec)
		if err != nil {
			return err
		}
		p.items = append(p.items, project(o, auditDefaults, lq.sel))
	}
	a.writePage(w, r, setDirectoryAudits, lq, p)
	return nil
}

// auditQuery reads the query options of a list of the audit log.
func auditQuery(r *http.Request) (listQuery, error) {
	var lq listQuery
	o, err := parseOptions(r, "$filter", "$select", "$top", "$orderby", "$skiptoken")
	if err != nil {
		return lq, err
	}
	if lq.Filter, _, err = o.filter(directoryAuditsSchema); err != nil {
		return lq, err
	}
	if v, ok := o.values["$orderby"]; ok {
		keys, err := odata.ParseOrderBy(v)
		if err != nil {
			return lq, err
		}
		if len(keys) != 1 || !strings.EqualFold(keys[0].Prop, "activityDateTime") || !keys[0].Desc {
			return lq, unsupportedQuery("The audit log is sorted by activityDateTime desc only.")
		}
	}
	if lq.Top, err = o.top(defaultAuditTop, maxAuditTop); err != nil {
		return lq, err
	}
	if lq.sel, err = o.selection(directoryAuditsSchema); err != nil {
		return lq, err
	}
	return lq, o.paging(r, &lq)
}

// getDirectoryAudit is GET /auditLogs/directoryAudits/{id}
// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-get), with
// $select.
func (a *API) getDirectoryAudit(w http.ResponseWriter, r *http.Request) error {
	sel, err := entityOptions(r, directoryAuditsSchema)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	pg, err := a.Audit.ListAudit(r.Context(), store.Query{
		Filter: &odata.Compare{Prop: "id", Op: odata.OpEq, Value: odata.Literal{Kind: odata.LitString, Value: id}},
		Top:    1,
	})
	if err != nil {
		return err
	}
	if len(pg.Items) == 0 {
		return notFound(id)
	}
	o, err := auditObject(pg.Items[0])
	if err != nil {
		return err
	}
	a.writeEntity(w, http.StatusOK, a.entityContextURL(setDirectoryAudits, sel), project(o, auditDefaults, sel))
	return nil
}
