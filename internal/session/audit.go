package session

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// Audit vocabulary of refresh-token reuse. Entra has no audit activity for
// it; Vigil files it like Entra's token revocations ("Update
// StsRefreshTokenValidFrom Timestamp"): category UserManagement, logged by
// Core Directory, operation type Update, target the user, initiated by the
// client application that presented the token.
const (
	AuditActivityReuse = "Refresh token reuse detected"
	AuditCategory      = "UserManagement"
	AuditService       = "Core Directory"
)

// reuseAudit is the directoryAudit record of a detected reuse that revoked
// n tokens of t's family.
func reuseAudit(id string, t store.RefreshToken, n int, at time.Time) store.AuditRecord {
	by := Initiator{AppID: t.ClientID}.initiatedBy()
	target, _ := json.Marshal([]map[string]any{{
		"id": t.UserID, "displayName": nil, "type": "User", "userPrincipalName": nil,
		"modifiedProperties": []any{}, "groupType": nil,
	}})
	details, _ := json.Marshal([]map[string]string{
		{"key": "RefreshTokenFamilyId", "value": t.FamilyID},
		{"key": "SessionId", "value": t.SessionID},
		{"key": "ClientAppId", "value": t.ClientID},
		{"key": "RevokedRefreshTokens", "value": strconv.Itoa(n)},
	})
	return store.AuditRecord{
		ID: id, ActivityDateTime: at, ActivityDisplayName: AuditActivityReuse, Category: AuditCategory,
		CorrelationID: t.FamilyID, OperationType: "Update", Result: "success",
		ResultReason:    "a rotated refresh token was presented again; its family was revoked (RFC 9700 §4.14.2)",
		LoggedByService: AuditService, InitiatedBy: by, TargetResources: target, AdditionalDetails: details,
		InitiatorAppID: t.ClientID, TargetIDs: []string{t.UserID},
	}
}
