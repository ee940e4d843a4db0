package vigilapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// Revocations (Vigil API, design README "Vigil API"):
//
//	POST /revocations                 start a bulk revocation (or a dry run)
//	GET  /revocations/{id}            the revocation resource
//	GET  /revocations/{id}/results    per-target outcomes, paged
//
// The body of POST names exactly one selector: {"userIds": [...]} (object
// ids or userPrincipalNames),
// {"filter": "<OData $filter on users>"}, {"groupId": "...", "transitive":
// bool} or {"sessionIds": [...]}; "reason" (string) and "dryRun" (bool)
// are optional; any other member is a 400. A job answers 202 with the
// revocation resource and Location <issuer>/vigil/v1/revocations/{id}; the
// engine's worker runs it. A dry run answers 200 {"targeted": n, "sample":
// [up to 20 users in Graph's default user shape]} and changes nothing.
//
// Idempotency-Key (header, 1 to 255 printable ASCII characters, scoped to
// the caller): the same key with the same request answers 202 with the job
// it created first, in its current state, and creates nothing; with a
// different request, 409 Conflict.
//
// The resource is
//
//	{"id", "status": "pending"|"running"|"completed"|"failed",
//	 "validFrom": time|null (set when the job starts), "targeted",
//	 "revoked", "denied", "failed", "reason": string|null,
//	 "createdBy": {"user": {...}|null, "app": {...}|null} (Graph's
//	 auditActivityInitiator), "createdAt", "completedAt": time|null,
//	 "receipts": [{"streamId", "receiver", "status", "deliveredAt",
//	 "acknowledgedAt"}], "effectiveAt": time (absent until then)}
//
// with times in RFC 3339 UTC to the microsecond. effectiveAt is present
// once the job completed and every SSF stream that should receive its
// events acknowledged them: the latest acknowledgement. With no stream to
// receive them there is no effectiveAt.
//
// Results are {"@odata.nextLink": url (absent on the last page), "value":
// [{"userId", "outcome": "revoked"|"denied"|"failed", "detail":
// string|null, "at"}]}, ordered by target id; ?outcome= keeps one outcome,
// $top (1 to 999, default 100) sizes pages. In a sessionIds job the target
// is a session and "sessionId" replaces "userId" (detail names the user).
//
// Permissions: POST needs Vigil.Revocations.ReadWrite.All; reads need it
// or Vigil.Revocations.Read.All. An application holding it acts on any
// user. A signed-in user holding the scope is let in whatever their
// roles: each target is then authorized with Entra's "who can reset
// passwords" matrix (authz.CanActOnUser, through asRevoker), and the
// targets their roles do not cover are counted in "denied" and listed in
// the results with the reason, never skipped silently. A signed-in user
// reads every revocation with a role of revocationReaderRoles, otherwise
// only those they created.

// Revocations is what the API needs of the revocation engine;
// *revocation.Service satisfies it.
type Revocations interface {
	Submit(ctx context.Context, in revocation.Initiator, req revocation.Request, idempotencyKey string) (*store.Revocation, *revocation.DryRun, error)
	Get(ctx context.Context, id string) (store.Revocation, []store.Receipt, error)
	Results(ctx context.Context, id, outcome string, q store.Query) (store.Page[store.RevocationResult], error)
	RevokeSession(ctx context.Context, in revocation.Initiator, sid string, opts revocation.Options) (store.Revocation, error)
}

var _ Revocations = (*revocation.Service)(nil)

// ReceiptSource reports, for a revocation, one receipt per SSF stream that
// should receive its events and effectiveAt (nil until every one of them
// acknowledged, and when there is none); *ssfserver.Server satisfies it.
type ReceiptSource interface {
	Receipts(ctx context.Context, revocationID string) ([]store.Receipt, *time.Time, error)
}

var (
	revocationsWrite = permission{names: []string{authz.PermRevocationsReadWriteAll}, perTarget: true}
	revocationsRead  = permission{names: []string{authz.PermRevocationsReadAll, authz.PermRevocationsReadWriteAll}, perTarget: true}
)

// revocationReaderRoles read every revocation with a delegated token: the
// roles of Entra's revocation matrix, and the global and security readers
// and administrators.
var revocationReaderRoles = []string{
	"62e90394-69f5-4237-9190-012177145e10", // Global Administrator
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", // Privileged Authentication Administrator
	"c4e39bd9-1100-46d3-8c65-fb160da0071f", // Authentication Administrator
	"fe930be7-5e62-47db-91af-98c3a49a38b1", // User Administrator
	"729827e3-9c14-49f7-bb1b-9608f156bbb8", // Helpdesk Administrator
	"966707d0-3269-4727-9be2-8c3a10f19b9d", // Password Administrator
	"194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
	"5d6b6bb7-de71-4623-b4af-96380a352509", // Security Reader
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451", // Global Reader
}

// revocationBodyLimit is the body limit of POST /revocations, whatever
// API.MaxBodyBytes says: room for the engine's revocation.MaxTargetIDs
// GUIDs (quoted, with a comma: 39 bytes each) and the rest of the body.
const revocationBodyLimit = revocation.MaxTargetIDs*39 + DefaultMaxBodyBytes

func (a *API) revocationRoutes() []route {
	return []route{
		{method: http.MethodPost, pattern: "/revocations", perm: revocationsWrite, h: a.createRevocation, minBodyLimit: revocationBodyLimit},
		{method: http.MethodGet, pattern: "/revocations/{id}", perm: revocationsRead, h: a.getRevocation},
		{method: http.MethodGet, pattern: "/revocations/{id}/results", perm: revocationsRead, h: a.listRevocationResults},
	}
}

// Request members of POST /revocations.
const (
	memberUserIDs    = "userIds"
	memberFilter     = "filter"
	memberGroupID    = "groupId"
	memberTransitive = "transitive"
	memberSessionIDs = "sessionIds"
	memberReason     = "reason"
	memberDryRun     = "dryRun"
)

var (
	selectorMembers = []string{memberUserIDs, memberFilter, memberGroupID, memberSessionIDs}
	requestMembers  = []string{memberUserIDs, memberFilter, memberGroupID, memberTransitive, memberSessionIDs, memberReason, memberDryRun}
)

const msgOneSelector = "give exactly one of userIds, filter, groupId or sessionIds"

// readRevocationRequest reads the body of POST /revocations: a JSON object
// with only the known members, each of its type, and exactly one
// selector, none of them empty. The engine checks the rest (ids, the
// filter with the position of its error, limits).
func readRevocationRequest(r *http.Request) (revocation.Request, error) {
	var req revocation.Request
	var body map[string]json.RawMessage
	if err := decodeJSON(r, &body); err != nil {
		return req, err
	}
	if body == nil {
		return req, badRequest("The request body must be a JSON object: %s.", msgOneSelector)
	}
	var unknown []string
	for name := range body {
		if !slices.Contains(requestMembers, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return req, badRequest("Unknown member '%s' in the request body; the members are %s.",
			strings.Join(unknown, "', '"), strings.Join(requestMembers, ", "))
	}
	var named []string
	for _, name := range selectorMembers {
		if v, ok := body[name]; ok && string(v) != "null" {
			named = append(named, name)
		}
	}
	switch len(named) {
	case 0:
		return req, badRequest("The request names no targets: %s.", msgOneSelector)
	case 1:
	default:
		list := strings.Join(named[:len(named)-1], ", ") + " and " + named[len(named)-1]
		return req, badRequest("The request names %s: %s.", list, msgOneSelector)
	}
	fields := []struct {
		name string
		dst  any
		what string
	}{
		{memberUserIDs, &req.UserIDs, "an array of user ids"},
		{memberFilter, &req.Filter, "a string"},
		{memberGroupID, &req.GroupID, "a string"},
		{memberTransitive, &req.Transitive, "true or false"},
		{memberSessionIDs, &req.SessionIDs, "an array of session ids"},
		{memberReason, &req.Reason, "a string"},
		{memberDryRun, &req.DryRun, "true or false"},
	}
	for _, f := range fields {
		if v, ok := body[f.name]; ok {
			if err := json.Unmarshal(v, f.dst); err != nil {
				return req, badRequest("%s must be %s.", f.name, f.what)
			}
		}
	}
	switch named[0] {
	case memberUserIDs:
		if len(req.UserIDs) == 0 {
			return req, badRequest("userIds is empty: name at least one user.")
		}
	case memberSessionIDs:
		if len(req.SessionIDs) == 0 {
			return req, badRequest("sessionIds is empty: name at least one session.")
		}
	case memberFilter:
		if strings.TrimSpace(req.Filter) == "" {
			return req, badRequest("filter is empty: give an OData $filter on users, such as \"department eq 'Sales'\".")
		}
	case memberGroupID:
		if strings.TrimSpace(req.GroupID) == "" {
			return req, badRequest("groupId is empty: give a group's id.")
		}
	}
	return req, nil
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// idempotencyKey reads the Idempotency-Key header ("" when absent).
func idempotencyKey(r *http.Request) (string, error) {
	vs := r.Header.Values("Idempotency-Key")
	if len(vs) == 0 {
		return "", nil
	}
	k := strings.TrimSpace(vs[0])
	if len(vs) > 1 || k == "" || len(k) > maxIdempotencyKey || !printable(k) {
		return "", badRequest("The Idempotency-Key header must be one value of 1 to %d printable ASCII characters.", maxIdempotencyKey)
	}
	return k, nil
}

// createRevocation is POST /revocations.
func (a *API) createRevocation(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	req, err := readRevocationRequest(r)
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	in, err := a.initiator(r, p)
	if err != nil {
		return err
	}
	job, dry, err := a.Revocations.Submit(r.Context(), in, req, key)
	if err != nil {
		return err
	}
	if dry != nil {
		sample := make([]graphUser, len(dry.Sample))
		for i, u := range dry.Sample {
			sample[i] = graphUserOf(u)
		}
		writeJSON(w, http.StatusOK, dryRunResource{Targeted: dry.Targeted, Sample: sample})
		return nil
	}
	res, err := a.revocationResource(r.Context(), *job, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Location", a.revocationURL(job.ID))
	writeJSON(w, http.StatusAccepted, res)
	return nil
}

// revocationURL is the absolute URL of a revocation resource.
func (a *API) revocationURL(id string) string {
	return strings.TrimSuffix(a.Issuer, "/") + PathPrefix + "/revocations/" + id
}

// readableRevocation reads revocation {id} for p: 404 when unknown, 403
// for a signed-in user without a reader role who did not create it.
func (a *API) readableRevocation(r *http.Request, p *authz.Principal) (store.Revocation, []store.Receipt, error) {
	rev, rs, err := a.Revocations.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return rev, nil, err
	}
	if p.Kind == authz.Delegated && !holdsRole(p, revocationReaderRoles) && !strings.EqualFold(rev.CreatedByID, p.ObjectID) {
		return rev, nil, apiError(http.StatusForbidden, codeAccessDenied,
			"Insufficient privileges to complete the operation: a user without an administrator or reader role reads only the revocations they created.", nil)
	}
	return rev, rs, nil
}

// getRevocation is GET /revocations/{id}.
func (a *API) getRevocation(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	rev, rs, err := a.readableRevocation(r, p)
	if err != nil {
		return err
	}
	res, err := a.revocationResource(r.Context(), rev, rs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// revocationJSON is the revocation resource.
type revocationJSON struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	ValidFrom   *time.Time      `json:"validFrom"`
	Targeted    int             `json:"targeted"`
	Revoked     int             `json:"revoked"`
	Denied      int             `json:"denied"`
	Failed      int             `json:"failed"`
	Reason      *string         `json:"reason"`
	CreatedBy   json.RawMessage `json:"createdBy"`
	CreatedAt   time.Time       `json:"createdAt"`
	CompletedAt *time.Time      `json:"completedAt"`
	Receipts    []receiptJSON   `json:"receipts"`
	EffectiveAt *time.Time      `json:"effectiveAt,omitempty"`
}

// receiptJSON is one SSF stream's receipt of a revocation.
type receiptJSON struct {
	StreamID       string     `json:"streamId"`
	Receiver       string     `json:"receiver"`
	Status         string     `json:"status"`
	DeliveredAt    *time.Time `json:"deliveredAt"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt"`
}

// revocationResource renders rev. Its receipts come from Receipts when
// set; otherwise they are stored (the engine's Get), and effectiveAt is
// the latest acknowledgement when every one is acknowledged. effectiveAt
// is shown only for a completed job: until then more events may come.
func (a *API) revocationResource(ctx context.Context, rev store.Revocation, stored []store.Receipt) (revocationJSON, error) {
	rs, effective := stored, effectiveAt(stored)
	if a.Receipts != nil {
		var err error
		if rs, effective, err = a.Receipts.Receipts(ctx, rev.ID); err != nil {
			return revocationJSON{}, fmt.Errorf("vigilapi: receipts of %s: %w", rev.ID, err)
		}
	}
	out := revocationJSON{
		ID: rev.ID, Status: rev.Status, ValidFrom: utcOrNil(&rev.ValidFrom),
		Targeted: rev.Targeted, Revoked: rev.Revoked, Denied: rev.Denied, Failed: rev.Failed,
		CreatedBy: json.RawMessage("null"), CreatedAt: rev.CreatedAt.UTC().Truncate(time.Microsecond), CompletedAt: utcOrNil(rev.CompletedAt),
		Receipts: make([]receiptJSON, 0, len(rs)),
	}
	if rev.Reason != "" {
		out.Reason = &rev.Reason
	}
	if json.Valid(rev.CreatedBy) {
		out.CreatedBy = rev.CreatedBy
	}
	for _, rc := range rs {
		out.Receipts = append(out.Receipts, receiptJSON{
			StreamID: rc.StreamID, Receiver: rc.Receiver, Status: rc.Status,
			DeliveredAt: utcOrNil(rc.DeliveredAt), AcknowledgedAt: utcOrNil(rc.AcknowledgedAt),
		})
	}
	if rev.Status == store.RevocationCompleted {
		out.EffectiveAt = utcOrNil(effective)
	}
	return out, nil
}

// receiptAcknowledged is the status of a receipt whose events were all
// acknowledged.
const receiptAcknowledged = "acknowledged"

// effectiveAt is the latest acknowledgement of rs when every receipt is
// acknowledged; nil otherwise and when there is none.
func effectiveAt(rs []store.Receipt) *time.Time {
	var at *time.Time
	for _, rc := range rs {
		if rc.Status != receiptAcknowledged || rc.AcknowledgedAt == nil {
			return nil
		}
		if at == nil || rc.AcknowledgedAt.After(*at) {
			at = rc.AcknowledgedAt
		}
	}
	return at
}

// utcOrNil is t in UTC to the microsecond (what the store keeps, and
// what the resource promises: live receipts carry the clock's
// nanoseconds), or nil for nil and the zero time.
func utcOrNil(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// dryRunResource is the answer to a dry run.
type dryRunResource struct {
	Targeted int         `json:"targeted"`
	Sample   []graphUser `json:"sample"`
}

// graphUser is a user in Graph's default shape (the properties GET /users
// returns without $select, in Graph's order; preferredLanguage is not
// stored and always null).
type graphUser struct {
	BusinessPhones    []string `json:"businessPhones"`
	DisplayName       string   `json:"displayName"`
	GivenName         *string  `json:"givenName"`
	JobTitle          *string  `json:"jobTitle"`
	Mail              *string  `json:"mail"`
	MobilePhone       *string  `json:"mobilePhone"`
	OfficeLocation    *string  `json:"officeLocation"`
	PreferredLanguage *string  `json:"preferredLanguage"`
	Surname           *string  `json:"surname"`
	UserPrincipalName string   `json:"userPrincipalName"`
	ID                string   `json:"id"`
}

func graphUserOf(u store.User) graphUser {
	phones := u.BusinessPhones
	if phones == nil {
		phones = []string{}
	}
	return graphUser{
		BusinessPhones: phones, DisplayName: u.DisplayName, GivenName: u.GivenName, JobTitle: u.JobTitle,
		Mail: u.Mail, MobilePhone: u.MobilePhone, OfficeLocation: u.OfficeLocation, Surname: u.Surname,
		UserPrincipalName: u.UserPrincipalName, ID: u.ID,
	}
}
