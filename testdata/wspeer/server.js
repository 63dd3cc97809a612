// A subscribe-first server for rtbench's --send interop tests, the way most
// real WebSocket APIs behave: a connection gets nothing until it sends
// {"type":"subscribe", ...}. Written with the npm `ws` package and Node's
// http module (no rtbench code).
//   ws://HOST/ws     send {"type":"subscribe","id":X} (JSON, one message):
//                    the server answers {"type":"subscribed","id":X,"n":K}
//                    (K: the connection's subscribe count) and then pushes
//                    {"type":"tick","seq":N,"ts":<Date.now()>} every 20 ms.
//                    Anything else is answered {"type":"error",...} and
//                    nothing is pushed.
//   POST /sse        SSE over POST: the body's first line must be
//                    {"type":"subscribe",...}; then the same acknowledgement
//                    and ticks as SSE events. Otherwise 400 with a JSON error.
//
// Usage: NODE_PATH=... node server.js -> prints {"port":N} on stdout, serves
// 127.0.0.1:N until its stdin ends.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

function parse(line) {
  try { return JSON.parse(line); } catch { return null; }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/sse') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const msg = parse(body.split('\n')[0]);
      if (!msg || msg.type !== 'subscribe') {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'send {"type":"subscribe"} first' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(`data: ${JSON.stringify({ type: 'subscribed', id: msg.id, n: 1, lines: body.split('\n').length - 1 })}\n\n`);
      let seq = 0;
      const timer = setInterval(() => {
        res.write(`data: ${JSON.stringify({ type: 'tick', seq: ++seq, ts: Date.now() })}\n\n`);
      }, 20);
      res.on('close', () => clearInterval(timer));
    });
    return;
  }
  res.writeHead(404).end();
});

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws) => {
  let timer = null;
  let subscribes = 0;
  ws.on('message', (data) => {
    const msg = parse(data.toString());
    if (!msg || msg.type !== 'subscribe') {
      ws.send(JSON.stringify({ type: 'error', error: 'send {"type":"subscribe"} first' }));
      return;
    }
    subscribes++;
    ws.send(JSON.stringify({ type: 'subscribed', id: msg.id, n: subscribes }));
    if (timer) return;
    let seq = 0;
    timer = setInterval(() => {
      ws.send(JSON.stringify({ type: 'tick', seq: ++seq, ts: Date.now() }));
    }, 20);
  });
  ws.on('close', () => clearInterval(timer));
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
