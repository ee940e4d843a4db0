package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestIndexedFilters checks that the compiled SQL of each indexed $filter
// (and of keyset paging) can be answered from the intended index, on both
// dialects.
func TestIndexedFilters(t *testing.T) {
	cases := []struct {
		filter, orderBy string
		index           map[string]string // dialect → index name in the plan
	}{
		{"userPrincipalName eq 'A@example.com'", "", idx("users_upn")},
		{"startsWith(userPrincipalName, 'ad')", "", idx("users_upn")},
		{"mail eq 'a@example.com'", "", idx("users_mail")},
		{"displayName eq 'Ada'", "", idx("users_display_name")},
		{"startsWith(displayName, 'Ad')", "", idx("users_display_name")},
		{"department eq 'Sales'", "", idx("users_department")},
		{"department in ('Sales', 'Research')", "", idx("users_department")},
		{"jobTitle eq 'Analyst'", "", idx("users_job_title")},
		{"mailNickname eq 'ada'", "", idx("users_mail_nickname")},
		{"accountEnabled eq false", "", idx("users_account_enabled")},
		{"createdDateTime eq 2024-01-01T00:00:00Z", "", idx("users_created")},
		{"createdDateTime ge 2024-01-01T00:00:00Z", "createdDateTime desc", idx("users_created")},
		{"id eq '0000000a-0000-4000-8000-000000000001'", "", map[string]string{"sqlite": "sqlite_autoindex_users_1", "postgres": "users_pkey"}},
		{"", "displayName desc", idx("users_display_name")},
	}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		for _, id := range []string{"p1", "p2"} {
			if err := s.CreateUser(ctx, store.User{ID: id, UserPrincipalName: id + "@example.com", DisplayName: id}); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cases {
			q := store.Query{Top: 10}
			var err error
			if c.filter != "" {
				if q.Filter, err = odata.ParseFilter(c.filter); err != nil {
					t.Fatal(err)
				}
			}
			if c.orderBy != "" {
				if q.OrderBy, err = odata.ParseOrderBy(c.orderBy); err != nil {
					t.Fatal(err)
				}
				// A second page: the keyset condition must use the index too.
				first, err := s.ListUsers(ctx, store.Query{Top: 1, OrderBy: q.OrderBy})
				if err != nil || first.Next == "" {
					t.Fatalf("first page: %v, %+v", err, first)
				}
				q.Cursor = first.Next
			}
			plan, err := s.PlanListUsers(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", c.filter, err)
			}
			if want := c.index[s.Dialect()]; !strings.Contains(plan, want) {
				t.Errorf("%s %s: plan does not use %s:\n%s", c.filter, c.orderBy, want, plan)
			}
		}
	})
}

func idx(name string) map[string]string { return map[string]string{"sqlite": name, "postgres": name} }
