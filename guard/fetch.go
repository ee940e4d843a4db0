package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxDocument bounds what the guard reads from any remote document
// (discovery, JWKS, stream configurations, poll responses).
const maxDocument = 4 << 20

// statusError is a remote endpoint's non-2xx answer.
type statusError struct {
	Method, URL string
	Status      int
	Body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, e.Body)
}

// httpStatus returns the status of a *statusError in err's chain, or 0.
func httpStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// doJSON sends in (when non-nil) as JSON with method to url, with the
// bearer token when not empty, and decodes a 2xx answer into out (when
// non-nil). A non-2xx answer is a *statusError.
func doJSON(ctx context.Context, c *http.Client, method, url, bearer string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, url, err)
	}
	if len(raw) > maxDocument {
		return fmt.Errorf("%s %s: answer larger than %d bytes", method, url, maxDocument)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &statusError{Method: method, URL: url, Status: resp.StatusCode, Body: strings.TrimSpace(string(truncate(raw, 512)))}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, url, err)
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
