// Sends events to a beats input with the npm package lumberjack-client (a client we did not write).
// Usage: node lumberjack_send.js PORT QUEUED LIVE
//   QUEUED events are logged before the connection is up (flushed as one compressed window),
//   LIVE events are logged one by one once connected (one compressed window each).
'use strict'
const LumberjackClient = require('lumberjack-client')

const [port, queued, live] = process.argv.slice(2).map(Number)
const client = new LumberjackClient({ host: '127.0.0.1', port })
const event = (kind, i) => ({
  '@timestamp': new Date(Date.UTC(2026, 10, 21, 5, 0, 0, i)),
  '@metadata': { beat: 'node', type: '_doc', version: '1.0.3' },
  message: `${kind} event ${i}`,
  n: i,
  nested: { kind, unicode: 'héllo ✓' },
})

for (let i = 0; i < queued; i++) client.log(event('queued', i))

const started = Date.now()
const wait = setInterval(() => {
  if (client.connected) {
    clearInterval(wait)
    for (let i = 0; i < live; i++) client.log(event('live', i))
    // The client never reads acks and reconnects forever: finish writing, then exit.
    client.socket.end(() => process.exit(0))
  } else if (Date.now() - started > 10000) {
    console.error('could not connect')
    process.exit(2)
  }
}, 10)
