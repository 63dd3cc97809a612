// An HTTP/2-only TLS server written with Node's built-in http2 module (no
// npm packages): a target whose HTTP/2 code nobody on this project wrote.
// allowHTTP1 is false, so a client that does not offer h2 in ALPN is
// refused, as many h2-only deployments refuse it.
//
//   node server.js CERT.pem KEY.pem
//
// It prints {"port":N} on its first stdout line, serves https://127.0.0.1:N
// and exits when its stdin ends. Routes:
//   GET  /sse?interval=MS        an event stream: data: {"seq":n,"ts":<ms>} every MS (default 100)
//   GET  /poll                   JSON {"seq":n,"time":<ms>}, a new state every 100 ms
//   POST /v1/chat/completions    an OpenAI-style stream: role delta, 5 content chunks, usage, [DONE]
//   GET  /stats                  JSON {"sessions":N,"streams":M}: HTTP/2 connections and streams seen
'use strict';
const fs = require('fs');
const http2 = require('http2');

const [certFile, keyFile] = process.argv.slice(2);
const server = http2.createSecureServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  allowHTTP1: false,
  settings: { maxConcurrentStreams: 10000 },
});

let sessions = 0;
let streams = 0;
server.on('session', (s) => {
  sessions++;
  s.on('error', () => {});
});
server.on('stream', (stream, headers) => {
  streams++;
  stream.on('error', () => {});
  const url = new URL(headers[':path'], 'https://localhost');
  const method = headers[':method'];
  if (method === 'GET' && url.pathname === '/sse') {
    const every = Math.max(5, Number(url.searchParams.get('interval')) || 100);
    stream.respond({ ':status': 200, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let seq = 0;
    const tick = () => {
      if (stream.closed || stream.destroyed) return;
      seq++;
      stream.write(`id: ${seq}\ndata: ${JSON.stringify({ seq, ts: Date.now() })}\n\n`);
    };
    tick();
    const timer = setInterval(tick, every);
    stream.on('close', () => clearInterval(timer));
    return;
  }
  if (method === 'GET' && url.pathname === '/poll') {
    const seq = Math.floor(Date.now() / 100);
    stream.respond({ ':status': 200, 'content-type': 'application/json', 'cache-control': 'no-store' });
    stream.end(JSON.stringify({ seq, time: seq * 100 }));
    return;
  }
  if (method === 'POST' && url.pathname === '/v1/chat/completions') {
    stream.on('data', () => {}); // the request body is not needed
    stream.on('end', () => {
      if (stream.closed || stream.destroyed) return;
      stream.respond({ ':status': 200, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const id = 'chatcmpl-h2peer';
      const chunk = (delta, finish) => 'data: ' + JSON.stringify({
        id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: 'h2peer',
        choices: [{ index: 0, delta, finish_reason: finish }],
      }) + '\n\n';
      const words = ['Hello', ' from', ' a', ' Node', ' http2 server.'];
      const parts = [chunk({ role: 'assistant', content: '' }, null)];
      for (const w of words) parts.push(chunk({ content: w }, null));
      parts.push(chunk({}, 'stop'));
      parts.push('data: ' + JSON.stringify({
        id, object: 'chat.completion.chunk', model: 'h2peer', choices: [],
        usage: { prompt_tokens: 3, completion_tokens: words.length, total_tokens: 3 + words.length },
      }) + '\n\n');
      parts.push('data: [DONE]\n\n');
      let i = 0;
      const next = () => {
        if (stream.closed || stream.destroyed) return;
        if (i === parts.length) { stream.end(); return; }
        stream.write(parts[i++]);
        setTimeout(next, 10);
      };
      next();
    });
    return;
  }
  if (method === 'GET' && url.pathname === '/stats') {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ sessions, streams }));
    return;
  }
  stream.respond({ ':status': 404, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ error: 'no route ' + method + ' ' + url.pathname }));
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
