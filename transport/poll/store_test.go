package poll

import (
	"regexp"
	"testing"
	"time"
)

func TestStoreEvictsOldest(t *testing.T) {
	s := newStore(JobOptions{MaxJobs: 3, TTL: time.Hour})
	var ids []string
	for i := range 5 {
		ids = append(ids, s.add(int64(i), 1e9, 1e9, 1).id)
	}
	if n := s.len(); n != 3 {
		t.Errorf("holds %d jobs, want 3", n)
	}
	for i, id := range ids {
		if got := s.get(id, 10) != nil; got != (i >= 2) {
			t.Errorf("job %d present = %v", i, got)
		}
	}
}

func TestStoreTTL(t *testing.T) {
	const ttl = int64(time.Minute)
	s := newStore(JobOptions{MaxJobs: 10, TTL: time.Minute})
	long := s.add(0, 0, int64(time.Hour), 1) // completes at 1h
	short := s.add(0, 0, int64(time.Second), 1)
	end := int64(time.Second)
	if s.get(short.id, end+ttl-1) == nil || s.get(short.id, end+ttl) != nil {
		t.Error("a completed job is readable for exactly the TTL")
	}
	if s.get(long.id, end+ttl) == nil {
		t.Error("a running job expired")
	}
	// The expired job is behind a live one, so it stays until that one goes;
	// once the front expires, the next add drops every expired job in a row.
	s.add(end+ttl, 0, 0, 1) // expires at end+2*ttl
	if n := s.len(); n != 3 {
		t.Errorf("holds %d, want 3 (expired but behind a live job)", n)
	}
	s.add(int64(time.Hour)+ttl-1, 0, 0, 1)
	if n := s.len(); n != 4 {
		t.Errorf("holds %d, want 4 while the front is live", n)
	}
	s.add(int64(time.Hour)+ttl, 0, 0, 1)
	if n := s.len(); n != 2 {
		t.Errorf("holds %d, want 2: the three expired dropped, the last two kept", n)
	}
}

func TestStoreCompacts(t *testing.T) {
	s := newStore(JobOptions{MaxJobs: 10, TTL: time.Hour})
	for i := range 5000 {
		s.add(int64(i), 0, 0, 1)
	}
	if s.len() != 10 || len(s.fifo)-s.head != 10 || len(s.fifo) > 2100 {
		t.Errorf("len %d, fifo %d from %d", s.len(), len(s.fifo), s.head)
	}
	for _, j := range s.fifo[:s.head] {
		if j != nil {
			t.Fatal("an evicted job is still referenced")
		}
	}
}

func TestStoreIDs(t *testing.T) {
	s := newStore(JobOptions{MaxJobs: 20000, TTL: time.Hour})
	form := regexp.MustCompile(`^job_[0-9a-f]{16}$`)
	seen := make(map[string]bool)
	for range 20000 {
		id := s.add(0, 0, 0, 1).id
		if !form.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	a, b := newStore(JobOptions{MaxJobs: 1}), newStore(JobOptions{MaxJobs: 1})
	if a.add(0, 0, 0, 1).id == b.add(0, 0, 0, 1).id {
		t.Error("two stores handed out the same first id: the key is not random")
	}
}
