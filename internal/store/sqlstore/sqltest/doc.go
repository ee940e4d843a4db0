// Package sqltest opens throw-away sqlstore.Store instances for tests of any
// package: a SQLite file under t.TempDir(), and a PostgreSQL store in a
// fresh schema of the database named by $VIGIL_TEST_POSTGRES_DSN, dropped
// when the test ends. It owns nothing else and is imported only by tests.
//
// Typical use:
//
//	func TestSomething(t *testing.T) {
//		sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
//			// … use s as a store.Store …
//		})
//	}
//
// Without the environment variable the "postgres" subtests are skipped;
// with it set, a database that cannot be reached fails the test.
package sqltest
