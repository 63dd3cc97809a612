// Two gzip-compressing SSE servers for rtbench's compression tests, written
// with Node's http and zlib modules only (no dependencies, no rtbench code),
// the way compression middleware in front of an event stream behaves:
//   GET /flush  gzip, flushed after every event (Z_SYNC_FLUSH): events
//               still arrive on their cadence, as with Next.js' server
//   GET /hold   gzip, flushed only every 10th event: the compressor holds
//               events back and they arrive in bursts
// Either compresses only for a client that sends Accept-Encoding: gzip.
// Events come every ?ms= (default 30) milliseconds as
// {"n":N,"ts":<Date.now()>}; ?clock=0 leaves the ts out.
//
// Usage: node server.js  -> prints {"port":N} on stdout, serves 127.0.0.1:N
// until its stdin ends.
'use strict';
const http = require('http');
const zlib = require('zlib');

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const hold = url.pathname === '/hold';
  if (req.method !== 'GET' || (url.pathname !== '/flush' && !hold)) {
    res.writeHead(404).end();
    return;
  }
  const every = Number(url.searchParams.get('ms') || '30');
  const clock = url.searchParams.get('clock') !== '0';
  const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
  const headers = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
  let out = res;
  let gz = null;
  if (gzip) {
    headers['Content-Encoding'] = 'gzip';
    gz = zlib.createGzip();
    gz.pipe(res);
    out = gz;
  }
  res.writeHead(200, headers);
  let n = 0;
  const timer = setInterval(() => {
    n++;
    const payload = clock ? { n, ts: Date.now() } : { n };
    out.write(`data: ${JSON.stringify(payload)}\n\n`);
    if (gz && (!hold || n % 10 === 0)) gz.flush(zlib.constants.Z_SYNC_FLUSH);
  }, every);
  req.on('close', () => { clearInterval(timer); if (gz) gz.destroy(); });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
