package odata

import (
	"reflect"
	"strings"
	"testing"
)

var validOrderBy = []struct {
	name, in string
	want     []OrderBy
}{
	{"one", "displayName", []OrderBy{{Prop: "displayName"}}},
	{"desc", "createdDateTime desc", []OrderBy{{Prop: "createdDateTime", Desc: true}}},
	{"asc and desc any case", "displayName ASC, userPrincipalName Desc", []OrderBy{
		{Prop: "displayName"}, {Prop: "userPrincipalName", Desc: true, P: 17}}},
	{"path", "initiatedBy/user/displayName desc,activityDateTime", []OrderBy{
		{Prop: "initiatedBy/user/displayName", Desc: true}, {Prop: "activityDateTime", P: 34}}},
	{"spaces", "  a  ,\tb desc ", []OrderBy{{Prop: "a", P: 2}, {Prop: "b", Desc: true, P: 7}}},
}

func TestParseOrderBy(t *testing.T) {
	for _, tc := range validOrderBy {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOrderBy(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseOrderBy(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

var invalidOrderBy = []struct {
	name, in string
	pos      int
	msg      string
}{
	{"empty", "", 0, "expected a property name but found end of input"},
	{"trailing comma", "a,", 2, "expected a property name but found end of input"},
	{"double comma", "a,,b", 2, "expected a property name but found ','"},
	{"bad direction", "a descending", 2, "expected 'asc', 'desc', ',' or end of input but found 'descending'"},
	{"two directions", "a asc desc", 6, "expected ',' or end of input but found 'desc'"},
	{"space after slash", "a/ desc", 1, "a property path cannot have spaces around '/'"},
	{"slash at end", "a/", 2, "expected a property name after '/' but found end of input"},
	{"dollar name", "$count", 0, "expected a property name but found '$count'"},
	{"quoted", "'a'", 0, "found string literal 'a'"},
	{"bad character", "a;b", 1, "unexpected character ';'"},
	{"too long", strings.Repeat("a", MaxOptionLength+1), MaxOptionLength, "longer than"},
}

func TestParseOrderByErrors(t *testing.T) {
	for _, tc := range invalidOrderBy {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOrderBy(tc.in)
			if err == nil {
				t.Fatalf("ParseOrderBy(%q) = %+v, want an error", tc.in, got)
			}
			checkError(t, err, "$orderby", tc.pos, tc.msg, false)
		})
	}
}

func TestParseSelect(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		pos      int // -1: valid
		msg      string
	}{
		{"one", "id", []string{"id"}, -1, ""},
		{"several", "id,displayName,mail", []string{"id", "displayName", "mail"}, -1, ""},
		{"spaces", " id , displayName ", []string{"id", "displayName"}, -1, ""},
		{"underscore and digits", "ext_1,x2", []string{"ext_1", "x2"}, -1, ""},
		{"empty", "", nil, 0, "expected a property name but found end of input"},
		{"trailing comma", "id,", nil, 3, "expected a property name but found end of input"},
		{"path", "manager/id", nil, 7, "expected ',' or end of input but found '/'"},
		{"star", "*", nil, 0, "unexpected character '*'"},
		{"space separated", "id displayName", nil, 3, "expected ',' or end of input but found 'displayName'"},
		{"dollar", "id,$count", nil, 3, "found '$count'"},
		{"number", "1a", nil, 0, "invalid number literal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSelect(tc.in)
			if tc.pos >= 0 {
				checkError(t, err, "$select", tc.pos, tc.msg, false)
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSelect(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

var validSearch = []struct {
	name, in string
	want     []SearchTerm
}{
	{"reference form", `"displayName:Browser"`, []SearchTerm{{Prop: "displayName", Value: "Browser", P: 1}}},
	{"value with spaces and colon", `"description:Team: Sales EMEA "`, []SearchTerm{{Prop: "description", Value: "Team: Sales EMEA", P: 1}}},
	{"and", `"displayName:a" AND "mail:b"`, []SearchTerm{
		{Prop: "displayName", Value: "a", P: 1}, {Prop: "mail", Value: "b", P: 21}}},
	{"or binds looser", `"a:1" AND "b:2" OR "c:3" and "d:4"`, []SearchTerm{
		{Prop: "a", Value: "1", P: 1}, {Prop: "b", Value: "2", P: 11},
		{Prop: "c", Value: "3", Or: true, P: 20}, {Prop: "d", Value: "4", P: 30}}},
	{"escapes", `"displayName:say \"hi\" \\ \x"`, []SearchTerm{{Prop: "displayName", Value: `say "hi" \ \x`, P: 1}}},
	{"surrounding space", ` "a:b"  `, []SearchTerm{{Prop: "a", Value: "b", P: 2}}},
}

func TestParseSearch(t *testing.T) {
	for _, tc := range validSearch {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSearch(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseSearch(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

var invalidSearch = []struct {
	name, in string
	pos      int
	msg      string
}{
	{"unquoted", "displayName:Browser", 0, `expected '"': $search clauses are quoted`},
	{"empty", "", 0, "found end of input"},
	{"no property", `"Browser"`, 0, `expected "property:value" but found "Browser"`},
	{"bad property", `"display name:x"`, 1, "expected a property name before ':' but found 'display name'"},
	{"empty value", `"displayName: "`, 13, "expected a search value after 'displayName:'"},
	{"unterminated", `"displayName:x`, 0, "unterminated quoted clause"},
	{"implicit and", `"a:1" "b:2"`, 6, `expected AND, OR or end of input but found '"b:2'`},
	{"not", `"a:1" NOT "b:2"`, 6, "expected AND, OR or end of input but found 'NOT'"},
	{"dangling and", `"a:1" AND`, 9, "found end of input"},
	{"single quotes", `'a:1'`, 0, `expected '"'`},
	{"non-ASCII after clause", `"a:1" é`, 6, "found 'é'"},
}

func TestParseSearchErrors(t *testing.T) {
	for _, tc := range invalidSearch {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSearch(tc.in)
			if err == nil {
				t.Fatalf("ParseSearch(%q) = %+v, want an error", tc.in, got)
			}
			checkError(t, err, "$search", tc.pos, tc.msg, false)
		})
	}
}

func TestParseTop(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     int
		pos      int // -1: valid
		msg      string
	}{
		{"one", "1", 999, 1, -1, ""},
		{"max", "999", 999, 999, -1, ""},
		{"leading zeros", "007", 999, 7, -1, ""},
		{"zero", "0", 999, 0, 0, "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{"over max", "1000", 999, 0, 0, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"overflow", "99999999999999999999999", 999, 0, 0, "Must be between 1 and 999"},
		{"negative", "-5", 999, 0, 0, "expected a positive integer but found '-5'"},
		{"letters", "12x", 999, 0, 2, "expected a positive integer but found '12x'"},
		{"space", " 5", 999, 0, 0, "expected a positive integer"},
		{"empty", "", 999, 0, 0, "expected a positive integer but found end of input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTop(tc.in, tc.max)
			if tc.pos >= 0 {
				checkError(t, err, "$top", tc.pos, tc.msg, false)
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseTop(%q, %d) = %d, %v; want %d", tc.in, tc.max, got, err, tc.want)
			}
		})
	}
}
