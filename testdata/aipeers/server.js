// A small AI stream server written without rtbench's mock: one route per
// stream format rtbench reads, each written here from the providers' public
// documentation with Node's http module only (no dependencies), so rtbench's
// clients meet framing nobody on rtbench wrote.
//
//   node server.js        prints {"port":N} on its first stdout line and
//                         serves 127.0.0.1:N until its stdin closes
//
// Every route streams on one schedule, counted from the request's arrival:
// token k (reasoning tokens first, then the answer's) is due at
// ttft + k * itl. Query parameters set it: ttft (ms, default 200), itl (ms,
// default 20), reasoning (tokens, default 5), tokens (answer tokens, default
// 20). So ttfr = ttft, the answer's ttft = ttft + reasoning * itl, and the
// gaps between answer chunks are itl.
//
//   POST /openai/responses                 OpenAI Responses API events
//   POST /openai/chat                      OpenAI Chat Completions chunks (reasoning_content)
//   POST /anthropic/messages               Anthropic Messages with a thinking block
//   POST /ai-sdk/ui                        AI SDK 5 UI message stream
//   POST /ai-sdk/data                      AI SDK 4 data stream
//   POST /gemini/models/M:streamGenerateContent?alt=sse   Gemini
//   POST /ollama/api/chat, /ollama/api/generate           Ollama NDJSON
'use strict';

const http = require('http');
const { performance } = require('perf_hooks');

const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
const token = (k) => (k === 0 ? '' : ' ') + words[k % words.length];
const thought = (k) => (k === 0 ? '' : ' ') + 'hmm' + k;

function schedule(url) {
  const q = url.searchParams;
  const num = (name, def) => (q.has(name) ? Number(q.get(name)) : def);
  return { ttft: num('ttft', 200), itl: num('itl', 20), reasoning: num('reasoning', 5), tokens: num('tokens', 20) };
}

const sleepUntil = (t) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));

// play calls emit(kind, text, index) for each token on schedule, reasoning
// first; it stops early when the client went away.
async function play(s, t0, res, emit) {
  const total = s.reasoning + s.tokens;
  for (let k = 0; k < total; k++) {
    await sleepUntil(t0 + s.ttft + k * s.itl);
    if (res.destroyed) return false;
    if (k < s.reasoning) emit('reasoning', thought(k), k);
    else emit('text', token(k - s.reasoning), k - s.reasoning);
  }
  return true;
}

const sse = (res, extra) => {
  res.writeHead(200, Object.assign({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }, extra));
  res.flushHeaders();
};
const send = (res, data, event) => res.write((event ? `event: ${event}\n` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

const routes = {
  async '/openai/responses'(s, t0, res) {
    sse(res);
    let seq = 0;
    const ev = (type, body) => send(res, Object.assign({ type, sequence_number: seq++ }, body), type);
    const response = { id: 'resp_peer', object: 'response', status: 'in_progress', model: 'peer', output: [], usage: null };
    ev('response.created', { response });
    ev('response.in_progress', { response });
    let text = '';
    let started = false;
    const ok = await play(s, t0, res, (kind, t) => {
      if (kind === 'reasoning') {
        ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', output_index: 0, summary_index: 0, delta: t });
        return;
      }
      if (!started) {
        started = true;
        ev('response.output_item.added', { output_index: 1, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } });
        ev('response.content_part.added', { item_id: 'msg_1', output_index: 1, content_index: 0, part: { type: 'output_text', text: '' } });
      }
      text += t;
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: t });
    });
    if (!ok) return;
    ev('response.output_text.done', { item_id: 'msg_1', output_index: 1, content_index: 0, text });
    ev('response.completed', { response: Object.assign({}, response, { status: 'completed',
      usage: { input_tokens: 3, output_tokens: s.reasoning + s.tokens, output_tokens_details: { reasoning_tokens: s.reasoning }, total_tokens: 3 + s.reasoning + s.tokens } }) });
    res.end();
  },
  async '/openai/chat'(s, t0, res) {
    sse(res);
    const chunk = (delta, finish) => send(res, { id: 'chatcmpl-peer', object: 'chat.completion.chunk', created: 0, model: 'peer',
      choices: [{ index: 0, delta, finish_reason: finish || null }] });
    chunk({ role: 'assistant', content: '' });
    const ok = await play(s, t0, res, (kind, t) => chunk(kind === 'reasoning' ? { reasoning_content: t } : { content: t }));
    if (!ok) return;
    chunk({}, 'stop');
    send(res, { id: 'chatcmpl-peer', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 3, completion_tokens: s.reasoning + s.tokens,
      completion_tokens_details: { reasoning_tokens: s.reasoning } } });
    send(res, '[DONE]');
    res.end();
  },
  async '/anthropic/messages'(s, t0, res) {
    sse(res);
    const ev = (type, body) => send(res, Object.assign({ type }, body), type);
    ev('message_start', { message: { id: 'msg_peer', type: 'message', role: 'assistant', content: [], model: 'peer', usage: { input_tokens: 3, output_tokens: 1 } } });
    let block = -1;
    let kindNow = '';
    const ok = await play(s, t0, res, (kind, t) => {
      if (kind !== kindNow) {
        if (block >= 0) ev('content_block_stop', { index: block });
        block++;
        kindNow = kind;
        ev('content_block_start', { index: block, content_block: kind === 'reasoning' ? { type: 'thinking', thinking: '' } : { type: 'text', text: '' } });
      }
      ev('content_block_delta', { index: block, delta: kind === 'reasoning' ? { type: 'thinking_delta', thinking: t } : { type: 'text_delta', text: t } });
    });
    if (!ok) return;
    ev('content_block_stop', { index: block });
    ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: s.reasoning + s.tokens } });
    ev('message_stop', {});
    res.end();
  },
  async '/ai-sdk/ui'(s, t0, res) {
    sse(res, { 'x-vercel-ai-ui-message-stream': 'v1' });
    const part = (p) => send(res, p);
    part({ type: 'start', messageId: 'peer-1' });
    let kindNow = '';
    const ok = await play(s, t0, res, (kind, t) => {
      if (kind !== kindNow) {
        if (kindNow === 'reasoning') part({ type: 'reasoning-end', id: 'r' });
        part({ type: kind === 'reasoning' ? 'reasoning-start' : 'text-start', id: kind[0] });
        kindNow = kind;
      }
      part({ type: kind === 'reasoning' ? 'reasoning-delta' : 'text-delta', id: kind[0], delta: t });
    });
    if (!ok) return;
    part({ type: 'text-end', id: 't' });
    part({ type: 'finish' });
    send(res, '[DONE]');
    res.end();
  },
  async '/ai-sdk/data'(s, t0, res) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Vercel-AI-Data-Stream': 'v1' });
    res.flushHeaders();
    res.write('f:' + JSON.stringify({ messageId: 'peer-1' }) + '\n');
    const ok = await play(s, t0, res, (kind, t) => res.write((kind === 'reasoning' ? 'g:' : '0:') + JSON.stringify(t) + '\n'));
    if (!ok) return;
    const usage = { promptTokens: 3, completionTokens: s.reasoning + s.tokens };
    res.write('e:' + JSON.stringify({ finishReason: 'stop', usage, isContinued: false }) + '\n');
    res.write('d:' + JSON.stringify({ finishReason: 'stop', usage }) + '\n');
    res.end();
  },
  async gemini(s, t0, res) {
    sse(res);
    const chunk = (part, extra) => res.write('data: ' + JSON.stringify(Object.assign({
      candidates: [Object.assign({ content: { parts: [part], role: 'model' }, index: 0 }, extra && extra.candidate)],
      usageMetadata: (extra && extra.usage) || { promptTokenCount: 3, totalTokenCount: 3 }, modelVersion: 'peer' })) + '\r\n\r\n');
    const ok = await play(s, t0, res, (kind, t) => chunk(kind === 'reasoning' ? { text: t, thought: true } : { text: t }));
    if (!ok) return;
    chunk({ text: '' }, { candidate: { finishReason: 'STOP' },
      usage: { promptTokenCount: 3, candidatesTokenCount: s.tokens, thoughtsTokenCount: s.reasoning, totalTokenCount: 3 + s.tokens + s.reasoning } });
    res.end();
  },
  async ollama(s, t0, res, chat) {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    res.flushHeaders();
    const line = (o) => res.write(JSON.stringify(Object.assign({ model: 'peer', created_at: new Date().toISOString() }, o)) + '\n');
    const body = (text, thinking) => (chat ? { message: Object.assign({ role: 'assistant', content: text }, thinking ? { thinking } : {}) }
      : Object.assign({ response: text }, thinking ? { thinking } : {}));
    const ok = await play(s, t0, res, (kind, t) => line(Object.assign(kind === 'reasoning' ? body('', t) : body(t), { done: false })));
    if (!ok) return;
    const n = s.reasoning + s.tokens;
    line(Object.assign(body(''), { done: true, done_reason: 'stop', total_duration: Math.round((performance.now() - t0) * 1e6), load_duration: 0,
      prompt_eval_count: 3, prompt_eval_duration: s.ttft * 1e6, eval_count: n, eval_duration: n * s.itl * 1e6 }));
    res.end();
  },
};

const server = http.createServer((req, res) => {
  const t0 = performance.now();
  const url = new URL(req.url, 'http://peer');
  let route = routes[url.pathname];
  if (url.pathname.startsWith('/gemini/models/') && url.pathname.endsWith(':streamGenerateContent')) route = routes.gemini;
  if (url.pathname === '/ollama/api/chat') route = (s, t, r) => routes.ollama(s, t, r, true);
  if (url.pathname === '/ollama/api/generate') route = (s, t, r) => routes.ollama(s, t, r, false);
  req.resume();
  if (req.method !== 'POST' || !route) {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: `no route ${req.method} ${url.pathname}` }));
    return;
  }
  req.on('end', () => route(schedule(url), t0, res).catch((err) => { console.error(err); res.destroy(); }));
});

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
});
process.stdin.resume();
