// Subscribes to one channel of rtbench serve with the official ably SDK
// (realtime, JSON protocol) and prints every message it receives, for the
// Go tests that check what rtbench's own members send (compare's chat
// workload) against a client nobody here wrote.
//
//   node watch.js HOST PORT KEY CHANNEL
//
// stdout {"ready":true} once the channel is attached, then one line a
// message: {"message":{name,data,id,connectionId,channelSerial}}, where
// channelSerial is the channel's serial as the SDK holds it after the
// message (the serial of the MESSAGE that carried it). Exits when stdin
// ends; on a failure prints {"fatal":...} and exits 1.
'use strict';
const Ably = require('ably');

const [host, port, key, channelName] = process.argv.slice(2);

function out(v) {
  process.stdout.write(JSON.stringify(v) + '\n');
}

async function main() {
  const ably = new Ably.Realtime({ key, endpoint: host, port: Number(port), tls: false, useBinaryProtocol: false });
  const channel = ably.channels.get(channelName);
  await channel.subscribe((msg) => {
    out({ message: { name: msg.name, data: msg.data, id: msg.id, connectionId: msg.connectionId,
      channelSerial: channel.properties.channelSerial } });
  });
  out({ ready: true });
  process.stdin.on('data', () => {});
  process.stdin.on('end', () => {
    ably.close();
    process.exit(0);
  });
}

main().catch((err) => {
  out({ fatal: (err && err.message) || String(err) });
  process.exit(1);
});
