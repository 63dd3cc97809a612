// The tutorial's Ably code, run against rtbench serve. The two functions
// below are the tutorial's publish route handler and ChatRoom subscription
// verbatim, except that where the tutorial passes the key alone, they pass
// the key with the host options (endpoint, port, tls: false) and the
// protocol under test (useBinaryProtocol). Driven by transport/ably's Go
// tests over stdin/stdout, one JSON object a line:
//   stdout {"ready":true}                after the subscription is attached
//   stdin  {"publish":{...}}             → the route handler publishes it
//   stdout {"published":true} or {"publishError":{code,statusCode,message}}
//   stdout {"message":{name,data,id,clientId,timestamp}}  each one received
//   stdin  {"rtpublish":..., "channel":...}  → published on the realtime
//          connection; stdout {"rtpublished":true} (ACK) or false and the
//          error (NACK)
// Mode "refused" (argv[2]) instead tries the credentials in ABLY_KEY /
// ABLY_TOKEN (with USE_TOKEN_AUTH, the key signs token requests) and
// prints how the realtime connection and a REST publish fared.
const Ably = require('ably');
const readline = require('readline');

const key = process.env.ABLY_KEY;
const channelName = process.env.CHANNEL || 'chat';
const hostOptions = {
  endpoint: process.env.RTBENCH_HOST || '127.0.0.1',
  port: Number(process.env.RTBENCH_PORT),
  tls: false,
  useBinaryProtocol: process.env.FORMAT === 'msgpack',
};

function out(v) {
  process.stdout.write(JSON.stringify(v) + '\n');
}

function errInfo(err) {
  return err ? { code: err.code, statusCode: err.statusCode, message: err.message } : null;
}

// The tutorial's publish route handler.
async function publishRoute(channel, message) {
  const ably = new Ably.Rest({ key: key, ...hostOptions });
  await ably.channels.get(channel).publish('message', message);
}

// The tutorial's ChatRoom subscription.
function chatRoom(channel, cb) {
  const ably = new Ably.Realtime({ key: key, ...hostOptions });
  const subscribed = ably.channels.get(channel).subscribe('message', cb);
  return { ably, subscribed };
}

async function tutorial() {
  const room = chatRoom(channelName, (msg) => {
    out({ message: { name: msg.name, data: msg.data, id: msg.id, clientId: msg.clientId, timestamp: msg.timestamp,
      binary: Buffer.isBuffer(msg.data) } });
  });
  await room.subscribed;
  out({ ready: true, format: room.ably.options.useBinaryProtocol ? 'msgpack' : 'json' });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const cmd = JSON.parse(line);
    if (cmd.rtpublish !== undefined) {
      // A publish on the ChatRoom's own realtime connection: resolved by
      // the server's ACK, rejected by its NACK.
      try {
        await room.ably.channels.get(cmd.channel || channelName).publish('message', cmd.rtpublish);
        out({ rtpublished: true });
      } catch (err) {
        out({ rtpublished: false, error: errInfo(err) });
      }
      return;
    }
    if (cmd.publish !== undefined) {
      let data = cmd.publish;
      if (cmd.binary) data = Buffer.from(cmd.publish, 'utf8');
      try {
        await publishRoute(channelName, data);
        out({ published: true });
      } catch (err) {
        out({ publishError: errInfo(err) });
      }
    }
  });
  rl.on('close', () => {
    room.ably.close();
    process.exit(0);
  });
}

async function refused() {
  const opts = { ...hostOptions };
  if (process.env.ABLY_TOKEN) opts.token = process.env.ABLY_TOKEN;
  else opts.key = key;
  // The SDK signs a token request with the key (its mac) and asks the
  // server's requestToken for the token, as an authUrl server would.
  if (process.env.USE_TOKEN_AUTH) opts.useTokenAuth = true;
  const rt = new Ably.Realtime(opts);
  // The first state after connecting: connected, or how the connection
  // was refused (failed for a bad key; disconnected, and retried later,
  // for a token the SDK has no means to renew).
  const realtime = await new Promise((resolve) => {
    rt.connection.on((change) => {
      if (['connected', 'disconnected', 'suspended', 'failed'].includes(change.current)) {
        resolve({ state: change.current, error: errInfo(change.reason) });
      }
    });
  });
  rt.close();
  let rest;
  try {
    await new Ably.Rest(opts).channels.get(channelName).publish('message', 'hi');
    rest = { published: true };
  } catch (err) {
    rest = { error: errInfo(err) };
  }
  out({ realtime, rest });
  process.exit(0);
}

(process.argv[2] === 'refused' ? refused() : tutorial()).catch((err) => {
  out({ fatal: errInfo(err) || String(err) });
  process.exit(1);
});
