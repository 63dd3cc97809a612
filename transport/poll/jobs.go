package poll

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rtbench/rtbench/transport"
)

// maxJobBody bounds the body of POST /api/jobs.
const maxJobBody = 64 << 10

func (h *Handler) store() *store {
	h.once.Do(func() { h.jobs = newStore(h.Jobs.withDefaults()) })
	return h.jobs
}

// CreateJob serves POST /api/jobs: it creates a job and answers 201 with
// Location: /api/jobs/<id>, the job's ETag and its state, as GetJob does:
//
//	{"id":"job_<16 hex>","status":"queued","progress":0,"created_at":"…","updated_at":"…"}
//
// The job is queued for Jobs.Queued, then running for Jobs.Duration (plus a
// random part of Jobs.Jitter, when set) with
// progress rising in Jobs.Steps equal steps, then completed. The body (a JSON
// object, optional, at most 64 KiB) or the query may override each:
// {"queued":"500ms","duration":"2s","steps":4} or ?queued=500ms&duration=2s&steps=4,
// durations as Go duration strings (queued at most MaxQueued, duration at
// most MaxDuration), steps from 1 to MaxSteps. Other body fields are ignored:
// a real API would take the job's input there.
func (h *Handler) CreateJob(w http.ResponseWriter, r *http.Request) {
	if !h.allow(w, r, http.MethodPost) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJobBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.writeError(w, http.StatusRequestEntityTooLarge, "body: larger than "+strconv.Itoa(maxJobBody)+" bytes; send at most a small JSON object like "+jobExample)
			return
		}
		h.writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	spec, err := parseJobSpec(r.URL.Query(), body, h.Jobs.withDefaults())
	if err != nil {
		h.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if jit := h.Jobs.withDefaults().Jitter; jit > 0 {
		spec.duration += rand.N(jit)
	}
	now := time.Now().UnixNano()
	j := h.store().add(now, int64(spec.queued), int64(spec.duration), spec.steps)
	w.Header().Set("Location", "/api/jobs/"+j.id)
	h.writeJob(w, r, http.StatusCreated, j, j.at(now))
}

const jobExample = `{"queued":"500ms","duration":"2s","steps":4}`

// jobSpec is one job's schedule.
type jobSpec struct {
	queued, duration time.Duration
	steps            int
}

// parseJobSpec reads the overrides of the defaults in opts from the query
// and the body. A field may come from one of them, not both.
func parseJobSpec(q url.Values, body []byte, opts JobOptions) (jobSpec, error) {
	spec := jobSpec{opts.Queued, opts.Duration, opts.Steps}
	if err := checkQuery(q, "queued", "duration", "steps"); err != nil {
		return spec, err
	}
	var err error
	if d, ok, err := queryDuration(q, "queued", MaxQueued, "500ms"); err != nil {
		return spec, err
	} else if ok {
		spec.queued = d
	}
	if d, ok, err := queryDuration(q, "duration", MaxDuration, "2s"); err != nil {
		return spec, err
	} else if ok {
		spec.duration = d
	}
	if n, ok, err := queryInt(q, "steps", 1, MaxSteps, "the progress steps"); err != nil {
		return spec, err
	} else if ok {
		spec.steps = n
	}

	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return spec, nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return spec, &paramError{"body", "a JSON object like " + jobExample + ", or no body", string(body[:min(len(body), 64)])}
	}
	for _, k := range [...]string{"queued", "duration", "steps"} {
		if _, ok := fields[k]; ok && q.Has(k) {
			return spec, errors.New(k + ": given in both the query and the body; send it once")
		}
	}
	if raw, ok := fields["queued"]; ok {
		if spec.queued, err = bodyDuration("queued", raw, MaxQueued, "500ms"); err != nil {
			return spec, err
		}
	}
	if raw, ok := fields["duration"]; ok {
		if spec.duration, err = bodyDuration("duration", raw, MaxDuration, "2s"); err != nil {
			return spec, err
		}
	}
	if raw, ok := fields["steps"]; ok {
		var n int
		if json.Unmarshal(raw, &n) != nil || n < 1 || n > MaxSteps {
			return spec, &paramError{"steps", "the progress steps, an integer from 1 to " + strconv.Itoa(MaxSteps), string(raw)}
		}
		spec.steps = n
	}
	return spec, nil
}

// bodyDuration reads a duration given as a JSON string.
func bodyDuration(name string, raw json.RawMessage, hi time.Duration, example string) (time.Duration, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, &paramError{name, durationForm(hi, strconv.Quote(example)) + " (a JSON string)", string(raw)}
	}
	return parseDuration(name, s, hi, strconv.Quote(example))
}

// GetJob serves GET /api/jobs/{id}: the job's state,
//
//	{"id":"job_…","status":"queued|running|completed","progress":0..100,"created_at":"…","updated_at":"…","result":{…}}
//
// with "result" once completed, an ETag "<status>-<progress>" that changes
// exactly when the status or progress does, Last-Modified = updated_at, and
// 304 without a body when If-None-Match matches. An unknown, evicted or
// expired id answers 404.
//
// ?wait=D (a Go duration, at most MaxWait) holds the request while the job
// is in the state the client holds (its If-None-Match, or without one the
// state at arrival): one timer wakes it exactly when the schedule says the
// state changes, then it answers 200 with the new state; when D elapses
// first it answers 304 (with If-None-Match) or 200 with the unchanged state
// (without). A completed job never changes, so it answers at once.
func (h *Handler) GetJob(w http.ResponseWriter, r *http.Request) {
	j, wait, now := h.jobRequest(w, r, true)
	if j == nil {
		return
	}
	st := j.at(now)
	inm := r.Header.Values("If-None-Match")
	if wait > 0 && st.next != 0 {
		var tag [24]byte
		if !hasETag(inm) || matchETag(inm, st.appendETag(tag[:0])) {
			closed := h.Stats.Opened(transport.Poll)
			t := time.NewTimer(until(now, min(st.next, now+int64(wait))))
			end := hold(r.Context(), t.C, nil)
			t.Stop()
			closed()
			if end == ended {
				h.canceled(w)
				return
			}
			st = j.at(time.Now().UnixNano()) // a job evicted meanwhile still answers this request
		}
	}
	h.writeJob(w, r, http.StatusOK, j, st)
}

// jobRequest checks a GET of one job (GetJob, JobEvents): the method, the
// query (?wait= only where withWait) and the job its {id} names. It answers
// what is wrong itself (405, 400, or 404 for an unknown, evicted or
// expired id) and then returns a nil job.
func (h *Handler) jobRequest(w http.ResponseWriter, r *http.Request, withWait bool) (j *job, wait time.Duration, now int64) {
	if !h.allow(w, r, http.MethodGet) {
		return nil, 0, 0
	}
	q := r.URL.Query()
	var err error
	if withWait {
		if err = checkQuery(q, "wait"); err == nil {
			wait, _, err = queryDuration(q, "wait", h.maxWait(), "30s")
		}
	} else {
		err = checkQuery(q)
	}
	if err != nil {
		h.writeError(w, http.StatusBadRequest, err.Error())
		return nil, 0, 0
	}
	id := r.PathValue("id")
	now = time.Now().UnixNano()
	if j = h.store().get(id, now); j == nil {
		h.writeError(w, http.StatusNotFound, "no job "+strconv.Quote(id)+": unknown, evicted, or completed more than "+
			h.Jobs.withDefaults().TTL.String()+" ago; create one with POST /api/jobs")
	}
	return j, wait, now
}

// writeJob answers j in state st, or 304 when If-None-Match matches it.
func (h *Handler) writeJob(w http.ResponseWriter, r *http.Request, status int, j *job, st jobState) {
	var tag [24]byte
	s := state{etag: st.appendETag(tag[:0]), lastMod: st.updated}
	if status == http.StatusOK && matchETag(r.Header.Values("If-None-Match"), s.etag) {
		h.notModified(w, s)
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	*buf = j.appendJSON(*buf, st)
	h.writeJSON(w, status, s, *buf)
}

// JobEvents serves GET /api/jobs/{id}/events: the job's status pushed as
// Server-Sent Events, the push beside polling and long-polling for the same
// job: its state at once, then one event at each change, exactly when the
// schedule says it changes,
//
//	id: running-40
//	data: {"id":"job_…","status":"running","progress":40,…}
//
// (the id is the state's ETag), and the stream ends after the completed
// state. An unknown, evicted or expired id answers 404.
func (h *Handler) JobEvents(w http.ResponseWriter, r *http.Request) {
	j, _, now := h.jobRequest(w, r, false)
	if j == nil {
		return
	}
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	closed := h.Stats.Opened(transport.SSE)
	defer closed()
	buf := getBuf()
	defer putBuf(buf)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		st := j.at(now)
		b := append((*buf)[:0], "id: "...)
		b = st.appendETag(b)
		b = append(b, "\ndata: "...)
		b = j.appendJSON(b, st)
		b = append(b, "\n\n"...)
		*buf = b
		if _, err := w.Write(b); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		h.Stats.Sent(transport.SSE, len(b))
		if st.next == 0 {
			return
		}
		t.Reset(until(time.Now().UnixNano(), st.next))
		if hold(r.Context(), t.C, nil) == ended {
			return
		}
		now = max(time.Now().UnixNano(), st.next) // the timer fired: the next state has begun
	}
}
