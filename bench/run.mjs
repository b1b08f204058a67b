#!/usr/bin/env node
// `npm run bench`: wd against its peers, on a loopback testbed it builds and
// tears down itself. See docs/benchmarks.md for what is measured and how.
//
//   node bench/run.mjs [--quick] [--n 1,10,50,100] [--rtt 0,50] [--runs 3]
//                      [--only wd,floor,...] [--slow-after 15] [--skip-after 100]
//                      [--no-docs] [--remove-users] [--serve [--trace]] [--kex LIST]
//                      [--scenario ssh,null] [--caps 64,256,1024] [--key-type ed25519|rsa] [--no-warmup]
//                      [--host-ms 0]
//
// --scenario: which scenarios run (default both). "ssh" is the loopback sshd
// testbed (N up to 500, real git on every host); "null" is N null hosts
// (lib/null-host.mjs: real SSH, an instant successful deploy, so only the
// deployer's own cost is measured): wd and the floor, N default 100,1000,5000
// (--n sets it when only null runs). --caps adds wd runs with those default
// concurrency caps; --key-type picks the client key of the null scenario;
// --no-warmup skips its unrecorded first round; --host-ms makes each null
// host answer that many ms after the script arrived (a deploy's time on a host).
//
// --serve builds the testbed (users, sshd, proxies, origin, configs for the
// largest N), prints how to reach it, and waits for Ctrl-C: for reproducing.
// With --trace the proxies record every chunk (bench/.work/trace-<rtt>.jsonl,
// read with `node bench/trace.mjs FILE`): round trips per connection.
// --remove-users deletes the wdb* users and their homes, and exits.
// --report-only [FILE] re-renders the table and docs/benchmarks.md from a
// saved run (default bench/.work/results/latest.json; every run also keeps
// bench/.work/results/<start time>.json), and exits.
//
// Every option also reads an environment variable: BENCH_N, BENCH_RTT,
// BENCH_RUNS, BENCH_ONLY, BENCH_SLOW_AFTER, BENCH_SKIP_AFTER, BENCH_NO_DOCS=1,
// BENCH_QUICK=1, BENCH_KEX (sshd KexAlgorithms, or "default").
// The bench reports; it asserts nothing about time (exit 0 unless the testbed
// itself could not be built).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tb from './lib/testbed.mjs';
import { contenders, wdConfig, prepareConfigRoot, cleanEnv, sshArgs, PM2_HOME, PEERS, WD_CLI, WD_BUILT, useWd, pm2Bin } from './lib/contenders.mjs';
import crypto from 'node:crypto';
import { measure, stats, hasGnuTime } from './lib/measure.mjs';
import { renderReport, evaluateTargets } from './lib/report.mjs';
import { runNullScenario, renderNull } from './lib/null-bench.mjs';

// ---------------------------------------------------------------- options --

function parseOptions(argv) {
  const o = {
    n: [1, 10, 50, 100],
    rtt: [0, 50],
    runs: 3,
    only: null,
    slowAfter: 15,
    skipAfter: 100,
    docs: true,
    removeUsers: false,
    quick: false,
    kex: undefined,
    coldRuns: 15,
    scenarios: ['ssh', 'null'],
    nullN: [100, 1000, 5000],
    caps: null,
    keyType: 'ed25519',
  };
  const env = process.env;
  const list = (s) =>
    String(s)
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const nums = (s) => list(s).map(Number);
  if (env.BENCH_QUICK === '1') o.quick = true;
  if (env.BENCH_N) o.n = nums(env.BENCH_N);
  if (env.BENCH_RTT) o.rtt = nums(env.BENCH_RTT);
  if (env.BENCH_RUNS) o.runs = Number(env.BENCH_RUNS);
  if (env.BENCH_ONLY) o.only = list(env.BENCH_ONLY);
  if (env.BENCH_SLOW_AFTER) o.slowAfter = Number(env.BENCH_SLOW_AFTER);
  if (env.BENCH_SKIP_AFTER) o.skipAfter = Number(env.BENCH_SKIP_AFTER);
  if (env.BENCH_NO_DOCS === '1') o.docs = false;
  if (env.BENCH_KEX) o.kex = env.BENCH_KEX;
  let explicitN = !!env.BENCH_N;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const name = a.replace(/=.*/, '');
    switch (name) {
      case '--quick':
        o.quick = true;
        break;
      case '--n':
        o.n = nums(val());
        explicitN = true;
        break;
      case '--rtt':
        o.rtt = nums(val());
        break;
      case '--runs':
        o.runs = Number(val());
        break;
      case '--only':
        o.only = list(val());
        break;
      case '--slow-after':
        o.slowAfter = Number(val());
        break;
      case '--skip-after':
        o.skipAfter = Number(val());
        break;
      case '--kex':
        o.kex = val();
        break;
      case '--no-docs':
        o.docs = false;
        break;
      case '--remove-users':
        o.removeUsers = true;
        break;
      case '--serve':
        o.serve = true;
        break;
      case '--report-only':
        o.reportOnly = true;
        if (argv[i + 1] && !argv[i + 1].startsWith('-')) o.reportFrom = argv[++i];
        break;
      case '--trace':
        o.trace = true;
        break;
      case '--scenario':
        o.scenarios = list(val());
        break;
      case '--caps':
        o.caps = nums(val());
        break;
      case '--host-ms':
        o.hostMs = Number(val());
        break;
      case '--no-warmup':
        o.warmup = false;
        break;
      case '--key-type':
        o.keyType = val();
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  if (o.scenarios.some((x) => x !== 'ssh' && x !== 'null') || !o.scenarios.length) usage('--scenario: ssh, null or both');
  if (!['ed25519', 'rsa', 'ecdsa'].includes(o.keyType)) usage('--key-type: ed25519, rsa or ecdsa');
  if (o.caps?.some((x) => !(x >= 1 && Number.isInteger(x)))) usage('--caps: whole numbers >= 1');
  if (!o.scenarios.includes('ssh')) {
    // Only null hosts: --n is their count.
    if (explicitN) o.nullN = [...new Set(o.n)].sort((a, b) => a - b);
    if (o.nullN.some((x) => !(x >= 1 && x <= 20000 && Number.isInteger(x)))) usage('--n: null host counts between 1 and 20000');
    return o;
  }
  if (o.quick && !explicitN) o.n = [1, 10];
  if (!o.n.length || o.n.some((x) => !(x >= 1 && x <= 500 && Number.isInteger(x)))) usage('--n: host counts between 1 and 500');
  if (!o.rtt.length || o.rtt.some((x) => !(x >= 0 && x <= 1000))) usage('--rtt: milliseconds between 0 and 1000');
  if (!(o.runs >= 1 && Number.isInteger(o.runs))) usage('--runs: a whole number >= 1');
  const ids = contenders.map((c) => c.id);
  for (const id of o.only || []) if (!ids.includes(id)) usage(`--only: unknown contender ${id} (known: ${ids.join(', ')})`);
  o.n = [...new Set(o.n)].sort((a, b) => a - b);
  o.rtt = [...new Set(o.rtt)].sort((a, b) => a - b);
  return o;
}

function usage(err) {
  const lines = fs
    .readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  const text = lines
    .slice(
      0,
      lines.findIndex((l) => !l.startsWith('//')),
    )
    .map((l) => l.replace(/^\/\/ ?/, ''))
    .join('\n');
  (err ? process.stderr : process.stdout).write((err ? `bench: ${err}\n\n` : '') + text + '\n');
  process.exit(err ? 2 : 0);
}

const opts = parseOptions(process.argv.slice(2));
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

tb.installExitHandlers();

if (opts.reportOnly) {
  const saved = JSON.parse(fs.readFileSync(opts.reportFrom || path.join(tb.WORK, 'results', 'latest.json'), 'utf8'));
  if (saved.scenarios?.[0]?.contenders) {
    // A null-host run (results/null-*.json).
    const markdown = nullMarkdown(saved, saved.command ?? 'npm run bench -- --scenario null');
    process.stdout.write(`${markdown}\n`);
    if (opts.docs) writeDocs(markdown, 'null');
    process.exit(0);
  }
  saved.targets = evaluateTargets(saved);
  const { table, markdown } = renderReport(saved);
  process.stdout.write(table + '\n');
  if (opts.docs) writeDocs(markdown);
  process.exit(0);
}

if (!opts.scenarios.includes('ssh')) {
  await nullOnly();
  process.exit(0);
}

if (opts.removeUsers) {
  tb.removeUsers(log);
  process.exit(0);
}

if (process.getuid && process.getuid() !== 0) {
  process.stderr.write('bench: must run as root (it creates local users wdb1..wdbN and runs its own sshd)\n');
  process.exit(2);
}
if (!fs.existsSync(tb.SSHD)) {
  process.stderr.write(`bench: ${tb.SSHD} not found (apt-get install openssh-server)\n`);
  process.exit(2);
}

// -------------------------------------------------------------- the peers --

function ensurePeers() {
  const want = ['pm2', 'shipit-cli', 'shipit-deploy'];
  const missing = want.filter((p) => !fs.existsSync(path.join(PEERS, 'node_modules', p, 'package.json')));
  if (!missing.length) return;
  log(`installing peers into ${path.relative(tb.ROOT, PEERS)}: ${missing.join(' ')}`);
  fs.mkdirSync(PEERS, { recursive: true });
  if (!fs.existsSync(path.join(PEERS, 'package.json'))) fs.writeFileSync(path.join(PEERS, 'package.json'), '{ "name": "wd-bench-peers", "private": true }\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...missing], { cwd: PEERS, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) log('peer install failed; the missing peers are left out of this run');
}

function peerVersion(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(PEERS, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/**
 * Copy dist/ to bench/.work/wd-dist and run wd from there: the build can change
 * under a 20-minute run. Returns a short hash of the snapshot's files.
 */
function snapshotWd() {
  if (!fs.existsSync(WD_BUILT)) return null;
  const src = path.dirname(WD_BUILT);
  const dst = path.join(tb.WORK, 'wd-dist');
  fs.rmSync(dst, { recursive: true, force: true });
  fs.cpSync(src, dst, { recursive: true });
  const hash = crypto.createHash('sha256');
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.js')) {
        hash.update(path.relative(dst, f));
        hash.update(fs.readFileSync(f));
      }
    }
  };
  walk(dst);
  // dist/ files resolve node_modules upwards: bench/.work/wd-dist → the project's node_modules.
  useWd(path.join(dst, path.basename(WD_BUILT)));
  return hash.digest('hex').slice(0, 12);
}

function wdVersion() {
  if (!fs.existsSync(WD_CLI)) return null;
  const r = spawnSync(process.execPath, [WD_CLI, '--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ----------------------------------------------------------------- main --

const started = Date.now();
const results = {
  started: new Date(started).toISOString(),
  command: commandLine(),
  options: { ...opts },
  machine: tb.machineFacts(),
  versions: {},
  proxyCheck: [],
  coldStart: null,
  scenarios: [],
  notes: [],
};

async function main() {
  const maxN = Math.max(...opts.n);
  if (!hasGnuTime()) results.notes.push('/usr/bin/time (GNU time) missing: CPU time and peak RSS not measured.');

  ensurePeers();
  const distHash = snapshotWd();
  let commit = null;
  try {
    commit = spawnSync('git', ['-C', tb.ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || null;
  } catch {
    /* no git */
  }
  results.wdBuild = {
    distHash,
    commit,
    dirty: spawnSync('git', ['-C', tb.ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== '',
  };
  results.versions = {
    wd: wdVersion(),
    pm2: peerVersion('pm2'),
    'pm2-deploy': peerVersion('pm2-deploy'),
    'shipit-cli': peerVersion('shipit-cli'),
    'shipit-deploy': peerVersion('shipit-deploy'),
    ssh2: (() => {
      try {
        return JSON.parse(fs.readFileSync(path.join(tb.ROOT, 'node_modules', 'ssh2', 'package.json'), 'utf8')).version;
      } catch {
        return null;
      }
    })(),
  };

  // Which contenders run at all.
  const active = contenders.filter((c) => {
    if (opts.only && !opts.only.includes(c.id)) return false;
    const ok = c.available();
    if (ok !== true) {
      results.notes.push(`${c.label}: left out (${ok}).`);
      log(`${c.label}: left out (${ok})`);
      return false;
    }
    return true;
  });
  if (active.some((c) => c.id === 'wd') && !results.versions.wd) {
    results.notes.push('wd: dist/cli.js does not run (`node dist/cli.js --version` failed); left out.');
    active.splice(
      active.findIndex((c) => c.id === 'wd'),
      1,
    );
  }

  log(`testbed: ${maxN} users, keys, origin, sshd, proxies (${opts.rtt.join(', ')} ms)`);
  tb.ensureKeys();
  tb.ensureUsers(maxN, log);
  tb.createOrigin();
  const sshd = await tb.startSshd(opts.kex ? { kex: opts.kex } : {});
  const proxies = {};
  for (const rtt of opts.rtt) {
    const trace = opts.serve && opts.trace ? path.join(tb.WORK, `trace-${rtt}.jsonl`) : undefined;
    if (trace) fs.rmSync(trace, { force: true });
    proxies[rtt] = await tb.startProxy(sshd.port, rtt, { trace });
  }
  const configRoot = path.join(tb.WORK, 'configs');
  fs.rmSync(configRoot, { recursive: true, force: true });
  prepareConfigRoot(configRoot);
  const logs = path.join(tb.WORK, 'logs');
  fs.rmSync(logs, { recursive: true, force: true });

  // pm2: its CLI talks to (and first starts) a daemon; start it now, outside
  // any timing, in a PM2_HOME of our own, and stop it at the end.
  if (active.some((c) => c.id === 'pm2')) {
    const pm2Env = cleanEnv({ PM2_HOME });
    spawnSync(process.execPath, [pm2Bin(), 'ping'], { env: pm2Env, stdio: 'ignore' });
    tb.onCleanup('pm2 daemon', () => {
      spawnSync(process.execPath, [pm2Bin(), 'kill'], { env: pm2Env, stdio: 'ignore', timeout: 20000 });
    });
    // deploy(1) tees hook output into /tmp/pm2-deploy-$USER.log on the hosts.
    fs.writeFileSync('/tmp/pm2-deploy-wdbench.log', '');
    fs.chmodSync('/tmp/pm2-deploy-wdbench.log', 0o666);
  }

  if (opts.serve) return serve(proxies, configRoot, maxN);
  await proxyCheck(proxies);
  if (active.some((c) => c.id === 'wd')) await coldStart(proxies[opts.rtt[0]].port, configRoot);

  // Per-host wall time of each contender at the last N, per RTT, to predict
  // how long the next N will take (sequential tools grow linearly).
  const perHost = {};
  for (const n of opts.n) {
    for (const rtt of opts.rtt) {
      const scenario = await runScenario({ n, rtt, port: proxies[rtt].port, active, configRoot, logs, perHost });
      results.scenarios.push(scenario);
      saveResults();
    }
  }
}

function saveResults() {
  results.finished = new Date().toISOString();
  results.durationS = Math.round((Date.now() - started) / 1000);
  const dir = path.join(tb.WORK, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(results, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v), 2);
  fs.writeFileSync(path.join(dir, 'latest.json'), json);
  fs.writeFileSync(path.join(dir, `${results.started.replace(/[:.]/g, '-')}.json`), json);
}

// ----------------------------------------------------------------- serve --

async function serve(proxies, configRoot, n) {
  const lines = [
    `testbed up: sshd on 127.0.0.1:${(await import('node:fs')).readFileSync(tb.SSHD_CONFIG, 'utf8').match(/^Port (\d+)/m)[1]} (log ${tb.SSHD_LOG})`,
  ];
  for (const rtt of opts.rtt) {
    const ctx = { n, rtt, port: proxies[rtt].port, dir: path.join(configRoot, `serve-rtt${rtt}`), benchDir: tb.BENCH_DIR, wdArgs: [] };
    const made = {};
    for (const c of contenders) if (c.available() === true) made[c.id] = c.prepare(ctx);
    lines.push('', `RTT ${rtt} ms: proxy on 127.0.0.1:${proxies[rtt].port}; configs for ${n} hosts in ${ctx.dir}`);
    lines.push(`  ssh ${sshArgs(proxies[rtt].port).join(' ')} wdb1@127.0.0.1 true`);
    for (const [id, p] of Object.entries(made)) {
      for (const what of ['setup', 'deploy', 'rollback']) {
        if (!p[what]) continue;
        const envs = ['PM2_HOME', 'USER']
          .filter((k) => p[what].env?.[k] && p[what].env[k] !== process.env[k])
          .map((k) => `${k}=${p[what].env[k]} `)
          .join('');
        lines.push(
          `  ${id} ${what}: ${p[what].cwd ? `(cd ${p[what].cwd} && ` : ''}${envs}${[p[what].cmd, ...p[what].args].join(' ')}${p[what].cwd ? ')' : ''}`,
        );
      }
    }
  }
  lines.push('', 'Hosts keep their state; wd and floor use ~/app, wd with strategy: releases ~/wdrel. Ctrl-C stops sshd and the proxies.');
  process.stdout.write(lines.join('\n') + '\n');
  await new Promise(() => {});
}

// ---------------------------------------------------------- proxy check --

async function proxyCheck(proxies) {
  for (const rtt of opts.rtt) {
    const port = proxies[rtt].port;
    const banners = [];
    for (let i = 0; i < 7; i++) banners.push(await tb.bannerTime(port));
    const ssh = [];
    const offset = tb.sshdLogSize();
    for (let i = 0; i < 6; i++) {
      const r = await measure(
        { cmd: 'ssh', args: [...sshArgs(port), `${tb.userName(1)}@127.0.0.1`, 'true'], env: cleanEnv() },
        { log: path.join(tb.WORK, 'logs', `proxy-check-${rtt}.log`) },
      );
      if (r.code !== 0) throw new Error(`plain ssh through the ${rtt} ms proxy failed; see bench/.work/logs/proxy-check-${rtt}.log and ${tb.SSHD_LOG}`);
      if (i > 0) ssh.push(r.wall); // the first one warms the caches
    }
    const conns = tb.sshdConnectionsSince(offset).connections;
    const entry = { rtt, bannerMs: stats(banners), sshTrueS: stats(ssh), connectionsPerSsh: conns / 6 };
    results.proxyCheck.push(entry);
    log(
      `proxy ${rtt} ms: TCP connect→banner ${entry.bannerMs.median.toFixed(1)} ms, \`ssh host true\` ${(entry.sshTrueS.median * 1000).toFixed(0)} ms (median), ${entry.connectionsPerSsh} connection(s) per ssh`,
    );
  }
  const lo = results.proxyCheck[0],
    hi = results.proxyCheck[results.proxyCheck.length - 1];
  if (hi.rtt > lo.rtt) {
    const added = (hi.sshTrueS.median - lo.sshTrueS.median) * 1000;
    const rtts = added / (hi.rtt - lo.rtt);
    results.proxyCheckSummary = { addedMs: added, roundTrips: rtts };
    log(`proxy check: ${hi.rtt} ms RTT adds ${added.toFixed(0)} ms to one \`ssh host true\` = ${rtts.toFixed(1)} round trips`);
    if (rtts < 3) log('WARNING: the delay proxy adds fewer round trips than an SSH login needs; the RTT emulation looks broken');
  }
}

// ------------------------------------------------------------ cold start --

async function coldStart(port, configRoot) {
  const dir = path.join(configRoot, 'cold');
  const file = wdConfig({ port }, 100, path.join(dir, 'wd-100.yml'));
  const cases = [
    { id: 'node', label: 'node -e 0', spec: { cmd: process.execPath, args: ['-e', '0'] } },
    { id: 'version', label: 'wd --version', spec: { cmd: process.execPath, args: [WD_CLI, '--version'] } },
    {
      id: 'dryrun',
      label: 'wd deploy bench --dry-run',
      note: '100 hosts',
      spec: { cmd: process.execPath, args: [WD_CLI, 'deploy', 'bench', '-p', file, '--dry-run'] },
    },
  ];
  const out = {};
  const offset = tb.sshdLogSize();
  for (const c of cases) out[c.id] = { label: c.label, walls: [], rss: [], codes: new Set() };
  // Interleaved, after 2 warm-up rounds, so drift hits all three alike.
  for (let i = 0; i < opts.coldRuns + 2; i++) {
    for (const c of cases) {
      const r = await measure({ ...c.spec, env: cleanEnv() }, { log: path.join(tb.WORK, 'logs', `cold-${c.id}.log`) });
      out[c.id].codes.add(r.code);
      if (i >= 2) {
        out[c.id].walls.push(r.wall);
        out[c.id].rss.push(r.rssMB);
      }
    }
  }
  const contacted = tb.sshdConnectionsSince(offset).connections;
  results.coldStart = { runs: opts.coldRuns, sshConnections: contacted };
  for (const c of cases) {
    results.coldStart[c.id] = { label: c.label, note: c.note, wall: stats(out[c.id].walls), rssMB: stats(out[c.id].rss), exitCodes: [...out[c.id].codes] };
  }
  const cs = results.coldStart;
  log(
    `cold start (median of ${opts.coldRuns}): node -e 0 ${ms(cs.node.wall.median)}, wd --version ${ms(cs.version.wall.median)}, wd deploy --dry-run x100 ${ms(cs.dryrun.wall.median)} (exit ${cs.dryrun.exitCodes}), ssh connections: ${contacted}`,
  );
}

const ms = (s) => `${(s * 1000).toFixed(0)} ms`;

// -------------------------------------------------------------- scenario --

async function runScenario({ n, rtt, port, active, configRoot, logs, perHost }) {
  const name = `n${n}-rtt${rtt}`;
  const dir = path.join(configRoot, name);
  const ctx = { n, rtt, port, dir, benchDir: tb.BENCH_DIR, wdArgs: [], runs: opts.runs };
  const scenario = { n, rtt, load: [os.loadavg()[0]], setup: {}, deploy: {}, rollback: {} };
  log(`── scenario N=${n} RTT=${rtt} ms ──`);
  // Fresh hosts: the setups are timed on them, and shipit insists that all
  // hosts have the same releases.
  tb.resetHosts(n);
  tb.packOrigin();

  const prepared = {};
  for (const c of active) prepared[c.id] = c.prepare(ctx);
  const logFile = (what, id, r) => path.join(logs, name, `${what}-${id}-${r}.log`);

  const record = (bucket, id, r, res, extra = {}) => {
    bucket[id] ??= { runs: [], failures: [] };
    const b = bucket[id];
    const entry = { run: r, ...res, ...extra };
    if (res.code !== 0 || extra.missing?.length) b.failures.push(entry);
    else b.runs.push(entry);
    return entry;
  };
  const connsOf = (offset) => {
    const { connections, perUser } = tb.sshdConnectionsSince(offset);
    const counts = [...perUser.values()];
    return {
      connections,
      perHost: connections / n,
      perUserMin: counts.length ? Math.min(...counts) : 0,
      perUserMax: counts.length ? Math.max(...counts) : 0,
      usersSeen: counts.length,
    };
  };

  // --- the plan: tools that go host by host are predicted from the last N ---
  const plan = {};
  for (const c of active) {
    // A peer's time at this N is predicted from the previous N: ∝ N for the
    // tools that go host by host, at least the same for the others.
    // wd and the floor always get the full treatment.
    const prev = perHost[`${c.id}@${rtt}`];
    const predicted = !prev || FULL.includes(c.id) ? 0 : c.scalesLinearly ? prev.perHost * n : prev.wall;
    // The targets compare wd with every peer at N=50, 50 ms: never skipped there.
    const targetScenario = n === 50 && rtt === 50;
    if (predicted > opts.skipAfter && !targetScenario) plan[c.id] = { mode: 'skip', predicted };
    // Host-by-host peers deploy to ~/app or their own set-up layout: one run, no warm-up.
    else if (predicted > opts.slowAfter && c.scalesLinearly) plan[c.id] = { mode: 'once', predicted };
    // The others (shipit) need their first deploy as a setup: warm-up, then one run.
    else if (predicted > opts.slowAfter) plan[c.id] = { mode: 'full', maxRun: 1, predicted };
    else plan[c.id] = { mode: 'full' };
  }
  for (const [id, p] of Object.entries(plan)) {
    if (p.mode === 'skip') log(`deploy ${id.padEnd(15)} skipped: would take ~${p.predicted.toFixed(0)} s (> --skip-after ${opts.skipAfter})`);
    if (p.mode === 'once') log(`deploy ${id.padEnd(15)} one run, no warm-up: would take ~${p.predicted.toFixed(0)} s a run (> --slow-after ${opts.slowAfter})`);
    if (p.maxRun) log(`deploy ${id.padEnd(15)} warm-up and one run: would take ≥${p.predicted.toFixed(0)} s a run (> --slow-after ${opts.slowAfter})`);
  }

  // --- setup: floor and wd (both strategies), each on fresh hosts, interleaved ---
  const setupIds = active.filter((c) => prepared[c.id].setup && FULL.includes(c.id)).map((c) => c.id);
  for (let r = 1; r <= opts.runs; r++) {
    for (const id of setupIds) {
      const dirOf = id === 'wd-releases' ? 'wdrel' : 'app';
      for (let i = 1; i <= n; i++) fs.rmSync(path.join(tb.homeOf(i), dirOf), { recursive: true, force: true });
      const offset = tb.sshdLogSize();
      const res = await measure(prepared[id].setup, { log: logFile('setup', id, r) });
      const missing = tb.hostsWithoutCheckout(n, dirOf);
      const e = record(scenario.setup, id, r, res, { missing: missing.slice(0, 5), missingCount: missing.length, ...connsOf(offset) });
      log(
        `setup  ${id.padEnd(15)} run ${r}  : ${e.wall.toFixed(3)} s, cpu ${e.cpu?.toFixed(2)} s, rss ${e.rssMB?.toFixed(0)} MB, ${e.perHost} conn/host${res.code ? `, EXIT ${res.code}` : ''}${missing.length ? ` (${missing.length} hosts without checkout)` : ''}`,
      );
    }
  }
  // The OpenSSH contenders need a checkout; if the last setup left gaps, clone plainly.
  const floorCtx = contenders.find((c) => c.id === 'floor');
  let gaps = tb.hostsWithoutCheckout(n);
  if (gaps.length) {
    for (let i = 1; i <= n; i++) fs.rmSync(path.join(tb.homeOf(i), 'app'), { recursive: true, force: true });
    await measure(floorCtx.prepare(ctx).setup, { log: logFile('setup', 'fallback', 0) });
    gaps = tb.hostsWithoutCheckout(n);
    if (gaps.length) throw new Error(`setup failed on ${gaps.length} hosts (${gaps.slice(0, 3).join(', ')}); see ${path.join(logs, name)}`);
  }
  // pm2 has its own layout (path/source, path/current) and needs its own setup.
  if (prepared.pm2?.setup && plan.pm2.mode !== 'skip') {
    const prev = perHost[`pm2-setup@${rtt}`]?.perHost;
    if (prev && prev * n > opts.slowAfter) {
      // As slow as its deploy: lay out what `pm2 deploy setup` would, untimed.
      log(`setup  ${'pm2'.padEnd(15)} not timed (would take ~${(prev * n).toFixed(0)} s): the same layout made with one ssh2 exec per host`);
      if (!prepared.floor) floorCtx.prepare(ctx); // writes floor-setup.json
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'floor-setup.json'), 'utf8'));
      spec.command = `mkdir -p ~/pm2app/shared/logs ~/pm2app/shared/pids && git clone -q -b ${tb.BRANCH} ${tb.ORIGIN} ~/pm2app/source && ln -sfn ~/pm2app/source ~/pm2app/current`;
      const file = path.join(dir, 'pm2-layout.json');
      fs.writeFileSync(file, JSON.stringify(spec));
      const res = await measure(
        { cmd: process.execPath, args: [path.join(tb.BENCH_DIR, 'floor.mjs'), file], env: cleanEnv() },
        { log: logFile('setup', 'pm2-layout', 0) },
      );
      if (res.code !== 0) throw new Error(`could not lay out pm2's directories; see ${logFile('setup', 'pm2-layout', 0)}`);
      scenario.setup.pm2 = { runs: [], failures: [], skipped: true, predicted: prev * n };
    } else {
      const offset = tb.sshdLogSize();
      const res = await measure(prepared.pm2.setup, { log: logFile('setup', 'pm2', 0) });
      const e = record(scenario.setup, 'pm2', 1, res, connsOf(offset));
      scenario.setup.pm2.single = true;
      if (res.code === 0) perHost[`pm2-setup@${rtt}`] = { perHost: res.wall / n, wall: res.wall };
      log(`setup  ${'pm2'.padEnd(15)} once : ${e.wall.toFixed(3)} s, ${e.perHost} conn/host${res.code ? `, EXIT ${res.code}` : ''}`);
    }
  }

  // --- deploy rounds: round-robin over contenders, a new commit before each run ---
  for (let r = 0; r <= opts.runs; r++) {
    for (const c of active) {
      const p = plan[c.id];
      if (p.mode === 'skip') continue;
      if (p.mode === 'once' && r > 0) continue;
      if (p.maxRun && r > p.maxRun) continue;
      if (c.id === 'shipit') await ensureNewSecond(); // its release dirs are named by the second
      const { stamp } = tb.newCommit(`${name}-${c.id}-${r}`);
      const offset = tb.sshdLogSize();
      const res = await measure(prepared[c.id].deploy, { log: logFile('deploy', c.id, r) });
      if (c.id === 'shipit') lastShipit = Date.now();
      const missing = tb.hostsMissing(n, stamp);
      const warm = r === 0 && p.mode === 'full';
      if (warm) scenario.deployWarmup ??= {};
      const bucket = warm ? scenario.deployWarmup : scenario.deploy;
      const e = record(bucket, c.id, r, res, { missing: missing.slice(0, 5), missingCount: missing.length, ...connsOf(offset) });
      if (p.mode === 'once' || (p.maxRun && !warm)) {
        bucket[c.id].single = true;
        bucket[c.id].predicted = p.predicted;
      }
      // A slow peer gets one measured run after its warm-up (wd and the floor always get all).
      if (warm && !p.maxRun && e.wall > opts.slowAfter && !FULL.includes(c.id)) {
        p.maxRun = 1;
        scenario.deploy[c.id] ??= { runs: [], failures: [] };
        scenario.deploy[c.id].single = true;
        log(`deploy ${c.id.padEnd(15)} warm-up took > --slow-after ${opts.slowAfter} s: one measured run`);
      }
      log(
        `deploy ${c.id.padEnd(15)} ${warm ? 'warm-up' : p.mode === 'once' ? 'single ' : `run ${r}  `}: ${e.wall.toFixed(3)} s, cpu ${e.cpu?.toFixed(2)} s, rss ${e.rssMB?.toFixed(0)} MB, ${e.perHost} conn/host${res.code ? `, EXIT ${res.code}` : ''}${missing.length ? `, ${missing.length} hosts not deployed (${missing.slice(0, 3).join(', ')})` : ''}`,
      );
      if (res.code === 0 && !missing.length) perHost[`${c.id}@${rtt}`] = { perHost: e.wall / n, wall: e.wall };
    }
  }
  for (const [id, p] of Object.entries(plan)) if (p.mode === 'skip') scenario.deploy[id] = { runs: [], failures: [], skipped: true, predicted: p.predicted };

  // --- rollback (strategy: releases): one warm-up and --runs measured, each one step back ---
  // The deploy rounds left warm-up + --runs releases after the setup's; keep_releases keeps them all.
  if (prepared['wd-releases']?.rollback) {
    for (let r = 0; r <= opts.runs; r++) {
      const offset = tb.sshdLogSize();
      const res = await measure(prepared['wd-releases'].rollback, { log: logFile('rollback', 'wd-releases', r) });
      const missing = tb.hostsNotAtCurrent(n, 'wdrel');
      if (r === 0) scenario.rollbackWarmup ??= {};
      const bucket = r === 0 ? scenario.rollbackWarmup : scenario.rollback;
      const e = record(bucket, 'wd-releases', r, res, { missing: missing.slice(0, 5), missingCount: missing.length, ...connsOf(offset) });
      log(
        `rollback ${'wd-releases'.padEnd(13)} ${r === 0 ? 'warm-up' : `run ${r}  `}: ${e.wall.toFixed(3)} s, cpu ${e.cpu?.toFixed(2)} s, rss ${e.rssMB?.toFixed(0)} MB, ${e.perHost} conn/host${res.code ? `, EXIT ${res.code}` : ''}${missing.length ? `, ${missing.length} hosts not rolled back (${missing.slice(0, 3).join(', ')})` : ''}`,
      );
    }
  }
  scenario.load.push(os.loadavg()[0]);
  return scenario;
}

/** Contenders that always get every run (never predicted, shortened or skipped). */
const FULL = ['wd', 'wd-releases', 'floor'];

let lastShipit = 0;
async function ensureNewSecond() {
  const wait = 1100 - (Date.now() - lastShipit);
  if (wait > 0) await tb.sleep(wait);
}

// ------------------------------------------------------------ null hosts --

function commandLine() {
  return process.env.npm_lifecycle_event === 'bench'
    ? ['npm run bench', ...(process.argv.slice(2).length ? ['--', ...process.argv.slice(2)] : [])].join(' ')
    : ['node bench/run.mjs', ...process.argv.slice(2)].join(' ');
}

async function nullScenario() {
  const wdCli = snapshotWd() ? WD_CLI : null;
  if (!wdCli) throw new Error('dist/cli.js missing: run npm run build first');
  const res = await runNullScenario({
    n: opts.nullN,
    runs: opts.runs,
    caps: opts.caps,
    warmup: opts.warmup !== false,
    hostMs: opts.hostMs ?? 0,
    keyType: opts.keyType,
    log,
    wdCli,
    floor: !opts.only || opts.only.includes('floor'),
  });
  const markdown = nullMarkdown(res, commandLine());
  process.stdout.write(`\n${markdown}\n`);
  if (opts.docs) writeDocs(markdown, 'null');
  return res;
}

function nullMarkdown(res, command) {
  const { table, growth, head } = renderNull(res);
  return [`Null hosts, ${head}. Command: \`${command}\`.`, '', table, '', ...growth.map((g) => `- ${g}`)].join('\n');
}

async function nullOnly() {
  try {
    await nullScenario();
  } finally {
    tb.cleanupAll();
  }
}

/** Replace the results section of docs/benchmarks.md (between its markers). */
function writeDocs(markdown, section = 'results') {
  const doc = path.join(tb.ROOT, 'docs', 'benchmarks.md');
  const begin = `<!-- bench:${section}:begin -->`,
    end = `<!-- bench:${section}:end -->`;
  let text = fs.existsSync(doc) ? fs.readFileSync(doc, 'utf8') : `# Benchmarks\n\n${begin}\n${end}\n`;
  if (!text.includes(begin) || !text.includes(end)) text += `\n${begin}\n${end}\n`;
  text = text.slice(0, text.indexOf(begin) + begin.length) + '\n' + markdown + '\n' + text.slice(text.indexOf(end));
  fs.writeFileSync(doc, text);
}

// ------------------------------------------------------------------ run --

try {
  await main();
  results.targets = evaluateTargets(results);
  saveResults();
  const { table, markdown } = renderReport(results);
  process.stdout.write('\n' + table + '\n');
  if (opts.docs) {
    writeDocs(markdown);
    log(`results written to docs/benchmarks.md and bench/.work/results/latest.json (${results.durationS} s in all)`);
  } else {
    log(`results in bench/.work/results/latest.json (${results.durationS} s in all)`);
  }
  if (opts.scenarios.includes('null')) await nullScenario();
} finally {
  tb.cleanupAll();
}
