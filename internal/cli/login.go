package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func newLoginCmd(s *state) *cobra.Command {
	var (
		clientID, clientSecret, bootstrapPath, resName string
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to a Vigil server and cache the tokens",
		Long: `Sign in to the server at VIGIL_URL (or --url) and cache the tokens in the user
configuration directory (` + "`<config dir>/vigil/credentials.json`" + `, mode 0600).

Without --client-secret, login uses the device code flow (RFC 8628) with the
server's public CLI application: it prints a URL and a code, you approve in a
browser, and the CLI keeps an access token and a refresh token, refreshed
automatically. The CLI application's client id comes from --client-id, else
VIGIL_CLI_CLIENT_ID, else the cli_client_id of bootstrap.json (--bootstrap, or
./vigil-data/bootstrap.json or $VIGIL_DATA_DIR/bootstrap.json for a server on
this machine).

With --client-id and --client-secret (or --client-secret - to read it from
stdin) login signs in as that application (client credentials) and keeps the
secret in the cache to get tokens later.

A delegated login gets tokens for one API: Microsoft Graph by default; run
` + "`vigil login --resource vigil`" + ` as well for the Vigil API (bulk revocations,
sessions). VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET, when set, are used instead of
any login.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, ok := resourceNamed(resName)
			if !ok {
				return usagef("--resource %q: use graph or vigil", resName)
			}
			if clientSecret != "" {
				if clientID == "" {
					return usagef("--client-secret needs --client-id")
				}
				return s.loginApp(cmd.Context(), clientID, clientSecret)
			}
			return s.loginDevice(cmd.Context(), clientID, bootstrapPath, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&clientID, "client-id", "", "application (client) id: the public CLI client for device code, or an app for --client-secret")
	f.StringVar(&clientSecret, "client-secret", "", "client secret for app-only sign-in (- reads it from stdin)")
	f.StringVar(&bootstrapPath, "bootstrap", "", "bootstrap.json of a local server, to read cli_client_id from")
	f.StringVar(&resName, "resource", "graph", "API to sign in for: graph or vigil")
	s.addURLFlag(cmd)
	return cmd
}

func resourceNamed(name string) (resource, bool) {
	switch strings.ToLower(name) {
	case "graph", graphAPI.audience:
		return graphAPI, true
	case "vigil", vigilAPI.audience:
		return vigilAPI, true
	}
	return resource{}, false
}

// anonymousClient is a client for the server that sends no token.
func (s *state) anonymousClient() (*Client, error) {
	u, err := s.serverURL()
	if err != nil {
		return nil, err
	}
	c := newClient(u, s.env.now)
	c.creds = noCredentials{}
	return c, nil
}

type noCredentials struct{}

func (noCredentials) token(context.Context, resource) (string, error) {
	return "", authf("not signed in: run `vigil login`")
}
func (noCredentials) invalidate(resource) {}

// loginApp checks the application's credentials by getting a Graph token
// and caches them.
func (s *state) loginApp(ctx context.Context, id, secret string) error {
	if secret == "-" {
		line, err := bufio.NewReader(s.env.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return failf("read the client secret from stdin: %v", err)
		}
		if secret = strings.TrimSpace(line); secret == "" {
			return usagef("--client-secret -: stdin has no secret")
		}
	}
	c, err := s.anonymousClient()
	if err != nil {
		return err
	}
	md, err := c.discover(ctx)
	if err != nil {
		return err
	}
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: md.TokenEndpoint,
		Scopes: []string{graphAPI.scope()}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cfg.Token(c.oauthContext(ctx))
	if err != nil {
		return c.tokenError(err, "the server refused the application's credentials", "check --client-id and --client-secret")
	}
	cache, err := s.cache()
	if err != nil {
		return err
	}
	key := c.base.String()
	err = cache.update(func(f *cacheFile) error {
		f.Logins[key] = &login{Kind: loginApp, ClientID: id, ClientSecret: secret, TokenEndpoint: md.TokenEndpoint,
			LoggedIn: s.env.now().UTC(), Tokens: map[string]*oauth2.Token{graphAPI.audience: tok}}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.env.Stderr, "Signed in to %s as application %s.\n", key, id)
	return nil
}

// loginDevice runs the device code flow (RFC 8628) for res.
func (s *state) loginDevice(ctx context.Context, clientID, bootstrapPath string, res resource) error {
	c, err := s.anonymousClient()
	if err != nil {
		return err
	}
	if clientID == "" {
		clientID = s.env.Getenv("VIGIL_CLI_CLIENT_ID")
	}
	if clientID == "" {
		if clientID, err = s.cliClientFromBootstrap(c.base, bootstrapPath); err != nil {
			return err
		}
	}
	md, err := c.discover(ctx)
	if err != nil {
		return err
	}
	if md.DeviceAuthorizationEndpoint == "" {
		return failf("the server at %s offers no device code sign-in (no device_authorization_endpoint in its discovery document): use `vigil login --client-id ID --client-secret SECRET`, or set VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET", c.base)
	}
	cfg := oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: md.DeviceAuthorizationEndpoint, TokenURL: md.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{res.scope(), "offline_access", "openid", "profile"},
	}
	octx := c.oauthContext(ctx)
	da, err := cfg.DeviceAuth(octx)
	if err != nil {
		return c.tokenError(err, "the server refused the device code request", "check the CLI client id (--client-id, VIGIL_CLI_CLIENT_ID)")
	}
	fmt.Fprintf(s.env.Stderr, "To sign in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(s.env.Stderr, "(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(s.env.Stderr, "Waiting for you to approve the sign-in…")
	tok, err := cfg.DeviceAccessToken(octx, da)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.tokenError(err, "the sign-in did not complete", "run `vigil login` again")
	}
	if tok.RefreshToken == "" {
		fmt.Fprintln(s.env.Stderr, "Note: the server issued no refresh token; you will need to sign in again when the token expires.")
	}
	who := identityOf(tok)
	cache, err := s.cache()
	if err != nil {
		return err
	}
	key := c.base.String()
	err = cache.update(func(f *cacheFile) error {
		l := f.Logins[key]
		// Another API's token of the same user and client is kept.
		if l == nil || l.Kind != loginUser || l.ClientID != clientID || l.ObjectID != who.ObjectID {
			l = &login{Kind: loginUser, ClientID: clientID, Tokens: map[string]*oauth2.Token{}}
		}
		l.TokenEndpoint, l.RevocationEndpoint = md.TokenEndpoint, md.RevocationEndpoint
		l.User, l.ObjectID, l.LoggedIn = who.UPN, who.ObjectID, s.env.now().UTC()
		l.Tokens[res.audience] = tok
		f.Logins[key] = l
		return nil
	})
	if err != nil {
		return err
	}
	name := cmpOr(who.UPN, who.ObjectID, "an unnamed user")
	fmt.Fprintf(s.env.Stderr, "Signed in to %s as %s (%s API).\n", key, name, res.name)
	if res == graphAPI {
		fmt.Fprintln(s.env.Stderr, "For bulk revocations and sessions (the Vigil API), also run `vigil login --resource vigil`.")
	}
	return nil
}

// identity is who a delegated login is: from the ID token when there is
// one, else from the access token.
type identity struct{ UPN, ObjectID string }

func identityOf(tok *oauth2.Token) identity {
	var who identity
	if at, err := decodeClaims(tok.AccessToken); err == nil {
		who = identity{UPN: cmpOr(at.UPN, at.PreferredUsername), ObjectID: at.ObjectID}
	}
	if idt, ok := tok.Extra("id_token").(string); ok {
		if c, err := decodeClaims(idt); err == nil {
			who.UPN = cmpOr(who.UPN, c.PreferredUsername, c.UPN)
			who.ObjectID = cmpOr(who.ObjectID, c.ObjectID, c.Subject)
		}
	}
	return who
}

// bootstrapFile is the part of bootstrap.json login reads.
type bootstrapFile struct {
	Issuer      string `json:"issuer"`
	CLIClientID string `json:"cli_client_id"`
}

// cliClientFromBootstrap reads cli_client_id from path, or for a server on
// this machine from the data directory's bootstrap.json.
func (s *state) cliClientFromBootstrap(server *url.URL, path string) (string, error) {
	none := usagef("no CLI client id: pass --client-id, set VIGIL_CLI_CLIENT_ID, or pass --bootstrap <data-dir>/bootstrap.json")
	var candidates []string
	switch {
	case path != "":
		candidates = []string{path}
	case isLoopback(server):
		if d := s.env.Getenv("VIGIL_DATA_DIR"); d != "" {
			candidates = append(candidates, filepath.Join(d, "bootstrap.json"))
		}
		candidates = append(candidates, filepath.Join("vigil-data", "bootstrap.json"))
	default:
		return "", none
	}
	for _, p := range candidates {
		raw, err := os.ReadFile(p)
		if err != nil {
			if path != "" {
				return "", usagef("--bootstrap: %v", err)
			}
			continue
		}
		var b bootstrapFile
		if err := json.Unmarshal(raw, &b); err != nil || b.CLIClientID == "" {
			return "", usagef("%s is not a Vigil bootstrap.json (no cli_client_id)", p)
		}
		if iu, err := url.Parse(b.Issuer); err == nil && path == "" && !sameServer(iu, server) {
			continue // another server's data directory
		}
		return b.CLIClientID, nil
	}
	return "", none
}

// sameServer reports whether two URLs name the same server, counting every
// loopback name as one host.
func sameServer(a, b *url.URL) bool {
	if a.Port() != b.Port() || a.Scheme != b.Scheme {
		return false
	}
	return strings.EqualFold(a.Hostname(), b.Hostname()) || (isLoopback(a) && isLoopback(b))
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func newLogoutCmd(s *state) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the cached login (and revoke its refresh tokens on the server)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s.logout(cmd.Context(), all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget the logins to every server")
	s.addURLFlag(cmd)
	return cmd
}

func (s *state) logout(ctx context.Context, all bool) error {
	cache, err := s.cache()
	if err != nil {
		return err
	}
	u, err := s.serverURL()
	if err != nil {
		return err
	}
	var removed []*login
	err = cache.update(func(f *cacheFile) error {
		for key, l := range f.Logins {
			if all || key == u.String() {
				removed = append(removed, l)
				delete(f.Logins, key)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(removed) == 0 {
		fmt.Fprintf(s.env.Stderr, "Not signed in to %s.\n", u)
		return nil
	}
	c := newClient(u, s.env.now)
	for _, l := range removed {
		s.revokeRefreshTokens(ctx, c, l)
	}
	if all {
		fmt.Fprintf(s.env.Stderr, "Signed out of %d server(s).\n", len(removed))
	} else {
		fmt.Fprintf(s.env.Stderr, "Signed out of %s.\n", u)
	}
	return nil
}

// revokeRefreshTokens asks the server to revoke a login's refresh tokens
// (RFC 7009), best effort: the cache entry is gone either way.
func (s *state) revokeRefreshTokens(ctx context.Context, c *Client, l *login) {
	if l.Kind != loginUser || l.RevocationEndpoint == "" {
		return
	}
	for _, t := range l.Tokens {
		if t.RefreshToken == "" {
			continue
		}
		form := url.Values{"token": {t.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {l.ClientID}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.RevocationEndpoint, strings.NewReader(form.Encode()))
		if err != nil {
			continue
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.http.Do(req)
		if err != nil {
			fmt.Fprintf(s.env.Stderr, "Note: could not revoke the refresh token on the server (%v).\n", err)
			continue
		}
		resp.Body.Close()
	}
}
