#!/usr/bin/env node
// Loopback delay proxy: emulates a network round-trip time in front of sshd,
// because this kernel has no sch_netem.
//
//   node bench/proxy.mjs --target-port 2222 --rtt 50 [--listen-port 0]
//
// Listens on 127.0.0.1 only and forwards every connection to
// 127.0.0.1:<target-port>. With --rtt R (milliseconds):
//   - the connection to the target is opened R ms after the client connected
//     (a TCP handshake costs one round trip before data flows);
//   - every chunk is delivered R/2 ms after it was read, in each direction,
//     in order (so a request/response exchange costs one R).
// With --rtt 0 the bytes are piped straight through (same proxy hop, no delay),
// so every scenario pays the same user-space hop.
//
// Prints one JSON line {"port": N, "pid": P, "rtt": R} on stdout when ready.
// Exits on SIGTERM/SIGINT, and when its stdin closes (the harness died).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { appendFileSync } from 'node:fs';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const targetPort = Number(arg('target-port'));
const rtt = Number(arg('rtt', '0'));
const listenPort = Number(arg('listen-port', '0'));
const targetHost = '127.0.0.1';
if (!targetPort || !(rtt >= 0)) {
  console.error('usage: proxy.mjs --target-port PORT --rtt MS [--listen-port PORT]');
  process.exit(2);
}
const half = rtt / 2;
// --trace FILE: one JSON line per connection with every chunk's time, direction
// and size; `node bench/trace.mjs FILE` counts the round trips a tool waits for.
const traceFile = arg('trace', '');
let connId = 0;
const traceLines = [];
function flushTrace() {
  if (traceFile && traceLines.length) appendFileSync(traceFile, traceLines.splice(0).join(''));
}

const sockets = new Set();

// One direction of a relay: chunks from `src` reach `dst` `delay` ms later,
// in order. End/close are delayed the same way, so a FIN does not overtake data.
function delayedRelay(src, dst, delay, trace, dir) {
  const queue = []; // { at, chunk } | { at, end: true } | { at, destroy: true }
  let timer = null;
  let sawEnd = false;

  const flush = () => {
    timer = null;
    const now = performance.now();
    while (queue.length && queue[0].at <= now + 0.5) {
      const item = queue.shift();
      if (dst.destroyed) {
        queue.length = 0;
        return;
      }
      if (item.end) dst.end();
      else if (item.destroy) {
        dst.destroy();
        queue.length = 0;
        return;
      } else dst.write(item.chunk);
    }
    schedule();
  };
  const schedule = () => {
    if (timer || !queue.length) return;
    timer = setTimeout(flush, Math.max(0, queue[0].at - performance.now()));
  };
  const push = (item) => {
    item.at = performance.now() + delay;
    queue.push(item);
    schedule();
  };

  src.on('data', (chunk) => {
    if (trace) trace.push([Math.round((performance.now() - trace.t0) * 10) / 10, dir, chunk.length]);
    push({ chunk });
  });
  src.on('end', () => {
    sawEnd = true;
    push({ end: true });
  });
  // An abrupt close (no FIN seen) tears the other side down, after the same delay.
  src.on('close', () => {
    if (!sawEnd) push({ destroy: true });
  });
}

const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
  client.setNoDelay(true);
  sockets.add(client);
  client.on('close', () => sockets.delete(client));
  client.on('error', () => {});
  const trace = traceFile ? Object.assign([], { t0: performance.now(), id: ++connId }) : null;
  if (trace) {
    client.on('close', () => {
      traceLines.push(JSON.stringify({ id: trace.id, rtt, at: Date.now(), ms: Math.round(performance.now() - trace.t0), events: [...trace] }) + '\n');
      setTimeout(flushTrace, 50).unref();
    });
  }

  const open = () => {
    if (client.destroyed) return;
    const upstream = net.connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    upstream.setNoDelay(true);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('connect', () => {
      if (rtt === 0 && !trace) {
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      } else {
        delayedRelay(client, upstream, half, trace, 'c');
        delayedRelay(upstream, client, half, trace, 's');
      }
      client.resume();
    });
  };
  if (rtt === 0) open();
  else setTimeout(open, rtt);
});

server.on('error', (err) => {
  console.error(`proxy: ${err.message}`);
  process.exit(1);
});

server.listen({ host: '127.0.0.1', port: listenPort, backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid, rtt }) + '\n');
});

const stop = () => {
  flushTrace();
  server.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The harness keeps our stdin open; when it goes away, so do we.
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
