// Package routelabel carries a request's route pattern from a handler that
// routes on its own (the Graph API's mux under "/v1.0/") back to the
// server's instrumentation, so metrics and logs name the route that served
// the request rather than the prefix it was mounted at. Patterns, never raw
// paths, are recorded: ids in paths cannot inflate metric labels.
package routelabel
