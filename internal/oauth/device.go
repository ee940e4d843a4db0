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
