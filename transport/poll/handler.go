package poll

import (
	"net/http"
	"sync"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// Defaults for the Handler fields.
const (
	DefaultMaxRate      = 1000.0           // ticks per second a /poll client may ask for
	DefaultMaxWait      = 60 * time.Second // longest ?wait=
	DefaultMaxMessages  = 1000             // messages in one /api/channels/{channel}/messages response
	DefaultWriteTimeout = 10 * time.Second // deadline of one response write
)

// Handler serves the polling routes. Its zero value serves ticks and jobs
// with the defaults; set Hub to serve channels. Configure it before the first
// request and do not copy it afterwards: it holds the job store.
type Handler struct {
	// Hub serves /poll?channel= and /api/channels/{channel}/messages. Nil
	// disables them: they answer 404.
	Hub *pubsub.Hub
	// Stats records every response (transport.Poll) and every held long
	// poll. Nil records nothing.
	Stats *transport.ServerStats
	// Epoch is the start of the tick timeline, shared with the SSE and
	// WebSocket handlers so every pattern sees the same ticks. Zero means
	// the Unix epoch.
	Epoch time.Time
	// MaxRate bounds ?rate= on /poll; default DefaultMaxRate.
	MaxRate float64
	// MaxWait bounds ?wait= on every route; default DefaultMaxWait.
	MaxWait time.Duration
	// MaxMessages bounds ?limit= and is its default; default
	// DefaultMaxMessages.
	MaxMessages int
	// WriteTimeout is the write deadline of one response, set through
	// http.ResponseController, so a client that stops reading cannot pin a
	// handler; default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Jobs configures the jobs API.
	Jobs JobOptions

	once sync.Once
	jobs *store
}

// Register adds the polling routes (and the job status push) to mux. It documents the patterns;
// the mock server registers the same methods with its own middleware.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /poll", h.Poll)
	mux.HandleFunc("GET /api/channels/{channel}/messages", h.Messages)
	mux.HandleFunc("POST /api/jobs", h.CreateJob)
	mux.HandleFunc("GET /api/jobs/{id}", h.GetJob)
	mux.HandleFunc("GET /api/jobs/{id}/events", h.JobEvents)
}

func (h *Handler) epoch() time.Time {
	if h.Epoch.IsZero() {
		return time.Unix(0, 0)
	}
	return h.Epoch
}

func (h *Handler) maxRate() float64 {
	if h.MaxRate <= 0 {
		return DefaultMaxRate
	}
	return h.MaxRate
}

func (h *Handler) maxWait() time.Duration {
	if h.MaxWait <= 0 {
		return DefaultMaxWait
	}
	return h.MaxWait
}

func (h *Handler) maxMessages() int {
	if h.MaxMessages <= 0 {
		return DefaultMaxMessages
	}
	return h.MaxMessages
}

func (h *Handler) writeTimeout() time.Duration {
	if h.WriteTimeout <= 0 {
		return DefaultWriteTimeout
	}
	return h.WriteTimeout
}
