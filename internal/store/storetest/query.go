package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

const day = 24 * time.Hour

// people is the fixture of the query tests: ten users whose properties
// exercise case folding, NULLs, wildcards in values, collections and ties
// (users 5 and 6 share a case-folded displayName and a createdDateTime).
func people() []store.User {
	u := func(n int, upn, name string) store.User {
		return store.User{ID: id(n), UserPrincipalName: upn, DisplayName: name, AccountEnabled: true, CreatedDateTime: at(time.Duration(n) * day)}
	}
	ada := u(1, "ada@example.com", "Ada Lovelace")
	ada.GivenName, ada.Surname, ada.Mail = ptr("Ada"), ptr("Lovelace"), ptr("ada@example.com")
	ada.JobTitle, ada.Department, ada.OfficeLocation = ptr("Analyst"), ptr("Engineering"), ptr("London")
	ada.BusinessPhones = []string{"+44 20 7946 0001"}
	alan := u(2, "alan@example.com", "Alan Turing")
	alan.GivenName, alan.Surname, alan.Mail = ptr("Alan"), ptr("Turing"), ptr("alan@example.org")
	alan.JobTitle, alan.Department = ptr("Cryptanalyst"), ptr("Research")
	alan.BusinessPhones = []string{"+44 1908 640404", "+1 555 0100"}
	grace := u(3, "grace@example.com", "Grace Hopper")
	grace.Department, grace.BusinessPhones, grace.AccountEnabled = ptr("Engineering"), []string{}, false
	emile := u(4, "EMILE@example.com", "Émile du Châtelet")
	emile.Mail, emile.JobTitle, emile.OfficeLocation = ptr("emilie@example.fr"), ptr("Physicist"), ptr("Paris")
	bob := u(5, "a_x@example.com", "bob")
	bob.Department, bob.JobTitle = ptr("Sales"), ptr("Seller")
	bob2 := u(6, "abx@example.com", "Bob")
	bob2.Department, bob2.CreatedDateTime = ptr("sales"), bob.CreatedDateTime
	pct := u(7, "100%@example.com", "Percent")
	linus := u(8, "linus@example.com", "Linus")
	linus.Department, linus.JobTitle = ptr("Sales & Marketing"), ptr("Engineer")
	kat := u(9, "katherine@example.com", "Katherine Johnson")
	kat.Department, kat.AccountEnabled, kat.MobilePhone = ptr("Research"), false, ptr("+1 757 555 0199")
	mh := u(10, "margaret@example.com", "Margaret Hamilton")
	mh.BusinessPhones, mh.SignInSessionsValidFrom = []string{"+1 617 555 0100"}, at(10*day)
	return []store.User{ada, alan, grace, emile, bob, bob2, pct, linus, kat, mh}
}

func loadPeople(t *testing.T, s store.Store) []store.User {
	t.Helper()
	us := people()
	ok(t, s.InTx(ctx, func(tx store.Tx) error {
		for _, u := range us {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	}))
	return us
}

// userFilters maps $filter texts to the users (by fixture number) they
// select. Results are listed by id, so the numbers are in order.
var userFilters = []struct {
	filter string
	want   []int
}{
	{"userPrincipalName eq 'ADA@EXAMPLE.COM'", []int{1}},
	{"userPrincipalName in ('ADA@example.com', 'nobody@example.com')", []int{1}},
	{"displayName eq 'alan turing'", []int{2}},
	{"displayName eq 'BOB'", []int{5, 6}},
	{"displayName eq 'émile du châtelet'", []int{4}}, // Unicode case folding
	{"startsWith(displayName, 'a')", []int{1, 2}},
	{"startsWith(displayName, '')", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	{"endsWith(mail, '@EXAMPLE.org')", []int{2}},
	{"endsWith(userPrincipalName, '_x@example.com')", []int{5}}, // _ is no wildcard
	{"startsWith(userPrincipalName, '100%')", []int{7}},         // nor is %
	{"endsWith(userPrincipalName, '%@example.com')", []int{7}},
	{"contains(displayName, 'OVE')", []int{1}},
	{"startsWith(mail, 'Ada') or endsWith(mail, '.fr')", []int{1, 4}},
	{"jobTitle eq null", []int{3, 6, 7, 9, 10}},
	{"jobTitle ne null", []int{1, 2, 4, 5, 8}},
	{"mail eq null", []int{3, 5, 6, 7, 8, 9, 10}},
	{"jobTitle gt 'd'", []int{4, 5, 8}},
	{"not (jobTitle gt 'd')", []int{1, 2, 3, 6, 7, 9, 10}},          // NULL is not > 'd'
	{"department ne 'sales'", []int{1, 2, 3, 4, 7, 8, 9, 10}},       // ne matches NULL
	{"not (department eq 'Sales')", []int{1, 2, 3, 4, 7, 8, 9, 10}}, // as not(eq) does
	{"not startsWith(department, 's')", []int{1, 2, 3, 4, 7, 9, 10}},
	{"department in ('SALES', 'research')", []int{2, 5, 6, 9}},
	{"not (department in ('sales', 'research'))", []int{1, 3, 4, 7, 8, 10}},
	{"accountEnabled eq false", []int{3, 9}},
	{"accountEnabled ne true", []int{3, 9}},
	{"accountEnabled in (false)", []int{3, 9}},
	{"not (accountEnabled eq true and department eq 'Engineering')", []int{2, 3, 4, 5, 6, 7, 8, 9, 10}},
	{"(department eq 'Sales' or department eq 'Engineering') and accountEnabled eq true", []int{1, 5, 6}},
	{"givenName eq 'ada' or surname eq 'TURING'", []int{1, 2}},
	{"displayName ge 'b' and displayName lt 'h'", []int{3, 5, 6}},
	{"mobilePhone eq '+1 757 555 0199'", []int{9}},
	{"officeLocation eq 'london'", []int{1}},
	{"createdDateTime eq 2024-03-06T12:00:00.123456Z", []int{5, 6}},
	{"createdDateTime ge 2024-03-08T12:00:00Z", []int{7, 8, 9, 10}},
	{"createdDateTime lt 2024-03-03T00:00:00+01:00", []int{1}},
	{"signInSessionsValidFromDateTime ne null", []int{10}},
	{"businessPhones/any(p: p eq '+1 555 0100')", []int{2}},
	{"businessPhones/any(p: startsWith(p, '+44'))", []int{1, 2}},
	{"not businessPhones/any(p: p eq '+1 555 0100')", []int{1, 3, 4, 5, 6, 7, 8, 9, 10}},
	{"businessPhones/$count eq 0", []int{3, 4, 5, 6, 7, 8, 9}},
	{"businessPhones/$count ge 2", []int{2}},
	{"businessPhones eq null", []int{4, 5, 6, 7, 8, 9}},
	{"businessPhones ne null", []int{1, 2, 3, 10}},
	{"id eq '0000000a-0000-4000-8000-000000000003'", []int{3}},
	{"id eq '0000000A-0000-4000-8000-000000000003'", []int{3}}, // GUIDs compare canonically
	{"id eq 0000000a-0000-4000-8000-000000000004", []int{4}},
	{"id eq '0000000a-0000-4000-8000-00000000000'", nil},
	{"id in ('0000000a-0000-4000-8000-000000000001', '0000000a-0000-4000-8000-000000000002')", []int{1, 2}},
	{"id ne '0000000a-0000-4000-8000-000000000001'", []int{2, 3, 4, 5, 6, 7, 8, 9, 10}},
}

func testFilters(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	loadPeople(t, s)

	t.Run("Users", func(t *testing.T) {
		for _, c := range userFilters {
			q := store.Query{Filter: filter(t, c.filter)}
			got := all(t, 3, func(q store.Query) (store.Page[store.User], error) { return s.ListUsers(ctx, q) }, q)
			sameIDs(t, c.filter, ids(got, userID), idList(c.want...))
			n, err := s.CountUsers(ctx, q)
			ok(t, err)
			if n != len(c.want) {
				t.Errorf("CountUsers(%s) = %d, want %d", c.filter, n, len(c.want))
			}
		}
	})

	t.Run("GroupsApplicationsPrincipals", func(t *testing.T) {
		s := newStore(t)
		admins, marketing, eng := fullGroup(1, "Admins"), fullGroup(2, "Marketing"), fullGroup(3, "Engineering")
		admins.GroupTypes, admins.MailEnabled = nil, false
		marketing.GroupTypes, marketing.SecurityEnabled, marketing.Description, marketing.IsAssignableToRole = []string{"Unified"}, false, nil, false
		eng.IsAssignableToRole = false
		for _, g := range []store.Group{admins, marketing, eng} {
			ok(t, s.CreateGroup(ctx, g))
		}
		for _, c := range []struct {
			filter string
			want   []int
		}{
			{"groupTypes/any(c: c eq 'unified')", []int{2, 3}},
			{"not groupTypes/any(c: c eq 'Unified')", []int{1}},
			{"securityEnabled eq true and mailEnabled eq true", []int{3}},
			{"description eq null", []int{2}},
			{"isAssignableToRole eq true", []int{1}},
			{"mailNickname eq 'NICKMARKETING'", []int{2}},
			{"startsWith(description, 'the e')", []int{3}},
		} {
			p, err := s.ListGroups(ctx, store.Query{Filter: filter(t, c.filter)})
			ok(t, err)
			sameIDs(t, c.filter, ids(p.Items, groupID), idList(c.want...))
			n, err := s.CountGroups(ctx, store.Query{Filter: filter(t, c.filter)})
			ok(t, err)
			if n != len(c.want) {
				t.Errorf("CountGroups(%s) = %d, want %d", c.filter, n, len(c.want))
			}
		}

		ok(t, s.CreateApplication(ctx, fullApp(4, "portal")))
		other := fullApp(5, "other")
		other.IdentifierURIs = []string{"https://other.example.com"}
		ok(t, s.CreateApplication(ctx, other))
		for _, c := range []struct {
			filter string
			want   []int
		}{
			{"identifierUris/any(x: startsWith(x, 'API://'))", []int{4}},
			{"appId eq '" + id(1005) + "'", []int{5}},
			{"displayName eq 'PORTAL' and isFallbackPublicClient eq true", []int{4}},
		} {
			p, err := s.ListApplications(ctx, store.Query{Filter: filter(t, c.filter)})
			ok(t, err)
			sameIDs(t, c.filter, ids(p.Items, appID), idList(c.want...))
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			filter      string
			unsupported bool
		}{
			{"manager/id eq 'x'", true},
			{"noSuchProperty eq 'x'", true},
			{"accountEnabled gt true", true},
			{"businessPhones eq '1'", true},
			{"startsWith(accountEnabled, 'x')", true},
			{"displayName/any(x: x eq 'a')", true},
			{"displayName eq 1", false},
			{"createdDateTime eq 'yesterday'", false},
			{"accountEnabled eq 'true'", false},
		} {
			_, err := s.ListUsers(ctx, store.Query{Filter: filter(t, c.filter)})
			var oe *odata.Error
			if !errors.As(err, &oe) {
				t.Errorf("%s: error %v, want an *odata.Error", c.filter, err)
				continue
			}
			if errors.Is(err, odata.ErrUnsupported) != c.unsupported {
				t.Errorf("%s: error %v, unsupported = %v", c.filter, err, !c.unsupported)
			}
			_, err = s.CountUsers(ctx, store.Query{Filter: filter(t, c.filter)})
			if !errors.As(err, &oe) {
				t.Errorf("CountUsers(%s): error %v, want an *odata.Error", c.filter, err)
			}
		}
	})
}

func testSearch(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	loadPeople(t, s)
	for _, c := range []struct {
		search, filter string
		want           []int
	}{
		{search: `"displayName:love"`, want: []int{1}},
		{search: `"displayName:BOB"`, want: []int{5, 6}},
		{search: `"displayName:CHÂTELET"`, want: []int{4}},
		{search: `"displayName:a" AND "mail:example.org"`, want: []int{2}},
		{search: `"displayName:ada" OR "displayName:grace"`, want: []int{1, 3}},
		{search: `"displayName:ada" OR "displayName:grace" AND "mail:x"`, want: []int{1}},
		{search: `"userPrincipalName:_x"`, want: []int{5}},
		{search: `"displayName:a"`, filter: "accountEnabled eq true", want: []int{1, 2, 10}}, // â is not a
	} {
		q := store.Query{Search: search(t, c.search), Filter: filter(t, c.filter)}
		p, err := s.ListUsers(ctx, q)
		ok(t, err)
		what := c.search + " " + c.filter
		sameIDs(t, what, ids(p.Items, userID), idList(c.want...))
		n, err := s.CountUsers(ctx, q)
		ok(t, err)
		if n != len(c.want) {
			t.Errorf("CountUsers(%s) = %d, want %d", what, n, len(c.want))
		}
	}
	for _, bad := range []string{`"accountEnabled:true"`, `"noSuchProperty:x"`} {
		_, err := s.ListUsers(ctx, store.Query{Search: search(t, bad)})
		isErr(t, "search "+bad, err, errUnsupported)
	}
}

// expectOrder sorts users as a conforming store must for $orderby keys:
// by each key (strings case-folded), then by id in the last key's
// direction.
func expectOrder(us []store.User, keys []odata.OrderBy) []string {
	out := append([]store.User(nil), us...)
	cmpKey := func(a, b store.User, prop string) int {
		switch prop {
		case "displayName":
			return strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName))
		case "userPrincipalName":
			return strings.Compare(strings.ToLower(a.UserPrincipalName), strings.ToLower(b.UserPrincipalName))
		case "createdDateTime":
			return a.CreatedDateTime.Compare(b.CreatedDateTime)
		}
		return strings.Compare(a.ID, b.ID)
	}
	lastDesc := len(keys) > 0 && keys[len(keys)-1].Desc
	less := func(a, b store.User) int {
		for _, k := range keys {
			if c := cmpKey(a, b, k.Prop); c != 0 {
				if k.Desc {
					return -c
				}
				return c
			}
		}
		c := strings.Compare(a.ID, b.ID)
		if lastDesc {
			c = -c
		}
		return c
	}
	slices.SortFunc(out, less)
	return ids(out, userID)
}

func testPaging(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	us := loadPeople(t, s)
	list := func(q store.Query) (store.Page[store.User], error) { return s.ListUsers(ctx, q) }

	t.Run("EveryRowOnceInOrder", func(t *testing.T) {
		for _, ob := range []string{
			"", "id desc", "displayName", "displayName desc", "userPrincipalName desc",
			"createdDateTime desc", "createdDateTime, displayName desc", "displayName asc, createdDateTime desc",
			"displayName, id desc",
		} {
			keys := orderBy(t, ob)
			want := expectOrder(us, keys)
			for _, top := range []int{1, 2, 3, 7, 10, 11} {
				got := all(t, top, list, store.Query{OrderBy: keys})
				sameIDs(t, "$orderby="+ob, ids(got, userID), want)
			}
		}
	})

	t.Run("WithFilter", func(t *testing.T) {
		var rest []store.User
		for _, u := range us {
			if u.Department == nil || !strings.EqualFold(*u.Department, "research") {
				rest = append(rest, u)
			}
		}
		keys := orderBy(t, "displayName desc")
		got := all(t, 2, list, store.Query{Filter: filter(t, "department ne 'Research'"), OrderBy: keys})
		sameIDs(t, "filtered pages", ids(got, userID), expectOrder(rest, keys))
	})

	t.Run("BadCursor", func(t *testing.T) {
		p, err := s.ListUsers(ctx, store.Query{Top: 2, OrderBy: orderBy(t, "displayName")})
		ok(t, err)
		for _, c := range []struct {
			cursor  string
			orderBy string
		}{
			{"!!not base64!!", ""},
			{"bm90IGEgY3Vyc29y", ""}, // base64 of "not a cursor"
			{p.Next, ""},             // from another $orderby
			{p.Next, "displayName desc"},
		} {
			_, err := s.ListUsers(ctx, store.Query{Top: 2, Cursor: c.cursor, OrderBy: orderBy(t, c.orderBy)})
			isErr(t, "cursor "+c.cursor, err, store.ErrBadCursor)
		}
	})

	t.Run("UnsupportedOrder", func(t *testing.T) {
		for _, ob := range []string{"jobTitle", "businessPhones", "noSuchProperty", "manager/displayName"} {
			_, err := s.ListUsers(ctx, store.Query{OrderBy: orderBy(t, ob)})
			isErr(t, "$orderby="+ob, err, errUnsupported)
		}
	})

	t.Run("DefaultTop", func(t *testing.T) {
		s := newStore(t)
		const n = 101
		ok(t, s.InTx(ctx, func(tx store.Tx) error {
			for i := 1; i <= n; i++ {
				if err := tx.CreateUser(ctx, minimalUser(i, "u"+id(i)+"@example.com")); err != nil {
					return err
				}
			}
			return nil
		}))
		p, err := s.ListUsers(ctx, store.Query{})
		ok(t, err)
		if len(p.Items) != 100 || p.Next == "" {
			t.Fatalf("Top 0: %d items, next %q; want 100 and a cursor", len(p.Items), p.Next)
		}
		p, err = s.ListUsers(ctx, store.Query{Cursor: p.Next})
		ok(t, err)
		if len(p.Items) != 1 || p.Items[0].ID != id(n) || p.Next != "" {
			t.Fatalf("second page: %d items, next %q", len(p.Items), p.Next)
		}
		c, err := s.CountUsers(ctx, store.Query{})
		ok(t, err)
		if c != n {
			t.Fatalf("CountUsers = %d, want %d", c, n)
		}
	})

	t.Run("OtherCollections", func(t *testing.T) {
		s := newStore(t)
		for i, name := range []string{"b", "C", "a", "B"} {
			ok(t, s.CreateGroup(ctx, minimalGroup(i+1, name)))
			ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(i + 1), AppID: id(i + 100), DisplayName: name, CreatedDateTime: t0}))
			a := fullApp(i+1, name)
			a.IdentifierURIs = []string{"api://" + id(i+1)} // "b" and "B" would clash: URIs are unique ignoring case
			ok(t, s.CreateApplication(ctx, a))
		}
		want := idList(3, 1, 4, 2) // a, b, B (ties by id), C
		q := store.Query{OrderBy: orderBy(t, "displayName")}
		gs := all(t, 1, func(q store.Query) (store.Page[store.Group], error) { return s.ListGroups(ctx, q) }, q)
		sameIDs(t, "groups by displayName", ids(gs, groupID), want)
		ps := all(t, 3, func(q store.Query) (store.Page[store.ServicePrincipal], error) {
			return s.ListServicePrincipals(ctx, q)
		}, q)
		sameIDs(t, "service principals by displayName", ids(ps, spID), want)
		as := all(t, 2, func(q store.Query) (store.Page[store.Application], error) { return s.ListApplications(ctx, q) }, q)
		sameIDs(t, "applications by displayName", ids(as, appID), want)
	})
}
