// Runs the official Pusher packages against rtbench serve, unchanged but for
// their host options: pusher-js (wsHost, wsPort, forceTLS: false, the
// WebSocket transport only) subscribes, and the pusher server SDK (host,
// port, useTLS: false) triggers, authorises channels and queries them.
// Prints one JSON object of what each step saw, then exits; exits 1 with
// the reason on stderr when a step fails or the whole takes over 20 s.
//
//   node interop.js HOST PORT APP_ID KEY SECRET
'use strict';
const Pusher = require('pusher');
const PusherJS = require('pusher-js');

const [host, port, appId, key, secret] = process.argv.slice(2);
const server = new Pusher({ appId, key, secret, host, port, useTLS: false });
const out = {};
const clients = [];

function fail(why) {
  process.stderr.write(`interop: ${why}\n`);
  process.exit(1);
}
setTimeout(() => fail('timed out; so far: ' + JSON.stringify(out)), 20000).unref();

function client(userId) {
  const c = new PusherJS(key, {
    cluster: 'local',
    wsHost: host,
    wsPort: Number(port),
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: {
      // The app's auth endpoint, as the pusher SDK documents it.
      customHandler: ({ socketId, channelName }, cb) => {
        if (channelName.startsWith('presence-')) {
          cb(null, server.authorizeChannel(socketId, channelName, { user_id: userId, user_info: { name: userId } }));
        } else {
          cb(null, server.authorizeChannel(socketId, channelName));
        }
      },
    },
  });
  clients.push(c);
  return c;
}

function subscribed(c, name) {
  return new Promise((resolve, reject) => {
    const ch = c.subscribe(name);
    ch.bind('pusher:subscription_succeeded', (data) => resolve({ ch, data }));
    ch.bind('pusher:subscription_error', (e) => reject(new Error(`${name}: ${JSON.stringify(e)}`)));
  });
}

function next(ch, event) {
  return new Promise((resolve) => ch.bind(event, (data, meta) => resolve({ data, meta })));
}

async function main() {
  const alice = client('alice');
  await new Promise((resolve) => alice.connection.bind('connected', resolve));
  out.socket_id = alice.connection.socket_id;

  for (const name of ['public-news', 'private-room']) {
    const { ch } = await subscribed(alice, name);
    const got = next(ch, 'greet');
    await server.trigger(name, 'greet', { text: `hi ${name}` });
    out[name] = (await got).data;
  }

  const { ch: aCh, data: aMembers } = await subscribed(alice, 'presence-chat');
  out.presence_alone = aMembers.count;
  const bob = client('bob');
  const added = next(aCh, 'pusher:member_added');
  const { ch: bCh, data: bMembers } = await subscribed(bob, 'presence-chat');
  const ids = [];
  bMembers.each((m) => ids.push(m.id));
  out.presence_members = ids.sort();
  out.presence_me = bMembers.me.id;
  out.member_added = (await added).data.id;

  const fromAlice = next(bCh, 'client-msg');
  aCh.trigger('client-msg', { text: 'yo bob' });
  const got = await fromAlice;
  out.client_event = got.data;
  out.client_event_user = got.meta.user_id;

  const both = [next(aCh, 'all'), next(bCh, 'all')];
  await server.trigger('presence-chat', 'all', 'plain text');
  out.presence_trigger = (await Promise.all(both)).map((g) => g.data);

  const users = await server.get({ path: '/channels/presence-chat/users' });
  out.users = (await users.json()).users.map((u) => u.id).sort();
  const info = await server.get({ path: '/channels/presence-chat', params: { info: 'user_count,subscription_count' } });
  out.channel_info = await info.json();

  const wrong = new Pusher({ appId, key, secret: 'not-the-secret', host, port, useTLS: false });
  try {
    await wrong.trigger('public-news', 'greet', {});
    out.wrong_secret = 'accepted';
  } catch (e) {
    out.wrong_secret = { status: e.status, body: e.body };
  }

  const removed = next(aCh, 'pusher:member_removed');
  bob.disconnect();
  out.member_removed = (await removed).data.id;

  process.stdout.write(JSON.stringify(out) + '\n');
  for (const c of clients) c.disconnect();
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
