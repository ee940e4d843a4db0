package cli

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
)

// resolveBatch is how many users one lookup names: `id in (…)` with 100
// GUIDs keeps the URL near 5 KB.
const resolveBatch = 100

// resolveConcurrency is how many lookups run at once.
const resolveConcurrency = 4

// userRef is a user found by resolveUsers.
type userRef struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	ValidFrom         string `json:"signInSessionsValidFromDateTime"`
	target            target // what the caller named it by
}

// resolveUsers looks targets up with Graph list queries, resolveBatch at a
// time (`id in (…)`, `userPrincipalName in (…)`), a few at once: 10,000
// targets cost 100 requests instead of 10,000. found keeps the order of
// targets; missing are the targets no user matches.
func (c *Client) resolveUsers(ctx context.Context, targets []target, bar *progress) (found []userRef, missing []target, err error) {
	var byID, byUPN []target
	for _, t := range targets {
		if t.ID != "" {
			byID = append(byID, t)
		} else {
			byUPN = append(byUPN, t)
		}
	}
	type batch struct {
		prop    string
		targets []target
	}
	var batches []batch
	for prop, ts := range map[string][]target{"id": byID, "userPrincipalName": byUPN} {
		for len(ts) > 0 {
			n := min(resolveBatch, len(ts))
			batches = append(batches, batch{prop, ts[:n]})
			ts = ts[n:]
		}
	}
	var (
		mu    sync.Mutex
		users = map[string]userRef{} // target key → user
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, resolveConcurrency)
	)
	for _, b := range batches {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := c.lookup(ctx, b.prop, b.targets)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmpErr(first, err)
				return
			}
			for k, u := range got {
				users[k] = u
			}
			bar.add(len(b.targets))
		})
	}
	wg.Wait()
	if first != nil {
		return nil, nil, first
	}
	for _, t := range targets {
		if u, ok := users[t.key()]; ok {
			u.target = t
			found = append(found, u)
		} else {
			missing = append(missing, t)
		}
	}
	return found, missing, nil
}

// lookup finds the users whose prop is one of the targets' values, keyed
// by target key.
func (c *Client) lookup(ctx context.Context, prop string, targets []target) (map[string]userRef, error) {
	vals := make([]string, len(targets))
	for i, t := range targets {
		v := t.ID
		if prop != "id" {
			v = t.UPN
		}
		vals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	q := url.Values{
		"$filter": {prop + " in (" + strings.Join(vals, ",") + ")"},
		"$select": {"id,userPrincipalName,signInSessionsValidFromDateTime"},
		"$top":    {topFor(0)},
	}
	out := map[string]userRef{}
	err := c.list(ctx, graphPrefix+"/users", q, nil, 0, func(item json.RawMessage) error {
		var u userRef
		if err := json.Unmarshal(item, &u); err != nil {
			return failf("the server sent a user that is not the JSON expected: %v", err)
		}
		if prop == "id" {
			out[target{ID: u.ID}.key()] = u
		} else {
			out[target{UPN: u.UserPrincipalName}.key()] = u
		}
		return nil
	})
	return out, err
}
