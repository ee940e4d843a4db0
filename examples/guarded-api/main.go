// Command guarded-api is an example resource server protected by Vigil's
// guard middleware: every request needs a valid access token for the API,
// and a token whose user was revoked, disabled or signed out is refused
// within milliseconds of the admin's action.
//
//	export VIGIL_CLIENT_ID=… VIGIL_CLIENT_SECRET=…   # a client with ssf.manage
//	go run ./examples/guarded-api -issuer http://127.0.0.1:8080 -audience api://orders
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9090/me
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-idp/vigil/guard"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9090", "address to serve the API on")
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "Vigil's issuer URL")
	audience := flag.String("audience", "api://orders", "this API's audience (aud)")
	failClosed := flag.Duration("fail-closed-after", 5*time.Minute, "refuse every token once the revocation stream is down this long")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*listen, *issuer, *audience, *failClosed, log); err != nil {
		log.Error("guarded-api", "err", err)
		os.Exit(1)
	}
}

func run(listen, issuer, audience string, failClosed time.Duration, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	g, err := guard.New(guard.Config{
		Issuer:    issuer,
		Audiences: []string{audience},
		Stream: &guard.Stream{
			ClientID:     os.Getenv("VIGIL_CLIENT_ID"),
			ClientSecret: os.Getenv("VIGIL_CLIENT_SECRET"),
			Description:  "guarded-api example",
		},
		FailClosedAfter: failClosed,
		Registerer:      reg,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	streamDone := make(chan error, 1)
	go func() { streamDone <- g.Run(ctx) }()

	api := http.NewServeMux()
	api.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		id, _ := guard.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{
			"oid": id.ObjectID, "upn": id.UPN, "sid": id.SessionID, "tid": id.TenantID,
			"client_id": id.ClientID, "scopes": id.Scopes, "roles": id.Roles, "app_only": id.AppOnly,
		})
	})
	api.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		id, _ := guard.FromContext(r.Context())
		if !id.HasScope("Orders.Read") && !id.HasRole("Orders.Read.All") {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
			return
		}
		writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "owner": id.ObjectID, "total": 42}})
	})

	root := http.NewServeMux()
	root.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) // unauthenticated: bind it privately in production
	root.Handle("/", g.Middleware(api))
	srv := &http.Server{Addr: listen, Handler: root, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	log.Info("guarded-api serving", "addr", listen, "issuer", issuer, "audience", audience)

	select {
	case err = <-serveErr:
	case err = <-streamDone: // wrong credentials or configuration
		if err == nil {
			err = errors.New("revocation stream stopped")
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stop()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
