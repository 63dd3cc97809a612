// Package aistream is the mock server's LLM token streaming: three endpoints
// that answer like the APIs load tests point at, with text and timing fixed
// by a seed so a client's measurements can be checked against the schedule.
//
//	POST /v1/chat/completions  OpenAI Chat Completions (SSE chat.completion.chunk, data: [DONE])
//	POST /v1/messages          Anthropic Messages (named events message_start … message_stop)
//	POST /api/chat             the Next.js tutorial route (data: {"text":…}, data: [DONE])
//
// All three share one generator, configured by Tokens (server flags) and
// overridden per request by the X-RTBench-TTFT, -TPS, -Jitter, -Chunk,
// -Tokens and -Seed headers or the ttft, tps, jitter, chunk, tokens and seed
// query parameters (a header wins over its query parameter; both win over the
// OpenAI body's seed). A bad value is a 400 in the API's own error shape.
//
// # Schedule
//
// With the request's arrival at t0, an answer of n = min(max_tokens, Length)
// tokens, P = PerChunk:
//
//	due(i)   = t0 + TTFT + i/TPS + jitter(i)        token i = 0..n-1, jitter(i) in [0, Jitter)
//	chunk c  = tokens cP .. min(cP+P, n)-1          c = 0..ceil(n/P)-1
//	sent(c)  = max(sent(c-1), due(min(cP+P, n)-1))  when its last token is due
//
// Tokens.Due, Tokens.ChunkDue and Tokens.Generation compute these offsets and
// Tokens.Text and Tokens.Pieces the text, so a client can hold every chunk to
// its expected time and content. Events that carry no tokens (OpenAI's
// role-only first delta, Anthropic's message_start, content_block_start and
// ping) are sent at t0, so a client's first event is not its first token. The
// closing events follow the last chunk at once. A non-streamed answer is sent
// at sent(last chunk).
//
// Text is words from a fixed vocabulary of a few hundred English words plus
// "," "." "?": tokens look like " word", sentences start with a capital, and
// the first token has no leading space, so concatenated deltas read as prose.
// Prompt tokens are the words of the request's messages (and system prompt).
//
// Every stream stops, and its handler returns, when the request's context
// ends; each write has its own deadline (Options.WriteTimeout); the body is
// capped at MaxBody, output at MaxTokens and the generation at MaxGeneration.
//
// # Client
//
// Client is the session behind `rtbench listen`, `load` and `check` for one
// AI request. It reads every format of transport.AIFormats, each decoded in
// its own file without allocating per chunk:
//
//	openai            Chat Completions chunks … data: [DONE]            chunk.go
//	openai-responses  response.output_text.delta … response.completed   responses_chunk.go
//	anthropic         message_start … message_stop                      chunk.go
//	ai-sdk-ui         AI SDK UI message stream parts … data: [DONE]     aisdk_chunk.go
//	ai-sdk-data       AI SDK data stream 0:"…" lines … d:{…}            aisdk_chunk.go
//	gemini            streamGenerateContent?alt=sse … a finishReason    gemini_chunk.go
//	ollama            /api/chat, /api/generate NDJSON … "done": true    ollama_chunk.go
//	text              the Next.js tutorial's {"text":…} … data: [DONE]  chunk.go
//
// The format comes from the response (formats.go): the AI SDK's
// x-vercel-ai-ui-message-stream and x-vercel-ai-data-stream headers name
// theirs; NDJSON is read as Ollama's; an event stream's first events decide
// among the rest. Client.Format (--ai-format) forces one. An event stream
// whose first DetectEvents events match no format is reported as plain SSE
// messages. NDJSON and the data stream are cut into lines by lines.go.
//
// Each answer-text delta is a token event; reasoning (thinking) deltas and
// tool-call arguments are counted apart in the Exchange (ReasoningFirst,
// ReasoningLast, ReasoningChunks, ToolChunks), never read as text. The
// Exchange carries TTFT (from the request to the first NON-empty answer
// delta: a role-only first chunk or a reasoning delta does not count), the
// token count (from the stream's usage when it carries one, with the field
// named in TokensSource, else the answer chunks counted), Ollama's own
// timings (Server), and whether the format's terminator arrived (if not:
// stream_incomplete). A format's error events (response.failed, error
// parts, 3: lines, Anthropic error events, {"error":…} chunks) end the
// stream as stream_error. A bad JSON chunk is counted and skipped.
package aistream
