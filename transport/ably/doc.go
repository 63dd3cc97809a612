// Package ably speaks Ably's realtime and REST protocols on both sides: the
// mock server's Ably door (Handler, on the channel hub of transport/pubsub)
// and a client session and publisher for `rtbench listen`, `load` and
// `check` against rtbench serve or Ably itself.
//
// The server side is what the official SDKs need, written from Ably's
// client library development guide and protocol reference and checked
// against the npm ably package (testdata/ably):
//
//   - Realtime: a WebSocket at GET / with key= or access_token= (and
//     format=json|msgpack, echo, heartbeats, clientId) on the URL; CONNECTED
//     with connectionDetails; HEARTBEAT (answered with its id, and sent every
//     two thirds of maxIdleInterval, or a WebSocket ping when heartbeats is
//     not true); ATTACH/ATTACHED with channel modes, channel serials and
//     resume (RESUMED) from a serial of this server, or params.rewind;
//     DETACH/DETACHED; MESSAGE both ways, ACK or NACK by msgSerial; ERROR
//     with Ably's codes; CLOSE/CLOSED. Presence is refused (NACK 40000).
//   - REST: POST and GET /channels/{name}/messages, GET /time and POST
//     /keys/{keyName}/requestToken, in JSON or MessagePack.
//   - Auth: keys (Basic, or key= on the realtime URL) and tokens this server
//     signs with the key's secret (Bearer, access_token=), with capabilities.
//     A wrong secret or unknown key is 40101, a token this server did not
//     issue 40143, an expired one 40142, an operation the capability does not
//     grant 40160.
//
// Messages go through the hub, so they reach SSE, WebSocket and polling
// subscribers of the same channel and the other way round (hub.go says how
// they are kept).
package ably
