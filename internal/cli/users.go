package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// userColumns are the table columns of users.
var userColumns = []string{"id", "displayName", "userPrincipalName", "department", "accountEnabled"}

func newUsersCmd(s *state) *cobra.Command {
	return group(s, "users", "List, show, create, change and delete users; revoke their sessions",
		newUsersListCmd(s), newUsersGetCmd(s), newUsersCreateCmd(s), newUsersUpdateCmd(s),
		newUsersEnableCmd(s, false), newUsersEnableCmd(s, true), newUsersDeleteCmd(s), newRevokeSessionsCmd(s))
}

func newUsersListCmd(s *state) *cobra.Command {
	var q query
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users (every page; --top to limit)",
		Example: `  vigil users list --filter "department eq 'HP'"
  vigil users list --filter "department eq 'HP'" -o ids | vigil users revoke-sessions -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.runList(cmd.Context(), listSpec{path: graphPrefix + "/users", query: q, columns: userColumns,
				selectable: true, empty: "No users found."})
		},
	}
	q.addFlags(cmd, true)
	return cmd
}

// getObject prints one object.
func (s *state) getObject(ctx context.Context, path string, columns []string, selectable bool) error {
	p, err := s.newPrinter(printerOpts{single: true, vertical: true, columns: columns})
	if err != nil {
		return err
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	q := url.Values{}
	if selectable && len(s.columns) > 0 {
		q.Set("$select", strings.Join(withID(s.columns), ","))
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return notFoundIsFailure(queryError(err))
	}
	if err := p.add(json.RawMessage(resp.body)); err != nil {
		return err
	}
	return p.close()
}

// notFoundIsFailure: a missing object is a failed target (exit 1), said in
// one line.
func notFoundIsFailure(err error) error {
	if statusOf(err) == http.StatusNotFound {
		return failf("%s", strings.TrimSuffix(targetErrorLong(err), "."))
	}
	return err
}

func targetErrorLong(err error) string {
	if ae, ok := err.(*APIError); ok && ae.Message != "" {
		return oneLine(ae.Message)
	}
	return err.Error()
}

func newUsersGetCmd(s *state) *cobra.Command {
	return &cobra.Command{
		Use:   "get USER",
		Short: "Show a user (by id or user principal name)",
		Args:  nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return s.getObject(cmd.Context(), graphPrefix+"/users/"+pathEscape(args[0]), nil, true)
		},
	}
}

// userFields are the user properties create and update take as flags.
type userFields struct {
	upn, displayName, mailNickname, department, jobTitle, givenName, surname, passwordFile string
	forceChange, disabled                                                                  bool
	sets                                                                                   []string
	body                                                                                   string
}

func (u *userFields) addFlags(cmd *cobra.Command, create bool) {
	f := cmd.Flags()
	f.StringVar(&u.upn, "upn", "", "userPrincipalName")
	f.StringVar(&u.displayName, "display-name", "", "displayName")
	f.StringVar(&u.mailNickname, "mail-nickname", "", "mailNickname (create: default the UPN's local part)")
	f.StringVar(&u.department, "department", "", "department")
	f.StringVar(&u.jobTitle, "job-title", "", "jobTitle")
	f.StringVar(&u.givenName, "given-name", "", "givenName")
	f.StringVar(&u.surname, "surname", "", "surname")
	f.StringVar(&u.passwordFile, "password-file", "", "read the password from FILE (- for stdin); it never appears in the process list")
	f.BoolVar(&u.forceChange, "force-change-password", false, "make the user change the password at next sign-in")
	if create {
		f.BoolVar(&u.disabled, "disabled", false, "create the account disabled")
	}
	f.StringArrayVar(&u.sets, "set", nil, "any property: name=text, or name:=json (repeatable)")
	f.StringVar(&u.body, "body", "", "JSON body: @FILE, - for stdin, or inline; flags override its properties")
}

// build returns the JSON body of a create or update.
func (u *userFields) build(cmd *cobra.Command, s *state, create bool) ([]byte, error) {
	var body []byte
	if u.body != "" {
		var err error
		if body, err = s.readBody(u.body); err != nil {
			return nil, err
		}
	}
	props, err := propFlags(u.sets)
	if err != nil {
		return nil, err
	}
	for flag, prop := range map[string]string{"upn": "userPrincipalName", "display-name": "displayName",
		"mail-nickname": "mailNickname", "department": "department", "job-title": "jobTitle",
		"given-name": "givenName", "surname": "surname"} {
		if cmd.Flags().Changed(flag) {
			v, _ := cmd.Flags().GetString(flag)
			props[prop] = v
		}
	}
	if create {
		props["accountEnabled"] = !u.disabled
		if _, ok := props["mailNickname"]; !ok && u.upn != "" {
			props["mailNickname"] = strings.SplitN(u.upn, "@", 2)[0]
		}
	}
	if u.passwordFile != "" {
		if u.passwordFile == "-" && u.body == "-" {
			return nil, usagef("--password-file - and --body - cannot both read stdin")
		}
		pw, err := s.readSecret(u.passwordFile)
		if err != nil {
			return nil, err
		}
		props["passwordProfile"] = map[string]any{"password": pw, "forceChangePasswordNextSignIn": u.forceChange}
	} else if u.forceChange {
		return nil, usagef("--force-change-password needs --password-file")
	}
	return mergeBody(body, props)
}

// readSecret reads one line from FILE or stdin (-).
func (s *state) readSecret(spec string) (string, error) {
	var raw []byte
	var err error
	if spec == "-" {
		raw, err = readLine(s.env.Stdin)
	} else {
		raw, err = readFileLine(spec)
	}
	if err != nil {
		return "", usagef("--password-file %s: %v", spec, err)
	}
	pw := strings.TrimRight(string(raw), "\r\n")
	if pw == "" {
		return "", usagef("--password-file %s: empty password", spec)
	}
	return pw, nil
}

func newUsersCreateCmd(s *state) *cobra.Command {
	var u userFields
	cmd := &cobra.Command{
		Use:     "create --upn UPN --display-name NAME",
		Short:   "Create a user",
		Example: `  vigil users create --upn ada@vigil.local --display-name "Ada Lovelace" --department HP --password-file -`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := u.build(cmd, s, true)
			if err != nil {
				return err
			}
			return s.writeObject(cmd.Context(), http.MethodPost, graphPrefix+"/users", body)
		},
	}
	u.addFlags(cmd, true)
	return cmd
}

func newUsersUpdateCmd(s *state) *cobra.Command {
	var u userFields
	cmd := &cobra.Command{
		Use:     "update USER",
		Short:   "Change a user's properties",
		Example: `  vigil users update ada@vigil.local --department Research --set officeLocation="Bldg 4"`,
		Args:    nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := u.build(cmd, s, false)
			if err != nil {
				return err
			}
			if string(body) == "{}" {
				return usagef("nothing to change: give flags such as --display-name, --set or --body")
			}
			path := graphPrefix + "/users/" + pathEscape(args[0])
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := c.sendJSON(cmd.Context(), http.MethodPatch, path, body, nil); err != nil {
				return notFoundIsFailure(err)
			}
			return s.getObject(cmd.Context(), path, nil, true)
		},
	}
	u.addFlags(cmd, false)
	return cmd
}

// writeObject sends body and prints the object the server answers.
func (s *state) writeObject(ctx context.Context, method, path string, body []byte) error {
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	resp, err := c.sendJSON(ctx, method, path, body, nil)
	if err != nil {
		return notFoundIsFailure(err)
	}
	p, err := s.newPrinter(printerOpts{single: true, vertical: true})
	if err != nil {
		return err
	}
	if len(resp.body) > 0 {
		if err := p.add(json.RawMessage(resp.body)); err != nil {
			return err
		}
	}
	return p.close()
}

// enableResult is the output row of enable and disable.
type enableResult struct {
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

func newUsersEnableCmd(s *state, disable bool) *cobra.Command {
	verb, short := "enable", "Enable accounts (USER… or - for stdin)"
	if disable {
		verb, short = "disable", "Disable accounts: sign-in is refused and sessions are revoked (USER… or - for stdin)"
	}
	var concurrency int
	cmd := &cobra.Command{
		Use:   verb + " USER... | -",
		Short: short,
		Args:  nArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := s.targetsFrom(args)
			if err != nil {
				return err
			}
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"id", "userPrincipalName", "accountEnabled", "error"}})
			if err != nil {
				return err
			}
			body := map[string]bool{"accountEnabled": !disable}
			return s.forEach(cmd.Context(), p, targets, concurrency, verb, func(ctx context.Context, t target) (any, error) {
				if _, err := c.sendJSON(ctx, http.MethodPatch, graphPrefix+"/users/"+pathEscape(cmpOr(t.ID, t.UPN)), body, nil); err != nil {
					return nil, err
				}
				return enableResult{ID: t.ID, UserPrincipalName: t.UPN, AccountEnabled: !disable}, nil
			})
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
	return cmd
}

func newUsersDeleteCmd(s *state) *cobra.Command {
	var (
		concurrency int
		yes         bool
	)
	cmd := &cobra.Command{
		Use:   "delete USER... | -",
		Short: "Delete users (USER… or - for stdin); asks first on a terminal unless --yes",
		Args:  nArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := s.targetsFrom(args)
			if err != nil {
				return err
			}
			if !yes && s.interactive() {
				ok, err := s.confirm(fmt.Sprintf("Delete %s?", plural(len(targets), "user")))
				if err != nil || !ok {
					return usagef("not confirmed: nothing deleted (use --yes to skip the question)")
				}
			}
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"id", "userPrincipalName", "deleted", "error"}})
			if err != nil {
				return err
			}
			return s.forEach(cmd.Context(), p, targets, concurrency, "delete", func(ctx context.Context, t target) (any, error) {
				if _, err := c.do(ctx, request{method: http.MethodDelete, path: graphPrefix + "/users/" + pathEscape(cmpOr(t.ID, t.UPN))}); err != nil {
					return nil, err
				}
				return struct {
					ID                string `json:"id,omitempty"`
					UserPrincipalName string `json:"userPrincipalName,omitempty"`
					Deleted           bool   `json:"deleted"`
				}{t.ID, t.UPN, true}, nil
			})
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "requests in flight at once")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
