package poll

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// page is a decoded messages response.
type page struct {
	Channel  string `json:"channel"`
	Last     uint64 `json:"last"`
	Missed   uint64 `json:"missed"`
	More     bool   `json:"more"`
	Messages []struct {
		Channel string          `json:"channel"`
		Seq     uint64          `json:"seq"`
		SchedNS int64           `json:"sched_ns"`
		SentNS  int64           `json:"sent_ns"`
		Data    json.RawMessage `json:"data"`
	} `json:"messages"`
}

func (p page) seqs() []uint64 {
	out := make([]uint64, len(p.Messages))
	for i, m := range p.Messages {
		out[i] = m.Seq
	}
	return out
}

func decodePage(t *testing.T, body []byte) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return p
}

func publish(t *testing.T, hub *pubsub.Hub, channel string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, _, err := hub.Publish(channel, []byte(`{"n":`+strconv.Itoa(i)+`}`), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name      string
		published int // messages 1..published, ring of 4
		target    string
		inm       string
		want      int
		seqs      string
		last      uint64
		missed    uint64
		more      bool
		etag      string
	}{
		{name: "empty channel", published: 0, target: "?since=0", want: 200, seqs: "[]", last: 0, etag: `"0"`},
		{name: "everything", published: 3, target: "", want: 200, seqs: "[1 2 3]", last: 3, etag: `"3"`},
		{name: "since resumes after it", published: 3, target: "?since=1", want: 200, seqs: "[2 3]", last: 3, etag: `"3"`},
		{name: "since current is empty", published: 3, target: "?since=3", want: 200, seqs: "[]", last: 3, etag: `"3"`},
		{name: "since ahead gives the newest seq to resume from", published: 3, target: "?since=7", want: 200, seqs: "[]", last: 3, etag: `"3"`},
		{name: "older than the ring", published: 10, target: "?since=2", want: 200, seqs: "[7 8 9 10]", last: 10, missed: 4, etag: `"10"`},
		{name: "whole ring from 0", published: 10, target: "", want: 200, seqs: "[7 8 9 10]", last: 10, missed: 6, etag: `"10"`},
		{name: "at the ring's edge", published: 10, target: "?since=6", want: 200, seqs: "[7 8 9 10]", last: 10, etag: `"10"`},
		{name: "limit cuts and says more", published: 3, target: "?limit=2", want: 200, seqs: "[1 2]", last: 2, more: true, etag: `"3"`},
		{name: "limit not reached", published: 3, target: "?since=1&limit=2", want: 200, seqs: "[2 3]", last: 3, etag: `"3"`},
		{name: "if-none-match current", published: 3, target: "?since=1", inm: `"3"`, want: 304, etag: `"3"`},
		{name: "if-none-match stale", published: 3, target: "?since=1", inm: `"2"`, want: 200, seqs: "[2 3]", last: 3, etag: `"3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := pubsub.New(pubsub.Options{RingSize: 4})
			stats := new(transport.ServerStats)
			m := mux(&Handler{Hub: hub, Stats: stats})
			publish(t, hub, "c", 1, tt.published)
			rec := serve(m, req("GET", "/api/channels/c/messages"+tt.target, "", "If-None-Match", tt.inm))
			if rec.Code != tt.want || rec.Header().Get("ETag") != tt.etag || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
			}
			if s := stats.Snapshot(); s.Events[transport.Poll] != 1 || s.Bytes[transport.Poll] != int64(rec.Body.Len()) {
				t.Errorf("stats %+v for a %d-byte body", s, rec.Body.Len())
			}
			if tt.want == 304 {
				if rec.Body.Len() != 0 {
					t.Errorf("304 with a body: %s", rec.Body)
				}
				return
			}
			p := decodePage(t, rec.Body.Bytes())
			if got := fmt.Sprint(p.seqs()); got != tt.seqs || p.Last != tt.last || p.Missed != tt.missed || p.More != tt.more || p.Channel != "c" {
				t.Errorf("got seqs %s last %d missed %d more %v, want %s %d %d %v", got, p.Last, p.Missed, p.More, tt.seqs, tt.last, tt.missed, tt.more)
			}
			for _, msg := range p.Messages {
				if string(msg.Data) != `{"n":`+strconv.FormatUint(msg.Seq, 10)+`}` || msg.Channel != "c" {
					t.Errorf("message %d carries %s", msg.Seq, msg.Data)
				}
			}
		})
	}
}

// TestMessagesGolden pins the exact bytes of a page: field order, the
// envelopes and the shared sent_ns.
func TestMessagesGolden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := pubsub.New(pubsub.Options{})
		m := mux(&Handler{Hub: hub})
		hub.Publish("room.1", []byte(`{"user":"ann","text":"hi"}`), 0)
		time.Sleep(time.Second)
		hub.Publish("room.1", []byte(`"plain"`), 0)
		time.Sleep(time.Second)
		rec := serve(m, req("GET", "/api/channels/room.1/messages?since=0", ""))
		golden(t, "messages.json", rec.Body.Bytes())
	})
}

// TestMessagesResume follows a publisher with since=last, a page of at most
// 3 at a time, and shows the client sees every message once, in order.
func TestMessagesResume(t *testing.T) {
	hub := pubsub.New(pubsub.Options{RingSize: 16})
	m := mux(&Handler{Hub: hub})
	var seen []uint64
	var last uint64
	next := 1
	for round := range 20 {
		publish(t, hub, "c", next, next+round%5) // 1 to 5 messages
		next += round%5 + 1
		for {
			rec := serve(m, req("GET", "/api/channels/c/messages?limit=3&since="+strconv.FormatUint(last, 10), ""))
			p := decodePage(t, rec.Body.Bytes())
			if p.Missed != 0 {
				t.Fatalf("missed %d", p.Missed)
			}
			seen = append(seen, p.seqs()...)
			last = p.Last
			if !p.More {
				break
			}
		}
	}
	if len(seen) != next-1 {
		t.Fatalf("saw %d messages, published %d", len(seen), next-1)
	}
	for i, seq := range seen {
		if seq != uint64(i+1) {
			t.Fatalf("message %d has seq %d: a gap or a duplicate in %v", i, seq, seen)
		}
	}
}

// TestMessagesPageBytes shows the byte bound ending a page early.
func TestMessagesPageBytes(t *testing.T) {
	hub := pubsub.New(pubsub.Options{})
	m := mux(&Handler{Hub: hub})
	big := []byte(`"` + strings.Repeat("x", 60<<10) + `"`)
	for range 100 { // 6 MB in all
		hub.Publish("c", big, 0)
	}
	rec := serve(m, req("GET", "/api/channels/c/messages", ""))
	body := rec.Body.Bytes()
	// Messages are added while the page is under 4 MiB: 69 of ~61.5 KB.
	// (Counted, not decoded: decoding 4 MiB is slow under -race.)
	head := `{"channel":"c","last":69,"missed":0,"more":true,"messages":[{"channel":"c","seq":1,`
	if n := bytes.Count(body, []byte(`{"channel":"c","seq":`)); n != 69 || !bytes.HasPrefix(body, []byte(head)) ||
		!bytes.Contains(body, []byte(`{"channel":"c","seq":69,`)) || rec.Header().Get("ETag") != `"100"` {
		t.Errorf("got %d messages, ETag %s, page starting %.120s", n, rec.Header().Get("ETag"), body)
	}
}

func TestMessagesLongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hub := pubsub.New(pubsub.Options{})
		stats := new(transport.ServerStats)
		m := mux(&Handler{Hub: hub, Stats: stats})
		publish(t, hub, "c", 1, 2)

		// Something new: at once, even with wait.
		begin := time.Now()
		p := start(m, req("GET", "/api/channels/c/messages?since=1&wait=30s", ""))
		if rec := p.result(); p.at != begin || fmt.Sprint(decodePage(t, rec.Body.Bytes()).seqs()) != "[2]" {
			t.Errorf("new message: %s after %v", rec.Body, p.at.Sub(begin))
		}

		// Nothing new: held until a publish, answered at that instant.
		p = start(m, req("GET", "/api/channels/c/messages?since=2&wait=30s", ""))
		synctest.Wait()
		time.Sleep(5 * time.Second)
		if p.answered() {
			t.Fatal("answered before a publish")
		}
		if open := stats.Snapshot().Open[transport.Poll]; open != 1 {
			t.Errorf("Open = %d while held", open)
		}
		publish(t, hub, "c", 3, 3)
		rec := p.result()
		pg := decodePage(t, rec.Body.Bytes())
		if fmt.Sprint(pg.seqs()) != "[3]" || pg.Last != 3 || p.at.Sub(begin) != 5*time.Second || pg.Messages[0].SentNS != p.at.UnixNano() {
			t.Errorf("woken: %s after %v", rec.Body, p.at.Sub(begin))
		}
		if open := stats.Snapshot().Open[transport.Poll]; open != 0 {
			t.Errorf("Open = %d after", open)
		}

		// Timeout: 200 with an empty list, or 304 with a matching If-None-Match.
		for _, tc := range []struct {
			inm  string
			want int
			body string
		}{
			{"", 200, `{"channel":"c","last":3,"missed":0,"more":false,"messages":[]}`},
			{`"3"`, 304, ``},
		} {
			begin = time.Now()
			p = start(m, req("GET", "/api/channels/c/messages?since=3&wait=10s", "", "If-None-Match", tc.inm))
			if rec := p.result(); rec.Code != tc.want || rec.Body.String() != tc.body || p.at.Sub(begin) != 10*time.Second {
				t.Errorf("timeout with If-None-Match %q: %d %s after %v", tc.inm, rec.Code, rec.Body, p.at.Sub(begin))
			}
		}

		// Canceled: 503 at once, subscription released.
		ctx, cancel := context.WithCancel(context.Background())
		p = start(m, req("GET", "/api/channels/c/messages?since=3&wait=10s", "").WithContext(ctx))
		synctest.Wait()
		cancel()
		if rec := p.result(); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("canceled: %d %s", rec.Code, rec.Body)
		}
		if _, n, _ := hub.Publish("c", []byte(`4`), 0); n != 0 {
			t.Errorf("%d subscriptions still live after every request ended", n)
		}
	})
}
