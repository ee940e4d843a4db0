package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// pageSize is the largest $top Graph accepts (1–999).
const pageSize = 999

// page is one page of a Graph collection.
type page struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@odata.nextLink"`
}

// list calls fn for every item of the collection at path, following every
// @odata.nextLink; top > 0 stops after that many items. header is sent
// with every page (ConsistencyLevel).
func (c *Client) list(ctx context.Context, path string, q url.Values, header http.Header, top int, fn func(json.RawMessage) error) error {
	seen := 0
	next, query := path, q
	for next != "" {
		resp, err := c.do(ctx, request{method: http.MethodGet, path: next, query: query, header: header})
		if err != nil {
			return err
		}
		var p page
		if err := decodeBody(resp, &p); err != nil {
			return err
		}
		for _, item := range p.Value {
			if err := fn(item); err != nil {
				return err
			}
			seen++
			if top > 0 && seen >= top {
				return nil
			}
		}
		// The next link carries the query (and $skiptoken) itself.
		next, query = p.NextLink, nil
	}
	return nil
}

// topFor is the $top of a collection's pages: no more than top items, and
// no more than Graph's maximum page.
func topFor(top int) string {
	if top > 0 && top < pageSize {
		return strconv.Itoa(top)
	}
	return strconv.Itoa(pageSize)
}
