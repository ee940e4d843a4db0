package graph

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// Audit records of the tests, written before any the directory writes
// (whose activityDateTime is t0 or later), so that a filter on
// activityDateTime lt auditCutoff isolates them.
var (
	auditBase   = time.Date(2020, 5, 1, 10, 0, 0, 0, time.UTC)
	auditCutoff = "2021-01-01T00:00:00Z"
)

const (
	auditAdmin  = "7a1c9a0e-4b4c-4f8e-9a43-1d2c3b4a5f60"
	auditApp    = "0b5e2c1d-8f3a-4e6b-9c7d-2a1b3c4d5e6f"
	auditTarget = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	auditOther  = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
)

// auditRecords returns the test records, oldest first.
func auditRecords() []store.AuditRecord {
	user := []byte(`{"user":{"id":"` + auditAdmin + `","displayName":"Ada Admin","userPrincipalName":"ada@vigil.local","ipAddress":"192.0.2.7"},"app":null}`)
	app := []byte(`{"user":null,"app":{"appId":"` + auditApp + `","displayName":"Payroll sync","servicePrincipalId":"1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","servicePrincipalName":"Payroll sync"}}`)
	target := func(id, upn string, mods string) []byte {
		return []byte(`[{"id":"` + id + `","displayName":null,"type":"User","userPrincipalName":"` + upn + `","groupType":null,"modifiedProperties":[` + mods + `]}]`)
	}
	sts := `{"displayName":"StsRefreshTokensValidFrom","oldValue":"[\"2020-01-01T00:00:00Z\"]","newValue":"[\"2020-05-01T10:00:00Z\"]"}`
	return []store.AuditRecord{
		{ID: "audit-1", ActivityDateTime: auditBase, ActivityDisplayName: "Update StsRefreshTokenValidFrom Timestamp",
			Category: "UserManagement", CorrelationID: "corr-1", OperationType: "Update", Result: "success",
			LoggedByService: "Core Directory", InitiatedBy: user, TargetResources: target(auditTarget, "bob@vigil.local", sts),
			AdditionalDetails: []byte(`[{"key":"Reason","value":"lost laptop"}]`), InitiatorUserID: auditAdmin, TargetIDs: []string{auditTarget}},
		{ID: "audit-2", ActivityDateTime: auditBase.Add(time.Minute), ActivityDisplayName: "Add user",
			Category: "UserManagement", CorrelationID: "corr-2", OperationType: "Add", Result: "success",
			LoggedByService: "Core Directory", InitiatedBy: app, TargetResources: target(auditOther, "carol@vigil.local", ""),
			InitiatorAppID: auditApp, TargetIDs: []string{auditOther}},
		{ID: "audit-3", ActivityDateTime: auditBase.Add(2 * time.Minute), ActivityDisplayName: "Add member to group",
			Category: "GroupManagement", CorrelationID: "corr-2", OperationType: "Assign", Result: "failure",
			ResultReason: "the group is role-assignable", LoggedByService: "Core Directory", InitiatedBy: app,
			TargetResources: []byte(`[{"id":"` + auditTarget + `","displayName":null,"type":"User","userPrincipalName":"bob@vigil.local","groupType":null,"modifiedProperties":[]},{"id":"` + auditOther + `","displayName":"Admins","type":"Group","userPrincipalName":null,"groupType":null,"modifiedProperties":[]}]`),
			InitiatorAppID:  auditApp, TargetIDs: []string{auditTarget, auditOther}},
		{ID: "audit-4", ActivityDateTime: auditBase.Add(3*time.Minute + 123456*time.Microsecond), ActivityDisplayName: "Update StsRefreshTokenValidFrom Timestamp",
			Category: "UserManagement", CorrelationID: "corr-4", OperationType: "Update", Result: "success",
			LoggedByService: "Core Directory", InitiatedBy: user, TargetResources: target(auditOther, "carol@vigil.local", sts),
			InitiatorUserID: auditAdmin, TargetIDs: []string{auditOther}},
	}
}

func (e *env) appendAuditRecords() {
	e.t.Helper()
	if err := e.st.AppendAudit(e.ctx, auditRecords()...); err != nil {
		e.t.Fatal(err)
	}
}

// auditIDs returns the ids of the records a list answered, in order.
func auditIDs(t *testing.T, body map[string]any) []string {
	t.Helper()
	var ids []string
	for _, rec := range values(t, body) {
		ids = append(ids, rec["id"].(string))
	}
	return ids
}

// TestAuditLogQueries: every $filter the audit log supports, newest
// first, with $select, $top, paging and $orderby; and the refusals.
func TestAuditLogQueries(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.appendAuditRecords()
		only := " and activityDateTime lt " + auditCutoff
		tests := []struct {
			filter string
			want   []string
		}{
			{"activityDateTime lt " + auditCutoff, []string{"audit-4", "audit-3", "audit-2", "audit-1"}},
			{"activityDateTime ge 2020-05-01T10:01:00Z and activityDateTime le 2020-05-01T10:02:00Z", []string{"audit-3", "audit-2"}},
			{"activityDateTime gt 2020-05-01T10:01:00Z" + only, []string{"audit-4", "audit-3"}},
			{"activityDateTime eq 2020-05-01T10:00:00Z", []string{"audit-1"}},
			{"activityDisplayName eq 'Update StsRefreshTokenValidFrom Timestamp'" + only, []string{"audit-4", "audit-1"}},
			{"category eq 'GroupManagement'", []string{"audit-3"}},
			{"correlationId eq 'corr-2'", []string{"audit-3", "audit-2"}},
			{"result eq 'failure'", []string{"audit-3"}},
			{"initiatedBy/user/id eq '" + auditAdmin + "'", []string{"audit-4", "audit-1"}},
			{"initiatedBy/app/appId eq '" + auditApp + "'", []string{"audit-3", "audit-2"}},
			{"targetResources/any(t: t/id eq '" + auditTarget + "')", []string{"audit-3", "audit-1"}},
			{"targetResources/any(t:t/id eq " + auditOther + ")" + only, []string{"audit-4", "audit-3", "audit-2"}},
			{"id eq 'audit-2'", []string{"audit-2"}},
			{"startswith(activityDisplayName,'Add')" + only, []string{"audit-3", "audit-2"}},
			{"startsWith(activityDisplayName, 'update StsRefreshToken')" + only, []string{"audit-4", "audit-1"}},
			{"loggedByService eq 'Core Directory'" + only, []string{"audit-4", "audit-3", "audit-2", "audit-1"}},
		}
		for _, tt := range tests {
			t.Run(tt.filter, func(t *testing.T) {
				got := auditIDs(t, e.do("GET", "/auditLogs/directoryAudits?$filter="+tt.filter, nil).want(t, http.StatusOK))
				if !slices.Equal(got, tt.want) {
					t.Fatalf("%v, want %v", got, tt.want)
				}
			})
		}
		t.Run("paging", func(t *testing.T) {
			var got []string
			link := "/auditLogs/directoryAudits?$filter=activityDateTime lt " + auditCutoff + "&$top=3&$orderby=activityDateTime desc"
			for pages := 0; link != ""; pages++ {
				if pages == 3 {
					t.Fatal("paging does not end")
				}
				body := e.do("GET", link, nil).want(t, http.StatusOK)
				got = append(got, auditIDs(t, body)...)
				link, _ = body["@odata.nextLink"].(string)
				if link != "" && !strings.HasPrefix(link, e.base+"/auditLogs/directoryAudits?") {
					t.Fatalf("nextLink %q", link)
				}
			}
			if !slices.Equal(got, []string{"audit-4", "audit-3", "audit-2", "audit-1"}) {
				t.Fatalf("pages gave %v", got)
			}
		})
		t.Run("select", func(t *testing.T) {
			body := e.do("GET", "/auditLogs/directoryAudits?$filter=id eq 'audit-1'&$select=activityDisplayName,ID", nil).want(t, http.StatusOK)
			if body["@odata.context"] != e.base+"/$metadata#auditLogs/directoryAudits(activityDisplayName,id)" {
				t.Fatalf("@odata.context %v", body["@odata.context"])
			}
			recs := values(t, body)
			if len(recs) != 1 || len(recs[0]) != 2 || recs[0]["id"] != "audit-1" {
				t.Fatalf("selected %v", recs)
			}
		})
		for _, bad := range []struct {
			query, code string
		}{
			{"$filter=shoeSize eq 1", CodeUnsupportedQuery},
			{"$filter=resultReason eq 'x'", CodeUnsupportedQuery},
			{"$filter=startsWith(category,'Group')", CodeUnsupportedQuery},
			{"$filter=endswith(activityDisplayName,'user')", CodeUnsupportedQuery},
			{"$filter=category ne 'x'", CodeUnsupportedQuery},
			{"$filter=activityDateTime ge 'yesterday'", CodeBadRequest},
			{"$filter=initiatedBy/user/id eq 'not-a-guid'", CodeBadRequest},
			{"$filter=targetResources/any(t: t/type eq 'User')", CodeUnsupportedQuery},
			{"$filter=category eq", CodeBadRequest},
			{"$orderby=activityDateTime", CodeUnsupportedQuery},
			{"$orderby=category desc", CodeUnsupportedQuery},
			{"$top=1001", CodeRequestBadRequest},
			{"$top=0", CodeRequestBadRequest},
			{"$count=true", CodeRequestBadRequest},
			{"$search=\"x\"", CodeRequestBadRequest},
			{"$select=initiatedBy/user/id", CodeBadRequest},
			{"$select=shoeSize", CodeUnsupportedQuery},
			{"$skiptoken=Zm9vYmFy", CodeRequestBadRequest},
		} {
			t.Run(bad.query, func(t *testing.T) {
				r := e.do("GET", "/auditLogs/directoryAudits?"+bad.query, nil)
				r.want(t, http.StatusBadRequest)
				if c := r.errorCode(t); c != bad.code {
					t.Fatalf("code %s, want %s: %s", c, bad.code, r.body)
				}
			})
		}
		e.do("GET", "/auditLogs/directoryAudits?$top=1000", nil).want(t, http.StatusOK)
		e.do("GET", "/auditLogs/directoryAudits/audit-404", nil).want(t, http.StatusNotFound)
		got := e.do("GET", "/auditLogs/directoryAudits/audit-3?$select=result,resultReason", nil).want(t, http.StatusOK)
		if got["result"] != "failure" || got["resultReason"] != "the group is role-assignable" || len(got) != 3 {
			t.Fatalf("GET one: %v", got)
		}
	})
}

// TestAuditLogAccess: AuditLog.Read.All for applications; for signed-in
// users, the scope and a role that reads audit logs.
func TestAuditLogAccess(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		member := e.user("member@vigil.local")
		reports := e.userWithRoles("reports@vigil.local", "Reports Reader")
		security := e.userWithRoles("security@vigil.local", "Security Reader")
		reader := e.userWithRoles("reader@vigil.local", roleGlobalReader)
		ua := e.userWithRoles("ua@vigil.local", roleUserAdmin)
		tests := []struct {
			name, token string
			want        int
		}{
			{"app AuditLog.Read.All", e.appToken(pAuditLogReadAll), http.StatusOK},
			{"app Directory.Read.All", e.appToken(pDirectoryReadAll), http.StatusForbidden},
			{"app Directory.ReadWrite.All", e.appToken(pDirectoryReadWriteAll), http.StatusForbidden},
			{"Reports Reader", e.signIn(reports, pAuditLogReadAll), http.StatusOK},
			{"Security Reader", e.signIn(security, pAuditLogReadAll), http.StatusOK},
			{"Global Reader", e.signIn(reader, pAuditLogReadAll), http.StatusOK},
			{"Global Reader without the scope", e.signIn(reader, pDirectoryReadAll), http.StatusForbidden},
			{"User Administrator", e.signIn(ua, pAuditLogReadAll), http.StatusForbidden},
			{"member", e.signIn(member, pAuditLogReadAll), http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.request(tt.token, "GET", "/auditLogs/directoryAudits?$top=1", nil).want(t, tt.want)
				e.request(tt.token, "GET", "/auditLogs/directoryAudits/nothing", nil).want(t, map[int]int{200: 404, 403: 403}[tt.want])
			})
		}
	})
}

func TestAuditObject(t *testing.T) {
	rec := auditRecords()[1]
	o, err := auditObject(rec)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range o {
		names = append(names, p.name)
	}
	if !slices.Equal(names, auditDefaults) {
		t.Fatalf("properties %v, want %v", names, auditDefaults)
	}
	if v, _ := o.get("additionalDetails"); string(v.(json.RawMessage)) != "[]" {
		t.Fatalf("missing additionalDetails rendered %s", v)
	}
	rec.InitiatedBy = []byte(`{"user":`)
	if _, err := auditObject(rec); err == nil {
		t.Fatal("a record with broken JSON rendered")
	}
	if err := directoryAuditsSchema.Validate(); err != nil {
		t.Fatal(err)
	}
	for name := range directoryAuditsSchema.Props {
		if !strings.Contains(name, "/") && !slices.Contains(auditDefaults, name) {
			t.Errorf("schema property %q is never rendered", name)
		}
	}
}

// auditGoldenCases are the audit log shapes compared with golden files.
var auditGoldenCases = []goldenCase{
	{"audit_list", func(t *testing.T, e *env) *response {
		e.appendAuditRecords()
		return e.do("GET", "/auditLogs/directoryAudits?$filter=activityDateTime lt "+auditCutoff+"&$top=3", nil)
	}},
	{"audit_get", func(t *testing.T, e *env) *response {
		e.appendAuditRecords()
		return e.do("GET", "/auditLogs/directoryAudits/audit-1", nil)
	}},
	{"audit_revocation", func(t *testing.T, e *env) *response {
		u := e.user("ada@vigil.local")
		ga := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		e.advance(time.Minute)
		e.request(e.signIn(ga, pUserRevokeSessionsAll), "POST", "/users/"+u+"/revokeSignInSessions", nil).want(t, http.StatusOK)
		return e.do("GET", "/auditLogs/directoryAudits?$filter=activityDisplayName eq 'Update StsRefreshTokenValidFrom Timestamp'", nil)
	}},
	{"audit_error_403_delegated", func(t *testing.T, e *env) *response {
		return e.request(e.signIn(e.user("member@vigil.local"), pAuditLogReadAll), "GET", "/auditLogs/directoryAudits", nil)
	}},
}
