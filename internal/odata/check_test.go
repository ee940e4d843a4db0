package odata

import (
	"reflect"
	"strings"
	"testing"
)

// testUsers follows the user table of the Graph reference (§3.1–3.2).
var testUsers = Schema{Name: "microsoft.graph.user", Props: map[string]Prop{
	"id":                              {Type: TypeGUID, Ops: AllowEq, AdvancedOps: AllowNe},
	"userPrincipalName":               {Type: TypeString, Ops: AllowEq | AllowGe | AllowLe | AllowStartsWith, AdvancedOps: AllowNe | AllowEndsWith, Orderable: true},
	"displayName":                     {Type: TypeString, Ops: AllowEq | AllowGe | AllowLe | AllowStartsWith, AdvancedOps: AllowNe, Orderable: true, Nullable: true, Searchable: true},
	"mail":                            {Type: TypeString, Ops: AllowEq | AllowGe | AllowLe | AllowStartsWith, AdvancedOps: AllowNe | AllowEndsWith, Nullable: true},
	"department":                      {Type: TypeString, Ops: AllowEq | AllowGe | AllowLe, AdvancedOps: AllowNe, Nullable: true},
	"accountEnabled":                  {Type: TypeBool, Ops: AllowEq, AdvancedOps: AllowNe},
	"createdDateTime":                 {Type: TypeDateTime, Ops: AllowEq | AllowGe | AllowLe, AdvancedOps: AllowNe, AdvancedOrderable: true},
	"signInSessionsValidFromDateTime": {Type: TypeDateTime},
	"proxyAddresses":                  {Type: TypeStringCollection, Ops: AllowAny | AllowEq | AllowStartsWith, AdvancedOps: AllowEndsWith},
	"assignedLicenses": {Type: TypeComplexCollection, Ops: AllowAny, AdvancedOps: AllowCount,
		Elem: &Schema{Name: "microsoft.graph.assignedLicense", Props: map[string]Prop{
			"skuId": {Type: TypeGUID, Ops: AllowEq},
		}}},
	"employeeOrgData/costCenter": {Type: TypeString, Ops: AllowEq},
	"employeeOrgData":            {Type: TypeComplex},
}}

// testAudits models directoryAudit's filterable properties.
var testAudits = Schema{Name: "microsoft.graph.directoryAudit", Props: map[string]Prop{
	"activityDateTime":    {Type: TypeDateTime, Ops: AllowEq | AllowGe | AllowLe, Orderable: true},
	"initiatedBy":         {Type: TypeComplex},
	"initiatedBy/user/id": {Type: TypeString, Ops: AllowEq},
	"targetResources": {Type: TypeComplexCollection, Ops: AllowAny,
		Elem: &Schema{Name: "microsoft.graph.targetResource", Props: map[string]Prop{
			"id":          {Type: TypeString, Ops: AllowEq},
			"displayName": {Type: TypeString, Ops: AllowEq | AllowStartsWith},
		}}},
}}

const guid = "8c1d4b3e-0000-4000-8000-000000000001"

func TestCheckFilter(t *testing.T) {
	tests := []struct {
		name     string
		schema   Schema
		in       string
		advanced bool
		canon    string // Format after the check; "" means unchanged input
	}{
		{"eq string", testUsers, "department eq 'HP'", false, ""},
		{"names canonicalised", testUsers, "DEPARTMENT eq 'HP' and UserPrincipalName ge 'a'", false, "department eq 'HP' and userPrincipalName ge 'a'"},
		{"ne is advanced", testUsers, "accountEnabled ne true", true, ""},
		{"not is advanced", testUsers, "not (accountEnabled eq true)", true, ""},
		{"not deep inside is advanced", testUsers, "displayName eq 'a' or proxyAddresses/any(x: not (x eq 'b'))", true, ""},
		{"startsWith", testUsers, "startsWith(displayName, 'a')", false, ""},
		{"endsWith is advanced", testUsers, "endsWith(mail, '@contoso.com')", true, ""},
		{"in follows eq", testUsers, "department in ('HP', 'Sales')", false, ""},
		{"in on guid", testUsers, "id in ('" + guid + "', " + guid + ")", false, ""},
		{"eq null", testUsers, "mail eq null", false, ""},
		{"ne null is advanced", testUsers, "mail ne null", true, ""},
		{"datetime", testUsers, "createdDateTime ge 2024-01-01T00:00:00Z", false, ""},
		{"lambda on strings", testUsers, "PROXYADDRESSES/any(x:startswith(x,'smtp:'))", false, "proxyAddresses/any(x: startsWith(x, 'smtp:'))"},
		{"advanced op in lambda", testUsers, "proxyAddresses/any(x: endsWith(x, '.com'))", true, ""},
		{"lambda on complex", testUsers, "assignedLicenses/any(l: l/SKUID eq " + guid + ")", false, "assignedLicenses/any(l: l/skuId eq " + guid + ")"},
		{"count is advanced", testUsers, "assignedLicenses/$count eq 0", true, ""},
		{"count canonicalised", testUsers, "AssignedLicenses/$count ge 1", true, "assignedLicenses/$count ge 1"},
		{"nested complex path", testUsers, "employeeOrgData/CostCenter eq 'x'", false, "employeeOrgData/costCenter eq 'x'"},
		{"audit path", testAudits, "initiatedBy/user/id eq 'u' and activityDateTime ge 2024-01-01T00:00:00Z", false, ""},
		{"audit lambda", testAudits, "targetResources/any(t: t/id eq 'u' or startsWith(t/DisplayName, 'x'))", false, "targetResources/any(t: t/id eq 'u' or startsWith(t/displayName, 'x'))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseFilter(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			advanced, err := tc.schema.CheckFilter(e)
			if err != nil {
				t.Fatalf("CheckFilter(%s): %v", tc.in, err)
			}
			if advanced != tc.advanced {
				t.Errorf("needsAdvanced = %v, want %v", advanced, tc.advanced)
			}
			want := tc.canon
			if want == "" {
				want = Format(mustParse(t, tc.in))
			}
			if got := Format(e); got != want {
				t.Errorf("after check\n got %s\nwant %s", got, want)
			}
		})
	}
	t.Run("nil", func(t *testing.T) {
		if adv, err := testUsers.CheckFilter(nil); adv || err != nil {
			t.Errorf("CheckFilter(nil) = %v, %v", adv, err)
		}
	})
}

func mustParse(t *testing.T, s string) Expr {
	t.Helper()
	e, err := ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestCheckFilterErrors(t *testing.T) {
	tests := []struct {
		name        string
		schema      Schema
		in          string
		pos         int
		msg         string
		unsupported bool
	}{
		{"unknown property", testUsers, "foo eq 1", 0, "Could not find a property named 'foo' on type 'microsoft.graph.user'.", true},
		{"unknown property later", testUsers, "displayName eq 'a' and foo eq 1", 23, "named 'foo'", true},
		{"unknown in lambda", testUsers, "assignedLicenses/any(l: l/plan eq 'x')", 24, "named 'plan' on type 'microsoft.graph.assignedLicense'", true},
		{"op not allowed", testUsers, "createdDateTime gt 2024-01-01T00:00:00Z", 0, "operator 'gt' is not supported on property 'createdDateTime'", true},
		{"function not allowed", testUsers, "endsWith(displayName,'x')", 0, "function 'endsWith' is not supported on property 'displayName'", true},
		{"in where eq is not", testUsers, "signInSessionsValidFromDateTime in (2024-01-01T00:00:00Z)", 0, "operator 'in' is not supported", true},
		{"no filter ops", testUsers, "signInSessionsValidFromDateTime ge 2024-01-01T00:00:00Z", 0, "operator 'ge' is not supported on property 'signInSessionsValidFromDateTime'", true},
		{"null on non-nullable", testUsers, "accountEnabled eq null", 18, "property 'accountEnabled' cannot be compared with null", true},
		{"bool with string", testUsers, "accountEnabled eq 'yes'", 18, "incompatible types: property 'accountEnabled' is Edm.Boolean but 'yes' is Edm.String", false},
		{"string with int", testUsers, "displayName eq 1", 15, "is Edm.String but 1 is Edm.Int64", false},
		{"datetime with string", testUsers, "createdDateTime ge '2024-01-01'", 19, "is Edm.DateTimeOffset but '2024-01-01' is Edm.String", false},
		{"string with guid", testUsers, "displayName eq " + guid, 15, "is Edm.String but " + guid + " is Edm.Guid", false},
		{"bad guid", testUsers, "id eq 'nope'", 6, "'nope' is not a valid GUID for property 'id'", false},
		{"bad guid in list", testUsers, "id in ('" + guid + "', 'x')", 47, "'x' is not a valid GUID", false},
		{"function on guid", testUsers, "startsWith(id,'8c')", 0, "function 'startsWith' is not supported on property 'id'", true},
		{"compare collection", testUsers, "proxyAddresses eq 'smtp:a'", 0, "property 'proxyAddresses' is a collection; filter it with proxyAddresses/any(x: …)", true},
		{"in on collection", testUsers, "proxyAddresses in ('a')", 0, "is a collection", true},
		{"any on single value", testUsers, "displayName/any(x: x eq 'a')", 0, "any() needs a collection; 'displayName' is Edm.String", true},
		{"any not allowed", testAudits, "targetResources/any(t: t/id eq 'a') and initiatedBy/any(x: x eq 1)", 40, "any() needs a collection; 'initiatedBy' is complex type", true},
		{"element has no property", testUsers, "proxyAddresses/any(x: x/foo eq 'a')", 22, "elements of 'proxyAddresses' are Edm.String values and have no property 'foo'", true},
		{"complex element compared", testUsers, "assignedLicenses/any(l: l eq 'a')", 24, "the lambda variable over 'assignedLicenses' must be followed by a property", false},
		{"element op not allowed", testUsers, "proxyAddresses/any(x: x ge 'a')", 22, "operator 'ge' is not supported on property 'proxyAddresses'", true},
		{"element type", testUsers, "proxyAddresses/any(x: x eq 1)", 27, "property 'proxyAddresses' is Edm.String but 1 is Edm.Int64", false},
		{"count on single value", testUsers, "displayName/$count eq 0", 0, "$count needs a collection; 'displayName' is Edm.String", true},
		{"count not allowed", testUsers, "proxyAddresses/$count eq 0", 0, "$count is not supported on property 'proxyAddresses'", true},
		{"count unknown", testUsers, "foo/$count eq 0", 0, "named 'foo'", true},
		{"complex compared", testAudits, "initiatedBy eq 'x'", 0, "operator 'eq' is not supported on property 'initiatedBy'", true},
		{"error inside not", testUsers, "not (foo eq 1)", 5, "named 'foo'", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustParse(t, tc.in)
			_, err := tc.schema.CheckFilter(e)
			if err == nil {
				t.Fatalf("CheckFilter(%s) = nil, want an error", tc.in)
			}
			checkError(t, err, "$filter", tc.pos, tc.msg, tc.unsupported)
		})
	}
}

func TestCheckOrderBy(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []string
		advanced bool
		pos      int // -1: valid
		msg      string
	}{
		{"default sortable", "displayName, USERPRINCIPALNAME desc", []string{"displayName", "userPrincipalName"}, false, -1, ""},
		{"advanced sortable", "displayName,createdDateTime desc", []string{"displayName", "createdDateTime"}, true, -1, ""},
		{"not sortable", "displayName,mail", nil, false, 12, "sorting by property 'mail' is not supported"},
		{"unknown", "displayName, foo desc", nil, false, 13, "Could not find a property named 'foo'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOrderBy(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			advanced, err := testUsers.CheckOrderBy(o)
			if tc.pos >= 0 {
				checkError(t, err, "$orderby", tc.pos, tc.msg, true)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ob := range o {
				got = append(got, ob.Prop)
			}
			if !reflect.DeepEqual(got, tc.want) || advanced != tc.advanced {
				t.Errorf("got %q advanced=%v, want %q advanced=%v", got, advanced, tc.want, tc.advanced)
			}
		})
	}
}

func TestCheckSelect(t *testing.T) {
	tests := []struct {
		name  string
		props []string
		want  []string
		pos   int // -1: valid
		msg   string
	}{
		{"canonicalised", []string{"ID", "displayname", "proxyAddresses"}, []string{"id", "displayName", "proxyAddresses"}, -1, ""},
		{"complex", []string{"employeeOrgData"}, []string{"employeeOrgData"}, -1, ""},
		{"unknown", []string{"id", "displayName", "foo"}, nil, 15, "Could not find a property named 'foo' on type 'microsoft.graph.user'."},
		{"sub-path is not a property", []string{"employeeOrgData/costCenter"}, nil, 0, "named 'employeeOrgData/costCenter'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testUsers.CheckSelect(tc.props)
			if tc.pos >= 0 {
				checkError(t, err, "$select", tc.pos, tc.msg, true)
				return
			}
			if err != nil || !reflect.DeepEqual(tc.props, tc.want) {
				t.Errorf("got %q, %v; want %q", tc.props, err, tc.want)
			}
		})
	}
}

func TestCheckSearch(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		pos  int // -1: valid
		msg  string
	}{
		{"searchable", `"DISPLAYNAME:Browser"`, "displayName", -1, ""},
		{"not searchable", `"displayName:a" AND "mail:b"`, "", 21, "property 'mail' does not support $search"},
		{"unknown", `"foo:a"`, "", 1, "Could not find a property named 'foo'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			terms, err := ParseSearch(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			err = testUsers.CheckSearch(terms)
			if tc.pos >= 0 {
				checkError(t, err, "$search", tc.pos, tc.msg, true)
				return
			}
			if err != nil || terms[0].Prop != tc.want {
				t.Errorf("got %+v, %v; want prop %q", terms, err, tc.want)
			}
		})
	}
}

func TestSchemaValidate(t *testing.T) {
	for _, s := range []Schema{testUsers, testAudits} {
		t.Run(s.Name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("every problem", func(t *testing.T) {
		bad := Schema{Name: "bad", Props: map[string]Prop{
			"a":     {Type: TypeString},
			"A":     {Type: TypeString},
			"noTyp": {},
			"coll":  {Type: TypeComplexCollection},
			"one":   {Type: TypeString, Elem: &Schema{}},
			"count": {Type: TypeString, AdvancedOps: AllowCount},
			"inner": {Type: TypeComplexCollection, Elem: &Schema{Name: "inner", Props: map[string]Prop{"x": {}}}},
		}}
		err := bad.Validate()
		if err == nil {
			t.Fatal("Validate() = nil")
		}
		for _, want := range []string{
			"only by case", `"noTyp": invalid type PropType(0)`, `"coll": Elem must be set`,
			`"one": Elem must be set`, `"count": any() and $count need a collection`, `schema inner: property "x": invalid type`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v\nmissing %q", err, want)
			}
		}
	})
}
