package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

func newGraphCmd(s *state) *cobra.Command {
	var (
		body    string
		headers []string
	)
	cmd := &cobra.Command{
		Use:   "graph METHOD PATH",
		Short: "Send a raw request to the Graph API (or the Vigil API), like Invoke-MgGraphRequest",
		Long: `Send a raw request with the CLI's credentials and print the answer. PATH is
below /v1.0 ("/users?$top=5"), or starts with /v1.0/ or /vigil/v1/ (the Vigil API,
sent with a Vigil API token). The answer is printed as JSON: indented on a
terminal, as received when piped; -o jsonl prints a collection's items one per
line, -o table as a table. An error answer exits 1, 2 (400) or 3 (401, 403).`,
		Example: `  vigil graph GET '/users?$filter=department eq '\''HP'\''&$count=true' -H 'ConsistencyLevel: eventual'
  vigil graph POST /users/ada@vigil.local/revokeSignInSessions
  vigil graph PATCH /users/ada@vigil.local --body '{"jobTitle":"Engineer"}'
  vigil graph POST /vigil/v1/revocations --body @bulk.json`,
		Args: nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			method := strings.ToUpper(args[0])
			switch method {
			case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
			default:
				return usagef("METHOD %q: use GET, POST, PATCH, PUT or DELETE", args[0])
			}
			p := args[1]
			if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
				p = "/" + p
			}
			if strings.HasPrefix(p, "/") && !strings.HasPrefix(p, graphPrefix+"/") && !strings.HasPrefix(p, vigilPrefix+"/") {
				p = graphPrefix + p
			}
			rq := request{method: method, path: p, header: http.Header{}}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return usagef("-H %q: use 'Name: value'", h)
				}
				rq.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if body != "" {
				b, err := s.readBody(body)
				if err != nil {
					return err
				}
				rq.body = b
			}
			c, err := s.apiClient(cmd.Context())
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), rq)
			if err != nil {
				return err
			}
			return s.printRaw(resp)
		},
	}
	cmd.Flags().StringVar(&body, "body", "", "request body: @FILE, - for stdin, or inline JSON")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "extra request header 'Name: value' (repeatable)")
	s.addURLFlag(cmd)
	s.addOutputFlags(cmd)
	return cmd
}

// printRaw prints an answer of `vigil graph`.
func (s *state) printRaw(resp *response) error {
	out := s.env.Stdout
	if len(bytes.TrimSpace(resp.body)) == 0 {
		if s.env.StdoutTTY {
			fmt.Fprintf(s.env.Stderr, "%d %s\n", resp.status, http.StatusText(resp.status))
		}
		return nil
	}
	if !json.Valid(resp.body) {
		_, err := out.Write(resp.body)
		return err
	}
	if s.output == "" && len(s.columns) == 0 {
		if !s.env.StdoutTTY {
			_, err := out.Write(append(bytes.TrimRight(resp.body, "\n"), '\n'))
			return err
		}
		var b bytes.Buffer
		if err := json.Indent(&b, resp.body, "", "  "); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := out.Write(b.Bytes())
		return err
	}
	var coll struct {
		Value []json.RawMessage `json:"value"`
	}
	isColl := json.Unmarshal(resp.body, &coll) == nil && coll.Value != nil
	p, err := s.newPrinter(printerOpts{single: !isColl, vertical: !isColl})
	if err != nil {
		return err
	}
	items := coll.Value
	if !isColl {
		items = []json.RawMessage{resp.body}
	}
	for _, it := range items {
		if err := p.add(it); err != nil {
			return err
		}
	}
	return p.close()
}
