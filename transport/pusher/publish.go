package pusher

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// DefaultPublishEvent is the event name a Publisher triggers when the
// target names none.
const DefaultPublishEvent = "rtbench"

// NewPublisher returns the transport.Publisher of t: each message is one
// signed POST /apps/ID/events of Target.Event (DefaultPublishEvent when
// unset) with the data {"seq":N,"sched_ns":S} on the target's channel. It
// needs the app ID and secret.
func NewPublisher(t Target, hc *http.Client) (transport.Publisher, error) {
	if t.App.ID == "" || t.App.Secret == "" {
		return nil, fmt.Errorf("publishing through Pusher's HTTP API needs the app ID and secret: write pusher://KEY:SECRET@HOST/%s?app=ID", t.Channel)
	}
	if hc == nil {
		hc = transport.NewHTTPClient(transport.HTTPOptions{})
	}
	event := t.Event
	if event == "" {
		event = DefaultPublishEvent
	}
	path := "/apps/" + t.App.ID + "/events"
	return func(ctx context.Context, seq uint64, sched time.Time) error {
		data := `{"seq":` + strconv.FormatUint(seq, 10) + `,"sched_ns":` + strconv.FormatInt(sched.UnixNano(), 10) + `}`
		body, _ := json.Marshal(map[string]any{"name": event, "channels": []string{t.Channel}, "data": data})
		q := SignRequest(t.App, http.MethodPost, path, nil, body, time.Now())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.REST+path+"?"+q.Encode(), bytes.NewReader(body))
		if err != nil {
			return transport.AsError(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return transport.AsError(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if resp.StatusCode/100 != 2 {
			return &transport.Error{Class: transport.ClassPusherError, Code: resp.StatusCode, At: time.Now(),
				Err: fmt.Errorf("POST %s: HTTP %d: %s", path, resp.StatusCode, strings.TrimSpace(string(msg)))}
		}
		return nil
	}, nil
}
