package storetest

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func testSigningKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	key := func(kid string, created time.Time) store.SigningKey {
		return store.SigningKey{
			ID: kid, Algorithm: "ES256", Use: "sig",
			PrivateKey: []byte{0, 1, 2, 3, 0xfe, 0xff}, PublicJWK: []byte(`{"kty":"EC","crv":"P-256"}`),
			CreatedAt: created, NotBefore: created.Add(time.Hour), RetireAt: created.Add(90 * 24 * time.Hour),
			ExpireAt: created.Add(97 * 24 * time.Hour),
		}
	}
	newest, oldest := key("k-b", at(48*time.Hour)), key("k-c", at(0))
	sameAge := key("k-a", at(48*time.Hour)) // ties broken by kid
	unset := key("k-d", at(72*time.Hour))
	unset.NotBefore, unset.RetireAt, unset.ExpireAt, unset.PrivateKey = time.Time{}, time.Time{}, time.Time{}, nil
	for _, k := range []store.SigningKey{newest, oldest, sameAge, unset} {
		ok(t, s.CreateSigningKey(ctx, k))
	}
	isErr(t, "duplicate kid", s.CreateSigningKey(ctx, key("k-b", t0)), store.ErrConflict)
	got, err := s.ListSigningKeys(ctx)
	ok(t, err)
	same(t, "ListSigningKeys, oldest first", got, []store.SigningKey{oldest, sameAge, newest, unset})
	ok(t, s.DeleteSigningKey(ctx, "k-c"))
	isErr(t, "delete again", s.DeleteSigningKey(ctx, "k-c"), store.ErrNotFound)
	got, err = s.ListSigningKeys(ctx)
	ok(t, err)
	sameIDs(t, "keys after delete", ids(got, keyID), []string{"k-a", "k-b", "k-d"})
}

func testMeta(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetMeta(ctx, "install-id")
		isErr(t, "GetMeta", err, store.ErrNotFound)
		for _, v := range [][]byte{[]byte("one"), {0, 0xff, 0}, {}} {
			ok(t, s.PutMeta(ctx, "install-id", v))
			got, err := s.GetMeta(ctx, "install-id")
			ok(t, err)
			if !bytes.Equal(got, v) {
				t.Fatalf("GetMeta = %q, want %q", got, v)
			}
		}
		wrote, err := s.PutMetaIfAbsent(ctx, "install-id", []byte("other"))
		ok(t, err)
		if wrote {
			t.Fatal("PutMetaIfAbsent overwrote a set key")
		}
		wrote, err = s.PutMetaIfAbsent(ctx, "bootstrap", []byte("done"))
		ok(t, err)
		got, err := s.GetMeta(ctx, "bootstrap")
		ok(t, err)
		if !wrote || string(got) != "done" {
			t.Fatalf("PutMetaIfAbsent on an unset key: wrote %v, value %q", wrote, got)
		}
	})

	t.Run("IfAbsentRace", func(t *testing.T) {
		s := newStore(t)
		const n = 16
		var wg sync.WaitGroup
		wins := make(chan int, n)
		for i := range n {
			wg.Go(func() {
				wrote, err := s.PutMetaIfAbsent(ctx, "leader", []byte{byte(i)})
				if err != nil {
					t.Error(err)
				}
				if wrote {
					wins <- i
				}
			})
		}
		wg.Wait()
		close(wins)
		var winners []int
		for w := range wins {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("%d writers won, want exactly one", len(winners))
		}
		got, err := s.GetMeta(ctx, "leader")
		ok(t, err)
		if len(got) != 1 || int(got[0]) != winners[0] {
			t.Fatalf("value %v, but writer %d won", got, winners[0])
		}
	})
}
