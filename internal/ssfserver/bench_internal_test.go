package ssfserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// BenchmarkSETBuildSign measures what one SET costs the transmitter: the
// dispatcher's build (payload enrichment, sub_id, claims) and the RS256
// signature at hand-out.
func BenchmarkSETBuildSign(b *testing.B) {
	ctx := context.Background()
	st := sqltest.SQLite(b)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		b.Fatal(err)
	}
	km := &keys.Manager{Store: st, Box: box}
	if err := km.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	s := &Server{Issuer: "https://vigil.example", Store: st, Signers: km}
	doc := &streamDoc{Streams: []*stream{{ID: "s1", Receiver: "rp-1", Delivery: ssf.Delivery{Method: ssf.DeliveryPoll}, Status: ssf.StatusEnabled}}}
	body, _ := json.Marshal(ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: 1767323045, InitiatingEntity: ssf.InitiatedByAdmin,
		ReasonAdmin: map[string]string{"en": "Offboarding"}}})
	payload, _ := json.Marshal(revocation.Event{Type: ssf.EventSessionRevoked, Txn: "rev-1", RevocationID: "rev-1",
		Subject:          revocation.EventSubject{UserID: "6e3f0c1e-5d0e-4f55-9b7e-2a1c0e1f2a3b", UserPrincipalName: "ada@contoso.com"},
		InitiatingEntity: ssf.InitiatedByAdmin, EventTimestamp: 1767323045, ReasonAdmin: map[string]string{"en": "Offboarding"}, Body: body})
	ev := store.OutboxEvent{Seq: 1, ID: "e1", Type: ssf.EventSessionRevoked, UserID: "u", Payload: payload}
	one := func() {
		ds, _ := s.plan(ctx, doc, []store.OutboxEvent{ev}, false)
		q, err := decodeQueued(ds[0])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.sign(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			one()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	})
}
