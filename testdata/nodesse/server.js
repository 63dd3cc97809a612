// The Node.js SSE server the common Next.js real-time tutorial writes, as the
// peer of `rtbench serve`'s GET /api/stream (bench/scripts/serve-node.sh).
//
// GET below is the tutorial's App Router route handler, unchanged in shape:
// a ReadableStream per connection whose start() enqueues "data: connected"
// and then, from a setInterval, one `data: {"time":<ms>,"value":<float>}`
// event per tick, cleared when the request's signal aborts; it returns a
// web Response. serveRoute() hands that Response to plain node:http the way
// Next.js's own server does (a web Request with an AbortSignal tied to the
// socket, then the body's chunks written to the Node response one by one,
// waiting for 'drain' when the socket is full). No dependencies.
//
//   node server.js     prints {"port":N} on its first stdout line and serves
//                      127.0.0.1:N until its stdin closes
//
// GET /api/stream?interval=D sets the tick (20ms, 1s; default 1s, the tutorial's),
// as rtbench serve's /api/stream?interval= does, so both servers can be
// driven at the same rate. Everything else is 404.
'use strict';

const http = require('http');

// --- the tutorial's route handler (app/api/stream/route.js) ---------------
async function GET(request) {
  const encoder = new TextEncoder();
  const interval = millis(new URL(request.url).searchParams.get('interval')) || 1000;
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode('data: connected\n\n'));
      const timer = setInterval(() => {
        const data = JSON.stringify({ time: Date.now(), value: Math.random() * 100 });
        controller.enqueue(encoder.encode(`data: ${data}\n\n`));
      }, interval);
      request.signal.addEventListener('abort', () => {
        clearInterval(timer);
        try { controller.close(); } catch { /* already closed */ }
      });
    },
  });
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
    },
  });
}

// --- what Next.js does around it on node:http -----------------------------

// millis reads ?interval= as rtbench serve does for this test: 20ms, 1s or a
// bare number of milliseconds; anything else is the default.
function millis(v) {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v || '');
  return m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : 0;
}

async function serveRoute(req, res) {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const request = new Request(`http://${req.headers.host || '127.0.0.1'}${req.url}`, {
    method: req.method,
    headers: req.headers,
    signal: ac.signal,
  });
  const response = await GET(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await new Promise((resolve) => res.once('drain', resolve));
    }
  } catch {
    /* the client went away */
  } finally {
    reader.releaseLock();
    res.end();
  }
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.split('?')[0] === '/api/stream') {
    serveRoute(req, res).catch(() => res.destroy());
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 65000;
server.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 0) }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
