#!/usr/bin/env node
// The "floor": the least a Node deployer can do. Opens one ssh2 connection to
// every host at once, execs the same command on each, waits for all of them.
// No config parsing beyond a JSON file, no script generation, no output
// formatting: whatever wd spends on top of this is wd's own overhead.
//
//   node bench/floor.mjs <spec.json>
//
// spec.json: { "hosts": [{ "user", "host", "port" }], "key": "/abs/key",
//              "command": "cd ~/app && ..." }
// Exit status 0 when every host's command exited 0, else 1.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// ssh2 is a dependency of wd itself (node_modules at the project root).
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'));
const { Client } = require('ssh2');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const privateKey = readFileSync(spec.key);

function runOne(h) {
  return new Promise((resolve) => {
    const conn = new Client();
    let out = '';
    let settled = false;
    const done = (code, why) => {
      if (settled) return;
      settled = true;
      conn.end();
      resolve({ host: `${h.user}@${h.host}`, code, why, out });
    };
    conn.on('ready', () => {
      conn.exec(spec.command, (err, stream) => {
        if (err) return done(255, err.message);
        let code = null;
        stream.on('exit', (c) => {
          code = c;
        });
        stream.on('data', (d) => {
          out += d;
        });
        stream.stderr.on('data', (d) => {
          out += d;
        });
        stream.on('close', () => done(code ?? 255, code === null ? 'no exit status' : ''));
      });
    });
    conn.on('error', (err) => done(255, err.message));
    conn.on('close', () => done(255, 'connection closed'));
    conn.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      privateKey,
      readyTimeout: 120000,
    });
  });
}

const results = await Promise.all(spec.hosts.map(runOne));
let failed = 0;
for (const r of results) {
  if (r.code !== 0) {
    failed++;
    process.stderr.write(`${r.host}: exit ${r.code} ${r.why}\n${r.out}\n`);
  }
}
if (!spec.quiet) {
  for (const r of results)
    process.stdout.write(
      r.out
        .split('\n')
        .filter(Boolean)
        .map((l) => `${r.host}: ${l}\n`)
        .join(''),
    );
}
process.stdout.write(`floor: ${results.length - failed}/${results.length} succeeded\n`);
process.exitCode = failed ? 1 : 0;
