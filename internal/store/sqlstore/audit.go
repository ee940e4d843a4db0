package sqlstore

import (
	"context"
	"errors"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

var auditRecords = (&entity[store.AuditRecord]{
	name:  "audit record",
	table: "audit_records",
	alias: "au",
	cols: []string{
		"id", "activity_at", "activity_display_name", "activity_display_name_lower", "category", "category_lower",
		"correlation_id", "operation_type", "result", "result_lower", "result_reason", "logged_by_service",
		"initiated_by", "target_resources", "additional_details", "initiator_user_id", "initiator_app_id", "target_ids",
	},
	sel: "au.id, au.activity_at, au.activity_display_name, au.category, au.correlation_id, au.operation_type, " +
		"au.result, au.result_reason, au.logged_by_service, au.initiated_by, au.target_resources, " +
		"au.additional_details, au.initiator_user_id, au.initiator_app_id, au.target_ids",
	scan: func(sc scanner, extra ...any) (store.AuditRecord, error) {
		var r store.AuditRecord
		err := sc.Scan(append([]any{
			&r.ID, timeDest{&r.ActivityDateTime}, &r.ActivityDisplayName, &r.Category, &r.CorrelationID,
			&r.OperationType, &r.Result, &r.ResultReason, &r.LoggedByService, &r.InitiatedBy, &r.TargetResources,
			&r.AdditionalDetails, strDest{&r.InitiatorUserID}, strDest{&r.InitiatorAppID}, listDest{&r.TargetIDs},
		}, extra...)...)
		return r, err
	},
	values: func(t *txn, r store.AuditRecord) []any {
		if r.ActivityDateTime.IsZero() {
			r.ActivityDateTime = t.s.now()
		}
		return []any{
			r.ID, t.s.d.timeVal(r.ActivityDateTime), r.ActivityDisplayName, fold(r.ActivityDisplayName),
			r.Category, fold(r.Category), r.CorrelationID, r.OperationType, r.Result, fold(r.Result), r.ResultReason,
			r.LoggedByService, nullBlob(r.InitiatedBy), nullBlob(r.TargetResources), nullBlob(r.AdditionalDetails),
			nullStr(r.InitiatorUserID), nullStr(r.InitiatorAppID), jsonList(r.TargetIDs),
		}
	},
	id: func(r store.AuditRecord) string { return r.ID },
	props: props(map[string]column{
		"id":                    idCol("au.id"),
		"activityDateTime":      timeCol("au.activity_at"),
		"activityDisplayName":   strCol("au.activity_display_name_lower"),
		"category":              strCol("au.category_lower"),
		"correlationId":         idCol("au.correlation_id"),
		"result":                strCol("au.result_lower"),
		"loggedByService":       strCol("lower(au.logged_by_service)"),
		"initiatedBy/user/id":   {expr: "au.initiator_user_id", typ: typeID, nullable: true},
		"initiatedBy/app/appId": {expr: "au.initiator_app_id", typ: typeID, nullable: true},
		"targetResources": {expr: "au.id", typ: typeList, side: &sideTable{
			from:  "audit_targets x",
			owner: "x.audit_id",
			props: props(map[string]column{"id": idCol("x.target_id")}),
		}},
	}),
}).init()

// newestFirst is ListAudit's default order.
var newestFirst = []odata.OrderBy{{Prop: "activityDateTime", Desc: true}}

// AppendAudit inserts records with multi-row INSERTs (and their target ids
// into audit_targets), all in one transaction. A zero ActivityDateTime is
// set to the store's clock. ErrConflict when an id is taken.
func (t *txn) AppendAudit(ctx context.Context, records ...store.AuditRecord) error {
	if len(records) == 0 {
		return nil
	}
	type target struct{ auditID, targetID string }
	var targets []target
	for _, r := range records {
		if r.ID == "" {
			return errors.New("sqlstore: append audit: empty id")
		}
		seen := map[string]bool{}
		for _, id := range r.TargetIDs {
			if !seen[id] {
				seen[id] = true
				targets = append(targets, target{r.ID, id})
			}
		}
	}
	cols := auditRecords.cols
	err := t.write(ctx, func(q querier) error {
		err := t.insertMany(ctx, q, "INSERT INTO audit_records ("+joinCols(cols)+") VALUES ", "", len(cols), len(records),
			func(i int, b *rowsBuilder) { b.row(auditRecords.values(t, records[i])...) }, nil)
		if err != nil {
			return err
		}
		return t.insertMany(ctx, q, "INSERT INTO audit_targets (target_id, audit_id) VALUES ", "", 2, len(targets),
			func(i int, b *rowsBuilder) { b.row(targets[i].targetID, targets[i].auditID) }, nil)
	})
	if err != nil {
		return t.classify("append audit", err)
	}
	return nil
}

// ListAudit answers one page of audit records matching q, newest first
// (activityDateTime desc, then id desc) unless q.OrderBy says otherwise.
// Filterable: id, activityDateTime, activityDisplayName, category, result,
// loggedByService (case-insensitive strings, also startswith),
// correlationId,
// initiatedBy/user/id, initiatedBy/app/appId (exact) and
// targetResources/any(t: t/id eq '…') (also in (…), or, not).
func (t *txn) ListAudit(ctx context.Context, q store.Query) (store.Page[store.AuditRecord], error) {
	if len(q.OrderBy) == 0 {
		q.OrderBy = newestFirst
	}
	return auditRecords.list(ctx, t, nil, q)
}
