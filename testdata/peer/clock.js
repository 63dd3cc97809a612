// A Node server that stamps its payloads with its own clock the way the
// Next.js tutorial does, {"time": Date.now()} (milliseconds since the
// epoch), written with Node's http module only (no dependencies):
//   GET /api/stream  SSE, one event every ?ms= (default 100) milliseconds
//   GET /api/state   polling: the same payload as JSON
//
// Usage: node clock.js  -> prints {"port":N} on stdout, serves 127.0.0.1:N
// until its stdin ends.
'use strict';
const http = require('http');

let value = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/api/stream') {
    const every = Number(url.searchParams.get('ms') || '100');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    const timer = setInterval(() => {
      res.write(`data: ${JSON.stringify({ time: Date.now(), value: ++value })}\n\n`);
    }, every);
    req.on('close', () => clearInterval(timer));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/api/state') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ time: Date.now(), value: ++value }));
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
