package pusher

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/rtbench/rtbench/transport/pubsub"
)

// maxBody bounds an HTTP API request body.
const maxBody = 256 << 10

// apiError is an HTTP API answer other than 200: Pusher answers with the
// message as plain text.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// authorize reads the body of an HTTP API request and checks its app and
// signature; it answers the refusal itself and returns ok false then.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	app, found := s.appByID(r.PathValue("app"))
	if !found {
		apiError(w, http.StatusNotFound, "Unknown app "+strconv.Quote(r.PathValue("app")))
		return nil, false
	}
	if r.Body != nil {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				apiError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", maxBody))
			case errors.Is(err, os.ErrDeadlineExceeded):
				apiError(w, http.StatusRequestTimeout, "the request body did not arrive in time")
			default:
				apiError(w, http.StatusBadRequest, "reading the body: "+err.Error())
			}
			return nil, false
		}
		body = b
	}
	if err := VerifyRequest(app, r.Method, r.URL.Path, r.URL.Query(), body, s.now()); err != nil {
		apiError(w, http.StatusUnauthorized, err.Error())
		return nil, false
	}
	return body, true
}

// trigger is one event of the HTTP API: POST /events's body, or one entry of
// batch_events.
type trigger struct {
	Name     string   `json:"name"`
	Data     *string  `json:"data"`
	Channel  string   `json:"channel"`
	Channels []string `json:"channels"`
	SocketID string   `json:"socket_id"`
	Info     string   `json:"info"`
}

// check validates a trigger, returning the status and message of a refusal.
func (t *trigger) check() (int, string) {
	switch {
	case t.Name == "":
		return http.StatusBadRequest, `Missing "name": the event name`
	case len(t.Name) > MaxEventName:
		return http.StatusBadRequest, fmt.Sprintf("Event name too long: at most %d characters", MaxEventName)
	case t.Data == nil:
		return http.StatusBadRequest, `Missing "data": the event data, a string`
	case len(*t.Data) > MaxEventData:
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("Payload too large: event data is %d bytes, at most %d", len(*t.Data), MaxEventData)
	}
	if t.Channel != "" {
		t.Channels = append(t.Channels, t.Channel)
	}
	switch {
	case len(t.Channels) == 0:
		return http.StatusBadRequest, `Missing "channels" (or "channel"): where to trigger the event`
	case len(t.Channels) > MaxTriggerChannels:
		return http.StatusBadRequest, fmt.Sprintf("Too many channels: %d, at most %d", len(t.Channels), MaxTriggerChannels)
	}
	for _, c := range t.Channels {
		if !pubsub.ValidChannel(c) {
			return http.StatusBadRequest, "Invalid channel name " + strconv.Quote(c) + ": rtbench serve takes 1-128 characters of A-Z a-z 0-9 _ - . :"
		}
	}
	return 0, ""
}

// publish sends a checked trigger through the hub and returns the info
// asked for, by channel.
func (s *Server) publish(t *trigger) (map[string]map[string]int, error) {
	data := toHub(t.Name, hubData(*t.Data), "")
	var info map[string]map[string]int
	for _, c := range t.Channels {
		if _, _, err := s.Hub.Publish(c, data, s.subscriptionID(t.SocketID, c)); err != nil {
			return nil, fmt.Errorf("channel %s: %w", c, err)
		}
		s.Stats.Published()
		if t.Info != "" {
			if info == nil {
				info = map[string]map[string]int{}
			}
			info[c] = s.infoFields(c, t.Info)
		}
	}
	return info, nil
}

// infoFields are the attributes info asks for (user_count,
// subscription_count) of channel.
func (s *Server) infoFields(channel, info string) map[string]int {
	ci, _ := s.info(channel)
	out := map[string]int{}
	for _, f := range strings.Split(info, ",") {
		switch strings.TrimSpace(f) {
		case "subscription_count":
			out["subscription_count"] = ci.Subscriptions
		case "user_count":
			if KindOf(channel) == Presence {
				out["user_count"] = ci.Users
			}
		}
	}
	return out
}

func publishStatus(err error) int {
	switch {
	case errors.Is(err, pubsub.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, pubsub.ErrTooManyChannels):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// serveEvents is POST /apps/{app}/events.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authorize(w, r)
	if !ok {
		return
	}
	var t trigger
	if err := json.Unmarshal(body, &t); err != nil {
		apiError(w, http.StatusBadRequest, `Invalid JSON body: want {"name":"event","channels":["c"],"data":"..."}: `+err.Error())
		return
	}
	if code, msg := t.check(); code != 0 {
		apiError(w, code, msg)
		return
	}
	info, err := s.publish(&t)
	if err != nil {
		apiError(w, publishStatus(err), err.Error())
		return
	}
	if info == nil {
		writeJSON(w, struct{}{})
		return
	}
	writeJSON(w, map[string]any{"channels": info})
}

// serveBatch is POST /apps/{app}/batch_events.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authorize(w, r)
	if !ok {
		return
	}
	var b struct {
		Batch []trigger `json:"batch"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		apiError(w, http.StatusBadRequest, `Invalid JSON body: want {"batch":[{"name":"event","channel":"c","data":"..."}]}: `+err.Error())
		return
	}
	switch {
	case len(b.Batch) == 0:
		apiError(w, http.StatusBadRequest, `Missing "batch": a list of events`)
		return
	case len(b.Batch) > MaxBatch:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("Batch too large: %d events, at most %d", len(b.Batch), MaxBatch))
		return
	}
	// Every event is checked before any is published: a batch is refused
	// whole.
	for i := range b.Batch {
		if code, msg := b.Batch[i].check(); code != 0 {
			apiError(w, code, fmt.Sprintf("batch[%d]: %s", i, msg))
			return
		}
	}
	var infos []map[string]int
	withInfo := false
	for i := range b.Batch {
		info, err := s.publish(&b.Batch[i])
		if err != nil {
			apiError(w, publishStatus(err), fmt.Sprintf("batch[%d]: %v", i, err))
			return
		}
		entry := map[string]int{}
		if info != nil {
			withInfo = true
			entry = info[b.Batch[i].Channels[0]]
		}
		infos = append(infos, entry)
	}
	if !withInfo {
		writeJSON(w, struct{}{})
		return
	}
	writeJSON(w, map[string]any{"batch": infos})
}

// serveChannels is GET /apps/{app}/channels: the occupied channels, with
// filter_by_prefix and info=user_count (presence- prefixes only).
func (s *Server) serveChannels(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	q := r.URL.Query()
	prefix, info := q.Get("filter_by_prefix"), q.Get("info")
	wantUsers := false
	for _, f := range strings.Split(info, ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "user_count":
			wantUsers = true
		default:
			apiError(w, http.StatusBadRequest, "Invalid info attribute "+strconv.Quote(f)+" for the channels list: only user_count")
			return
		}
	}
	if wantUsers && !strings.HasPrefix(prefix, "presence-") {
		apiError(w, http.StatusBadRequest, "info=user_count is only valid with filter_by_prefix=presence-")
		return
	}
	out := map[string]map[string]int{}
	for name, ci := range s.occupiedChannels() {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		attrs := map[string]int{}
		if wantUsers {
			attrs["user_count"] = ci.Users
		}
		out[name] = attrs
	}
	writeJSON(w, map[string]any{"channels": out})
}

// serveChannel is GET /apps/{app}/channels/{channel}: occupied, and with
// info, subscription_count and user_count (presence channels only).
func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	name := r.PathValue("channel")
	ci, occupied := s.info(name)
	out := map[string]any{"occupied": occupied}
	for _, f := range strings.Split(r.URL.Query().Get("info"), ",") {
		switch strings.TrimSpace(f) {
		case "":
		case "subscription_count":
			out["subscription_count"] = ci.Subscriptions
		case "user_count":
			if KindOf(name) != Presence {
				apiError(w, http.StatusBadRequest, "info=user_count is only valid for presence channels")
				return
			}
			out["user_count"] = ci.Users
		default:
			apiError(w, http.StatusBadRequest, "Invalid info attribute "+strconv.Quote(f)+": want user_count or subscription_count")
			return
		}
	}
	writeJSON(w, out)
}

// serveUsers is GET /apps/{app}/channels/{channel}/users: a presence
// channel's members.
func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	name := r.PathValue("channel")
	if KindOf(name) != Presence {
		apiError(w, http.StatusBadRequest, "Users can only be retrieved for presence channels")
		return
	}
	users := []map[string]string{}
	for _, id := range s.users(name) {
		users = append(users, map[string]string{"id": id})
	}
	writeJSON(w, map[string]any{"users": users})
}
