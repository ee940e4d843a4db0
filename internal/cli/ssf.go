package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

func newSSFCmd(s *state) *cobra.Command {
	streams := group(s, "streams", "SSF event streams: who receives revocation events",
		newSSFStreamsListCmd(s), newSSFStreamsStatusCmd(s))
	return group(s, "ssf", "The Shared Signals Framework transmitter", streams)
}

// ssfConfiguration is the part of the transmitter metadata (SSF 1.0 §7.1)
// the CLI uses.
type ssfConfiguration struct {
	ConfigurationEndpoint string `json:"configuration_endpoint"`
	StatusEndpoint        string `json:"status_endpoint"`
}

func (c *Client) ssfConfig(ctx context.Context) (*ssfConfiguration, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/.well-known/ssf-configuration", anonymous: true})
	if err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, failf("the server at %s has no SSF transmitter (no /.well-known/ssf-configuration)", c.base)
		}
		return nil, err
	}
	var cfg ssfConfiguration
	if err := decodeBody(resp, &cfg); err != nil {
		return nil, err
	}
	if cfg.ConfigurationEndpoint == "" {
		return nil, failf("the server's SSF metadata names no configuration_endpoint")
	}
	return &cfg, nil
}

// streamRow flattens a stream configuration (SSF 1.0 §8.1.1) for a table.
type streamRow struct {
	StreamID        string   `json:"stream_id"`
	Audience        any      `json:"aud"`
	DeliveryMethod  string   `json:"delivery_method"`
	EndpointURL     string   `json:"endpoint_url,omitempty"`
	EventsDelivered []string `json:"events_delivered"`
	Description     string   `json:"description,omitempty"`
}

func newSSFStreamsListCmd(s *state) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the SSF streams (receivers) of the transmitter",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			streams, err := s.ssfStreams(ctx)
			if err != nil {
				return err
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"stream_id", "aud", "delivery_method", "endpoint_url", "events_delivered"},
				empty: "No SSF streams."})
			if err != nil {
				return err
			}
			for _, st := range streams {
				if p.format == "table" && !p.selected {
					err = p.add(flattenStream(st))
				} else {
					err = p.add(st)
				}
				if err != nil {
					return err
				}
			}
			return p.close()
		},
	}
}

// ssfStreams reads every stream configuration: GET configuration_endpoint
// without stream_id lists them (SSF 1.0 §8.1.1.2).
func (s *state) ssfStreams(ctx context.Context) ([]json.RawMessage, error) {
	c, err := s.apiClient(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := c.ssfConfig(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: cfg.ConfigurationEndpoint, api: vigilAPI})
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(resp.body, &list); err != nil {
		// One stream is answered as an object.
		var one json.RawMessage
		if err := decodeBody(resp, &one); err != nil {
			return nil, err
		}
		list = []json.RawMessage{one}
	}
	return list, nil
}

func flattenStream(raw json.RawMessage) streamRow {
	var st struct {
		streamRow
		Delivery struct {
			Method      string `json:"method"`
			EndpointURL string `json:"endpoint_url"`
		} `json:"delivery"`
	}
	_ = json.Unmarshal(raw, &st)
	row := st.streamRow
	row.DeliveryMethod, row.EndpointURL = st.Delivery.Method, st.Delivery.EndpointURL
	return row
}

func newSSFStreamsStatusCmd(s *state) *cobra.Command {
	return &cobra.Command{
		Use:   "status [STREAM_ID...]",
		Short: "Show streams' status (enabled, paused, disabled); every stream without arguments",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := s.apiClient(ctx)
			if err != nil {
				return err
			}
			cfg, err := c.ssfConfig(ctx)
			if err != nil {
				return err
			}
			if cfg.StatusEndpoint == "" {
				return failf("the server's SSF metadata names no status_endpoint")
			}
			ids := args
			if len(ids) == 0 {
				streams, err := s.ssfStreams(ctx)
				if err != nil {
					return err
				}
				for _, st := range streams {
					ids = append(ids, flattenStream(st).StreamID)
				}
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"stream_id", "status", "reason"}, empty: "No SSF streams."})
			if err != nil {
				return err
			}
			for _, id := range ids {
				resp, err := c.do(ctx, request{method: http.MethodGet, path: cfg.StatusEndpoint, query: url.Values{"stream_id": {id}}, api: vigilAPI})
				if err != nil {
					return notFoundIsFailure(err)
				}
				if err := p.add(json.RawMessage(resp.body)); err != nil {
					return err
				}
			}
			return p.close()
		},
	}
}
