package vigilapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// Paging of revocation results, as Graph pages: $top and an opaque
// $skiptoken carried by an absolute @odata.nextLink.
const (
	defaultResultsTop = 100
	maxResultsTop     = 999
)

// resultsQuery lists the query parameters of GET /revocations/{id}/results.
var resultsQuery = []string{"outcome", "$top", "$skiptoken"}

// resultJSON is one target's outcome: userId, or sessionId for a session
// target.
type resultJSON struct {
	UserID    string    `json:"userId,omitempty"`
	SessionID string    `json:"sessionId,omitempty"`
	Outcome   string    `json:"outcome"`
	Detail    *string   `json:"detail"`
	At        time.Time `json:"at"`
}

// resultsPage is one page of results.
type resultsPage struct {
	NextLink string       `json:"@odata.nextLink,omitempty"`
	Value    []resultJSON `json:"value"`
}

// listRevocationResults is GET /revocations/{id}/results.
func (a *API) listRevocationResults(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	rev, _, err := a.readableRevocation(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	for name, vs := range q {
		switch {
		case !slices.Contains(resultsQuery, name):
			return badRequest("Unknown query parameter '%s'; this resource takes outcome, $top and $skiptoken.", name)
		case len(vs) > 1:
			return badRequest("The query parameter '%s' is given more than once.", name)
		}
	}
	outcome := q.Get("outcome")
	top := defaultResultsTop
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxResultsTop {
			return badRequest("Invalid value '%s' for $top: give a whole number from 1 to %d.", v, maxResultsTop)
		}
		top = n
	}
	var cursor string
	if tok := q.Get("$skiptoken"); tok != "" {
		if cursor, err = openSkipToken(tok, rev.ID, outcome); err != nil {
			return err
		}
	}
	page, err := a.Revocations.Results(r.Context(), rev.ID, outcome, store.Query{Top: top, Cursor: cursor})
	if err != nil {
		return err
	}
	sessions := sessionTargets(rev)
	out := resultsPage{Value: make([]resultJSON, 0, len(page.Items))}
	for _, it := range page.Items {
		res := resultJSON{Outcome: it.Outcome, At: it.At.UTC()}
		if sessions {
			res.SessionID = it.UserID
		} else {
			res.UserID = it.UserID
		}
		if it.Detail != "" {
			res.Detail = &it.Detail
		}
		out.Value = append(out.Value, res)
	}
	if page.Next != "" {
		next := url.Values{}
		if outcome != "" {
			next.Set("outcome", outcome)
		}
		next.Set("$top", strconv.Itoa(top))
		next.Set("$skiptoken", sealSkipToken(rev.ID, outcome, page.Next))
		out.NextLink = a.revocationURL(rev.ID) + "/results?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// sessionTargets reports whether rev's targets are sessions (a sessionIds
// job, or one session ended): its stored selector names sessionIds.
func sessionTargets(rev store.Revocation) bool {
	var sel struct {
		SessionIDs []string `json:"sessionIds"`
	}
	return json.Unmarshal(rev.Selector, &sel) == nil && len(sel.SessionIDs) > 0
}

// skipTokenVersion starts every $skiptoken, so the format can change.
const skipTokenVersion = "r1"

// sealSkipToken wraps a store cursor with the revocation and outcome it
// pages, so it cannot be replayed against another listing.
func sealSkipToken(id, outcome, cursor string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join([]string{skipTokenVersion, id, outcome, cursor}, "\x00")))
}

// openSkipToken returns the store cursor of a $skiptoken made by
// sealSkipToken for the same revocation and outcome.
func openSkipToken(tok, id, outcome string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	parts := strings.SplitN(string(b), "\x00", 4)
	if err != nil || len(parts) != 4 || parts[0] != skipTokenVersion || parts[1] != id || parts[2] != outcome {
		return "", badRequest("The $skiptoken value is invalid: use the @odata.nextLink of the previous page as it is.")
	}
	return parts[3], nil
}
