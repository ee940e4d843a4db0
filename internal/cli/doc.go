// Package cli implements Vigil's admin commands: every `vigil` subcommand
// except serve. It is a pure HTTP client of a Vigil server — the
// Graph-compatible API at <url>/v1.0, the Vigil API at <url>/vigil/v1, the
// token endpoints named by OpenID discovery and the SSF transmitter's
// stream management — and never touches a store.
//
// Layout: one file per command group (users.go, groups.go, roles.go,
// sessions.go, me.go, audit.go, revocations.go, ssf.go, graphcmd.go,
// login.go, whoami.go), and the shared machinery they use: state.go (the
// per-invocation state: server URL, terminal detection, output options),
// client.go (authenticated requests, 429/503 Retry-After with backoff,
// Graph error envelopes), auth.go and cache.go (credentials and the token
// cache), paging.go (@odata.nextLink), output.go (table, json, jsonl, ids),
// targets.go and resolve.go (users named on the command line or stdin),
// revoke.go (the revoke-sessions engine) and progress.go.
//
// Errors are values with a Kind (errors.go); cmd/vigil maps the kind to the
// exit code of the design contract: 0 success, 1 some targets failed, 2
// usage or input error, 3 not authenticated or not authorized. Every error
// reaches the user as one line naming what to do.
//
// Credentials, in order: VIGIL_CLIENT_ID + VIGIL_CLIENT_SECRET (client
// credentials, one token per resource: https://graph.microsoft.com/.default
// for Graph, api://vigil/.default for the Vigil API), else the login cached
// by `vigil login` in os.UserConfigDir()/vigil/credentials.json (directory
// 0700, file 0600), refreshed with its refresh token under a file lock so
// that the two ends of a pipeline never redeem the same refresh token.
package cli
