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
// Client is the session behind `rtbench listen` and `rtbench load` for one AI
// request. It recognises the stream's shape from its first events (OpenAI
// chat.completion.chunk, Anthropic named events, or the Next.js tutorial's
// {"text":...}; anything else is read as plain SSE), turns each non-empty
// text delta into a token event, and ends with an Exchange carrying TTFT
// (from the request to the first NON-empty delta: a role-only first chunk
// does not count), the token count (from usage when the stream carries it,
// else counted from deltas and flagged), and whether the terminator arrived
// (no [DONE] or message_stop is stream_incomplete). A bad JSON chunk is
// counted and skipped. chunk.go decodes chunks without allocating;
// metrics.go defines ttft, itl_chunk, tpot, e2e and tokens/s exactly.
package aistream
