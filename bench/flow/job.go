package flow

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// JobOptions are `rtbench load --job`'s: create a job, follow it until done.
type JobOptions struct {
	// Create is METHOD:URL, e.g. POST:/api/jobs (a URL relative to Base).
	Create string
	// Base resolves relative URLs: the command's URL argument.
	Base string
	// Body is sent with the create request, Header with every request
	// (the create, and each poll or subscription of the job).
	Body   string
	Header http.Header
	// Until is the condition on the job's JSON that says it is done;
	// default status==completed.
	Until string
	// Interval is the time between two polls (SWR's refreshInterval);
	// LongPoll, when set, holds each poll instead: ?wait=LongPoll with
	// If-None-Match, the next sent as soon as one is answered.
	Interval time.Duration
	LongPoll time.Duration
	// ETag sends each poll with If-None-Match (the last answer's ETag), so
	// a job whose state did not change is answered 304 without a body.
	ETag bool
	// Events, when set, follows the job by subscribing to its status
	// pushed as SSE at the polled URL + Events (rtbench serve's "/events")
	// instead of polling it; Interval and LongPoll are then not used.
	Events string
	// ID, when set, is the JSON path of the job's id in the create
	// answer, and Poll the URL to poll with ${id} in it; by default the
	// answer's Location header is followed.
	ID, Poll string
	// Timeout bounds the wait for one job; default JobTimeout.
	Timeout time.Duration
	// DoneAt and StartedAt are the JSON paths of the time the job's state
	// began and of its creation: default updated_at and created_at, as
	// rtbench serve's jobs (and many APIs) answer.
	DoneAt, StartedAt string
}

// JobTimeout bounds the wait for one job by default.
const JobTimeout = 2 * time.Minute

// Job compiles the job lifecycle into a scenario of two steps, create
// (capturing the Location or the id) and wait (polling until done), so it
// runs on the same path as any scenario file.
func Job(o JobOptions) (*Scenario, error) {
	method, target, ok := strings.Cut(o.Create, ":")
	if !ok || method == "" || target == "" || strings.HasPrefix(target, "//") {
		return nil, fmt.Errorf("--job %q: want METHOD:URL, such as POST:/api/jobs", o.Create)
	}
	method = strings.ToUpper(method)
	if o.Until == "" {
		o.Until = "status==completed"
	}
	if o.Timeout == 0 {
		o.Timeout = JobTimeout
	}
	if o.DoneAt == "" {
		o.DoneAt = "updated_at"
	}
	if o.StartedAt == "" {
		o.StartedAt = "created_at"
	}
	create := map[string]any{"method": method, "url": target, "timeout": o.Timeout.String()}
	if o.Body != "" {
		create["body"] = o.Body
	}
	var headers map[string]string
	if len(o.Header) > 0 {
		headers = map[string]string{}
		for k, v := range o.Header {
			headers[k] = strings.Join(v, ", ")
		}
		create["headers"] = headers
	}
	capture := map[string]string{"job": "header:Location"}
	poll := "${job}"
	if o.ID != "" {
		capture = map[string]string{"id": o.ID}
		poll = o.Poll
		if !strings.Contains(poll, "${id}") {
			return nil, fmt.Errorf("--job-poll %q: want the URL to poll with ${id} in it, such as /api/jobs/${id}", o.Poll)
		}
	}
	wait := map[string]any{"until": o.Until, "timeout": o.Timeout.String(), "done_at": o.DoneAt, "started_at": o.StartedAt}
	follow := "poll"
	switch {
	case o.Events != "":
		follow = "subscribe"
		poll += o.Events
	case o.LongPoll > 0:
		sep := "?"
		if strings.Contains(poll, "?") {
			sep = "&"
		}
		poll += sep + "wait=" + o.LongPoll.String()
		wait["long_poll"], wait["interval"] = true, "0s"
	default:
		wait["interval"] = o.Interval.String()
		if o.Interval <= 0 {
			return nil, fmt.Errorf("--interval %v: want the time between two polls of a job, such as 2s, or --long-poll", o.Interval)
		}
	}
	if o.ETag && follow == "poll" {
		wait["etag"] = true
	}
	if headers != nil {
		// The job's own URL asks for the same credentials as its create.
		wait["headers"] = headers
	}
	wait["url"] = poll
	doc := map[string]any{
		"scenario": "job lifecycle",
		"steps": []any{
			map[string]any{"name": "create", "request": create, "capture": capture},
			map[string]any{"name": "wait", follow: wait},
		},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	// ${...} in the flags is the session's, not the environment's: the
	// environment was expanded by the shell already.
	return Parse("--job", b, func(string) string { return "" }, o.Base)
}
