package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newWhoamiCmd(s *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the CLI acts as: the claims of its tokens",
		Long: `Show who the CLI acts as: for each API it holds a token for, the claims of
that token (oid, userPrincipalName, roles, scp, client) and when it expires.
An expired token is refreshed first; a login that cannot be refreshed exits
with code 3. With VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET set, it gets and shows
an app-only Graph token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.whoami(cmd.Context())
		},
	}
	s.addURLFlag(cmd)
	s.addOutputFlags(cmd)
	return cmd
}

// whoamiRow is one token's identity.
type whoamiRow struct {
	Server            string   `json:"server"`
	Resource          string   `json:"resource"`
	Kind              string   `json:"kind"`
	Source            string   `json:"source"`
	UserPrincipalName string   `json:"userPrincipalName,omitempty"`
	ObjectID          string   `json:"oid,omitempty"`
	ClientID          string   `json:"clientId,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	Scopes            string   `json:"scp,omitempty"`
	DirectoryRoles    []string `json:"wids,omitempty"`
	ExpiresAt         string   `json:"expiresAt,omitempty"`
}

func (s *state) whoami(ctx context.Context) error {
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	p, err := s.newPrinter(printerOpts{vertical: true})
	if err != nil {
		return err
	}
	var rows []whoamiRow
	switch cr := c.creds.(type) {
	case *appCredentials:
		tok, err := cr.token(ctx, graphAPI)
		if err != nil {
			return err
		}
		rows = append(rows, tokenRow(c.base.String(), graphAPI.audience, "app", cr.source, "", tok))
	case *userCredentials:
		audiences := make([]string, 0, len(cr.login.Tokens))
		for aud := range cr.login.Tokens {
			audiences = append(audiences, aud)
		}
		slices.Sort(audiences)
		for _, aud := range audiences {
			r := resource{name: nameOf(aud), audience: aud}
			tok, err := cr.token(ctx, r)
			if err != nil {
				return err
			}
			rows = append(rows, tokenRow(c.base.String(), aud, "user", "vigil login", cr.login.User, tok))
		}
	}
	for _, r := range rows {
		if err := p.add(r); err != nil {
			return err
		}
	}
	return p.close()
}

func nameOf(audience string) string {
	for _, r := range []resource{graphAPI, vigilAPI} {
		if r.audience == audience {
			return r.name
		}
	}
	return audience
}

func tokenRow(server, aud, kind, source, user, tok string) whoamiRow {
	row := whoamiRow{Server: server, Resource: aud, Kind: kind, Source: source, UserPrincipalName: user}
	c, err := decodeClaims(tok)
	if err != nil {
		return row
	}
	row.UserPrincipalName = cmpOr(c.UPN, c.PreferredUsername, user)
	row.ObjectID = c.ObjectID
	row.ClientID = cmpOr(c.ClientID, c.AppID)
	row.Roles = c.Roles
	row.Scopes = strings.TrimSpace(c.Scope)
	row.DirectoryRoles = c.WIDs
	if c.Expiry > 0 {
		row.ExpiresAt = time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339)
	}
	return row
}
