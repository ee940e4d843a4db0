package cli

import (
	"context"
	"fmt"
	"net/http"
	"path"

	"github.com/spf13/cobra"
)

func newMeCmd(s *state) *cobra.Command {
	return group(s, "me", "Act on the signed-in user", newMeRevokeSessionsCmd(s))
}

func newMeRevokeSessionsCmd(s *state) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke-sessions",
		Short: "Revoke every sign-in session of the signed-in user, this CLI's included",
		Long: `Revoke every sign-in session and refresh token of the signed-in user (Graph's
POST /me/revokeSignInSessions) — for example after losing a device. This CLI's
own login ends too: its cached tokens are removed, and ` + "`vigil login`" + ` signs in again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.meRevoke(cmd.Context())
		},
	}
}

func (s *state) meRevoke(ctx context.Context) error {
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	if _, ok := c.creds.(*userCredentials); !ok {
		return usagef("`vigil me` needs a user's login (vigil login); app-only credentials have no signed-in user")
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: graphPrefix + "/me/revokeSignInSessions"})
	if err != nil {
		return err
	}
	p, err := s.newPrinter(printerOpts{single: true, vertical: true})
	if err != nil {
		return err
	}
	row := map[string]any{"revoked": true}
	if loc := resp.header.Get("Location"); loc != "" {
		row["revocation"] = path.Base(loc)
	}
	if err := p.add(row); err != nil {
		return err
	}
	if err := p.close(); err != nil {
		return err
	}
	// The cached refresh token was revoked with the rest.
	if cache, err := s.cache(); err == nil {
		_ = cache.update(func(f *cacheFile) error {
			delete(f.Logins, c.base.String())
			return nil
		})
	}
	fmt.Fprintln(s.env.Stderr, "Your sessions were revoked, this CLI's included: run `vigil login` to sign in again.")
	return nil
}
