package ssfserver

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// Defaults of the Server's tuning fields.
const (
	DefaultLongPollTimeout         = 30 * time.Second
	DefaultPollLease               = 30 * time.Second
	DefaultMaxPollEvents           = 100
	DefaultMaxAttempts             = 8
	DefaultBackoff                 = 2 * time.Second
	DefaultMaxBackoff              = 30 * time.Minute
	DefaultPushTimeout             = 10 * time.Second
	DefaultPushConcurrency         = 16
	DefaultMinVerificationInterval = 30 * time.Second
	DefaultMaxStreamsPerReceiver   = 20
	DefaultRecheck                 = 2 * time.Second
	// DefaultMaxBackfill covers Vigil's longest access token (28 h, a
	// CAE-capable client's) with room to spare.
	DefaultMaxBackfill = 48 * time.Hour
)

// Names in the store.
const (
	// Cursor is the store.Cursors name of the dispatcher's outbox position.
	Cursor = "ssf"
	// QueuePrefix prefixes a stream's delivery queues: "ssf:<id>" for
	// events, "ssf:<id>:control" for verification and stream-updated.
	QueuePrefix = "ssf:"
)

// Store is what the transmitter reads and writes; *sqlstore.Store
// implements it. Inside InTx it uses Meta, Outbox, Cursors and Deliveries.
// When the store also implements store.OutboxWaiter, long polls and the
// dispatcher wake on its notifications (LISTEN/NOTIFY across nodes);
// otherwise they look every Recheck. When it implements ReceiptWriter,
// receipts are mirrored there for the revocation resource.
type Store interface {
	store.Meta
	store.Outbox
	store.Cursors
	store.Deliveries
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// ReceiptWriter is the optional part of the store that keeps revocation
// receipts (store.Revocations); *sqlstore.Store has it.
type ReceiptWriter interface {
	PutReceipt(ctx context.Context, r store.Receipt) error
	ListReceipts(ctx context.Context, revocationID string) ([]store.Receipt, error)
}

// Signers hands out the key that signs now; *keys.Manager implements it.
type Signers interface {
	Signer(ctx context.Context, alg jose.SignatureAlgorithm) (*keys.Signer, error)
}

// Authenticator verifies a request's bearer token; *oauth.Verifier (with
// Audiences [authz.VigilResource]) implements it. Errors are those of
// oauth.Verifier.Authenticate.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// PushAllowList says which push endpoint URLs a receiver may register.
type PushAllowList interface {
	// AllowedPushURLs returns the URL prefixes receiver (a client id) may
	// push to; an endpoint is allowed when it starts with one of them
	// and the prefix names at least the scheme and host (e.g.
	// "https://rp.example.com/ssf/").
	AllowedPushURLs(ctx context.Context, receiver string) ([]string, error)
}

// StaticAllowList is a PushAllowList from configuration: client id → URL
// prefixes.
type StaticAllowList map[string][]string

// AllowedPushURLs returns l[receiver].
func (l StaticAllowList) AllowedPushURLs(_ context.Context, receiver string) ([]string, error) {
	return l[receiver], nil
}

// Server is the SSF transmitter. Build it as a struct literal: Issuer,
// Store, Signers and Auth are required; every other field has a default.
// Mount its endpoints on the server's mux, run Run in the background
// (dispatcher and push workers), and register Shutdown with
// http.Server.RegisterOnShutdown so long polls end at once:
//
//	ssfs := &ssfserver.Server{
//		Issuer: issuer, Store: st, Signers: km, Now: now, Logger: log,
//		Auth: &oauth.Verifier{Issuer: issuer, Audiences: []string{authz.VigilResource}, Keys: km, Now: now},
//		InsecureAllowLoopbackPush: cfg.InsecureAllowLoopbackPush,
//		PushAllowList: ssfserver.StaticAllowList(cfg.SSFPushAllowList),
//	}
//	ssfs.Mount(mux)
//	srv.RegisterOnShutdown(ssfs.Shutdown)
//	wg.Go(func() { ssfs.Run(workers) })
//
// The Vigil API reads receipts with Server.Receipts.
type Server struct {
	// Issuer is the transmitter's issuer: the metadata issuer and every
	// SET's iss (SSF 1.0 §7.1). Endpoints live under its path.
	Issuer string
	// JWKSURI is published as jwks_uri; "" means Issuer + "/jwks" (the
	// OAuth provider's JWK Set).
	JWKSURI string
	// Store holds streams, the outbox, cursors and delivery queues.
	Store Store
	// Signers supplies the RS256 key (CAEP interoperability profile §2.6).
	Signers Signers
	// Auth verifies receivers' bearer tokens for the Vigil API.
	Auth Authenticator
	// PushAllowList lists the push endpoints each receiver may use; nil
	// allows none (only loopback ones, with InsecureAllowLoopbackPush).
	PushAllowList PushAllowList
	// InsecureAllowLoopbackPush permits push endpoints on
	// http(s)://127.0.0.1, localhost and [::1] on any port, without the
	// allow-list (the --insecure-allow-loopback-push flag). Acceptable for
	// development and tests on one machine only: it lets any receiver make
	// the server POST to local services. Without it, push endpoints must
	// be https, on the allow-list, and resolve to public addresses (SSRF
	// defence: loopback, private, link-local, multicast and unspecified
	// addresses are refused when connecting, and redirects are never
	// followed).
	InsecureAllowLoopbackPush bool
	// Client sends pushes; nil means a client with PushTimeout that
	// enforces the address rules above. A non-nil Client is used as is.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns ids (stream ids, jtis); nil means 128 random bits in
	// hex.
	NewID func() string
	// Jitter spreads a retry delay; nil means "equal jitter": a uniformly
	// random delay between d/2 and d.
	Jitter func(d time.Duration) time.Duration
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger

	// LongPollTimeout bounds how long a poll with returnImmediately false
	// is held (RFC 8936 §2.4); 0 means DefaultLongPollTimeout.
	LongPollTimeout time.Duration
	// PollLease is how long a polled SET waits for its ack before a later
	// poll hands it out again; 0 means DefaultPollLease.
	PollLease time.Duration
	// MaxPollEvents caps maxEvents; 0 means DefaultMaxPollEvents.
	MaxPollEvents int
	// MaxAttempts bounds push attempts per SET before it is dead; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the push retry delay after the first failure, doubling
	// per attempt up to MaxBackoff (then jittered); 0 means
	// DefaultBackoff and DefaultMaxBackoff.
	Backoff, MaxBackoff time.Duration
	// PushTimeout bounds one push request; 0 means DefaultPushTimeout.
	PushTimeout time.Duration
	// PushConcurrency bounds parallel pushes; 0 means
	// DefaultPushConcurrency.
	PushConcurrency int
	// MinVerificationInterval is every stream's min_verification_interval
	// (SSF 1.0 §8.1.1); 0 means DefaultMinVerificationInterval.
	MinVerificationInterval time.Duration
	// MaxStreamsPerReceiver bounds a receiver's streams (more: 409); 0
	// means DefaultMaxStreamsPerReceiver.
	MaxStreamsPerReceiver int
	// MaxBackfill bounds the window of earlier events a new stream may
	// ask for (vigil_backfill_seconds; a longer request is shortened); 0
	// means DefaultMaxBackfill.
	MaxBackfill time.Duration
	// Recheck is how often waiting workers and long polls look at the
	// store without a wake-up (a lost notification, a push retry falling
	// due, a poll lease running out); 0 means DefaultRecheck.
	Recheck time.Duration

	clientOnce sync.Once
	client     *http.Client

	pumpMu     sync.Mutex
	dispatched atomic.Int64 // the cursor as this node last saw it

	dirtyMu sync.Mutex
	dirty   map[string]bool // revocations whose receipts to mirror

	pushWake chan struct{}
	initOnce sync.Once
	closing  chan struct{}
	closed   sync.Once
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.pushWake = make(chan struct{}, 1)
		s.closing = make(chan struct{})
	})
}

// Shutdown ends every held long poll at once (each answers with what it
// has, usually nothing); register it with http.Server.RegisterOnShutdown.
// New polls after it answer immediately.
func (s *Server) Shutdown() {
	s.init()
	s.closed.Do(func() { close(s.closing) })
}

// check reports missing required fields.
func (s *Server) check() error {
	var missing []string
	if s.Issuer == "" {
		missing = append(missing, "Issuer")
	}
	if s.Store == nil {
		missing = append(missing, "Store")
	}
	if s.Signers == nil {
		missing = append(missing, "Signers")
	}
	if s.Auth == nil {
		missing = append(missing, "Auth")
	}
	if len(missing) > 0 {
		return fmt.Errorf("ssfserver: Server needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// Paths, relative to the issuer's path.
const (
	pathStreams    = "/ssf/streams"
	pathStatus     = "/ssf/status"
	pathAddSubject = "/ssf/subjects/add"
	pathRemove     = "/ssf/subjects/remove"
	pathVerify     = "/ssf/verify"
)

// base is the issuer's path without a trailing slash ("" for a bare host).
func (s *Server) base() string {
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

func (s *Server) url(path string) string { return strings.TrimSuffix(s.Issuer, "/") + path }

// PollURL is the poll endpoint_url of a stream (RFC 8936 §2).
func (s *Server) PollURL(streamID string) string {
	return s.url(pathStreams + "/" + streamID + "/poll")
}

// Mount registers the endpoints (see the package documentation). It
// panics when a required field is missing, as a wiring mistake.
func (s *Server) Mount(mux *http.ServeMux) {
	if err := s.check(); err != nil {
		panic(err)
	}
	s.init()
	wk, err := ssf.MetadataURL(s.Issuer)
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(wk)
	b := s.base()
	mux.HandleFunc("GET "+u.Path, s.metadata)
	mux.HandleFunc("POST "+b+pathStreams, s.manage(true, s.createStream))
	mux.HandleFunc("GET "+b+pathStreams, s.manage(false, s.readStreams))
	mux.HandleFunc("PATCH "+b+pathStreams, s.manage(true, s.updateStream))
	mux.HandleFunc("PUT "+b+pathStreams, s.manage(true, s.replaceStream))
	mux.HandleFunc("DELETE "+b+pathStreams, s.manage(true, s.deleteStream))
	mux.HandleFunc("GET "+b+pathStatus, s.manage(false, s.readStatus))
	mux.HandleFunc("POST "+b+pathStatus, s.manage(true, s.updateStatus))
	mux.HandleFunc("POST "+b+pathAddSubject, s.manage(true, s.addSubject))
	mux.HandleFunc("POST "+b+pathRemove, s.manage(true, s.removeSubject))
	mux.HandleFunc("POST "+b+pathVerify, s.manage(true, s.verify))
	mux.HandleFunc("POST "+b+pathStreams+"/{id}/poll", s.manage(false, s.poll))
	mux.HandleFunc("GET "+b+pathStreams+"/{id}/deadletters", s.manage(false, s.deadLetters))
	mux.HandleFunc("POST "+b+pathStreams+"/{id}/deadletters/replay", s.manage(true, s.replay))
}

// Metadata returns the transmitter metadata (SSF 1.0 §7.1).
func (s *Server) Metadata() ssf.TransmitterMetadata {
	return ssf.TransmitterMetadata{
		SpecVersion:              ssf.SpecVersion10,
		Issuer:                   s.Issuer,
		JWKSURI:                  cmp.Or(s.JWKSURI, s.url("/jwks")),
		DeliveryMethodsSupported: []string{ssf.DeliveryPush, ssf.DeliveryPoll},
		ConfigurationEndpoint:    s.url(pathStreams),
		StatusEndpoint:           s.url(pathStatus),
		AddSubjectEndpoint:       s.url(pathAddSubject),
		RemoveSubjectEndpoint:    s.url(pathRemove),
		VerificationEndpoint:     s.url(pathVerify),
		AuthorizationSchemes:     []ssf.AuthorizationScheme{{SpecURN: ssf.SchemeOAuth}},
		DefaultSubjects:          ssf.DefaultSubjectsAll,
	}
}

// metadata serves the transmitter metadata without authentication (SSF
// 1.0 §7.2; the interoperability profile wants it readable by anyone).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, s.Metadata())
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
