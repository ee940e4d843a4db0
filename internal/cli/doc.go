// Package cli implements Vigil's admin commands: every `vigil` subcommand
// except serve. It is a pure HTTP client of a Vigil server — the
// Graph-compatible API at <url>/v1.0, the Vigil API at <url>/vigil/v1, the
// token endpoints named by OpenID discovery and the SSF transmitter's
// stream management — and never touches a store.
//
// Layout: one file per command group (users.go, groups.go, roles.go,
// sessions.go, me.go, audit.go, revocations.go, ssf.go, graphcmd.go,
// login.go, whoami.go), and the shared machinery they use: state.go (the
// per-invocation state: server URL, terminal detection, confirmation),
// client.go (authenticated requests, 429/503 Retry-After with backoff,
// Graph, OAuth and SSF error bodies), auth.go and cache.go (credentials and
// the token cache), list.go and paging.go (collections, every
// @odata.nextLink), output.go (table, json, jsonl, ids; --select),
// targets.go and resolve.go (users named on the command line or stdin),
// revoke.go and revoke_bulk.go (the revoke-sessions engine) and
// progress.go.
//
// revoke-sessions looks listed users up 100 at a time ($filter id in (…)),
// then revokes up to 20 of them with Graph's per-user revokeSignInSessions
// and longer lists as Vigil API bulk jobs of --batch-size (1,000) users,
// reading each user's outcome from the job's results. Bulk jobs are what
// makes 10,000 users take about two seconds; per-user calls run at about
// 750 a second against one SQLite node, whatever the concurrency. Without
// the Vigil API (or access to it) a long list falls back to per-user calls.
// --filter and --group are one server-side job. More than 50 targets ask
// for confirmation only when a person watches (stderr is a terminal); the
// answer is read from the terminal, so a pipeline feeding stdin can still
// be confirmed, and scripts (no terminal) are never blocked.
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
