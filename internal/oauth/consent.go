package oauth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// ConsentStore reads and writes delegated-permission grants
// (oauth2PermissionGrant); store.Store implements it.
type ConsentStore interface {
	ListConsents(ctx context.Context, clientID, userID string) ([]store.Consent, error)
	PutConsent(ctx context.Context, c store.Consent) error
}

// MissingPermission is a delegated permission a request needs that nobody
// has consented to yet.
type MissingPermission struct {
	Resource   authz.Resource
	Permission authz.Permission
}

// ConsentCheck is the outcome of CheckConsent.
type ConsentCheck struct {
	// Granted is the request's scopes with "<resource>/.default"
	// resolved to the consented permissions: what a token may carry once
	// Missing is empty.
	Granted Scopes
	// Missing lists the permissions still to consent, in request order.
	Missing []MissingPermission
}

// AdminRequired reports whether a missing permission needs an
// administrator's consent, which a user cannot give for themselves.
func (c ConsentCheck) AdminRequired() bool {
	return slices.ContainsFunc(c.Missing, func(m MissingPermission) bool { return m.Permission.AdminConsentRequired })
}

// CheckConsent compares the scopes requested for clientID (an appId) by
// userID with the consents on record: the user's own and the tenant-wide
// (admin) ones. "<resource>/.default" stands for what is consented for the
// resource (Entra's static consent) and never misses anything; the
// OpenID Connect scopes are consented as Graph permissions.
func CheckConsent(ctx context.Context, cs ConsentStore, clientID, userID string, s Scopes) (ConsentCheck, error) {
	grants, err := cs.ListConsents(ctx, clientID, userID)
	if err != nil {
		return ConsentCheck{}, fmt.Errorf("oauth: list consents: %w", err)
	}
	consented := map[string][]string{} // resource appId → lower-cased names
	for _, g := range grants {
		for _, sc := range g.Scopes {
			consented[strings.ToLower(g.Resource)] = append(consented[strings.ToLower(g.Resource)], strings.ToLower(sc))
		}
	}
	has := func(resAppID, name string) bool {
		return slices.Contains(consented[strings.ToLower(resAppID)], strings.ToLower(name))
	}
	out := ConsentCheck{Granted: s}
	if s.Default {
		out.Granted.Default = false
		for _, sc := range consented[strings.ToLower(s.Resource.AppID)] {
			p, ok := s.Resource.PermissionByName(sc)
			if ok && p.ScopeID != "" && !slices.Contains(oidcScopes, p.Name) {
				out.Granted.Permissions = append(out.Granted.Permissions, p.Name)
			}
		}
		slices.Sort(out.Granted.Permissions)
		out.Granted.Permissions = slices.Compact(out.Granted.Permissions)
	}
	graph := authz.Graph()
	for _, o := range s.OIDC() {
		if !has(graph.AppID, o) {
			p, _ := graph.PermissionByName(o)
			out.Missing = append(out.Missing, MissingPermission{Resource: graph, Permission: p})
		}
	}
	for _, name := range s.Permissions {
		if !has(s.Resource.AppID, name) {
			p, _ := s.Resource.PermissionByName(name)
			out.Missing = append(out.Missing, MissingPermission{Resource: s.Resource, Permission: p})
		}
	}
	return out, nil
}

// GrantConsent records userID's consent (tenant-wide when userID is "")
// to the missing permissions of c for clientID, one grant per resource.
// newID names new grants.
func GrantConsent(ctx context.Context, cs ConsentStore, clientID, userID string, c ConsentCheck, newID func() string, now time.Time) error {
	byRes := map[string][]string{}
	var order []string
	for _, m := range c.Missing {
		if _, ok := byRes[m.Resource.AppID]; !ok {
			order = append(order, m.Resource.AppID)
		}
		byRes[m.Resource.AppID] = append(byRes[m.Resource.AppID], m.Permission.Name)
	}
	for _, res := range order {
		err := cs.PutConsent(ctx, store.Consent{
			ID: newID(), ClientID: clientID, UserID: userID, Resource: res, Scopes: byRes[res], CreatedAt: now.UTC(),
		})
		if err != nil {
			return fmt.Errorf("oauth: record consent: %w", err)
		}
	}
	return nil
}
