package cli

import (
	"context"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

var (
	groupColumns  = []string{"id", "displayName", "mailNickname", "securityEnabled", "isAssignableToRole"}
	memberColumns = []string{"id", "@odata.type", "displayName", "userPrincipalName"}
)

func newGroupsCmd(s *state) *cobra.Command {
	return group(s, "groups", "List and show groups; list and change their members",
		newGroupsListCmd(s), newGroupsGetCmd(s), newGroupsMembersCmd(s),
		newGroupsMemberChangeCmd(s, true), newGroupsMemberChangeCmd(s, false))
}

func newGroupsListCmd(s *state) *cobra.Command {
	var q query
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups (every page; --top to limit)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.runList(cmd.Context(), listSpec{path: graphPrefix + "/groups", query: q, columns: groupColumns,
				selectable: true, empty: "No groups found."})
		},
	}
	q.addFlags(cmd, true)
	return cmd
}

func newGroupsGetCmd(s *state) *cobra.Command {
	return &cobra.Command{
		Use:   "get GROUP",
		Short: "Show a group (by id)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.getObject(cmd.Context(), graphPrefix+"/groups/"+pathEscape(args[0]), nil, true)
		},
	}
}

func newGroupsMembersCmd(s *state) *cobra.Command {
	var (
		q          query
		transitive bool
		usersOnly  bool
	)
	cmd := &cobra.Command{
		Use:   "members GROUP",
		Short: "List a group's members (--transitive: through nested groups too)",
		Example: `  vigil groups members 6f1c… --transitive --users -o ids | vigil users revoke-sessions -
  vigil groups members 6f1c… -o jsonl`,
		Args: nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rel := "/members"
			if transitive {
				rel = "/transitiveMembers"
			}
			if usersOnly {
				rel += "/microsoft.graph.user"
			}
			cols := memberColumns
			if usersOnly {
				cols = userColumns[:3]
			}
			return s.runList(cmd.Context(), listSpec{path: graphPrefix + "/groups/" + pathEscape(args[0]) + rel, query: q,
				columns: cols, selectable: true, advanced: usersOnly, empty: "The group has no members."})
		},
	}
	cmd.Flags().IntVar(&q.top, "top", 0, "stop after this many members (default: every page)")
	cmd.Flags().StringVar(&q.filter, "filter", "", "OData $filter on the members")
	cmd.Flags().BoolVar(&transitive, "transitive", false, "include members of nested groups")
	cmd.Flags().BoolVar(&usersOnly, "users", false, "only users (cast to microsoft.graph.user)")
	return cmd
}

// memberResult is the output row of add-member and remove-member.
type memberResult struct {
	GroupID  string `json:"groupId"`
	MemberID string `json:"id"`
	Member   bool   `json:"member"`
}

func newGroupsMemberChangeCmd(s *state, add bool) *cobra.Command {
	verb, short := "add-member", "Add users or groups (by id; - for stdin) to a group"
	if !add {
		verb, short = "remove-member", "Remove members (by id; - for stdin) from a group"
	}
	var concurrency int
	cmd := &cobra.Command{
		Use:   verb + " GROUP MEMBER... | -",
		Short: short,
		Args:  nArgs(2, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			groupID := args[0]
			targets, err := s.memberTargets(cmd.Context(), args[1:])
			if err != nil {
				return err
			}
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"groupId", "id", "member", "error"}})
			if err != nil {
				return err
			}
			base := graphPrefix + "/groups/" + pathEscape(groupID) + "/members"
			return s.forEach(cmd.Context(), p, targets, concurrency, verb, func(ctx context.Context, t target) (any, error) {
				var err error
				if add {
					ref := map[string]string{"@odata.id": c.base.String() + graphPrefix + "/directoryObjects/" + t.ID}
					_, err = c.sendJSON(ctx, http.MethodPost, base+"/$ref", ref, nil)
				} else {
					_, err = c.do(ctx, request{method: http.MethodDelete, path: base + "/" + pathEscape(t.ID) + "/$ref"})
				}
				if err != nil {
					return nil, err
				}
				return memberResult{GroupID: groupID, MemberID: t.ID, Member: add}, nil
			})
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
	return cmd
}

// memberTargets reads member references: object ids, or UPNs of users
// (resolved to ids first, since $ref takes ids).
func (s *state) memberTargets(ctx context.Context, args []string) ([]target, error) {
	targets, err := s.targetsFrom(args)
	if err != nil {
		return nil, err
	}
	var byUPN []target
	for _, t := range targets {
		if t.ID == "" {
			byUPN = append(byUPN, t)
		}
	}
	if len(byUPN) == 0 {
		return targets, nil
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return nil, err
	}
	found, missing, err := c.resolveUsers(ctx, byUPN, nil)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, t := range missing {
			names[i] = t.name()
		}
		return nil, failf("no such user: %s", strings.Join(names, ", "))
	}
	ids := map[string]string{}
	for _, u := range found {
		ids[strings.ToLower(u.UserPrincipalName)] = u.ID
	}
	for i, t := range targets {
		if t.ID == "" {
			targets[i].ID = ids[strings.ToLower(t.UPN)]
		}
	}
	return targets, nil
}
