package session

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/store"
)

func TestSettingsJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Settings
		out  string // canonical re-encoding; "" means same as in
	}{
		{name: "empty", in: `{}`, want: Settings{}},
		{name: "nulls inherit", in: `{"accessTokenLifetime":null}`, want: Settings{}, out: `{}`},
		{
			name: "every member",
			in:   `{"accessTokenLifetime":"PT2H","caeAccessTokenLifetime":"PT20H","refreshTokenMaxInactiveTime":"P30D","spaRefreshTokenMaxInactiveTime":"PT12H","refreshTokenMaxAge":"untilRevoked","signInFrequency":"PT4H","idleSessionTimeout":"PT30M"}`,
			want: Settings{
				AccessTokenLifetime: ptr(2 * time.Hour), CAEAccessTokenLifetime: ptr(20 * time.Hour),
				RefreshTokenInactivity: ptr(30 * 24 * time.Hour), SPARefreshTokenInactivity: ptr(12 * time.Hour),
				RefreshTokenMaxAge: ptr(time.Duration(0)), SignInFrequency: &Frequency{Every: 4 * time.Hour},
				IdleTimeout: ptr(30 * time.Minute),
			},
		},
		{name: "every time", in: `{"signInFrequency":"everyTime"}`, want: Settings{SignInFrequency: &Frequency{EveryTime: true}}},
		{name: "explicitly off", in: `{"idleSessionTimeout":"off","signInFrequency":"off"}`,
			want: Settings{IdleTimeout: ptr(time.Duration(0)), SignInFrequency: &Frequency{}}, out: `{"signInFrequency":"off","idleSessionTimeout":"off"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Settings
			if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
				t.Fatal(err)
			}
			if gb, wb := mustJSON(t, got), mustJSON(t, tc.want); gb != wb {
				t.Fatalf("decoded %s, want %s", gb, wb)
			}
			want := tc.out
			if want == "" {
				want = tc.in
			}
			if b := mustJSON(t, got); b != want {
				t.Errorf("re-encoded as %s, want %s", b, want)
			}
		})
	}
}

func TestSettingsJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{name: "unknown member", in: `{"accessTokenLifetme":"PT1H"}`, want: []string{`unknown field "accessTokenLifetme"`}},
		{name: "integer seconds", in: `{"accessTokenLifetime":3600}`, want: []string{"accessTokenLifetime"}},
		{name: "go duration", in: `{"accessTokenLifetime":"1h"}`, want: []string{`accessTokenLifetime: "1h" is not an ISO 8601 duration`}},
		{name: "every problem at once", in: `{"idleSessionTimeout":"never","signInFrequency":"sometimes","refreshTokenMaxAge":"forever"}`,
			want: []string{`idleSessionTimeout: "never"`, `or "off"`, `signInFrequency: "sometimes"`, `"everyTime" or "off"`, `refreshTokenMaxAge: "forever"`, `or "untilRevoked"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Settings
			err := json.Unmarshal([]byte(tc.in), &s)
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v does not wrap ErrInvalidPolicy", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want []string // field names reported; none = valid
	}{
		{name: "defaults are valid", s: Settings{}},
		{name: "bounds inclusive", s: Settings{AccessTokenLifetime: ptr(5 * time.Minute), CAEAccessTokenLifetime: ptr(28 * time.Hour),
			RefreshTokenInactivity: ptr(90 * 24 * time.Hour), IdleTimeout: ptr(1440 * time.Minute), SignInFrequency: &Frequency{Every: 365 * 24 * time.Hour}}},
		{name: "off values", s: Settings{IdleTimeout: ptr(time.Duration(0)), RefreshTokenMaxAge: ptr(time.Duration(0)), SignInFrequency: &Frequency{}}},
		{name: "access token too short", s: Settings{AccessTokenLifetime: ptr(4 * time.Minute)}, want: []string{"accessTokenLifetime must be between PT5M and P1D, not PT4M"}},
		{name: "access token too long", s: Settings{AccessTokenLifetime: ptr(25 * time.Hour)}, want: []string{"accessTokenLifetime"}},
		{name: "idle timeout bounds and minutes", s: Settings{IdleTimeout: ptr(4 * time.Minute)}, want: []string{"idleSessionTimeout must be between PT5M and P1D"}},
		{name: "idle timeout in seconds", s: Settings{IdleTimeout: ptr(10*time.Minute + 30*time.Second)}, want: []string{"idleSessionTimeout must be whole minutes"}},
		{name: "frequency in minutes", s: Settings{SignInFrequency: &Frequency{Every: 90 * time.Minute}}, want: []string{"signInFrequency must be whole hours"}},
		{name: "all reported at once", s: Settings{AccessTokenLifetime: ptr(time.Minute), CAEAccessTokenLifetime: ptr(30 * time.Hour),
			RefreshTokenInactivity: ptr(time.Minute), SPARefreshTokenInactivity: ptr(100 * 24 * time.Hour), RefreshTokenMaxAge: ptr(time.Minute)},
			want: []string{"accessTokenLifetime", "caeAccessTokenLifetime", "refreshTokenMaxInactiveTime", "spaRefreshTokenMaxInactiveTime", "refreshTokenMaxAge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("Validate = %v, want ErrInvalidPolicy", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestPolicyOverlay(t *testing.T) {
	global := Settings{AccessTokenLifetime: ptr(2 * time.Hour), SignInFrequency: &Frequency{EveryTime: true}, IdleTimeout: ptr(time.Hour)}
	app := Settings{SignInFrequency: &Frequency{Every: 8 * time.Hour}, IdleTimeout: ptr(time.Duration(0))}
	got := app.Apply(global.Apply(DefaultPolicy()))
	want := DefaultPolicy()
	want.AccessTokenLifetime, want.SignInFrequency = 2*time.Hour, 8*time.Hour
	if got != want {
		t.Fatalf("overlay = %+v, want %+v", got, want)
	}
	if l := got.AccessLifetime([]string{"CP1"}); l != DefaultCAEAccessTokenLifetime {
		t.Errorf("cp1 lifetime = %v", l)
	}
	if l := got.AccessLifetime(nil); l != 2*time.Hour {
		t.Errorf("lifetime = %v", l)
	}
}

func TestPolicyStore(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		appID := uuid.NewString()
		if p, err := f.svc.EffectivePolicy(ctx, appID); err != nil || p != DefaultPolicy() {
			t.Fatalf("no policies: %+v, %v", p, err)
		}
		if _, err := f.svc.GetPolicy(ctx, PolicyGlobal); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetPolicy(global) = %v, want ErrNotFound", err)
		}
		if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{AccessTokenLifetime: ptr(2 * time.Hour), IdleTimeout: ptr(30 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		put, err := f.svc.PutPolicy(ctx, appID, Settings{AccessTokenLifetime: ptr(10 * time.Minute), SignInFrequency: &Frequency{EveryTime: true}})
		if err != nil {
			t.Fatal(err)
		}
		if !put.UpdatedAt.Equal(f.clock.Now()) {
			t.Errorf("UpdatedAt = %v", put.UpdatedAt)
		}
		p, err := f.svc.EffectivePolicy(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		if p.AccessTokenLifetime != 10*time.Minute || p.IdleTimeout != 30*time.Minute || !p.SignInEveryTime {
			t.Errorf("effective for the app = %+v", p)
		}
		if g, _ := f.svc.EffectivePolicy(ctx, uuid.NewString()); g.AccessTokenLifetime != 2*time.Hour || g.SignInEveryTime {
			t.Errorf("effective for another app = %+v", g)
		}
		list, err := f.svc.ListPolicies(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListPolicies = %+v, %v", list, err)
		}
		got, err := f.svc.GetPolicy(ctx, appID)
		if err != nil || mustJSON(t, got.Settings) != `{"accessTokenLifetime":"PT10M","signInFrequency":"everyTime"}` {
			t.Fatalf("GetPolicy = %s, %v", mustJSON(t, got.Settings), err)
		}
		if err := f.svc.DeletePolicy(ctx, appID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeletePolicy(ctx, appID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}
		if p, _ := f.svc.EffectivePolicy(ctx, appID); p.AccessTokenLifetime != 2*time.Hour {
			t.Errorf("after delete = %+v", p)
		}
		if _, err := f.svc.PutPolicy(ctx, "not-an-app", Settings{}); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("bad scope = %v", err)
		}
		if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{AccessTokenLifetime: ptr(time.Minute)}); !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("bad value = %v", err)
		}
	})
}

func TestPolicyCache(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.svc.PolicyCacheTTL = time.Hour
		other := &Service{Store: f.st, Secrets: f.svc.Secrets, Now: f.clock.Now, PolicyCacheTTL: time.Hour} // another node
		if p, _ := other.EffectivePolicy(ctx, ""); p.AccessTokenLifetime != time.Hour {
			t.Fatal(p)
		}
		if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{AccessTokenLifetime: ptr(3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if p, _ := f.svc.EffectivePolicy(ctx, ""); p.AccessTokenLifetime != 3*time.Hour {
			t.Errorf("the writing node sees %v", p.AccessTokenLifetime)
		}
		if p, _ := other.EffectivePolicy(ctx, ""); p.AccessTokenLifetime != time.Hour {
			t.Errorf("another node within its TTL sees %v, want its cached PT1H", p.AccessTokenLifetime)
		}
		other.PolicyCacheTTL = -1
		if p, _ := other.EffectivePolicy(ctx, ""); p.AccessTokenLifetime != 3*time.Hour {
			t.Errorf("another node past its TTL sees %v", p.AccessTokenLifetime)
		}
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
