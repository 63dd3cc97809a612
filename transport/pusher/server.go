package pusher

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Defaults for Server.
const (
	DefaultActivityTimeout = 120 * time.Second // seconds of client silence before the server pings
	DefaultPongTimeout     = 30 * time.Second  // wait for the pong before closing with 4201
	DefaultWriteTimeout    = 10 * time.Second  // one frame written
	// MaxEventData is the largest event data accepted from the HTTP API
	// (413 past it) and in a client event (pusher:error), as Pusher's.
	MaxEventData = 10 << 10
	// MaxTriggerChannels is how many channels one trigger may name.
	MaxTriggerChannels = 100
	// MaxBatch is how many events one batch_events request may hold.
	MaxBatch = 10
	// MaxEventName is the longest event name accepted.
	MaxEventName = 200
	// MaxSubscriptions is how many channels one connection may be
	// subscribed to at once: each costs the server a goroutine.
	MaxSubscriptions = 100
	// DefaultEvent is the event name a Pusher subscriber sees for a message
	// published through another door (/api/publish, a /ws room member).
	DefaultEvent = "message"
)

// Server is rtbench serve's Pusher Channels side: the WebSocket endpoint
// /app/{key} (protocol 7) and the HTTP API under /apps/{id}/, on the pubsub
// hub that the SSE, WebSocket and polling routes share. Register adds its
// routes. The zero value of each field but Hub and Apps means its default.
type Server struct {
	// Apps are the applications accepted; empty: DefaultApp.
	Apps  []App
	Hub   *pubsub.Hub
	Stats *transport.ServerStats // may be nil
	// OriginPatterns restrict the pages allowed to connect (as /ws's);
	// empty accepts any origin.
	OriginPatterns  []string
	ActivityTimeout time.Duration // default DefaultActivityTimeout
	PongTimeout     time.Duration // default DefaultPongTimeout
	WriteTimeout    time.Duration // default DefaultWriteTimeout
	// Now is the clock request signatures are checked against; nil:
	// time.Now.
	Now func() time.Time

	once     sync.Once
	mu       sync.Mutex
	channels map[string]*occupied // channels with at least one Pusher subscriber
	sockets  map[string]*socket   // by socket_id
	nextID   uint64

	cacheMu    sync.Mutex
	cache      map[*pubsub.Message][]byte // encoded frames, up to the sent_ns value
	cacheBytes int
}

// occupied is the server's view of one channel's Pusher subscribers.
type occupied struct {
	subs    map[*socket]*subscription
	members map[string]*member // presence: by user_id
}

// member is one user of a presence channel, present while at least one of
// its connections is subscribed.
type member struct {
	info  json.RawMessage // user_info, null when none
	conns int
}

func (s *Server) init() {
	s.once.Do(func() {
		s.channels = make(map[string]*occupied)
		s.sockets = make(map[string]*socket)
		s.cache = make(map[*pubsub.Message][]byte)
		if len(s.Apps) == 0 {
			s.Apps = []App{DefaultApp}
		}
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Register adds the server's routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	s.init()
	mux.HandleFunc("GET /app/{key}", s.serveSocket)
	mux.HandleFunc("POST /apps/{app}/events", s.serveEvents)
	mux.HandleFunc("POST /apps/{app}/batch_events", s.serveBatch)
	mux.HandleFunc("GET /apps/{app}/channels", s.serveChannels)
	mux.HandleFunc("GET /apps/{app}/channels/{channel}", s.serveChannel)
	mux.HandleFunc("GET /apps/{app}/channels/{channel}/users", s.serveUsers)
}

func (s *Server) appByKey(key string) (App, bool) {
	for _, a := range s.Apps {
		if a.Key == key {
			return a, true
		}
	}
	return App{}, false
}

func (s *Server) appByID(id string) (App, bool) {
	for _, a := range s.Apps {
		if a.ID == id {
			return a, true
		}
	}
	return App{}, false
}

// joined records sub of so on channel and returns the presence members
// to announce: added is set when the user was not present before.
func (s *Server) joined(so *socket, channel string, sub *subscription) (added bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc := s.channels[channel]
	if oc == nil {
		oc = &occupied{subs: make(map[*socket]*subscription)}
		s.channels[channel] = oc
	}
	oc.subs[so] = sub
	if sub.userID == "" {
		return false
	}
	if oc.members == nil {
		oc.members = make(map[string]*member)
	}
	m := oc.members[sub.userID]
	if m == nil {
		m = &member{info: sub.userInfo}
		oc.members[sub.userID] = m
		added = true
	}
	m.conns++
	return added
}

// left removes so's subscription to channel; removed is set when its user
// has no connection left on the channel.
func (s *Server) left(so *socket, channel string) (sub *subscription, removed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc := s.channels[channel]
	if oc == nil {
		return nil, false
	}
	sub = oc.subs[so]
	if sub == nil {
		return nil, false
	}
	delete(oc.subs, so)
	if sub.userID != "" {
		if m := oc.members[sub.userID]; m != nil {
			if m.conns--; m.conns <= 0 {
				delete(oc.members, sub.userID)
				removed = true
			}
		}
	}
	if len(oc.subs) == 0 {
		delete(s.channels, channel)
	}
	return sub, removed
}

// others are the sockets subscribed to channel but so.
func (s *Server) others(so *socket, channel string) []*socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc := s.channels[channel]
	if oc == nil {
		return nil
	}
	out := make([]*socket, 0, len(oc.subs))
	for o := range oc.subs {
		if o != so {
			out = append(out, o)
		}
	}
	return out
}

// presenceData is the data of a presence channel's subscription_succeeded:
// {"presence":{"ids":[...],"hash":{id:info},"count":n}}.
func (s *Server) presenceData(channel string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	if oc := s.channels[channel]; oc != nil {
		for id := range oc.members {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var b bytes.Buffer
	b.WriteString(`{"presence":{"ids":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendJSONString(nil, []byte(id)))
	}
	b.WriteString(`],"hash":{`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendJSONString(nil, []byte(id)))
		b.WriteByte(':')
		info := s.channels[channel].members[id].info
		if len(info) == 0 {
			info = json.RawMessage("null")
		}
		b.Write(info)
	}
	b.WriteString(`},"count":`)
	b.WriteString(strconv.Itoa(len(ids)))
	b.WriteString("}}")
	return b.Bytes()
}

// channelInfo is what the HTTP API reports of one channel.
type channelInfo struct {
	Subscriptions int
	Users         int
}

func (s *Server) info(channel string) (channelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oc := s.channels[channel]
	if oc == nil {
		return channelInfo{}, false
	}
	return channelInfo{Subscriptions: len(oc.subs), Users: len(oc.members)}, true
}

// occupiedChannels lists the occupied channels and their info.
func (s *Server) occupiedChannels() map[string]channelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]channelInfo, len(s.channels))
	for name, oc := range s.channels {
		out[name] = channelInfo{Subscriptions: len(oc.subs), Users: len(oc.members)}
	}
	return out
}

// users lists a presence channel's user IDs, sorted.
func (s *Server) users(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	if oc := s.channels[channel]; oc != nil {
		for id := range oc.members {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// subscriptionID is the hub subscription of socket id on channel, 0 when
// there is none: a publish from it skips that socket (socket_id exclusion).
func (s *Server) subscriptionID(socketID, channel string) uint64 {
	if socketID == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	so := s.sockets[socketID]
	oc := s.channels[channel]
	if so == nil || oc == nil {
		return 0
	}
	if sub := oc.subs[so]; sub != nil {
		return sub.hub.ID
	}
	return 0
}

// hubEnvelope is how a Pusher event travels through the hub: the event name
// and its data, so that SSE, WebSocket and polling subscribers of the
// channel see both, and a Pusher subscriber gets the event back as it was
// triggered.
type hubEnvelope struct {
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	UserID string          `json:"user_id,omitempty"`
}

// toHub encodes an event for the hub. data is the data as a JSON value: a
// string for the HTTP API (where data is always a string), any value for a
// client event.
func toHub(event string, data json.RawMessage, userID string) []byte {
	b, _ := json.Marshal(hubEnvelope{Event: event, Data: data, UserID: userID})
	return b
}

// hubData turns the string data of the HTTP API into the JSON value the hub
// keeps: the JSON it holds when it is JSON but not a string, else the string
// itself. So {"some":"data"} reaches SSE subscribers as an object, and
// dataText gives the same string back.
func hubData(s string) json.RawMessage {
	t := bytes.Trim([]byte(s), " \t\r\n") // JSON whitespace only
	if len(t) > 0 && t[0] != '"' && json.Valid(t) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(s)
	return b
}

// fromHub reads a hub message as a Pusher event: the envelope toHub wrote,
// or a message of another door as DefaultEvent with its data.
func fromHub(data []byte) (event string, text []byte, userID string) {
	if bytes.HasPrefix(data, []byte(`{"event":`)) {
		var env hubEnvelope
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if dec.Decode(&env) == nil && env.Event != "" && len(env.Data) > 0 {
			return env.Event, dataText(env.Data), env.UserID
		}
	}
	return DefaultEvent, dataText(data), ""
}

// The encoded frames kept: past either bound the cache starts over.
const (
	maxCache      = 4096
	maxCacheBytes = 8 << 20
)

// frame returns the encoded channel event of m, open after `"sent_ns":`:
// encoded once however many subscribers deliver it.
func (s *Server) frame(m *pubsub.Message) []byte {
	s.cacheMu.Lock()
	b, ok := s.cache[m]
	s.cacheMu.Unlock()
	if ok {
		return b
	}
	event, text, userID := fromHub(m.Data)
	b = appendFrame(make([]byte, 0, len(text)+len(m.Channel)+len(event)+96), event, m.Channel, text, true)
	if userID != "" {
		b = append(b, `,"user_id":`...)
		b = appendJSONString(b, []byte(userID))
	}
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"sched_ns":`...)
	b = strconv.AppendInt(b, m.SchedNS, 10)
	b = append(b, `,"sent_ns":`...)
	s.cacheMu.Lock()
	if len(s.cache) >= maxCache || s.cacheBytes+len(b) > maxCacheBytes {
		clear(s.cache)
		s.cacheBytes = 0
	}
	s.cache[m] = b
	s.cacheBytes += len(b)
	s.cacheMu.Unlock()
	return b
}
