// Package store owns Vigil's persistent entity types, the small per-aggregate
// interfaces that storage backends implement, and the storage error values
// (ErrNotFound, ErrConflict). It knows nothing of HTTP, Graph JSON or SQL; the
// only backend lives in internal/store/sqlstore and every backend must pass
// the conformance suite in internal/store/storetest.
package store
