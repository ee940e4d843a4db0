package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// Audit activity display names of directory writes: Entra's, from
// "Microsoft Entra audit log activity reference"
// (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities)
// and reference entra-revocation.md §7. Account disable, enable, user
// delete and password changes are audited by revocation.ApplyInTx
// ("Disable account", "Enable account", "Delete user", "Reset user
// password" / "Change user password").
const (
	ActivityAddUser                 = "Add user"
	ActivityUpdateUser              = "Update user"
	ActivityAddGroup                = "Add group"
	ActivityUpdateGroup             = "Update group"
	ActivityDeleteGroup             = "Delete group"
	ActivityAddMember               = "Add member to group"
	ActivityRemoveMember            = "Remove member from group"
	ActivityAddRoleMember           = "Add member to role"
	ActivityRemoveRoleMember        = "Remove member from role"
	ActivityAddApplication          = "Add application"
	ActivityUpdateApplication       = "Update application"
	ActivityDeleteApplication       = "Delete application"
	ActivityUpdateAppSecrets        = "Update application – Certificates and secrets management"
	ActivityAddServicePrincipal     = "Add service principal"
	ActivityRemoveServicePrincipal  = "Remove service principal"
	ActivityAddAppRoleAssignment    = "Add app role assignment to service principal"
	ActivityRemoveAppRoleAssignment = "Remove app role assignment from service principal"

	// propIncludedUpdatedProperties is Entra's summary entry of an
	// update's modifiedProperties.
	propIncludedUpdatedProperties = "Included Updated Properties"
)

// Audit operation types (Graph directoryAudit.operationType).
const (
	opAdd      = "Add"
	opUpdate   = "Update"
	opDelete   = "Delete"
	opAssign   = "Assign"
	opUnassign = "Unassign"
)

// WithInitiator returns a context whose directory writes are attributed to
// in (revocation.WithInitiator): the audit record's initiatedBy, the
// initiating_entity of the events of account disable, delete and password
// changes, and the authority nothing else checks (the directory does not
// authorize; internal/graph does before calling it). The HTTP layer sets
// it per request. Without it, the principal of authz.WithPrincipal is used
// (with no display names), and without that the write is attributed to
// the system.
func WithInitiator(ctx context.Context, in revocation.Initiator) context.Context {
	return revocation.WithInitiator(ctx, in)
}

// initiator returns who makes the writes done with ctx.
func initiator(ctx context.Context) revocation.Initiator { return revocation.InitiatorFrom(ctx) }

// change is one audited directory write. correlation groups the records
// of one operation; "" means a new id.
type change struct {
	activity, category, operation string
	targets                       []revocation.AuditTarget
	details                       []revocation.KeyValue
	correlation                   string
	at                            time.Time // zero: now
}

// audit appends the record of c in tx, attributed to ctx's initiator.
func (s *Service) audit(ctx context.Context, tx store.Audit, c change) error {
	if c.correlation == "" {
		c.correlation = s.newID()
	}
	if c.at.IsZero() {
		c.at = s.now()
	}
	e := revocation.AuditEntry{
		At: c.at, Activity: c.activity, Category: c.category, OperationType: c.operation,
		CorrelationID: c.correlation, Initiator: initiator(ctx), Targets: c.targets, Details: c.details,
	}
	if err := tx.AppendAudit(ctx, e.Record(s.newID())); err != nil {
		return fmt.Errorf("directory: audit %s: %w", c.activity, err)
	}
	return nil
}

// audited runs write and then appends the audit record of c, in one
// transaction.
func (s *Service) audited(ctx context.Context, c change, write func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		return s.audit(ctx, tx, c)
	})
}

// prop is one audited property change; old and new are values (nil for
// absent) rendered as Entra renders them (revocation.JSONValue).
type prop struct {
	name     string
	old, new any
}

// modified renders changes as modifiedProperties, followed by Entra's
// "Included Updated Properties" summary; unchanged properties are left
// out.
func modified(props []prop) []revocation.ModifiedProperty {
	var out []revocation.ModifiedProperty
	var names []string
	for _, p := range props {
		old, nw := values(p.old), values(p.new)
		if old == nw {
			continue
		}
		out = append(out, revocation.ModifiedProperty{DisplayName: p.name, OldValue: old, NewValue: nw})
		names = append(names, p.name)
	}
	if len(names) > 0 {
		out = append(out, revocation.ModifiedProperty{
			DisplayName: propIncludedUpdatedProperties, OldValue: "", NewValue: `"` + strings.Join(names, ", ") + `"`,
		})
	}
	return out
}

// values renders one property value as a JSON array text: nil and empty
// lists as [], a list as its elements, a pointer as what it points to.
func values(v any) string {
	switch x := v.(type) {
	case nil:
		return revocation.JSONValue()
	case *string:
		if x == nil {
			return revocation.JSONValue()
		}
		return revocation.JSONValue(*x)
	case []string:
		vs := make([]any, len(x))
		for i, s := range x {
			vs[i] = s
		}
		return revocation.JSONValue(vs...)
	}
	return revocation.JSONValue(v)
}

// userProps lists the audited properties of u (never the password), named
// as Entra's audit log spells them.
func userProps(u store.User) []prop {
	return []prop{
		{name: "AccountEnabled", new: u.AccountEnabled},
		{name: "DisplayName", new: u.DisplayName},
		{name: "UserPrincipalName", new: u.UserPrincipalName},
		{name: "MailNickname", new: u.MailNickname},
		{name: "GivenName", new: u.GivenName},
		{name: "Surname", new: u.Surname},
		{name: "Mail", new: u.Mail},
		{name: "JobTitle", new: u.JobTitle},
		{name: "Department", new: u.Department},
		{name: "OfficeLocation", new: u.OfficeLocation},
		{name: "Mobile", new: u.MobilePhone},
		{name: "TelephoneNumber", new: u.BusinessPhones},
	}
}

// diffProps pairs the properties of old and new.
func diffProps(old, nw []prop) []prop {
	out := slices.Clone(nw)
	for i := range out {
		out[i].old = old[i].new
	}
	return out
}

// removed turns properties that describe an addition into their removal:
// each value becomes the old one and the new one is absent.
func removed(props []prop) []prop {
	out := make([]prop, len(props))
	for i, p := range props {
		out[i] = prop{name: p.name, old: p.new}
	}
	return out
}

// groupProps lists the audited properties of g.
func groupProps(g store.Group) []prop {
	return []prop{
		{name: "DisplayName", new: g.DisplayName},
		{name: "Description", new: g.Description},
		{name: "MailNickname", new: g.MailNickname},
		{name: "SecurityEnabled", new: g.SecurityEnabled},
		{name: "MailEnabled", new: g.MailEnabled},
		{name: "GroupTypes", new: g.GroupTypes},
		{name: "IsAssignableToRole", new: g.IsAssignableToRole},
	}
}

// appProps lists the audited properties of a.
func appProps(a store.Application) []prop {
	return []prop{
		{name: "AppId", new: a.AppID},
		{name: "DisplayName", new: a.DisplayName},
		{name: "IdentifierUris", new: a.IdentifierURIs},
		{name: "AppAddress", new: slices.Concat(a.WebRedirectURIs, a.PublicClientRedirectURIs, a.SPARedirectURIs)},
		{name: "IsFallbackPublicClient", new: a.IsFallbackPublicClient},
	}
}

func userTarget(u store.User, mods []revocation.ModifiedProperty) revocation.AuditTarget {
	return revocation.AuditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: revocation.TargetUser, UserPrincipalName: u.UserPrincipalName, ModifiedProperties: mods}
}

func groupTarget(g store.Group, mods []revocation.ModifiedProperty) revocation.AuditTarget {
	return revocation.AuditTarget{ID: g.ID, DisplayName: g.DisplayName, Type: revocation.TargetGroup, ModifiedProperties: mods}
}

func appTarget(a store.Application, mods []revocation.ModifiedProperty) revocation.AuditTarget {
	return revocation.AuditTarget{ID: a.ID, DisplayName: a.DisplayName, Type: revocation.TargetApplication, ModifiedProperties: mods}
}

func spTarget(sp store.ServicePrincipal, mods []revocation.ModifiedProperty) revocation.AuditTarget {
	return revocation.AuditTarget{ID: sp.ID, DisplayName: sp.DisplayName, Type: revocation.TargetServicePrincipal, ModifiedProperties: mods}
}

// objectTarget is the audit target of a member or role holder.
func objectTarget(o store.DirectoryObject, mods []revocation.ModifiedProperty) revocation.AuditTarget {
	switch {
	case o.User != nil:
		return userTarget(*o.User, mods)
	case o.Group != nil:
		return groupTarget(*o.Group, mods)
	case o.ServicePrincipal != nil:
		return spTarget(*o.ServicePrincipal, mods)
	}
	return revocation.AuditTarget{ID: o.ID(), Type: revocation.TargetOther, ModifiedProperties: mods}
}
