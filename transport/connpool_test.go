package transport

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

type fakeConn struct{ closed bool }

func (c *fakeConn) Close() error { c.closed = true; return nil }

// TestConnPool: at most max connections per key exist; a Get past that
// waits for one given back or discarded, or for its context; Close ends the
// idle ones and the ones given back later.
func TestConnPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewConnPool(2)
		ctx := t.Context()
		for range 2 {
			if c, err := p.Get(ctx, "a"); c != nil || err != nil {
				t.Fatalf("Get = %v, %v; want permission to dial", c, err)
			}
		}
		if c, err := p.Get(ctx, "b"); c != nil || err != nil { // another key has slots of its own
			t.Fatalf("Get b = %v, %v", c, err)
		}
		got := make(chan any, 1)
		go func() {
			c, _ := p.Get(ctx, "a")
			got <- c
		}()
		synctest.Wait()
		select {
		case c := <-got:
			t.Fatalf("a third Get returned %v with two connections out", c)
		default:
		}
		conn := &fakeConn{}
		p.Put("a", conn)
		synctest.Wait()
		if c := <-got; c != conn {
			t.Fatalf("the waiting Get got %v, want the connection given back", c)
		}
		p.Discard("a") // that connection closed: a slot frees
		if c, err := p.Get(ctx, "a"); c != nil || err != nil {
			t.Fatalf("Get after Discard = %v, %v; want permission to dial", c, err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.Get(cctx, "a"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Get with a canceled context: %v", err)
		}
		idle, late := &fakeConn{}, &fakeConn{}
		p.Put("a", idle)
		p.Close()
		p.Put("a", late)
		if !idle.closed || !late.closed {
			t.Errorf("after Close: idle closed %v, given back later closed %v; want both", idle.closed, late.closed)
		}
	})
}
