package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func newRevocationsCmd(s *state) *cobra.Command {
	return group(s, "revocations", "Show revocations: who asked, whom they cover, and when every receiver acknowledged",
		newRevocationsGetCmd(s))
}

func newRevocationsGetCmd(s *state) *cobra.Command {
	var (
		watch   bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a revocation; --watch follows it until it is effective everywhere",
		Long: `Show a revocation: its status, counts (targeted, revoked, denied, failed),
validFrom, who asked and why, and one receipt per SSF stream (delivered,
acknowledged). effectiveAt is when the last receiver acknowledged it.

--watch reads it again until the job finished and every receiver acknowledged
(or --timeout), showing progress on the terminal, then prints it.`,
		Args: nArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			return s.revocationGet(cmd.Context(), args[0], watch, timeout)
		},
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the revocation until it is effective everywhere")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "with --watch: stop waiting after this long")
	return cmd
}

func (s *state) revocationGet(ctx context.Context, id string, watch bool, timeout time.Duration) error {
	c, err := s.apiClient(ctx)
	if err != nil {
		return err
	}
	r, raw, err := c.getRevocation(ctx, id)
	if err != nil {
		return notFoundIsFailure(err)
	}
	if watch && !(r.finished() && (r.effective() || r.Status == "failed")) {
		bar := s.newProgress("revocation "+r.ID, max(r.Targeted, 1))
		last := ""
		seen := func(nr *revocation, nraw json.RawMessage) {
			raw = nraw
			bar.setTotal(max(nr.Targeted, 1), nr.Revoked+nr.Denied+nr.Failed)
			acked := 0
			for _, rc := range nr.Receipts {
				if rc.AcknowledgedAt != "" {
					acked++
				}
			}
			line := fmt.Sprintf("%s: %d/%d revoked, %d/%d receivers acknowledged", nr.Status, nr.Revoked, nr.Targeted, acked, len(nr.Receipts))
			if line != last && !s.interactive() {
				fmt.Fprintln(s.env.Stderr, line)
			}
			last = line
		}
		done := func(r *revocation) bool { return r.finished() && (r.effective() || r.Status == "failed") }
		r, err = c.poll(ctx, id, c.now().Add(timeout), done, seen)
		bar.finish()
		if errors.Is(err, errTimeout) {
			_ = s.printRevocation(raw)
			return failf("timed out after %s: revocation %s is %s and not yet acknowledged by every receiver", timeout, id, r.Status)
		}
		if err != nil {
			return err
		}
	}
	if err := s.printRevocation(raw); err != nil {
		return err
	}
	if !r.finished() {
		return nil
	}
	if r.Status == "failed" && r.Revoked == 0 {
		return failf("revocation %s failed: nothing was revoked", r.ID)
	}
	if n := r.Denied + r.Failed; n > 0 {
		return failf("revocation %s: %d of %d users were not revoked (%d denied, %d failed)", r.ID, n, r.Targeted, r.Denied, r.Failed)
	}
	return nil
}
