package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func newSessionsCmd(s *state) *cobra.Command {
	return group(s, "sessions", "List a user's sign-in sessions; end single sessions",
		newSessionsListCmd(s), newSessionsRevokeCmd(s))
}

var sessionColumns = []string{"id", "createdDateTime", "lastActiveDateTime", "authenticationMethods", "apps", "ipAddress", "userAgent"}

func newSessionsListCmd(s *state) *cobra.Command {
	var includeRevoked bool
	cmd := &cobra.Command{
		Use:   "list USER | me",
		Short: "List a user's sign-in sessions (by user id or UPN; me: your own)",
		Example: `  vigil sessions list ada@vigil.local
  vigil sessions list ada@vigil.local -o ids | vigil sessions revoke -`,
		Args: nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := vigilPrefix + "/users/" + pathEscape(args[0]) + "/sessions"
			if args[0] == "me" {
				p = vigilPrefix + "/me/sessions"
			}
			return s.listSessions(cmd.Context(), p, includeRevoked)
		},
	}
	cmd.Flags().BoolVar(&includeRevoked, "include-revoked", false, "also list ended sessions")
	return cmd
}

// listSessions prints sessions; the table names each session's apps.
func (s *state) listSessions(ctx context.Context, path string, includeRevoked bool) error {
	spec := listSpec{path: path, columns: sessionColumns, flatten: flattenSession, empty: "No sessions."}
	if includeRevoked {
		spec.columns = append(slices.Clone(sessionColumns), "revoked")
		spec.params = url.Values{"includeRevoked": {"true"}}
	}
	return s.runList(ctx, spec)
}

// flattenSession shows a session's apps by name.
func flattenSession(item json.RawMessage) (any, error) {
	_, obj, err := decodeOrdered(item)
	if err != nil {
		return nil, failf("the server sent a session that is not a JSON object: %v", err)
	}
	if apps, ok := obj["apps"].([]any); ok {
		names := make([]any, len(apps))
		for i, a := range apps {
			m, _ := a.(map[string]any)
			names[i] = m["appId"]
			if d, ok := m["displayName"].(string); ok && d != "" {
				names[i] = d
			}
		}
		obj["apps"] = names
	}
	return obj, nil
}

// sessionResult is the output row of sessions revoke.
type sessionResult struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

func newSessionsRevokeCmd(s *state) *cobra.Command {
	var (
		concurrency int
		me          bool
	)
	cmd := &cobra.Command{
		Use:   "revoke SID... | -",
		Short: "End sign-in sessions (and their refresh tokens) by session id; - reads ids from stdin",
		Long: `End sign-in sessions by session id (the sid claim; the id column of
` + "`vigil sessions list`" + `): each session and its refresh tokens stop working; the user's
other sessions are untouched. - reads one id per line, or JSON lines with "id"
(the output of ` + "`vigil sessions list USER -o jsonl`" + `).`,
		Args: nArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids, err := s.sessionIDs(args)
			if err != nil {
				return err
			}
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"id", "revoked", "error"}})
			if err != nil {
				return err
			}
			return s.forEach(cmd.Context(), p, ids, concurrency, "ending sessions", func(ctx context.Context, t target) (any, error) {
				base := vigilPrefix + "/sessions/"
				if me {
					base = vigilPrefix + "/me/sessions/"
				}
				if _, err := c.do(ctx, request{method: http.MethodDelete, path: base + pathEscape(t.ID)}); err != nil {
					return nil, err
				}
				return sessionResult{ID: t.ID, Revoked: true}, nil
			})
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
	cmd.Flags().BoolVar(&me, "me", false, "end your own sessions (no administrator role needed)")
	return cmd
}

// sessionIDs reads session ids from args or stdin (-); they are opaque, so
// only blanks and comments are skipped.
func (s *state) sessionIDs(args []string) ([]target, error) {
	var raw []string
	if len(args) == 1 && args[0] == "-" {
		sc := bufio.NewScanner(s.env.Stdin)
		sc.Buffer(make([]byte, 64<<10), maxTargetLine)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.HasPrefix(line, "{") {
				var obj struct {
					ID  string `json:"id"`
					SID string `json:"sid"`
				}
				if err := json.Unmarshal([]byte(line), &obj); err != nil || cmpOr(obj.ID, obj.SID) == "" {
					return nil, usagef("stdin line %d: a JSON object without \"id\"", n)
				}
				line = cmpOr(obj.ID, obj.SID)
			}
			raw = append(raw, line)
		}
		if err := sc.Err(); err != nil {
			return nil, usagef("stdin: %v", err)
		}
	} else {
		raw = args
	}
	var out []target
	seen := map[string]bool{}
	for _, id := range raw {
		if id == "-" || strings.ContainsAny(id, " \t/?#") {
			return nil, usagef("%q is not a session id", id)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, target{ID: id})
		}
	}
	return out, nil
}
