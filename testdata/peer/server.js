// A peer server for rtbench's interop tests: Node's own http module for SSE,
// polling and an OpenAI-style stream, and the `ws` package for WebSockets.
// It deliberately frames things differently from rtbench's mock (CRLF line
// ends, "data:" without a space, multi-line data, named events, comments),
// so rtbench's clients are tested against code they did not grow up with.
//
// Usage: node server.js  -> prints {"port":N} on stdout, serves 127.0.0.1:N
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

let state = { version: 1, status: 'running', progress: 0 };
const stateTimer = setInterval(() => {
  if (state.progress < 100) {
    state = { version: state.version + 1, status: state.progress + 25 >= 100 ? 'completed' : 'running', progress: Math.min(100, state.progress + 25) };
  }
}, 100);

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/events') {
    const count = Number(url.searchParams.get('count') || '5');
    let id = Number(req.headers['last-event-id'] || '0');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write(':ok\r\n\r\nretry:250\r\n\r\n');
    let sent = 0;
    const timer = setInterval(() => {
      id++;
      sent++;
      // Multi-line data, a named event every third time, CRLF line ends, no space after the colon.
      const name = id % 3 === 0 ? 'event:tick\r\n' : '';
      res.write(`: comment before ${id}\r\nid:${id}\r\n${name}data:{"seq":${id},\r\ndata: "ts":${Date.now()}}\r\n\r\n`);
      if (sent >= count) {
        clearInterval(timer);
        res.end();
      }
    }, 10);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/status') {
    const etag = `W/"v${state.version}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag });
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', ETag: etag });
    res.end(JSON.stringify(state));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/v1/chat/completions') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const words = ['Peers', ' speak', ' the', ' same', ' protocol', '.'];
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8' });
      const chunk = (delta, finish) => JSON.stringify({
        id: 'chatcmpl-peer', object: 'chat.completion.chunk', created: 1, model: 'peer',
        choices: [{ index: 0, delta, finish_reason: finish }],
      }, null, 1).replace(/\n/g, ' ');
      res.write(`data:${chunk({ role: 'assistant' }, null)}\r\n\r\n`);
      let i = 0;
      const timer = setInterval(() => {
        if (i < words.length) {
          res.write(`data: ${chunk({ content: words[i] }, null)}\r\n\r\n`);
          i++;
          return;
        }
        clearInterval(timer);
        res.write(`data: ${chunk({}, 'stop')}\r\n\r\n`);
        res.write('data: [DONE]\r\n\r\n');
        res.end();
      }, 5);
      res.on('close', () => clearInterval(timer));
    });
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end('{"error":"not found"}');
});

// WebSocket chat: a greeting, then every message echoed to its sender and
// broadcast to the others.
const wss = new WebSocketServer({ server, path: '/chat' });
wss.on('connection', (sock) => {
  sock.send(JSON.stringify({ type: 'welcome', seq: 1 }));
  sock.on('message', (data, isBinary) => {
    for (const peer of wss.clients) {
      if (peer.readyState === 1) peer.send(data, { binary: isBinary });
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

// Exit with the parent: the test closes our stdin when it ends.
process.stdin.on('end', () => { clearInterval(stateTimer); process.exit(0); });
process.stdin.resume();
