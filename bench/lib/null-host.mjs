#!/usr/bin/env node
// The "null host": thousands of SSH hosts that cost (almost) nothing, so a
// bench at 1,000-5,000 hosts measures the deployer, not the hosts. One process,
// one loopback port; every username is a host of its own.
//
//   node bench/lib/null-host.mjs --host-key FILE --authorized-keys FILE [--port 0] [--host-ms 0]
//
// --host-ms N: answer each script (or other command) N ms after it arrived, as a host whose
// deploy takes that long would (0: at once). The connection stays open meanwhile.
//
// It speaks real SSH (ssh2's Server): a full key exchange, `none` auth refused,
// public-key auth as sshd does it (the query without a signature answered with
// PK_OK, then the signed request, verified against the authorized key). An exec
// of `exec bash -s` (wd) reads the script from stdin until the script is whole,
// checks the marker token the way wd makes it (sha256 of the script text with
// the placeholder), and answers at once what a successful deploy prints: the
// step/previous/revision/done/result markers, exit 0. Any other command (the
// floor's) gets one line and exit 0.
//
// Prints one JSON line {"port", "pid", "hostKey"} on stdout when ready. Reads
// commands on stdin, one a line, and answers each with one JSON line:
//   stats   {connections, authenticated, execs, scripts, badScripts, users, perUserMin, perUserMax}
//   reset   zero the counters (answers {"reset": true})
// Exits on SIGTERM/SIGINT and when its stdin closes.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

// ssh2 is a dependency of wd itself (node_modules at the project root).
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));
const { Server, utils } = require('ssh2');

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

const hostKeyFile = arg('host-key');
const authorizedFile = arg('authorized-keys');
const port = Number(arg('port', '0'));
const hostMs = Number(arg('host-ms', '0'));
if (!hostKeyFile || !authorizedFile || !(port >= 0) || !(hostMs >= 0)) {
  process.stderr.write('usage: null-host.mjs --host-key FILE --authorized-keys FILE [--port N] [--host-ms N]\n');
  process.exit(2);
}

const parse = (text, what) => {
  const k = utils.parseKey(text);
  if (k instanceof Error) throw new Error(`${what}: ${k.message}`);
  return Array.isArray(k) ? k[0] : k;
};
const hostKey = readFileSync(hostKeyFile);
const hostPub = parse(hostKey, hostKeyFile);
const allowed = readFileSync(authorizedFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => parse(l, authorizedFile))
  .map((k) => ({ key: k, blob: k.getPublicSSH() }));

// As src/marks.ts makes it: the script is built with a placeholder, and the
// token is the first 16 hex digits of the sha256 of that text.
const PLACEHOLDER = '@WD_TOKEN@';
const tokenOf = (scriptWithPlaceholder) => createHash('sha256').update(scriptWithPlaceholder).digest('hex').slice(0, 16);
const REVISION = 'a'.repeat(40);
const PREVIOUS = 'b'.repeat(40);

let stats;
const resetStats = () => {
  stats = { connections: 0, authenticated: 0, execs: 0, scripts: 0, badScripts: 0, perUser: new Map() };
};
resetStats();

/** The whole script, or undefined while more is to come: wd's script is one `{ ... }` group ending "exit\n}\n". */
function scriptDone(text) {
  if (!text.endsWith('\n}\n')) return undefined;
  const m = /WD_MARK=::wd:([0-9a-f]{16})::/.exec(text);
  if (!m) return undefined;
  const token = m[1];
  return tokenOf(text.split(token).join(PLACEHOLDER)) === token ? token : undefined;
}

function answerScript(stream, token) {
  const mark = `::wd:${token}::`;
  const lines = [
    'step prepare',
    'step lock',
    `previous ${PREVIOUS}`,
    'step fetch',
    'step changes',
    `revision ${REVISION}`,
    'step post_deploy_script',
    'done',
    'result ok',
  ];
  stream.write(lines.map((l) => `${mark} ${l}\n`).join(''));
  stream.exit(0);
  stream.end();
}

const server = new Server({ hostKeys: [hostKey] }, (client) => {
  stats.connections++;
  client.on('error', () => {});
  let counted = false;
  client.on('authentication', (ctx) => {
    if (!counted) {
      counted = true;
      stats.perUser.set(ctx.username, (stats.perUser.get(ctx.username) ?? 0) + 1);
    }
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const offered = ctx.key.data;
    const match = allowed.find((k) => k.blob.length === offered.length && timingSafeEqual(k.blob, offered));
    if (!match) return ctx.reject(['publickey']);
    // No signature: the client asks whether this key would do (PK_OK), as with sshd.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    if (match.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
    stats.authenticated++;
    ctx.accept();
  });
  client.on('ready', () => {
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, _reject, { command }) => {
        stats.execs++;
        const stream = accept();
        if (command !== 'exec bash -s') {
          const answer = () => {
            stream.write('null host: ok\n');
            stream.exit(0);
            stream.end();
          };
          if (hostMs > 0) setTimeout(answer, hostMs);
          else answer();
          return;
        }
        const chunks = [];
        let answered = false;
        stream.on('data', (d) => {
          if (answered) return; // the control line after the script (e.g. "abort")
          chunks.push(d);
          // Cheap test first: only a chunk that ends the way a whole script ends is worth hashing.
          if (d.length < 3 || d[d.length - 1] !== 0x0a || d[d.length - 2] !== 0x7d) return;
          const token = scriptDone(Buffer.concat(chunks).toString('utf8'));
          if (token === undefined) return;
          answered = true;
          stats.scripts++;
          if (hostMs > 0) setTimeout(() => answerScript(stream, token), hostMs);
          else answerScript(stream, token);
        });
        stream.on('end', () => {
          if (answered) return;
          stats.badScripts++;
          stream.stderr.write('null host: stdin ended before a whole wd script with a valid marker token\n');
          stream.exit(1);
          stream.end();
        });
      });
    });
  });
});

server.on('error', (err) => {
  process.stderr.write(`null host: ${err.message}\n`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', 4096, () => {
  process.stdout.write(
    `${JSON.stringify({ port: server.address().port, pid: process.pid, hostKey: `${hostPub.type} ${hostPub.getPublicSSH().toString('base64')}` })}\n`,
  );
});

function report() {
  const counts = [...stats.perUser.values()];
  return {
    connections: stats.connections,
    authenticated: stats.authenticated,
    execs: stats.execs,
    scripts: stats.scripts,
    badScripts: stats.badScripts,
    users: counts.length,
    perUserMin: counts.length ? Math.min(...counts) : 0,
    perUserMax: counts.length ? Math.max(...counts) : 0,
  };
}

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'stats') process.stdout.write(`${JSON.stringify(report())}\n`);
  else if (cmd === 'reset') {
    resetStats();
    process.stdout.write('{"reset":true}\n');
  } else if (cmd) process.stdout.write(`${JSON.stringify({ error: `unknown command ${cmd}` })}\n`);
});
rl.on('close', stop);
