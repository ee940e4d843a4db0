package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Paths of the device authorization grant below the issuer.
const (
	// PathDeviceAuthorization is the device authorization endpoint
	// (RFC 8628 §3.1); Entra calls it devicecode.
	PathDeviceAuthorization = "/devicecode"
	// PathDeviceVerification is the verification page (RFC 8628 §3.3),
	// served by internal/login.
	PathDeviceVerification = "/device"
)

// Defaults of DeviceFlow (RFC 8628 §3.2: interval 5 s when absent; Entra's
// device codes live 15 minutes).
const (
	DefaultDeviceCodeLifetime = 15 * time.Minute
	DefaultDeviceInterval     = 5 * time.Second
	// slowDownStep is added to the interval on slow_down (RFC 8628 §3.5).
	slowDownStep = 5 * time.Second
	// userCodeAlphabet is RFC 8628 §6.1's base-20 consonant alphabet:
	// no vowels (no words), no look-alike characters.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
)

// ErrUnknownUserCode is returned by DeviceFlow.Lookup, Approve and Deny for
// a user code that matches no pending, unexpired device authorization.
var ErrUnknownUserCode = errors.New("oauth: unknown or expired user code")

// DeviceCodeStore stores device authorization grants; store.Store
// implements it.
type DeviceCodeStore interface {
	CreateDeviceCode(ctx context.Context, d store.DeviceCode) error
	GetDeviceCodeByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error)
	UpdateDeviceCode(ctx context.Context, hash []byte, fn func(store.DeviceCode) (store.DeviceCode, error)) (store.DeviceCode, error)
}

// SessionStarter starts and checks SSO sessions; *session.Service
// implements it.
type SessionStarter interface {
	Start(ctx context.Context, userID string, amr []string, info session.ClientInfo) (store.Session, error)
	Check(ctx context.Context, sid, clientID string) (store.Session, store.User, error)
	Touch(ctx context.Context, sid, clientID string) error
}

// DeviceFlow is the device authorization grant (RFC 8628): the device
// authorization endpoint, the token endpoint's device_code grant, and the
// approval calls the verification page (internal/login) makes. Only
// applications with public client flows enabled (isFallbackPublicClient)
// may use it, as in Entra. Build it as a struct literal; Issuer, Codes,
// Secrets, Sessions and Tokens are required.
type DeviceFlow struct {
	// Issuer prefixes the verification URI.
	Issuer string
	// Codes stores device authorization grants.
	Codes DeviceCodeStore
	// Secrets hashes device codes.
	Secrets *secret.Hasher
	// Sessions starts the device's session when tokens are issued.
	Sessions SessionStarter
	// Tokens issues the token response.
	Tokens *Delegated
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lifetime is how long a device code lives; 0 means
	// DefaultDeviceCodeLifetime.
	Lifetime time.Duration
	// Interval is the minimum polling interval; 0 means
	// DefaultDeviceInterval.
	Interval time.Duration
}

func (d *DeviceFlow) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// DeviceAuthorizationResponse is RFC 8628 §3.2's answer.
type DeviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
	// Message is Entra's text to show the user.
	Message string `json:"message"`
}

// authorizeDevice answers a device authorization request (RFC 8628 §3.1)
// from an authenticated client.
func (d *DeviceFlow) authorizeDevice(ctx context.Context, client Client, scope, resource string) (*DeviceAuthorizationResponse, error) {
	if !client.Application.IsFallbackPublicClient {
		return nil, errorf(CodeUnauthorizedClient, "the device code flow needs public client flows enabled on the application (isFallbackPublicClient)")
	}
	if strings.TrimSpace(scope) == "" {
		return nil, errorf(CodeInvalidScope, "scope is required")
	}
	s, err := ParseScopes(scope, resource)
	if err != nil {
		return nil, err
	}
	deviceCode, err := secret.NewToken(codeBytes)
	if err != nil {
		return nil, err
	}
	life := d.Lifetime
	if life <= 0 {
		life = DefaultDeviceCodeLifetime
	}
	interval := d.Interval
	if interval <= 0 {
		interval = DefaultDeviceInterval
	}
	now := d.now()
	var userCode string
	for attempt := 0; ; attempt++ {
		if userCode, err = newUserCode(); err != nil {
			return nil, err
		}
		err = d.Codes.CreateDeviceCode(ctx, store.DeviceCode{
			Hash: d.Secrets.Hash(deviceCode), UserCode: userCode, ClientID: client.Application.AppID,
			Scopes: scopeRequestList(s), Resource: s.Resource.Audience, CreatedAt: now, ExpiresAt: now.Add(life),
			Interval: interval, Status: store.DevicePending,
		})
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			return nil, errorf(CodeServerError, "cannot store the device code").WithCause(err)
		}
	}
	verify := strings.TrimSuffix(d.Issuer, "/") + PathDeviceVerification
	shown := FormatUserCode(userCode)
	return &DeviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: shown, VerificationURI: verify,
		VerificationURIComplete: verify + "?user_code=" + shown,
		ExpiresIn:               int64(life.Seconds()), Interval: int64(interval.Seconds()),
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, shown),
	}, nil
}

// scopeRequestList stores a request's scopes, keeping "<resource>/.default"
// (resolved only at approval, against the consents of the approving user).
func scopeRequestList(s Scopes) []string {
	l := s.List()
	if s.Default {
		l = append(l, s.Resource.Audience+DefaultScopeSuffix)
	}
	return l
}

// newUserCode draws userCodeLen characters of userCodeAlphabet without
// modulo bias.
func newUserCode() (string, error) {
	out := make([]byte, 0, userCodeLen)
	buf := make([]byte, 16)
	limit := byte(256 - 256%len(userCodeAlphabet))
	for len(out) < userCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("oauth: random: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < userCodeLen {
				out = append(out, userCodeAlphabet[int(b)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// FormatUserCode shows a stored user code as XXXX-XXXX (RFC 8628 §6.1).
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode turns what a user typed into the stored form: upper
// case, dashes and spaces removed (RFC 8628 §6.1). It reports false when
// the result is not userCodeLen characters of the alphabet.
func NormalizeUserCode(typed string) (string, bool) {
	if len(typed) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case 'a' <= r && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 0x7f || !strings.ContainsRune(userCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// serveDeviceAuthorization is the device authorization endpoint (RFC 8628
// §3.1): POST, form-encoded, client authentication as at the token endpoint
// (a public client sends client_id).
func (s *Provider) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	resp, err := func() (*DeviceAuthorizationResponse, error) {
		form, err := readForm(w, r, limit)
		if err != nil {
			return nil, err
		}
		client, err := s.authenticateClient(r, form, true)
		if err != nil {
			return nil, err
		}
		return s.Device.authorizeDevice(r.Context(), client, form.Get("scope"), form.Get("resource"))
	}()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeNoStoreJSON(w, resp)
}

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
