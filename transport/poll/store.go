package poll

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"sync"
)

// store holds the jobs, bounded: at most max jobs, evicting the oldest, and
// a completed job only for ttl. Jobs leave in creation order, so one FIFO
// serves both bounds; a job that expires behind a younger, unexpired one is
// answered 404 at once and dropped when it reaches the front.
type store struct {
	max int
	ttl int64 // ns

	mu   sync.Mutex
	byID map[string]*job
	fifo []*job // creation order; fifo[head:] are live
	head int
	key  uint64 // ID key; 0 until the first ID
	n    uint64 // IDs handed out
}

func newStore(opts JobOptions) *store {
	return &store{max: opts.MaxJobs, ttl: int64(opts.TTL), byID: make(map[string]*job)}
}

func (s *store) expired(j *job, now int64) bool {
	return now >= j.completedAt()+s.ttl
}

// add creates a job at now, first dropping expired jobs from the front and
// evicting the oldest while the store is full.
func (s *store) add(now, queued, duration int64, steps int) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.head < len(s.fifo) && (len(s.byID) >= s.max || s.expired(s.fifo[s.head], now)) {
		delete(s.byID, s.fifo[s.head].id)
		s.fifo[s.head] = nil
		s.head++
	}
	if s.head > 1024 && s.head*2 > len(s.fifo) {
		s.fifo = append(s.fifo[:0], s.fifo[s.head:]...)
		clear(s.fifo[len(s.fifo) : len(s.fifo)+s.head])
		s.head = 0
	}
	j := &job{id: s.newID(), created: now, queued: queued, duration: duration, steps: int64(steps)}
	s.byID[j.id] = j
	s.fifo = append(s.fifo, j)
	return j
}

// get returns the job with id, or nil when there is none or it expired.
func (s *store) get(id string, now int64) *job {
	s.mu.Lock()
	j := s.byID[id]
	s.mu.Unlock()
	if j == nil || s.expired(j, now) {
		return nil
	}
	return j
}

// len returns the number of jobs held, expired or not.
func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// newID returns "job_" and 16 hex digits: a bijective mix of a counter and a
// random key, so IDs never repeat and cannot be guessed from each other.
func (s *store) newID() string {
	if s.key == 0 {
		var b [8]byte
		rand.Read(b[:]) //nolint:errcheck // never fails since Go 1.24
		s.key = binary.LittleEndian.Uint64(b[:]) | 1
	}
	s.n++
	z := s.key + s.n*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	var hex [16]byte
	h := strconv.AppendUint(hex[:0], z, 16)
	out := make([]byte, 0, 20)
	out = append(out, "job_"...)
	for range 16 - len(h) {
		out = append(out, '0')
	}
	return string(append(out, h...))
}
