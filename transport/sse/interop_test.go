package sse

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	r3 "github.com/r3labs/sse/v2"
	"gopkg.in/cenkalti/backoff.v1"

	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/pubsub"
)

// newReferenceClient is r3labs/sse/v2 configured as shared/REFERENCE.md §1.3
// says, to avoid its known defects: a 1 MiB event buffer instead of 64 KiB,
// a backoff that never gives up on its own but stops with the context, and a
// validator that fails the connection, as the spec says, on a status other
// than 200 or a content type other than text/event-stream (r3labs checks
// neither). It is an independent second client for interop tests only and
// never measures anything.
func newReferenceClient(ctx context.Context, url string) *r3.Client {
	c := r3.NewClient(url, r3.ClientMaxBufferSize(1<<20))
	b := backoff.NewExponentialBackOff()
	b.MaxElapsedTime = 0
	c.ReconnectStrategy = backoff.WithContext(b, ctx)
	c.ResponseValidator = func(_ *r3.Client, resp *http.Response) error {
		mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != http.StatusOK || err != nil || mt != "text/event-stream" {
			resp.Body.Close()
			return backoff.Permanent(fmt.Errorf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type")))
		}
		return nil
	}
	return c
}

// TestInteropReferenceClient reads /sse with r3labs/sse/v2: every event
// arrives, in order, with the id and data rtbench wrote, and a Last-Event-ID
// it sends resumes the stream exactly.
func TestInteropReferenceClient(t *testing.T) {
	hub := pubsub.New(pubsub.Options{})
	epoch := time.Now().Add(-time.Second)
	srv := httptest.NewServer(&Handler{Hub: hub, Epoch: epoch})
	// A Last-Event-ID 100 ticks in the past at 1000/s, within the replay bound.
	pastID := strconv.FormatUint(transport.NewTimeline(epoch, 1000, 0).Due(time.Now().UnixNano())-100, 10)
	defer srv.Close()

	tests := []struct {
		name   string
		query  string
		lastID string
		count  int
	}{
		{"ticks", "?rate=1000&count=50", "", 50},
		{"ticks-padded", "?rate=1000&count=20&size=4096", "", 20},
		{"resume", "?rate=1000&count=20", pastID, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			c := newReferenceClient(ctx, srv.URL+tt.query)
			if tt.lastID != "" {
				c.LastEventID.Store([]byte(tt.lastID))
			}
			var ids []uint64
			err := c.SubscribeRawWithContext(ctx, func(e *r3.Event) {
				if len(e.Data) == 0 { // r3labs hands over the data-less retry block
					return
				}
				id, err := strconv.ParseUint(string(e.ID), 10, 64)
				if err != nil {
					t.Errorf("id %q", e.ID)
				}
				if want := fmt.Sprintf(`{"seq":%d,`, id); string(e.Data[:len(want)]) != want {
					t.Errorf("event %d data %q", id, e.Data)
				}
				ids = append(ids, id)
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != tt.count {
				t.Fatalf("got %d events, want %d", len(ids), tt.count)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] != ids[i-1]+1 {
					t.Fatalf("ids not consecutive at %d: %v", i, ids)
				}
			}
			if tt.lastID != "" && strconv.FormatUint(ids[0]-1, 10) != tt.lastID {
				t.Fatalf("resumed with Last-Event-ID %s but the first id is %d", tt.lastID, ids[0])
			}
		})
	}

	t.Run("bad-request-fails-without-retry", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		err := newReferenceClient(ctx, srv.URL+"?rate=bogus").SubscribeRawWithContext(ctx, func(*r3.Event) {})
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want an immediate validation error, got %v", err)
		}
	})
}
