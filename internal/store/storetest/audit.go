package storetest

import (
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func auditID(r store.AuditRecord) string { return r.ID }

// auditLog is the fixture of the audit tests: records 1–8, one per hour,
// except 3 and 4 which share a time (ties go by id).
func auditLog() []store.AuditRecord {
	rec := func(n int, name, category, result, user, app string, targets ...string) store.AuditRecord {
		r := store.AuditRecord{
			ID: id(n), ActivityDateTime: at(time.Duration(n) * time.Hour), ActivityDisplayName: name, Category: category,
			CorrelationID: id(100 + n%3), OperationType: "Update", Result: result, LoggedByService: "Core Directory",
			InitiatorUserID: user, InitiatorAppID: app, TargetIDs: targets,
		}
		if user != "" {
			r.InitiatedBy = []byte(`{"user":{"id":"` + user + `"}}`)
		} else {
			r.InitiatedBy = []byte(`{"app":{"appId":"` + app + `"}}`)
		}
		r.TargetResources = []byte(`[]`)
		return r
	}
	const revoke = "Update StsRefreshTokenValidFrom Timestamp"
	log := []store.AuditRecord{
		rec(1, revoke, "UserManagement", "success", id(50), "", id(60)),
		rec(2, "Add user", "UserManagement", "success", id(50), "", id(61)),
		rec(3, revoke, "UserManagement", "failure", "", id(70), id(60), id(61)),
		rec(4, revoke, "UserManagement", "success", "", id(70), id(62)),
		rec(5, "Add group", "GroupManagement", "success", id(51), "", id(63)),
		rec(6, revoke, "UserManagement", "success", id(51), ""),
		rec(7, "Delete user", "UserManagement", "success", id(50), "", id(60), id(60)), // a target named twice
		rec(8, "Add member to group", "GroupManagement", "success", id(50), ""),
	}
	log[3].ActivityDateTime = log[2].ActivityDateTime
	log[5].TargetIDs = []string{}
	log[4].ResultReason, log[4].AdditionalDetails = "because", []byte(`[{"key":"k","value":"v"}]`)
	log[4].LoggedByService = "Self-service Group Management"
	return log
}

func testAudit(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	log := auditLog()
	ok(t, s.AppendAudit(ctx, log[:5]...))
	ok(t, s.InTx(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, log[5:]...) }))
	ok(t, s.AppendAudit(ctx))
	isErr(t, "duplicate id", s.AppendAudit(ctx, log[0]), store.ErrConflict)

	page, err := s.ListAudit(ctx, store.Query{})
	ok(t, err)
	same(t, "every record, newest first", page.Items, []store.AuditRecord{log[7], log[6], log[5], log[4], log[3], log[2], log[1], log[0]})

	for _, c := range []struct {
		filter string
		want   []int
	}{
		{"activityDisplayName eq 'update stsrefreshtokenvalidfrom timestamp'", []int{6, 4, 3, 1}},
		{"category eq 'GroupManagement'", []int{8, 5}},
		{"result eq 'failure'", []int{3}},
		{"correlationId eq '" + id(101) + "'", []int{7, 4, 1}},
		{"initiatedBy/user/id eq '" + id(50) + "'", []int{8, 7, 2, 1}},
		{"initiatedBy/app/appId eq '" + id(70) + "'", []int{4, 3}},
		{"initiatedBy/user/id eq null", []int{4, 3}},
		{"targetResources/any(t: t/id eq '" + id(60) + "')", []int{7, 3, 1}},
		{"targetResources/any(t: t/id eq '" + id(61) + "' or t/id eq '" + id(62) + "')", []int{4, 3, 2}},
		{"targetResources/any(t: t/id in ('" + id(63) + "'))", []int{5}},
		{"not targetResources/any(t: t/id eq '" + id(60) + "')", []int{8, 6, 5, 4, 2}},
		{"activityDateTime ge " + at(3*time.Hour).Format(time.RFC3339Nano) + " and activityDateTime lt " +
			at(6*time.Hour).Format(time.RFC3339Nano), []int{5, 4, 3}},
		{"activityDateTime eq " + at(3*time.Hour).Format(time.RFC3339Nano), []int{4, 3}},
		{"startswith(activityDisplayName, 'add')", []int{8, 5, 2}},
		{"loggedByService eq 'core directory'", []int{8, 7, 6, 4, 3, 2, 1}},
		{"loggedByService eq 'Self-service Group Management'", []int{5}},
		{"activityDisplayName eq 'Update StsRefreshTokenValidFrom Timestamp' and targetResources/any(t: t/id eq '" +
			id(60) + "') and initiatedBy/user/id eq '" + id(50) + "'", []int{1}},
	} {
		got := all(t, 2, func(q store.Query) (store.Page[store.AuditRecord], error) { return s.ListAudit(ctx, q) },
			store.Query{Filter: filter(t, c.filter)})
		sameIDs(t, c.filter, ids(got, auditID), idList(c.want...))
	}

	// Paging by one goes through the tie at 3h by id, newest first.
	got := all(t, 1, func(q store.Query) (store.Page[store.AuditRecord], error) { return s.ListAudit(ctx, q) }, store.Query{})
	sameIDs(t, "paging one by one", ids(got, auditID), idList(8, 7, 6, 5, 4, 3, 2, 1))
	got = all(t, 3, func(q store.Query) (store.Page[store.AuditRecord], error) { return s.ListAudit(ctx, q) },
		store.Query{OrderBy: orderBy(t, "activityDateTime")})
	sameIDs(t, "oldest first on request", ids(got, auditID), idList(1, 2, 3, 4, 5, 6, 7, 8))

	for _, f := range []string{"targetResources/any(t: t/displayName eq 'x')", "targetResources eq null", "targetResources/$count gt 1"} {
		_, err := s.ListAudit(ctx, store.Query{Filter: filter(t, f)})
		isErr(t, f, err, errUnsupported)
	}
}
