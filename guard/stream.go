package guard

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/ssf"
)

// DefaultStreamScope is the scope of the stream's client credentials
// token: Vigil's own API (aud api://vigil), where the client needs the
// application permission ssf.manage.
const DefaultStreamScope = "api://vigil/.default"

// Defaults of Stream.
const (
	DefaultMaxEvents         = 100
	DefaultPollTimeout       = 2 * time.Minute
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultRetryMin          = 250 * time.Millisecond
	DefaultRetryMax          = 30 * time.Second
	DefaultReplayCacheSize   = 10000
)

// EventsRequested are the event types the guard asks its stream for
// (SSF 1.0 §8.1.1 events_requested).
var EventsRequested = []string{
	ssf.EventSessionRevoked, ssf.EventCredentialChange, ssf.EventTokenClaimsChange,
	ssf.EventAccountDisabled, ssf.EventAccountEnabled, ssf.EventAccountPurged,
}

// Stream configures the SSF stream (OpenID SSF 1.0) the guard creates at
// the transmitter to learn of revocations. By default SETs are long-polled
// (RFC 8936); with PushURL set the transmitter pushes them (RFC 8935) to
// PushHandler, which the application must serve at that URL.
type Stream struct {
	// Transmitter is the SSF transmitter's issuer; "" means
	// Config.Issuer. Its metadata is read from the well-known
	// ssf-configuration URL (SSF 1.0 §7.2).
	Transmitter string
	// ClientID and ClientSecret are the OAuth client credentials (RFC
	// 6749 §4.4) the stream is managed and polled with; the client needs
	// ssf.manage.
	ClientID, ClientSecret string
	// TokenURL overrides the issuer's token_endpoint from discovery.
	TokenURL string
	// Scopes of the token; nil means [DefaultStreamScope].
	Scopes []string
	// TokenSource, when set, supplies the bearer tokens instead of
	// ClientID and ClientSecret (e.g. private_key_jwt or mTLS clients).
	TokenSource oauth2.TokenSource
	// PushURL, when set, asks for push delivery to this absolute URL,
	// where the application serves PushHandler; "" means long poll.
	PushURL string
	// Description is the stream's description (SSF 1.0 §8.1.1); "" means
	// "vigil guard".
	Description string
	// MaxEvents is the maxEvents of each poll; 0 means DefaultMaxEvents.
	MaxEvents int
	// PollTimeout bounds one long poll; 0 means DefaultPollTimeout.
	PollTimeout time.Duration
	// HeartbeatInterval is how often a push stream's status is read to
	// notice a transmitter that is gone or has paused the stream; 0
	// means DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// RetryMin and RetryMax bound the exponential backoff (with jitter)
	// between failed attempts; 0 means DefaultRetryMin, DefaultRetryMax.
	RetryMin, RetryMax time.Duration
	// ReplayCacheSize bounds the jti values PushHandler remembers to
	// refuse replayed SETs; 0 means DefaultReplayCacheSize.
	ReplayCacheSize int
}

func (s Stream) withDefaults() (Stream, []error) {
	var errs []error
	if s.TokenSource == nil && (s.ClientID == "" || s.ClientSecret == "") {
		errs = append(errs, errors.New("Stream needs ClientID and ClientSecret, or a TokenSource"))
	}
	if s.PushURL != "" {
		if u, err := url.Parse(s.PushURL); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("Stream.PushURL %q must be an absolute URL", s.PushURL))
		}
	}
	if s.Scopes == nil {
		s.Scopes = []string{DefaultStreamScope}
	}
	if s.Description == "" {
		s.Description = "vigil guard"
	}
	s.MaxEvents = cmpOr(s.MaxEvents, DefaultMaxEvents)
	s.PollTimeout = cmpOr(s.PollTimeout, DefaultPollTimeout)
	s.HeartbeatInterval = cmpOr(s.HeartbeatInterval, DefaultHeartbeatInterval)
	s.RetryMin = cmpOr(s.RetryMin, DefaultRetryMin)
	s.RetryMax = max(cmpOr(s.RetryMax, DefaultRetryMax), s.RetryMin)
	s.ReplayCacheSize = cmpOr(s.ReplayCacheSize, DefaultReplayCacheSize)
	if s.MaxEvents < 0 || s.PollTimeout < 0 || s.HeartbeatInterval < 0 || s.RetryMin < 0 || s.ReplayCacheSize < 0 {
		errs = append(errs, errors.New("Stream sizes and durations must not be negative"))
	}
	return s, errs
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// streamInfo is an established stream: what SET verification needs.
type streamInfo struct {
	id       string
	issuer   string       // the transmitter's issuer: every SET's iss
	aud      ssf.Audience // the stream's aud: every SET's aud
	keys     *keySet      // the transmitter's JWKS
	pushAuth string       // the Authorization header pushes carry ("" for poll)
	config   ssf.StreamConfiguration
}

// session is one established stream and the means to call the
// transmitter; Run makes a new one after the stream is lost.
type session struct {
	g      *Guard
	meta   ssf.TransmitterMetadata
	info   *streamInfo
	tokens oauth2.TokenSource
	renew  func() oauth2.TokenSource
}

// permanentError marks connection failures that retrying cannot fix
// (wrong credentials, wrong configuration): Run returns them when the
// stream was never established.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// errStreamGone: the transmitter no longer knows the stream.
var errStreamGone = errors.New("guard: stream deleted at the transmitter")

// Run feeds the revocation table from the SSF stream until ctx is done:
// it reads the transmitter's metadata, creates a stream with the client
// credentials (poll by default, push when Stream.PushURL is set), receives
// SETs and applies them, acknowledging each only after it is applied, and
// reconnects with exponential backoff when the stream fails, tracking how
// long it has been down (Config.FailClosedAfter). It also drops table
// entries older than MaxTokenLifetime. When ctx is done it deletes the
// stream and returns nil. It returns an error at once only when the first
// attempt fails for a reason retrying cannot fix (401, 403 or 400 from the
// transmitter, an issuer mismatch). Call it once.
func (g *Guard) Run(ctx context.Context) error {
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); g.pruneLoop(pctx) }()
	defer func() { stop(); <-done }()
	if g.cfg.Stream == nil {
		<-ctx.Done()
		return nil
	}
	b := backoff{min: g.cfg.Stream.RetryMin, max: g.cfg.Stream.RetryMax}
	established := false
	for {
		s, err := g.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var pe permanentError
			if !established && errors.As(err, &pe) {
				return err
			}
			g.log.Warn("guard: cannot establish the SSF stream; retrying", "err", err)
			if !b.wait(ctx) {
				return nil
			}
			continue
		}
		established = true
		b.reset()
		g.stream.Store(s.info)
		now := g.now()
		g.health.setEnabled(now, true)
		g.health.setConnected(now, true)
		ready := func() { g.once.Do(func() { close(g.ready) }) }
		g.log.Info("guard: SSF stream established", "stream_id", s.info.id, "transmitter", s.info.issuer,
			"delivery", s.info.config.Delivery.Method, "backfill_seconds", s.info.config.BackfillSeconds)
		if s.info.pushAuth != "" {
			ready() // the backfill is pushed like any other SET
			err = s.heartbeat(ctx)
		} else {
			err = s.poll(ctx, ready)
		}
		g.health.setConnected(g.now(), false)
		if ctx.Err() != nil {
			s.delete()
			return nil
		}
		g.log.Warn("guard: SSF stream lost; reconnecting", "stream_id", s.info.id, "err", err)
		if !b.wait(ctx) {
			return nil
		}
	}
}

// pruneLoop drops stale table entries every minute until ctx is done.
func (g *Guard) pruneLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.prune()
		}
	}
}

// prune drops the table entries no unexpired token can be affected by.
func (g *Guard) prune() int {
	cutoff := g.now().Add(-g.cfg.MaxTokenLifetime - g.cfg.Skew).Unix()
	return g.table.prune(cutoff)
}

// connect reads the transmitter metadata and creates the stream.
func (g *Guard) connect(ctx context.Context) (*session, error) {
	sc := g.cfg.Stream
	transmitter := firstNonEmpty(sc.Transmitter, g.cfg.Issuer)
	metaURL, err := ssf.MetadataURL(transmitter)
	if err != nil {
		return nil, permanentError{err}
	}
	s := &session{g: g}
	if err := doJSON(ctx, g.cfg.HTTPClient, http.MethodGet, metaURL, "", nil, &s.meta); err != nil {
		return nil, fmt.Errorf("guard: ssf metadata: %w", err)
	}
	if s.meta.Issuer != transmitter {
		return nil, permanentError{fmt.Errorf("guard: %s names issuer %q, want %q", metaURL, s.meta.Issuer, transmitter)}
	}
	if s.meta.ConfigurationEndpoint == "" || s.meta.JWKSURI == "" {
		return nil, permanentError{fmt.Errorf("guard: %s lacks configuration_endpoint or jwks_uri", metaURL)}
	}
	if err := s.credentials(ctx); err != nil {
		return nil, err
	}
	req := ssf.StreamConfiguration{
		Delivery:        &ssf.Delivery{Method: ssf.DeliveryPoll},
		EventsRequested: EventsRequested,
		Description:     sc.Description,
		BackfillSeconds: g.backfillSeconds(),
	}
	pushAuth := ""
	if sc.PushURL != "" {
		pushAuth = "Bearer " + randomToken()
		g.pendingPush.Store(&pushAuth)
		req.Delivery = &ssf.Delivery{Method: ssf.DeliveryPush, EndpointURL: sc.PushURL, AuthorizationHeader: pushAuth}
	}
	var cfg ssf.StreamConfiguration
	if err := s.call(ctx, http.MethodPost, s.meta.ConfigurationEndpoint, req, &cfg); err != nil {
		if st := httpStatus(err); st == http.StatusBadRequest || st == http.StatusUnauthorized || st == http.StatusForbidden {
			return nil, permanentError{fmt.Errorf("guard: create stream: %w", err)}
		}
		return nil, fmt.Errorf("guard: create stream: %w", err)
	}
	if err := g.checkCreated(cfg, s.meta, pushAuth != ""); err != nil {
		return nil, err
	}
	s.info = &streamInfo{
		id: cfg.StreamID, issuer: s.meta.Issuer, aud: cfg.Audience, pushAuth: pushAuth, config: cfg,
		keys: g.transmitterKeys(ctx, s.meta.JWKSURI),
	}
	return s, nil
}

// checkCreated checks the transmitter's answer to stream creation.
func (g *Guard) checkCreated(cfg ssf.StreamConfiguration, meta ssf.TransmitterMetadata, push bool) error {
	switch {
	case cfg.StreamID == "":
		return errors.New("guard: created stream has no stream_id")
	case cfg.Issuer != "" && cfg.Issuer != meta.Issuer:
		return permanentError{fmt.Errorf("guard: created stream's iss %q is not the transmitter %q", cfg.Issuer, meta.Issuer)}
	case len(cfg.Audience) == 0:
		return errors.New("guard: created stream has no aud")
	case cfg.Delivery == nil || (!push && cfg.Delivery.EndpointURL == ""):
		return errors.New("guard: created stream has no poll endpoint_url")
	}
	if want := g.backfillSeconds(); cfg.BackfillSeconds < want {
		g.log.Warn("guard: the transmitter backfills less than the longest token lifetime (none, if it is not Vigil): "+
			"tokens revoked before the stream was created are accepted until they expire",
			"stream_id", cfg.StreamID, "backfill_seconds", cfg.BackfillSeconds, "want_seconds", want)
	}
	for _, e := range EventsRequested {
		if !slices.Contains(cfg.EventsDelivered, e) {
			g.log.Warn("guard: the transmitter will not deliver an event type; those revocations will not be enforced",
				"stream_id", cfg.StreamID, "event", e)
		}
	}
	return nil
}

// backfillSeconds is the window of earlier revocations a new stream asks
// for (vigil_backfill_seconds): every token still accepted was issued
// within MaxTokenLifetime (plus Skew), so no older revocation matters.
func (g *Guard) backfillSeconds() int {
	return int((g.cfg.MaxTokenLifetime + g.cfg.Skew + time.Second - 1) / time.Second)
}

// transmitterKeys returns the key set of the transmitter's jwks_uri: the
// issuer's when they are the same URL.
func (g *Guard) transmitterKeys(ctx context.Context, jwksURI string) *keySet {
	if u, err := g.jwksURL(ctx); err == nil && u == jwksURI {
		return g.keys
	}
	if old := g.stream.Load(); old != nil && old.keys.src == jwksURI {
		return old.keys
	}
	ks := newKeySet(g.cfg.HTTPClient, g.now, g.cfg.JWKSRefreshInterval, func(context.Context) (string, error) { return jwksURI, nil })
	ks.src = jwksURI
	return ks
}

// credentials sets up the token source of the stream's calls.
func (s *session) credentials(ctx context.Context) error {
	sc := s.g.cfg.Stream
	if sc.TokenSource != nil {
		s.renew = func() oauth2.TokenSource { return sc.TokenSource }
		s.tokens = sc.TokenSource
		return nil
	}
	tokenURL := sc.TokenURL
	if tokenURL == "" {
		m, err := s.g.provider.get(ctx)
		if err != nil {
			return fmt.Errorf("guard: token endpoint: %w", err)
		}
		tokenURL = m.TokenEndpoint
	}
	cc := clientcredentials.Config{ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, TokenURL: tokenURL, Scopes: sc.Scopes}
	// x/oauth2 takes its HTTP client from the context it is given.
	octx := context.WithValue(ctx, oauth2.HTTPClient, s.g.cfg.HTTPClient)
	s.renew = func() oauth2.TokenSource { return cc.TokenSource(octx) }
	s.tokens = s.renew()
	return nil
}

// call is doJSON with the stream's bearer token; a 401 renews the token
// and tries once more.
func (s *session) call(ctx context.Context, method, url string, in, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := s.tokens.Token()
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) && re.Response != nil && (re.Response.StatusCode == http.StatusBadRequest || re.Response.StatusCode == http.StatusUnauthorized) {
				return permanentError{fmt.Errorf("guard: stream credentials: %w", err)}
			}
			return fmt.Errorf("guard: stream credentials: %w", err)
		}
		err = doJSON(ctx, s.g.cfg.HTTPClient, method, url, tok.AccessToken, in, out)
		if httpStatus(err) == http.StatusUnauthorized && attempt == 0 {
			s.tokens = s.renew()
			continue
		}
		return err
	}
}

// poll long-polls the stream (RFC 8936) until ctx is done or the stream
// is gone: each request acknowledges the SETs applied since the last one
// (and reports those that could not be, in setErrs) and waits for more.
// It first drains what is queued (the backfill) with immediate polls and
// calls ready once that is applied.
func (s *session) poll(ctx context.Context, ready func()) error {
	g, sc := s.g, s.g.cfg.Stream
	b := backoff{min: sc.RetryMin, max: sc.RetryMax}
	var acks []string
	var errs map[string]ssf.SETError
	n := sc.MaxEvents
	draining := true
	for {
		req := ssf.PollRequest{MaxEvents: &n, ReturnImmediately: draining, Ack: acks, SetErrs: errs}
		var resp ssf.PollResponse
		start := g.now()
		pctx, cancel := context.WithTimeout(ctx, sc.PollTimeout)
		err := s.call(pctx, http.MethodPost, s.info.config.Delivery.EndpointURL, req, &resp)
		timedOut := pctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case httpStatus(err) == http.StatusNotFound:
			return errStreamGone
		case err != nil && timedOut:
			// No answer within PollTimeout, longer than a transmitter
			// holds a long poll: the stream was down since the poll
			// began. Poll again at once (acks and setErrs go again;
			// both are idempotent).
			g.health.setConnected(start, false)
			continue
		case err != nil:
			g.health.setConnected(g.now(), false)
			g.log.Warn("guard: poll failed; retrying", "stream_id", s.info.id, "err", err)
			if !b.wait(ctx) {
				return ctx.Err()
			}
			continue
		}
		b.reset()
		g.health.setConnected(g.now(), true)
		acks, errs = g.receive(ctx, s.info, resp.Sets)
		if draining && !resp.MoreAvailable {
			draining = false
			ready()
		}
	}
}

// heartbeat watches a push stream: it reads the stream's status every
// HeartbeatInterval (SSF 1.0 §8.1.2) and marks the stream down when the
// transmitter cannot be reached or has paused or disabled it.
func (s *session) heartbeat(ctx context.Context) error {
	g := s.g
	t := time.NewTicker(g.cfg.Stream.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		var st ssf.StreamStatus
		var err error
		if s.meta.StatusEndpoint != "" {
			err = s.call(ctx, http.MethodGet, s.meta.StatusEndpoint+"?stream_id="+url.QueryEscape(s.info.id), nil, &st)
		} else {
			var cfg ssf.StreamConfiguration
			err = s.call(ctx, http.MethodGet, s.meta.ConfigurationEndpoint+"?stream_id="+url.QueryEscape(s.info.id), nil, &cfg)
			st.Status = ssf.StatusEnabled
		}
		now := g.now()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case httpStatus(err) == http.StatusNotFound:
			return errStreamGone
		case err != nil:
			g.log.Warn("guard: stream status unavailable", "stream_id", s.info.id, "err", err)
			g.health.setConnected(now, false)
		default:
			g.health.setConnected(now, true)
			g.health.setEnabled(now, st.Status == ssf.StatusEnabled)
		}
	}
}

// delete removes the stream at the transmitter (best effort, bounded).
func (s *session) delete() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := s.meta.ConfigurationEndpoint + "?stream_id=" + url.QueryEscape(s.info.id)
	if err := s.call(ctx, http.MethodDelete, u, nil, nil); err != nil {
		s.g.log.Warn("guard: could not delete the SSF stream", "stream_id", s.info.id, "err", err)
	}
}

// backoff is exponential backoff with jitter between min and max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

// wait sleeps the next backoff interval; false when ctx ended first.
func (b *backoff) wait(ctx context.Context) bool {
	if b.cur == 0 {
		b.cur = b.min
	}
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, b.max)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = crand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
