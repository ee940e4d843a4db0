package revocation

import (
	"encoding/json"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// Audit vocabulary shared with internal/directory: Graph directoryAudit
// categories and the service that logs them
// (https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit;
// reference entra-revocation.md §7).
const (
	CategoryUserManagement        = "UserManagement"
	CategoryGroupManagement       = "GroupManagement"
	CategoryRoleManagement        = "RoleManagement"
	CategoryApplicationManagement = "ApplicationManagement"
	// LoggedByCoreDirectory is loggedByService of every directory record.
	LoggedByCoreDirectory = "Core Directory"

	// ActivityRevokeSessions is the activity of a revocation (§7); the
	// property it changes is PropStsRefreshTokensValidFrom.
	ActivityRevokeSessions        = "Update StsRefreshTokenValidFrom Timestamp"
	PropStsRefreshTokensValidFrom = "StsRefreshTokensValidFrom"
)

// Audit target types (Graph targetResource.type).
const (
	TargetUser             = "User"
	TargetGroup            = "Group"
	TargetRole             = "Role"
	TargetApplication      = "Application"
	TargetServicePrincipal = "ServicePrincipal"
	TargetOther            = "Other"
)

// AuditEntry is one directory audit record before it is stored: the fields
// of Graph's directoryAudit that vary. Record fills the rest (result
// "success", loggedByService "Core Directory") and renders initiatedBy and
// targetResources in Graph's JSON shape.
type AuditEntry struct {
	At            time.Time
	Activity      string // activityDisplayName, e.g. "Add user"
	Category      string // e.g. CategoryUserManagement
	OperationType string // "Add", "Update", "Delete", "Assign", "Unassign"
	CorrelationID string
	Initiator     Initiator
	Targets       []AuditTarget
	// Details are additionalDetails key/value pairs.
	Details []KeyValue

	// initiatedBy, when set, is Initiator.InitiatedBy() computed once for
	// many entries.
	initiatedBy []byte
}

// AuditTarget is a Graph targetResource.
type AuditTarget struct {
	ID                 string
	DisplayName        string
	Type               string // TargetUser, …
	UserPrincipalName  string // users only
	ModifiedProperties []ModifiedProperty
}

// ModifiedProperty is a Graph modifiedProperty. OldValue and NewValue are
// JSON texts as Entra writes them: a JSON array of the values, e.g.
// `["2024-05-01T10:00:00Z"]` (see JSONValue).
type ModifiedProperty struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

// KeyValue is a Graph keyValue (additionalDetails).
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JSONValue renders values as Entra renders a modified property's old or
// new value: a JSON array text, e.g. JSONValue("a") is `["a"]` and
// JSONValue() is `[]`. Times are written in RFC 3339, UTC, to the second.
func JSONValue(values ...any) string {
	if len(values) == 1 {
		if t, ok := values[0].(time.Time); ok { // the hot path: no escaping needed
			return `["` + t.UTC().Format(time.RFC3339) + `"]`
		}
	}
	out := make([]any, 0, len(values))
	for _, v := range values {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339)
		}
		out = append(out, v)
	}
	b, _ := json.Marshal(out) // strings, bools, numbers
	return string(b)
}

// targetJSON is Graph's targetResource as stored; members in name order,
// as the stored records have always been written.
type targetJSON struct {
	DisplayName        *string            `json:"displayName"`
	GroupType          *string            `json:"groupType"`
	ID                 string             `json:"id"`
	ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
	Type               string             `json:"type"`
	UserPrincipalName  *string            `json:"userPrincipalName"`
}

// Record renders e as a store.AuditRecord with the given id.
func (e AuditEntry) Record(id string) store.AuditRecord {
	targets := make([]targetJSON, len(e.Targets))
	ids := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		mods := t.ModifiedProperties
		if mods == nil {
			mods = []ModifiedProperty{}
		}
		targets[i] = targetJSON{DisplayName: optional(t.DisplayName), ID: t.ID, ModifiedProperties: mods, Type: t.Type, UserPrincipalName: optional(t.UserPrincipalName)}
		ids[i] = t.ID
	}
	details := e.Details
	if details == nil {
		details = []KeyValue{}
	}
	tb, _ := json.Marshal(targets) // strings only
	db, _ := json.Marshal(details)
	r := store.AuditRecord{
		ID:                  id,
		ActivityDateTime:    e.At.UTC(),
		ActivityDisplayName: e.Activity,
		Category:            e.Category,
		CorrelationID:       e.CorrelationID,
		OperationType:       e.OperationType,
		Result:              "success",
		LoggedByService:     LoggedByCoreDirectory,
		InitiatedBy:         e.initiatedBy,
		TargetResources:     tb,
		AdditionalDetails:   db,
		TargetIDs:           ids,
	}
	if r.InitiatedBy == nil {
		r.InitiatedBy = e.Initiator.InitiatedBy()
	}
	if p := e.Initiator.Principal; p != nil {
		if p.Kind == authz.Delegated {
			r.InitiatorUserID = p.ObjectID
		} else {
			r.InitiatorAppID = p.ClientID
		}
	}
	return r
}

// optional maps "" to nil (JSON null), as Graph writes absent strings.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// SystemDisplayName is the app display name of changes the system makes on
// its own (Initiator with no Principal).
const SystemDisplayName = "Vigil"

// InitiatedBy renders in as Graph's auditActivityInitiator: {"user": {id,
// displayName, userPrincipalName, ipAddress}, "app": null} for a delegated
// caller, {"user": null, "app": {appId, displayName, servicePrincipalId,
// servicePrincipalName}} for an application, and an app named "Vigil" with
// no ids for the system.
func (in Initiator) InitiatedBy() json.RawMessage {
	var v map[string]any
	p := in.Principal
	switch {
	case p == nil:
		v = map[string]any{"user": nil, "app": map[string]any{
			"appId": nil, "displayName": SystemDisplayName, "servicePrincipalId": nil, "servicePrincipalName": nil,
		}}
	case p.Kind == authz.Delegated:
		v = map[string]any{"app": nil, "user": map[string]any{
			"id": p.ObjectID, "displayName": nullable(in.DisplayName),
			"userPrincipalName": nullable(in.UserPrincipalName), "ipAddress": nullable(in.IPAddress),
		}}
	default:
		v = map[string]any{"user": nil, "app": map[string]any{
			"appId": nullable(p.ClientID), "displayName": nullable(in.AppDisplayName),
			"servicePrincipalId": nullable(p.ObjectID), "servicePrincipalName": nullable(in.AppDisplayName),
		}}
	}
	b, _ := json.Marshal(v) // strings and nils
	return b
}

// nullable maps "" to JSON null, as Graph writes absent strings.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
