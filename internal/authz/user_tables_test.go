package authz

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// catalogueRoles transcribes the project's reference file
// directory-roles.json (all 27 roles, in the file's order), which is what
// internal/directory's role catalogue (directory.RoleDefinitions) holds.
// authz cannot import directory (directory imports authz), so the tables'
// role ids are checked against this literal; TestReferenceFiles compares
// the literal with the file itself (a copy in testdata/reference, or the
// folder VIGIL_REFERENCE_DIR names).
var catalogueRoles = []struct{ name, id string }{
	{"Global Administrator", "62e90394-69f5-4237-9190-012177145e10"},
	{"Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"},
	{"Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"},
	{"Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f"},
	{"User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"},
	{"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
	{"Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d"},
	{"Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c"},
	{"Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d"},
	{"Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509"},
	{"Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"},
	{"Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"},
	{"Directory Writers", "9360feb5-f418-4baa-8175-e2a00bac4301"},
	{"Guest Inviter", "95e79109-95c0-4d8e-aee3-d01accf2d47b"},
	{"Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"},
	{"Message Center Reader", "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"},
	{"Usage Summary Reports Reader", "75934031-6c7e-415a-99d7-48dbd49e875e"},
	{"User Experience Success Manager", "27460883-1df1-4691-b032-3b79643e5e63"},
	{"Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"},
	{"Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"},
	{"Conditional Access Administrator", "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"},
	{"Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"},
	{"SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"},
	{"Teams Administrator", "69091246-20e8-4a56-aa4d-066075b2a7a8"},
	{"Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5"},
	{"Billing Administrator", "b0f54661-2d74-4c50-afa3-1ec803f12efe"},
	{"License Administrator", "4d6ac14f-3453-41d0-bef9-a3e0c569773a"},
}

// catalogueID returns the template id of the catalogue role named name.
func catalogueID(t *testing.T, name string) string {
	t.Helper()
	for _, r := range catalogueRoles {
		if r.name == name {
			return r.id
		}
	}
	t.Fatalf("role %q is not in directory-roles.json", name)
	return ""
}

// TestTableRolesInCatalogue checks that every role the tables name, as a
// column or a row, is a role of Vigil's catalogue under the same name.
func TestTableRolesInCatalogue(t *testing.T) {
	byID := map[string]string{}
	for _, r := range catalogueRoles {
		byID[r.id] = r.name
	}
	for id, name := range roleNames {
		if got, ok := byID[id]; !ok || got != name {
			t.Errorf("roleNames[%s] = %q; directory-roles.json has %q (present: %v)", id, name, got, ok)
		}
	}
	for _, tb := range []*actorTable{resetPasswordTable, sensitiveActionsTable} {
		for _, c := range tb.columns {
			if _, ok := byID[c]; !ok {
				t.Errorf("%s: column role %s is not in the catalogue", tb.name, c)
			}
		}
		for _, r := range tb.rows {
			if r.kind != rowRole {
				continue
			}
			if _, ok := byID[r.role]; !ok {
				t.Errorf("%s: row %q: role %s is not in the catalogue", tb.name, r.label, r.role)
			}
			if _, ok := roleNames[r.role]; !ok {
				t.Errorf("%s: row %q: role %s has no display name for reasons", tb.name, r.label, r.role)
			}
		}
	}
}

// TestTablesShape checks what the two tables share: the same rows in the
// same order (the sensitive-actions table reuses the reset table's rows),
// and, for the four columns they have in common, the same cells. Microsoft's
// page shows the two tables agreeing there; a transcription slip in either
// would break it.
func TestTablesShape(t *testing.T) {
	reset, sens := resetPasswordTable, sensitiveActionsTable
	if len(reset.columns) != 6 || len(sens.columns) != 4 || len(reset.rows) != 18 || len(sens.rows) != 18 {
		t.Fatalf("tables have %d×%d and %d×%d cells; want 18×6 and 18×4",
			len(reset.rows), len(reset.columns), len(sens.rows), len(sens.columns))
	}
	for i := range reset.rows {
		r, s := reset.rows[i], sens.rows[i]
		if r.label != s.label || r.kind != s.kind || r.role != s.role {
			t.Errorf("row %d: %q/%v/%s vs %q/%v/%s", i, r.label, r.kind, r.role, s.label, s.kind, s.role)
		}
		for sc, id := range sens.columns {
			rc := reset.columnsOf([]string{id})
			if len(rc) != 1 {
				t.Fatalf("sensitive column %s is not a reset column", id)
			}
			if r.allowed[rc[0]] != s.allowed[sc] {
				t.Errorf("row %q, column %s: reset %v, sensitive %v", r.label, roleNames[id], r.allowed[rc[0]], s.allowed[sc])
			}
		}
	}
}

// TestReferenceFiles compares the Go tables with the project's reference
// files revoke-matrix.json (the contract for who may revoke whom) and
// directory-roles.json. Copies of them are in testdata/reference, so it
// always runs; VIGIL_REFERENCE_DIR (relative to the repository root, e.g.
// ../shared/reference) checks against the team's current files instead,
// which is how a changed reference is noticed.
func TestReferenceFiles(t *testing.T) {
	dir := os.Getenv("VIGIL_REFERENCE_DIR")
	if dir == "" {
		dir = filepath.Join("internal", "authz", "testdata", "reference")
	}
	if !filepath.IsAbs(dir) {
		// go test runs in the package folder; the variable is given
		// relative to the repository root.
		dir = filepath.Join("..", "..", dir)
	}
	t.Run("revoke-matrix.json", func(t *testing.T) {
		var m struct {
			Source           string   `json:"source"`
			Actors           []string `json:"actors"`
			ActorTemplateIDs []string `json:"actorTemplateIds"`
			Rows             []struct {
				Target           string          `json:"target"`
				DocLabel         string          `json:"docLabel"`
				Kind             string          `json:"kind"`
				TargetTemplateID *string         `json:"targetTemplateId"`
				Allowed          map[string]bool `json:"allowed"`
			} `json:"rows"`
		}
		readJSON(t, filepath.Join(dir, "revoke-matrix.json"), &m)
		tb := resetPasswordTable
		if strings.Join(m.ActorTemplateIDs, ",") != strings.Join(tb.columns, ",") {
			t.Fatalf("columns %v; revoke-matrix.json has %v", tb.columns, m.ActorTemplateIDs)
		}
		for i, a := range m.Actors {
			if roleNames[tb.columns[i]] != a {
				t.Errorf("column %d is %q; revoke-matrix.json has %q", i, roleNames[tb.columns[i]], a)
			}
		}
		kinds := map[string]rowKind{
			"role": rowRole, "noRole": rowNoRole, "roleAssignableGroupMemberOrOwner": rowRoleAssignableGroup,
			"restrictedManagementAdminUnit": rowRestrictedAU, "allOtherRoles": rowOtherRoles,
		}
		if len(m.Rows) != len(tb.rows) {
			t.Fatalf("%d rows; revoke-matrix.json has %d", len(tb.rows), len(m.Rows))
		}
		for i, want := range m.Rows {
			got := tb.rows[i]
			wantRole := ""
			if want.TargetTemplateID != nil {
				wantRole = *want.TargetTemplateID
			}
			if got.kind != kinds[want.Kind] || got.role != wantRole {
				t.Errorf("row %d (%s): kind %v role %q; revoke-matrix.json has %s %q", i, want.Target, got.kind, got.role, want.Kind, wantRole)
			}
			if len(want.Allowed) != len(tb.columns) {
				t.Errorf("row %d (%s): revoke-matrix.json has %d cells", i, want.Target, len(want.Allowed))
			}
			for c, id := range tb.columns {
				cell, ok := want.Allowed[roleNames[id]]
				if !ok || cell != got.allowed[c] {
					t.Errorf("row %q, column %s: %v; revoke-matrix.json has %v (present: %v)", want.Target, roleNames[id], got.allowed[c], cell, ok)
				}
			}
		}
	})
	t.Run("directory-roles.json", func(t *testing.T) {
		var roles []struct {
			DisplayName string `json:"displayName"`
			TemplateID  string `json:"templateId"`
		}
		readJSON(t, filepath.Join(dir, "directory-roles.json"), &roles)
		if len(roles) != len(catalogueRoles) {
			t.Fatalf("catalogueRoles has %d roles; directory-roles.json has %d", len(catalogueRoles), len(roles))
		}
		for i, r := range roles {
			if catalogueRoles[i].name != r.DisplayName || catalogueRoles[i].id != r.TemplateID {
				t.Errorf("catalogueRoles[%d] = %v; directory-roles.json has %s %s", i, catalogueRoles[i], r.DisplayName, r.TemplateID)
			}
		}
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
