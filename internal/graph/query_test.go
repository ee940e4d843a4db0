package graph

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/odata"
)

// TestListQueryRules checks Graph's advanced-query rules (reference §3.2)
// and the option checks on the users collection.
func TestListQueryRules(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		eventual bool
		code     string // expected error code; "" for success
		msg      string // substring of the error message
		top      int
		count    bool
	}{
		{name: "defaults", query: "", top: 100},
		{name: "top", query: "$top=999", top: 999},
		{name: "top zero", query: "$top=0", code: CodeRequestBadRequest, msg: "Invalid page size specified: '0'"},
		{name: "top too big", query: "$top=1000", code: CodeRequestBadRequest, msg: "Must be between 1 and 999"},
		{name: "top not a number", query: "$top=ten", code: CodeRequestBadRequest, msg: "expected a positive integer"},
		{name: "count ignored without header", query: "$count=true", top: 100},
		{name: "count with header", query: "$count=true", eventual: true, top: 100, count: true},
		{name: "count bad value", query: "$count=yes", code: CodeRequestBadRequest},
		{name: "eq by default", query: "$filter=userPrincipalName eq 'a@b.c'", top: 100},
		{name: "startsWith by default", query: "$filter=startsWith(displayName,'a')", top: 100},
		{name: "ne needs advanced", query: "$filter=accountEnabled ne true", code: CodeUnsupportedQuery},
		{name: "ne header only", query: "$filter=accountEnabled ne true", eventual: true, code: CodeUnsupportedQuery},
		{name: "ne advanced", query: "$filter=accountEnabled ne true&$count=true", eventual: true, top: 100, count: true},
		{name: "not needs advanced", query: "$filter=not(displayName eq 'a')", code: CodeUnsupportedQuery},
		{name: "endsWith needs advanced", query: "$filter=endsWith(mail,'@x.com')", code: CodeUnsupportedQuery},
		{name: "endsWith advanced", query: "$filter=endsWith(mail,'@x.com')&$count=true", eventual: true, top: 100, count: true},
		{name: "endsWith unsupported on displayName", query: "$filter=endsWith(displayName,'x')&$count=true", eventual: true,
			code: CodeUnsupportedQuery, msg: "position 0"},
		{name: "startsWith mobilePhone needs advanced", query: "$filter=startsWith(mobilePhone,'+1')", code: CodeUnsupportedQuery},
		{name: "orderby displayName", query: "$orderby=displayName desc", top: 100},
		{name: "orderby createdDateTime needs advanced", query: "$orderby=createdDateTime", code: CodeUnsupportedQuery, msg: "Sorting not supported"},
		{name: "filter and orderby need advanced", query: "$filter=accountEnabled eq true&$orderby=displayName", code: CodeUnsupportedQuery, msg: "Sorting not supported"},
		{name: "filter and orderby advanced", query: "$filter=accountEnabled eq true&$orderby=displayName&$count=true", eventual: true, top: 100, count: true},
		{name: "orderby unsortable", query: "$orderby=jobTitle", code: CodeUnsupportedQuery},
		{name: "search needs header", query: `$search="displayName:ada"`, code: CodeUnsupportedQuery, msg: msgSearchHeader},
		{name: "search with header", query: `$search="displayName:ada"`, eventual: true, top: 100},
		{name: "search unsearchable", query: `$search="department:x"`, eventual: true, code: CodeUnsupportedQuery},
		{name: "filter syntax error with position", query: "$filter=displayName eq", code: CodeBadRequest, msg: "at position 14"},
		{name: "filter unknown property", query: "$filter=foo eq 'x'", code: CodeUnsupportedQuery, msg: "Could not find a property named 'foo' on type 'microsoft.graph.user'"},
		{name: "filter wrong type", query: "$filter=accountEnabled eq 'yes'", code: CodeBadRequest, msg: "position 18"},
		{name: "select", query: "$select=displayName,ID", top: 100},
		{name: "select unknown", query: "$select=displayName,passwordProfile", code: CodeUnsupportedQuery, msg: "passwordProfile"},
		{name: "unknown option", query: "$frobnicate=1", code: CodeRequestBadRequest, msg: "Unrecognized query argument specified: '$frobnicate'"},
		{name: "unsupported option", query: "$expand=manager", code: CodeRequestBadRequest, msg: "'$expand' is not supported"},
		{name: "duplicate option", query: "$top=1&$top=2", code: CodeRequestBadRequest, msg: "more than once"},
		{name: "options are case-insensitive", query: "$TOP=7", top: 7},
		{name: "custom option ignored", query: "foo=bar", top: 100},
		{name: "garbage skiptoken", query: "$skiptoken=abc", code: CodeRequestBadRequest, msg: "$skiptoken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1.0/users?"+escapeQuery(tt.query), nil)
			if tt.eventual {
				r.Header.Set("ConsistencyLevel", "eventual")
			}
			lq, err := parseList(r, usersSchema)
			if tt.code != "" {
				ge := errorFrom(err)
				if err == nil || ge.Status != 400 || ge.Code != tt.code || !strings.Contains(ge.Message, tt.msg) {
					t.Fatalf("err = %v; want 400 %s containing %q", err, tt.code, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lq.Top != tt.top || lq.count != tt.count {
				t.Fatalf("top %d count %v; want %d %v", lq.Top, lq.count, tt.top, tt.count)
			}
		})
	}
}

// escapeQuery percent-encodes the spaces, quotes and parentheses of a
// readable test query, as a client would.
func escapeQuery(q string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", `"`, "%22").Replace(q)
}

func TestSelectCanonicalisesNames(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1.0/users?$select=DISPLAYNAME,id,id", nil)
	lq, err := parseList(r, usersSchema)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lq.sel, ",") != "displayName,id" {
		t.Fatalf("sel = %v", lq.sel)
	}
}

func TestCountQueryNeedsHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1.0/users/$count", nil)
	_, err := countQuery(r, usersSchema)
	if ge := errorFrom(err); err == nil || ge.Code != CodeRequestBadRequest || ge.Message != msgCountHeader {
		t.Fatalf("err = %v", err)
	}
	r.Header.Set("ConsistencyLevel", "eventual")
	if _, err := countQuery(r, usersSchema); err != nil {
		t.Fatal(err)
	}
}

// TestSchemasMatchRenderers keeps $select and the rendered properties in
// step: every schema property is rendered and every rendered property can
// be selected.
func TestSchemasMatchRenderers(t *testing.T) {
	tests := []struct {
		name   string
		schema odata.Schema
		o      object
	}{
		{"user", usersSchema, userObject(sampleUser())},
		{"group", groupsSchema, groupObject(sampleGroup())},
		{"application", applicationsSchema, applicationObject(sampleApplication(), nil)},
		{"servicePrincipal", servicePrincipalsSchema, servicePrincipalObject(sampleServicePrincipal())},
		{"directoryRole", directoryRoleSchema, directoryRoleObject(sampleDirectoryRole())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.schema.Validate(); err != nil {
				t.Fatal(err)
			}
			rendered := map[string]bool{}
			for _, p := range tt.o {
				rendered[p.name] = true
				if _, ok := tt.schema.Props[p.name]; !ok {
					t.Errorf("rendered property %q cannot be selected", p.name)
				}
			}
			for name := range tt.schema.Props {
				if !rendered[name] {
					t.Errorf("schema property %q is never rendered", name)
				}
			}
		})
	}
	for _, s := range []odata.Schema{memberSchema, memberOfSchema, roleDefinitionsSchema, roleAssignmentsSchema} {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
}
