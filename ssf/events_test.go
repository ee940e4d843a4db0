package ssf_test

import (
	"testing"

	"github.com/vigil-idp/vigil/ssf"
)

// TestEventPayloads pins the wire JSON of the CAEP and RISC event payloads
// Vigil emits besides session-revoked (which set_session_revoked pins).
func TestEventPayloads(t *testing.T) {
	common := ssf.CAEPCommon{EventTimestamp: 1748779200, InitiatingEntity: ssf.InitiatedByUser, ReasonUser: map[string]string{"en": "You changed your password"}}
	golden(t, "event_credential_change", ssf.CredentialChange{CAEPCommon: common, CredentialType: ssf.CredentialPassword, ChangeType: ssf.ChangeUpdate})
	golden(t, "event_token_claims_change", ssf.TokenClaimsChange{
		CAEPCommon: ssf.CAEPCommon{EventTimestamp: 1748779200, InitiatingEntity: ssf.InitiatedByAdmin},
		Claims:     map[string]any{"groups": []any{"a", "b"}},
	})
	golden(t, "event_account_disabled", ssf.AccountDisabled{Reason: ssf.DisabledHijacking})
	golden(t, "event_account_enabled", ssf.AccountEnabled{})
	golden(t, "event_account_purged", ssf.AccountPurged{})
	golden(t, "subject_complex", ssf.Subject{
		Format:  ssf.FormatComplex,
		User:    &ssf.Subject{Format: ssf.FormatIssSub, Iss: "https://idp.example.com", Sub: "u1"},
		Session: &ssf.Subject{Format: ssf.FormatOpaque, ID: "sid-1"},
	})
}
