package oauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// AllowsPublicClients implements PublicGrant: device clients are public.
func (d *DeviceFlow) AllowsPublicClients() bool { return true }

// pollOutcome is what one poll of a device code found.
type pollOutcome int

const (
	pollPending pollOutcome = iota
	pollSlowDown
	pollExpired
	pollDenied
	pollConsumed
	pollWrongClient
	pollApproved
)

// Token implements Grant for the device_code grant (RFC 8628 §3.4, §3.5):
// authorization_pending until the user approves, slow_down (and 5 s more
// interval) when polled faster than the interval, expired_token after the
// lifetime, access_denied when the user declined; tokens once, then
// invalid_grant.
func (d *DeviceFlow) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	code := req.Form.Get("device_code")
	if code == "" {
		return nil, errorf(CodeInvalidRequest, "device_code is required")
	}
	if !req.Client.Application.IsFallbackPublicClient {
		return nil, errorf(CodeUnauthorizedClient, "the device code flow needs public client flows enabled on the application")
	}
	now := d.now()
	var outcome pollOutcome
	dc, err := d.Codes.UpdateDeviceCode(ctx, d.Secrets.Hash(code), func(c store.DeviceCode) (store.DeviceCode, error) {
		outcome = classifyPoll(&c, req.Client.Application.AppID, now)
		return c, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(CodeInvalidGrant, "unknown device_code")
	}
	if err != nil {
		return nil, errorf(CodeServerError, "device code lookup failed").WithCause(err)
	}
	switch outcome {
	case pollPending:
		return nil, errorf(CodeAuthorizationPending, "the user has not yet approved the request")
	case pollSlowDown:
		return nil, errorf(CodeSlowDown, "polling too fast; wait %d seconds between requests", int(dc.Interval.Seconds()))
	case pollExpired:
		return nil, errorf(CodeExpiredToken, "the device code expired; start again")
	case pollDenied:
		return nil, errorf(CodeAccessDenied, "the user declined the request")
	case pollConsumed:
		return nil, errorf(CodeInvalidGrant, "the device code was already redeemed")
	case pollWrongClient:
		return nil, errorf(CodeInvalidGrant, "the device code was issued to another client")
	}
	return d.issue(ctx, req, dc)
}

// classifyPoll decides a poll's outcome and updates c: LastPolledAt, the
// interval on slow_down, the status on redemption. It must stay free of
// side effects, as the store may call it more than once.
func classifyPoll(c *store.DeviceCode, clientID string, now time.Time) pollOutcome {
	switch {
	case c.ClientID != clientID:
		return pollWrongClient
	case c.Status == store.DeviceConsumed:
		return pollConsumed
	case !now.Before(c.ExpiresAt):
		return pollExpired
	case c.Status == store.DeviceDenied:
		return pollDenied
	}
	last := c.LastPolledAt
	t := now
	c.LastPolledAt = &t
	if last != nil && now.Sub(*last) < c.Interval {
		c.Interval += slowDownStep
		return pollSlowDown
	}
	if c.Status == store.DeviceApproved {
		c.Status = store.DeviceConsumed
		return pollApproved
	}
	return pollPending
}

// issue issues the tokens of an approved device code in a session of its
// own, started now for the polling device.
func (d *DeviceFlow) issue(ctx context.Context, req *TokenRequest, dc store.DeviceCode) (*TokenResponse, error) {
	app := req.Client.Application
	scopes, err := ParseScopes(strings.Join(dc.Scopes, " "), dc.Resource)
	if err != nil {
		return nil, errorf(CodeServerError, "stored scopes unreadable").WithCause(err)
	}
	// The approval page's session must still be live: revoking the user
	// between approval and redemption voids the grant.
	if _, _, err := d.Sessions.Check(ctx, dc.SessionID, app.AppID); err != nil && !errors.Is(err, session.ErrReauthRequired) {
		return nil, errorf(CodeInvalidGrant, "the approving sign-in session has ended").WithCause(err)
	}
	info := session.ClientInfo{UserAgent: truncate(req.UserAgent, 256), IP: req.RemoteIP}
	sess, err := d.Sessions.Start(ctx, dc.UserID, []string{"pwd"}, info)
	if err != nil {
		return nil, errorf(CodeServerError, "cannot start the session").WithCause(err)
	}
	_, user, err := d.Sessions.Check(ctx, sess.ID, app.AppID)
	if err != nil && !errors.Is(err, session.ErrReauthRequired) {
		return nil, errorf(CodeInvalidGrant, "the user cannot sign in").WithCause(err)
	}
	if err := d.Sessions.Touch(ctx, sess.ID, app.AppID); err != nil {
		return nil, errorf(CodeInvalidGrant, "the sign-in session has ended").WithCause(err)
	}
	return d.Tokens.Issue(ctx, DelegatedGrant{
		User: user, Client: app, SessionID: sess.ID, AuthTime: dc.AuthTime, AMR: sess.AMR,
		Scopes: scopes, Capabilities: dc.Capabilities,
	})
}

// DeviceRequest is a pending device authorization as the verification page
// shows it.
type DeviceRequest struct {
	// UserCode is the normalised user code.
	UserCode string
	// ClientID is the requesting application's appId.
	ClientID string
	// Scopes are the requested scopes.
	Scopes Scopes
	// ExpiresAt is when the code expires.
	ExpiresAt time.Time
}

// Lookup finds the pending, unexpired device authorization of a user code
// as typed (NormalizeUserCode); ErrUnknownUserCode otherwise.
func (d *DeviceFlow) Lookup(ctx context.Context, typed string) (DeviceRequest, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return DeviceRequest{}, ErrUnknownUserCode
	}
	dc, err := d.Codes.GetDeviceCodeByUserCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return DeviceRequest{}, ErrUnknownUserCode
	}
	if err != nil {
		return DeviceRequest{}, err
	}
	if dc.Status != store.DevicePending || !d.now().Before(dc.ExpiresAt) {
		return DeviceRequest{}, ErrUnknownUserCode
	}
	s, err := ParseScopes(strings.Join(dc.Scopes, " "), dc.Resource)
	if err != nil {
		return DeviceRequest{}, err
	}
	return DeviceRequest{UserCode: code, ClientID: dc.ClientID, Scopes: s, ExpiresAt: dc.ExpiresAt}, nil
}

// DeviceApproval is the user's approval of a device authorization.
type DeviceApproval struct {
	// UserID is the approving user and SessionID the browser session
	// that approved; AuthTime is that session's last authentication.
	UserID    string
	SessionID string
	AuthTime  time.Time
	// Scopes are the granted scopes (consent resolved).
	Scopes Scopes
}

// Approve records the user's approval (RFC 8628 §3.3): the device's next
// poll gets tokens for a.Scopes.
func (d *DeviceFlow) Approve(ctx context.Context, userCode string, a DeviceApproval) error {
	return d.decide(ctx, userCode, func(c *store.DeviceCode) {
		c.Status, c.UserID, c.SessionID, c.AuthTime = store.DeviceApproved, a.UserID, a.SessionID, a.AuthTime.UTC()
		c.Scopes, c.Resource = a.Scopes.List(), a.Scopes.Resource.Audience
	})
}

// Deny records that the user declined: the device gets access_denied.
func (d *DeviceFlow) Deny(ctx context.Context, userCode string) error {
	return d.decide(ctx, userCode, func(c *store.DeviceCode) { c.Status = store.DeviceDenied })
}

// decide applies a decision to a pending, unexpired code.
func (d *DeviceFlow) decide(ctx context.Context, typed string, apply func(*store.DeviceCode)) error {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return ErrUnknownUserCode
	}
	dc, err := d.Codes.GetDeviceCodeByUserCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return ErrUnknownUserCode
	}
	if err != nil {
		return err
	}
	now := d.now()
	_, err = d.Codes.UpdateDeviceCode(ctx, dc.Hash, func(c store.DeviceCode) (store.DeviceCode, error) {
		if c.Status != store.DevicePending || !now.Before(c.ExpiresAt) {
			return c, ErrUnknownUserCode
		}
		apply(&c)
		return c, nil
	})
	return err
}

// remoteIP is the host part of r.RemoteAddr.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
