package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// Run runs the whole suite. Every subtest gets its own store from newStore,
// so subtests may run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	suites := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"Users", testUsers},
		{"Groups", testGroups},
		{"Members", testMembers},
		{"RoleAssignments", testRoleAssignments},
		{"Applications", testApplications},
		{"IdentifierURIs", testIdentifierURIs},
		{"ServicePrincipals", testServicePrincipals},
		{"SigningKeys", testSigningKeys},
		{"Meta", testMeta},
		{"Sessions", testSessions},
		{"RefreshTokens", testRefreshTokens},
		{"AuthCodes", testAuthCodes},
		{"DeviceCodes", testDeviceCodes},
		{"ClientAssertionIDs", testClientAssertionIDs},
		{"Consents", testConsents},
		{"Policies", testPolicies},
		{"SignInThrottles", testSignInThrottles},
		{"UserCascade", testUserCascade},
		{"Audit", testAudit},
		{"Outbox", testOutbox},
		{"Cursors", testCursors},
		{"Deliveries", testDeliveries},
		{"UserRevocation", testUserRevocation},
		{"Revocations", testRevocations},
		{"Transactions", testTransactions},
		{"Concurrency", testConcurrency},
		{"Filters", testFilters},
		{"Search", testSearch},
		{"Paging", testPaging},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, newStore)
		})
	}
}

// t0 is the suite's epoch; its nanoseconds check truncation to microseconds.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

// id returns a fixed GUID for n, so ids sort in n's order.
func id(n int) string { return fmt.Sprintf("0000000a-0000-4000-8000-%012d", n) }

// stored is t as a conforming store returns it.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// normalize returns v with every time.Time field (at any depth) as stored
// and empty byte slices as nil, so that reflect.DeepEqual compares what a
// store must preserve.
func normalize[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normValue(rv)
	return v
}

var timeType = reflect.TypeOf(time.Time{})

func normValue(v reflect.Value) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(stored(v.Interface().(time.Time))))
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				normValue(v.Field(i))
			}
		}
	case v.Kind() == reflect.Pointer && !v.IsNil():
		normValue(v.Elem())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && v.Len() == 0:
		v.Set(reflect.Zero(v.Type()))
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			normValue(v.Index(i))
		}
	}
}

// same fails the test unless got equals want as a store must return it.
func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	got, want = normalize(got), normalize(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// isErr fails the test unless errors.Is(err, target).
func isErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// ok fails the test on err.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// parse parses a query option for a test table; "" is the option absent.
func parse[T any](t *testing.T, option, s string, p func(string) (T, error)) T {
	t.Helper()
	var v T
	if s == "" {
		return v
	}
	v, err := p(s)
	if err != nil {
		t.Fatalf("parse %s %q: %v", option, s, err)
	}
	return v
}

func filter(t *testing.T, s string) odata.Expr {
	t.Helper()
	return parse(t, "$filter", s, odata.ParseFilter)
}

func orderBy(t *testing.T, s string) []odata.OrderBy {
	t.Helper()
	return parse(t, "$orderby", s, odata.ParseOrderBy)
}

func search(t *testing.T, s string) []odata.SearchTerm {
	t.Helper()
	return parse(t, "$search", s, odata.ParseSearch)
}

// roundTrip creates v and checks that every read returns it as stored.
func roundTrip[T any](t *testing.T, v T, create func(context.Context, T) error, reads map[string]func(T) (T, error)) {
	t.Helper()
	ok(t, create(ctx, v))
	for what, read := range reads {
		got, err := read(v)
		ok(t, err)
		same(t, what, got, v)
	}
}

// ids maps objects to their ids.
func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

func userID(u store.User) string               { return u.ID }
func groupID(g store.Group) string             { return g.ID }
func objectID(o store.DirectoryObject) string  { return o.ID() }
func appID(a store.Application) string         { return a.ID }
func spID(p store.ServicePrincipal) string     { return p.ID }
func raID(a store.RoleAssignment) string       { return a.ID }
func araID(a store.AppRoleAssignment) string   { return a.ID }
func keyID(k store.SigningKey) string          { return k.ID }
func credID(c store.PasswordCredential) string { return c.KeyID }

// sameIDs fails the test unless got and want hold the same ids in the same
// order.
func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// all pages through list with page size top and returns every item, after
// checking that only the last page has no Next.
func all[T any](t *testing.T, top int, list func(q store.Query) (store.Page[T], error), q store.Query) []T {
	t.Helper()
	var out []T
	q.Top = top
	for range 10000 {
		p, err := list(q)
		if err != nil {
			t.Fatalf("page after cursor %q: %v", q.Cursor, err)
		}
		if top > 0 && len(p.Items) > top {
			t.Fatalf("page of %d items with Top %d", len(p.Items), top)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		if len(p.Items) == 0 {
			t.Fatalf("empty page with a Next cursor")
		}
		q.Cursor = p.Next
	}
	t.Fatal("paging did not end")
	return nil
}

var ctx = context.Background()

var errUnsupported = odata.ErrUnsupported
