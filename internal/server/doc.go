// Package server is Vigil's composition root: it opens the store, builds
// every service as a struct literal with explicit dependencies, provisions a
// new installation (internal/bootstrap), mounts the HTTP handlers, runs the
// background workers and shuts down gracefully. It is imported only by
// cmd/vigil and holds no business rules of its own.
package server
