// Subscribes to one public channel of rtbench serve with pusher-js (the
// official client, WebSocket transport only) and prints every event it
// receives on it, for the Go tests that check what rtbench sends (compare's
// chat workload) against a client nobody here wrote.
//
//   node watch.js HOST PORT KEY CHANNEL
//
// stdout {"ready":true} after pusher:subscription_succeeded, then one line
// an event: {"event":NAME,"data":DATA} (DATA as pusher-js hands it over:
// JSON data parsed). Exits when stdin ends; on a failure prints
// {"fatal":...} and exits 1.
'use strict';
const PusherJS = require('pusher-js');

const [host, port, key, channelName] = process.argv.slice(2);

function out(v) {
  process.stdout.write(JSON.stringify(v) + '\n');
}

const c = new PusherJS(key, {
  cluster: 'local',
  wsHost: host,
  wsPort: Number(port),
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
});
const ch = c.subscribe(channelName);
ch.bind('pusher:subscription_succeeded', () => out({ ready: true }));
ch.bind('pusher:subscription_error', (e) => {
  out({ fatal: e });
  process.exit(1);
});
ch.bind_global((event, data) => {
  if (!event.startsWith('pusher:')) out({ event, data });
});
process.stdin.on('data', () => {});
process.stdin.on('end', () => {
  c.disconnect();
  process.exit(0);
});
