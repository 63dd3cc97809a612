package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPPublisher is the Publisher of a compare run against a server with
// rtbench serve's routes: POST {"channel","data"} to u (its /api/publish),
// answered with {"seq": N}.
func HTTPPublisher(hc *http.Client, u string) Publisher {
	return func(ctx context.Context, channel string, data []byte) (uint64, error) {
		body, _ := json.Marshal(map[string]any{"channel": channel, "data": json.RawMessage(data)})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("POST %s: HTTP %d: %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		var r struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Seq == 0 {
			return 0, fmt.Errorf("POST %s: no seq in the answer %q", u, b)
		}
		return r.Seq, nil
	}
}
