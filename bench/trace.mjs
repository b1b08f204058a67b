#!/usr/bin/env node
// Reads a delay-proxy trace (node bench/run.mjs --serve --trace writes
// bench/.work/trace-<rtt>.jsonl) and shows, per SSH connection, how many
// round trips the client waited for: every time the flow turns from
// client→server to server→client is one more round trip on a real network.
//
//   node bench/trace.mjs bench/.work/trace-50.jsonl [--last N]

import fs from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: trace.mjs TRACE.jsonl [--last N]');
  process.exit(2);
}
const lastIdx = process.argv.indexOf('--last');
let conns = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
if (lastIdx > 0) conns = conns.slice(-Number(process.argv[lastIdx + 1]));

for (const c of conns) {
  let turns = 0,
    prev = null,
    up = 0,
    down = 0,
    chunksUp = 0,
    chunksDown = 0;
  for (const [, dir, bytes] of c.events) {
    if (dir === 'c') {
      up += bytes;
      chunksUp++;
    } else {
      down += bytes;
      chunksDown++;
    }
    if (prev === 'c' && dir === 's') turns++;
    prev = dir;
  }
  const first = c.events[0]?.[0] ?? 0;
  const waitRtts = c.rtt ? (c.ms / c.rtt).toFixed(1) : '-';
  console.log(
    `conn ${c.id}: ${c.ms} ms (${waitRtts} RTT at ${c.rtt} ms), ${turns} client→server→client turns, ` +
      `up ${up} B in ${chunksUp} chunks, down ${down} B in ${chunksDown} chunks, first byte at ${first} ms`,
  );
  if (process.argv.includes('--events')) {
    for (const [t, dir, bytes] of c.events) console.log(`   ${String(t).padStart(8)} ms ${dir === 'c' ? '→' : '←'} ${bytes}`);
  }
}
