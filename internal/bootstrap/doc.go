// Package bootstrap owns the first start of a Vigil installation: the tenant
// id, the built-in resource service principals, the first Global
// Administrator, the bootstrap (confidential) and CLI (public) applications,
// the optional demo directory, and <data-dir>/bootstrap.json. It runs once
// per store: a later start, or another node sharing the database, finds the
// marker and changes nothing. It uses the directory's business rules, never
// the store's tables directly, except for its own markers in store.Meta.
package bootstrap
