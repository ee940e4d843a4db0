package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newSessionsCmd(s *state) *cobra.Command {
	return group(s, "sessions", "List a user's sign-in sessions; end single sessions",
		newSessionsListCmd(s), newSessionsRevokeCmd(s))
}

func newSessionsListCmd(s *state) *cobra.Command {
	var top int
	cmd := &cobra.Command{
		Use:   "list USER",
		Short: "List a user's sign-in sessions (by user id or UPN)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.runList(cmd.Context(), listSpec{path: vigilPrefix + "/users/" + pathEscape(args[0]) + "/sessions",
				query: query{top: top}, empty: "No sessions."})
		},
	}
	cmd.Flags().IntVar(&top, "top", 0, "stop after this many sessions")
	return cmd
}

// sessionResult is the output row of sessions revoke.
type sessionResult struct {
	ID      string `json:"id"`
	Revoked bool   `json:"revoked"`
}

func newSessionsRevokeCmd(s *state) *cobra.Command {
	var concurrency int
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
				if _, err := c.do(ctx, request{method: http.MethodDelete, path: vigilPrefix + "/sessions/" + pathEscape(t.ID)}); err != nil {
					return nil, err
				}
				return sessionResult{ID: t.ID, Revoked: true}, nil
			})
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
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
