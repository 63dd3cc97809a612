package cmd

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/rtbench/rtbench/bench"
	"github.com/rtbench/rtbench/transport"
	"github.com/rtbench/rtbench/transport/ably"
	"github.com/rtbench/rtbench/transport/client"
	"github.com/rtbench/rtbench/transport/pusher"
)

// How chat members send, per protocol (the table's "sends" column).
const (
	chatSendsSocket     = "on its socket"
	chatSendsPOST       = "POST /api/publish"
	chatSendsPusherREST = "Pusher HTTP API (POST /apps/ID/events; data {seq, sched_ns}, not --size): rtbench's Pusher client cannot send client events yet"
)

// chatRuns lists the chat workload's protocols, each on a fresh channel of
// the server at base: WebSocket rooms, SSE and long-polling with POST
// /api/publish to send, the Ably protocol (sending on the connection) and
// the Pusher protocol (sending through its HTTP API).
func (o *CompareOptions) chatRuns(base string, suffix string) []bench.ChatRun {
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	channel := func(name string) string { return "chat-" + name + "-" + suffix }
	rc := transport.Reconnect{Policy: transport.PolicySpec}
	post := func(ch string) func(context.Context, *http.Client, int, bench.ChatMessage) error {
		return func(ctx context.Context, hc *http.Client, _ int, m bench.ChatMessage) error {
			_, err := bench.HTTPPublisher(hc, base+"/api/publish")(ctx, ch, m.Data)
			return err
		}
	}
	var out []bench.ChatRun
	{
		ch := channel("ws")
		u := wsBase + "/ws?channel=" + ch
		out = append(out, bench.ChatRun{Name: "ws room", Pattern: "ws", URL: u, Sends: chatSendsSocket,
			Defaults: map[string]string{"reconnect": rc.Policy.String(), "compression": "off"},
			NewSession: func(_ int, hc *http.Client, outbox <-chan []byte) transport.Session {
				return newSession("ws", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc, Outbox: outbox})
			}})
	}
	{
		ch := channel("sse")
		u := base + "/sse?channel=" + ch
		out = append(out, bench.ChatRun{Name: "sse + POST", Pattern: "sse", URL: u, Sends: chatSendsPOST,
			Defaults: map[string]string{"reconnect": rc.Policy.String()},
			NewSession: func(_ int, hc *http.Client, _ <-chan []byte) transport.Session {
				return newSession("sse", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc})
			},
			Send: post(ch)})
	}
	{
		ch := channel("long-poll")
		u := base + "/api/channels/" + ch + "/messages"
		interval := o.PollInterval
		out = append(out, bench.ChatRun{Name: "long-poll + POST", Pattern: "long-poll", URL: u, Sends: chatSendsPOST,
			Warm:     interval + 100*time.Millisecond,
			Defaults: map[string]string{"interval": interval.String(), "long_poll": bench.DefaultCompareLongPoll.String()},
			NewSession: func(_ int, hc *http.Client, _ <-chan []byte) transport.Session {
				return newSession("poll", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Interval: interval,
					NoConditional: true, LongPoll: bench.DefaultCompareLongPoll, Reconnect: rc})
			},
			Send: post(ch)})
	}
	{
		ch := channel("ably")
		u := "ably+http://" + ably.DefaultKey + "@" + host + "/" + ch
		out = append(out, bench.ChatRun{Name: "ably", Pattern: "ably", URL: u, Sends: chatSendsSocket,
			Defaults: map[string]string{"reconnect": rc.Policy.String(), "format": "json"},
			NewSession: func(_ int, hc *http.Client, outbox <-chan []byte) transport.Session {
				return newSession("ably", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc, Outbox: outbox})
			}})
	}
	{
		ch := channel("pusher")
		a := pusher.DefaultApp
		u := "pusher://" + a.Key + ":" + a.Secret + "@" + host + "/" + ch + "?app=" + a.ID
		out = append(out, bench.ChatRun{Name: "pusher (REST send)", Pattern: "pusher", URL: u, Sends: chatSendsPusherREST, StampIDs: true,
			Defaults: map[string]string{"reconnect": rc.Policy.String()},
			NewSession: func(_ int, hc *http.Client, _ <-chan []byte) transport.Session {
				return newSession("pusher", transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc, Reconnect: rc})
			},
			Send: func(ctx context.Context, hc *http.Client, _ int, m bench.ChatMessage) error {
				pub, err := client.Lookup("pusher").Publish(transport.SessionOptions{Request: transport.Request{URL: u}, HTTP: hc})
				if err != nil {
					return err
				}
				return pub(ctx, m.ID, m.Sched)
			}})
	}
	return out
}
