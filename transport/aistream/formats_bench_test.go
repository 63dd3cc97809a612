package aistream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/rtbench/rtbench/transport"
)

// cannedFormat is a stream of one format built from its parts: head, one
// delta per token (text is a JSON string), tail.
type cannedFormat struct {
	name   string
	header http.Header
	head   string
	delta  func(dst, text []byte) []byte
	tail   string
}

func sseData(dst []byte, prefix string, text []byte, suffix string) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, prefix...)
	dst = appendJSONString(dst, text)
	dst = append(dst, suffix...)
	return append(dst, "\n\n"...)
}

var cannedFormats = []cannedFormat{
	{FormatResponses, http.Header{"Content-Type": {"text/event-stream"}},
		"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n",
		func(dst, text []byte) []byte {
			dst = append(dst, "event: response.output_text.delta\n"...)
			return sseData(dst, `{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_1","output_index":0,"content_index":0,"delta":`, text, `,"logprobs":[]}`)
		},
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1000}}}\n\n"},
	{FormatUI, http.Header{"Content-Type": {"text/event-stream"}, HeaderUIMessageStream: {"v1"}},
		"data: {\"type\":\"start\"}\n\ndata: {\"type\":\"text-start\",\"id\":\"t1\"}\n\n",
		func(dst, text []byte) []byte {
			return sseData(dst, `{"type":"text-delta","id":"t1","delta":`, text, `}`)
		},
		"data: {\"type\":\"text-end\",\"id\":\"t1\"}\n\ndata: {\"type\":\"finish\"}\n\ndata: [DONE]\n\n"},
	{FormatDataStream, http.Header{"Content-Type": {"text/plain; charset=utf-8"}, HeaderDataStream: {"v1"}},
		"f:{\"messageId\":\"msg-1\"}\n",
		func(dst, text []byte) []byte { return append(appendJSONString(append(dst, "0:"...), text), '\n') },
		"d:{\"finishReason\":\"stop\",\"usage\":{\"promptTokens\":3,\"completionTokens\":1000}}\n"},
	{FormatGemini, http.Header{"Content-Type": {"text/event-stream"}},
		"",
		func(dst, text []byte) []byte {
			return sseData(dst, `{"candidates":[{"content":{"parts":[{"text":`, text, `}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3},"modelVersion":"gemini-2.5-flash"}`)
		},
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":1000}}\n\n"},
	{FormatOllama, http.Header{"Content-Type": {"application/x-ndjson"}},
		"",
		func(dst, text []byte) []byte {
			dst = append(dst, `{"model":"llama3.2","created_at":"2025-06-01T10:00:00.123456789Z","message":{"role":"assistant","content":`...)
			return append(appendJSONString(dst, text), "},\"done\":false}\n"...)
		},
		`{"model":"llama3.2","created_at":"2025-06-01T10:00:01Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":1000000000,"load_duration":1000,"prompt_eval_count":3,"prompt_eval_duration":1000,"eval_count":1000,"eval_duration":900000000}` + "\n"},
}

func (f cannedFormat) stream(n int) []byte {
	out := []byte(f.head)
	g := newGenerator(1)
	var tok []byte
	for range n {
		tok = g.next(tok[:0])
		out = f.delta(out, tok)
	}
	return append(out, f.tail...)
}

type cannedFormatTransport struct {
	header http.Header
	body   []byte
}

func (c cannedFormatTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: c.header,
		Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: -1, Request: req}, nil
}

func (f cannedFormat) client(n int) *Client {
	return &Client{
		Request: transport.Request{URL: "http://canned.invalid/", Body: []byte(`{"stream":true}`)},
		HTTP:    &http.Client{Transport: cannedFormatTransport{header: f.header, body: f.stream(n)}},
		MaxText: -1,
	}
}

// formatRecorder checks that a canned stream was read whole.
type formatRecorder struct {
	nopObserver
	x transport.Exchange
}

func (r *formatRecorder) Exchange(x *transport.Exchange) { r.x = *x }

// TestFormatsNoAllocPerChunk: once warm, a chunk of every format costs the
// client no allocation: a 2000-token stream allocates as much as a
// 100-token one. The canned streams are read whole, in the right format.
func TestFormatsNoAllocPerChunk(t *testing.T) {
	for _, f := range cannedFormats {
		t.Run(f.name, func(t *testing.T) {
			ctx := context.Background()
			var rec formatRecorder
			if err := f.client(100).Run(ctx, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.x.Format != f.name || rec.x.Chunks != 100 || !rec.x.Complete {
				t.Fatalf("read as %q, %d chunks, complete %v; want %q, 100, true", rec.x.Format, rec.x.Chunks, rec.x.Complete, f.name)
			}
			allocs := func(n int) float64 {
				c := f.client(n)
				return testing.AllocsPerRun(10, func() {
					if err := c.Run(ctx, nopObserver{}); err != nil {
						t.Fatal(err)
					}
				})
			}
			small, large := allocs(100), allocs(2000)
			if perChunk := (large - small) / 1900; perChunk > 0.01 {
				t.Errorf("%v allocations for 100 tokens, %v for 2000: %.3f per chunk, want 0", small, large, perChunk)
			}
		})
	}
}

// BenchmarkFormatClient reads a 1000-token stream of each format from
// memory: the client's cost per request and per chunk (ns/chunk), and the
// bytes each format puts on the wire per token.
func BenchmarkFormatClient(b *testing.B) {
	for _, f := range cannedFormats {
		b.Run(f.name, func(b *testing.B) {
			c := f.client(1000)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Run(ctx, nopObserver{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/chunk")
			b.ReportMetric(float64(len(f.stream(1000)))/1000, "wire-bytes/token")
		})
	}
}

// BenchmarkDecodeFormats decodes one content chunk of each format: 0 B/op,
// 0 allocs/op once warm.
func BenchmarkDecodeFormats(b *testing.B) {
	for _, f := range cannedFormats {
		ev := f.delta(nil, []byte(" theory"))
		data := ev
		code := ""
		switch {
		case bytes.HasPrefix(ev, []byte("event: ")):
			data = ev[bytes.IndexByte(ev, '\n')+1:]
			fallthrough
		case bytes.HasPrefix(data, []byte("data: ")):
			data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("data: ")))
		case f.name == FormatDataStream:
			code, data = "0", bytes.TrimSpace(ev[2:])
		default:
			data = bytes.TrimSpace(ev)
		}
		s := shapeNamed(f.name)
		b.Run(f.name, func(b *testing.B) {
			var d decoder
			if c, err := s.decode(&d, code, data); err != nil || string(c.text) != " theory" {
				b.Fatalf("decoded %q, %v", c.text, err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s.decode(&d, code, data)
			}
		})
	}
}
