// Subscribes to one channel of rtbench serve --procs with clients nobody on
// the rtbench team wrote: EventSource from the npm eventsource package
// (GET /sse?channel=C) and WebSocket from the npm ws package
// (/ws?channel=C). It opens connections until each kind has PER
// subscribers in every one of the PROCS serving processes (the process is
// the response's X-RTBench-Process header; the kernel spreads connections,
// so extras are closed), then prints what each subscriber receives.
//
//   node subscribe.js HOST:PORT CHANNEL PROCS PER
//
// stdout {"ready":{"sse":{"1":PER,…},"ws":{…}}} once every subscriber is
// open, then one line a message: {"sub":"sse-3","proc":"2","data":"…"} (data
// as received). Exits when stdin ends; on a failure prints {"fatal":…} and
// exits 1.
'use strict';
const { EventSource } = require('eventsource');
const WebSocket = require('ws');

const [addr, channel, procs, per] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
const maxTries = 400; // per kind: each connection lands in a process at random
const open = [];

function out(v) {
  process.stdout.write(JSON.stringify(v) + '\n');
}

function fatal(why) {
  out({ fatal: String(why) });
  process.exit(1);
}

// sse opens one EventSource and resolves with its process and a closer.
function sse(name, onData) {
  return new Promise((resolve, reject) => {
    let proc = '';
    const es = new EventSource(`http://${addr}/sse?channel=${channel}`, {
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        proc = res.headers.get('x-rtbench-process') || '';
        return res;
      },
    });
    es.onopen = () => resolve({ proc, close: () => es.close() });
    es.onerror = (e) => {
      if (es.readyState !== EventSource.OPEN) reject(new Error(`${name}: ${e.message || 'connection failed'}`));
    };
    es.onmessage = (e) => onData(proc, e.data);
  });
}

// ws opens one WebSocket and resolves with its process and a closer.
function ws(name, onData) {
  return new Promise((resolve, reject) => {
    let proc = '';
    const c = new WebSocket(`ws://${addr}/ws?channel=${channel}`);
    c.on('upgrade', (res) => {
      proc = res.headers['x-rtbench-process'] || '';
    });
    c.on('open', () => resolve({ proc, close: () => c.terminate() }));
    c.on('error', (e) => reject(new Error(`${name}: ${e.message}`)));
    c.on('message', (data, binary) => onData(proc, binary ? `binary:${data.toString('hex')}` : data.toString()));
  });
}

async function spread(kind, dial) {
  const count = {};
  for (let p = 1; p <= procs; p++) count[String(p)] = 0;
  let n = 0;
  for (let tries = 0; Object.values(count).some((c) => c < per); tries++) {
    if (tries === maxTries) throw new Error(`${kind}: ${maxTries} connections did not spread over ${procs} processes: ${JSON.stringify(count)}`);
    const name = `${kind}-${n}`;
    let live = false;
    const buffered = [];
    const s = await dial(name, (proc, data) => {
      if (live) out({ sub: name, proc, data });
      else buffered.push({ sub: name, proc, data });
    });
    if (!(s.proc in count)) throw new Error(`${name}: X-RTBench-Process ${JSON.stringify(s.proc)}, want 1 to ${procs}`);
    if (count[s.proc] >= per) {
      s.close();
      continue;
    }
    count[s.proc]++;
    n++;
    live = true;
    buffered.forEach(out); // nothing is published before ready; printed so a test sees it if it is
    open.push(s);
  }
  return count;
}

async function main() {
  const ready = { sse: await spread('sse', sse), ws: await spread('ws', ws) };
  out({ ready });
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    open.forEach((s) => s.close());
    process.exit(0);
  });
}

main().catch(fatal);
