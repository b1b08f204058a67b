#!/usr/bin/env node
// The host side of a deploy, step by step: the CPU (user + system) and the
// number of processes each part of wd's generated script costs on the host,
// against whiskey_disk's bare fetch/reset bundle. No SSH, no network: the
// script runs locally as the host runs it (`bash -s`, the text on a pipe),
// against a local origin with the bench's app (60 files, bin/post-deploy).
//
//   node bench/host-cost.mjs [--runs 20] [--only inplace-nochange,...] [--json FILE] [--dist DIR]
//
// How a step is measured: the harness adds a probe to a copy of the script
// (never to the product): every wd_step, the job's and the body's start and
// exit, and the history/log part of the job record bash's `times` (the
// process's own and its reaped children's CPU, rusage precision) and the last
// PID the kernel handed out. Each run is in its own PID namespace
// (`unshare -p`), so PID numbers count the processes (and threads) the script
// made and nothing else on the machine. A part's CPU is the difference
// between two probes of the same process, less what a child process that
// exited in between (the body inside the job, the job inside the main script)
// is shown with on its own. The total is the namespace's reaper's children
// CPU: everything the script ran, including what no probe sees (the tees, the
// control reader). Needs root (unshare), Linux, bash, git, a built dist/.
// KEEP_PROBES=1 leaves the work directory (scripts' probe files) in $TMPDIR to read.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
// --dist DIR: the scripts of another build (say, an older commit's), for a before/after on one machine.
const DIST = (() => {
  const i = process.argv.indexOf('--dist');
  return i >= 0 ? path.resolve(process.argv[i + 1]) : path.join(ROOT, 'dist');
})();
const dist = (m) => import(path.join(DIST, m));
const { configFromSource } = await dist('config.js');
const { DEFAULT_RUN, planHosts } = await dist('plan.js');
const { buildScript } = await dist('script.js');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('runs', process.env.BENCH_RUNS ?? '20'));
const ONLY = opt('only', '')
  .split(',')
  .filter((s) => s !== '');
const JSON_OUT = opt('json', '');

const BRANCH = 'main';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wd-host-cost-'));
process.on('exit', () => process.env.KEEP_PROBES || fs.rmSync(work, { recursive: true, force: true }));
const ORIGIN = path.join(work, 'origin.git');
const AUTHOR = path.join(work, 'author');
const HOME = path.join(work, 'home');
fs.mkdirSync(HOME);
// Nothing of the machine's own git configuration: every run sees the same git.
const ENV = {
  PATH: process.env.PATH,
  HOME,
  LANG: 'C.UTF-8',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
};

function git(a, cwd = work) {
  const r = spawnSync('git', a, { cwd, env: ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

// The bench's app (bench/lib/testbed.mjs createOrigin), packed as a server's would be.
git(['init', '-q', '--bare', '-b', BRANCH, ORIGIN]);
git(['init', '-q', '-b', BRANCH, AUTHOR]);
fs.mkdirSync(path.join(AUTHOR, 'bin'));
fs.mkdirSync(path.join(AUTHOR, 'src'));
fs.writeFileSync(path.join(AUTHOR, 'README.md'), '# wd bench app\n');
fs.writeFileSync(path.join(AUTHOR, 'bin', 'post-deploy'), '#!/bin/bash\necho "post-deploy $(cat stamp.txt)" > "$HOME/.wdbench-post"\n');
for (let i = 0; i < 60; i++) {
  const body = Array.from({ length: 40 }, (_, j) => `export const v${i}_${j} = ${i * 1000 + j}; // filler line for a realistic tree`).join('\n');
  fs.writeFileSync(path.join(AUTHOR, 'src', `mod${i}.js`), body + '\n');
}
fs.writeFileSync(path.join(AUTHOR, 'stamp.txt'), 'initial\n');
git(['add', '-A'], AUTHOR);
git(['commit', '-q', '-m', 'initial'], AUTHOR);
git(['remote', 'add', 'origin', ORIGIN], AUTHOR);
git(['push', '-q', 'origin', BRANCH], AUTHOR);
git(['gc', '-q', '--prune=now'], ORIGIN);
let counter = 0;
function newCommit() {
  const stamp = `c${++counter}`;
  fs.writeFileSync(path.join(AUTHOR, 'stamp.txt'), stamp + '\n');
  fs.appendFileSync(path.join(AUTHOR, 'src', `mod${counter % 60}.js`), `// ${stamp}\n`);
  git(['commit', '-q', '-am', stamp], AUTHOR);
  git(['push', '-q', 'origin', BRANCH], AUTHOR);
  return stamp;
}

function script(deployTo, action, { releases = false, check = false } = {}) {
  const yaml = [
    'bench:',
    '  domain: bench@127.0.0.1',
    `  deploy_to: ${deployTo}`,
    `  repository: ${ORIGIN}`,
    `  branch: ${BRANCH}`,
    '  post_deploy_script: bin/post-deploy',
    ...(releases ? ['  strategy: releases', '  keep_releases: 5'] : []),
    '',
  ].join('\n');
  const env = configFromSource({ name: 'deploy.yml', text: yaml }, undefined, 'bench');
  const plan = planHosts(env, action, { roles: [] }, work, { ...DEFAULT_RUN, check, by: 'bench@host-cost' })[0];
  return buildScript(plan).text;
}

// ---------------------------------------------------------------- probes

const PROBE_FN = `wd_probe() {
  local p pp
  read -r _ _ _ _ p _ </proc/loadavg
  read -r _ _ _ pp _ </proc/$BASHPID/stat
  { printf '%s %s %s %s\\n' "$1" "$EPOCHREALTIME" "$p" "$pp"; times; } >>"$WD_PROBE_DIR/$BASHPID"
}
`;
/** [where, what]: text the probe goes right after (must occur), and the probe line. */
const PROBES = [
  [/^wd_step\(\) \{\n/m, '  wd_probe "$1"\n'],
  [/^wd_body\(\) \{\n/m, "  trap 'wd_probe body:exit' EXIT\n  wd_probe body\n"],
  [/^wd_job\(\) \{\n/m, "  trap 'wd_probe job:exit' EXIT\n  wd_probe job\n"],
  [/^wd_main\(\) \{\n/m, "  trap 'wd_probe main:exit' EXIT\n"],
  [/^\s*set -m\n\s*wd_body /m, null], // checked only: the body starts here
  [/^ {2}wd_prepare\n/m, '  wd_probe "run dir, tees, control reader"\n'],
  [/^ {2}wait "\$WD_BODY" \|\| rc=\$\?\n/m, '  wd_probe "history, log"\n'],
  [/^ {2}wait "\$job" \|\| rc=\$\?\n/m, '  wd_probe "teardown (and the tees)"\n'],
];

function instrument(full) {
  // The loader line reads the rest by its byte count: taken off here, put back for the longer text.
  const loader = /^\[ -n "\$\{BASH_SOURCE\[0\]-\}" \] \|\| \{ eval "\$\(head -c \d+\)"; exit; \}\n/.exec(full);
  const text = loader ? full.slice(loader[0].length) : full;
  let out = text.replace(/^\{\n/m, '{\n' + PROBE_FN + 'wd_probe main:start\n');
  for (const [re, probe] of PROBES) {
    const m = re.exec(out);
    if (!m) throw new Error(`host-cost: the script no longer has ${re}; update bench/host-cost.mjs`);
    if (probe === null) continue;
    out = out.slice(0, m.index + m[0].length) + probe + out.slice(m.index + m[0].length);
  }
  // The job's lock step: a probe before the body starts closes it.
  out = out.replace(/^(\s*)set -m\n(\s*)wd_body /m, '$1wd_probe "body start"\n$1set -m\n$2wd_body ');
  return loader ? `[ -n "\${BASH_SOURCE[0]-}" ] || { eval "$(head -c ${Buffer.byteLength(out)})"; exit; }\n${out}` : out;
}

const secs = (s) => {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

/** One probe file: [{ label, t, pid, cpu (own + reaped children, s) }]. */
function readProbes(file) {
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const out = [];
  for (let i = 0; i + 2 < lines.length + 1 && i < lines.length; i += 3) {
    const head = lines[i];
    const sp3 = head.lastIndexOf(' ');
    const sp2 = head.lastIndexOf(' ', sp3 - 1);
    const sp1 = head.lastIndexOf(' ', sp2 - 1);
    const own = lines[i + 1].split(' ').map(secs);
    const kids = lines[i + 2].split(' ').map(secs);
    out.push({
      label: head.slice(0, sp1),
      t: Number(head.slice(sp1 + 1, sp2)),
      pid: Number(head.slice(sp2 + 1, sp3)),
      ppid: Number(head.slice(sp3 + 1)),
      cpu: own[0] + own[1] + kids[0] + kids[1],
    });
  }
  return out;
}

// ---------------------------------------------------------------- one run

/** Run TEXT as the host runs it: bash -s, the text on a pipe, in a fresh PID namespace. */
function runHost(text, { bash = ['-s'], input = text } = {}) {
  const probeDir = fs.mkdtempSync(path.join(work, 'probe-'));
  const timesFile = path.join(probeDir, 'total');
  const r = spawnSync(
    'unshare',
    [
      '-p',
      '-f',
      '--mount-proc',
      'bash',
      '-c',
      'bash "$@" >"$WD_PROBE_DIR/.out" 2>"$WD_PROBE_DIR/.err"; rc=$?; times >"$WD_PROBE_DIR/total"; read -r _ _ _ _ p _ </proc/loadavg; echo "$p" >>"$WD_PROBE_DIR/total"; exit $rc',
      'wrap',
      ...bash,
    ],
    {
      input,
      cwd: HOME,
      env: { ...ENV, WD_PROBE_DIR: probeDir },
      encoding: 'utf8',
    },
  );
  const stdout = fs.readFileSync(path.join(probeDir, '.out'), 'utf8');
  const stderr = fs.readFileSync(path.join(probeDir, '.err'), 'utf8');
  if (r.status !== 0) throw new Error(`host run failed (${r.status}): ${stderr}\n${stdout}`);
  const t = fs.readFileSync(timesFile, 'utf8').trim().split('\n');
  const kids = t[1].split(' ').map(secs);
  const processes = Number(t[2]) - 1; // PID 1 is the wrapper
  const procs = [];
  for (const f of fs.readdirSync(probeDir)) {
    if (!/^\d+$/.test(f)) continue;
    const probes = readProbes(path.join(probeDir, f));
    // A subshell forked after the main script's EXIT trap was set can run it when killed
    // (the tees' killer): no part of its own, its CPU stays with its parent.
    if (probes.length === 0 || probes[0].label.endsWith(':exit')) continue;
    procs.push({ pid: Number(f), probes });
  }
  if (!process.env.KEEP_PROBES) fs.rmSync(probeDir, { recursive: true, force: true });
  return { total: kids[0] + kids[1], processes, procs, stdout, stderr };
}

/**
 * Parts of one run: [label, cpu s, processes]. A part runs from one probe to
 * the next of the same process; a child process that exited in between is
 * taken out of it (it has its own parts). Processes: PIDs handed out from one
 * probe to the next probe of any process.
 */
function parts(run) {
  const all = run.procs.flatMap((p) => p.probes.map((x) => ({ ...x, proc: p.pid })));
  all.sort((a, b) => a.t - b.t);
  const tasks = new Map();
  for (let i = 0; i < all.length; i++) {
    const next = all[i + 1];
    tasks.set(`${all[i].proc} ${all[i].t}`, next ? next.pid - all[i].pid : 0);
  }
  // Each probed process's total, when it ended (its last probe), and its parent.
  const ends = run.procs.map((p) => ({ pid: p.pid, ppid: p.probes[0].ppid, t: p.probes.at(-1).t, cpu: p.probes.at(-1).cpu }));
  const out = [];
  let first = true;
  for (const p of run.procs.sort((a, b) => a.probes[0].t - b.probes[0].t)) {
    out.push([first ? 'bash start, read and parse the script' : `${p.probes[0].label}: fork`, p.probes[0].cpu, first ? 1 : 0]);
    first = false;
    for (let i = 0; i + 1 < p.probes.length; i++) {
      const a = p.probes[i];
      const b = p.probes[i + 1];
      let cpu = b.cpu - a.cpu;
      for (const e of ends) if (e.ppid === p.pid && e.t > a.t && e.t <= b.t) cpu -= e.cpu;
      out.push([a.label, cpu, tasks.get(`${p.pid} ${a.t}`)]);
    }
  }
  const probed = out.reduce((s, x) => s + x[1], 0);
  out.push(['not probed (what ends with the script)', run.total - probed, 0]);
  return out;
}

// ---------------------------------------------------------------- scenarios

const BUNDLE = (dir) =>
  `cd ${dir} && git fetch origin +refs/heads/${BRANCH}:refs/remotes/origin/${BRANCH} && git checkout ${BRANCH} && git reset --hard origin/${BRANCH} && bash bin/post-deploy`;

function setupInPlace(name) {
  const dir = path.join(work, name);
  const r = runHost(script(dir, 'setup'));
  if (!/result ok/.test(r.stdout)) throw new Error(`setup ${name}: ${r.stderr}`);
  return dir;
}
function setupReleases(name) {
  const dir = path.join(work, name);
  const r = runHost(script(dir, 'setup', { releases: true }));
  if (!/result ok/.test(r.stdout)) throw new Error(`setup ${name}: ${r.stderr}`);
  return dir;
}
const expect = (want) => (r) => {
  if (!r.stdout.includes(`result ${want}`)) throw new Error(`expected result ${want}: ${r.stderr}\n${r.stdout}`);
};

const SCENARIOS = {
  'bundle-nochange': {
    label: "whiskey_disk's bundle, nothing new",
    make() {
      const dir = path.join(work, 'bundle');
      git(['clone', '-q', '-b', BRANCH, ORIGIN, dir]);
      return { before() {}, run: () => runHost('', { bash: ['-c', BUNDLE(dir)], input: '' }), check() {} };
    },
  },
  'bundle-commit': {
    label: "whiskey_disk's bundle, one new commit",
    make() {
      const dir = path.join(work, 'bundle1');
      git(['clone', '-q', '-b', BRANCH, ORIGIN, dir]);
      return { before: newCommit, run: () => runHost('', { bash: ['-c', BUNDLE(dir)], input: '' }), check() {} };
    },
  },
  'inplace-nochange': {
    label: 'wd deploy, in place, nothing new',
    make() {
      const dir = setupInPlace('app');
      const text = instrument(script(dir, 'deploy'));
      return { before() {}, run: () => runHost(text), check: expect('ok') };
    },
  },
  'inplace-commit': {
    label: 'wd deploy, in place, one new commit',
    make() {
      const dir = setupInPlace('app1');
      const text = instrument(script(dir, 'deploy'));
      return { before: newCommit, run: () => runHost(text), check: expect('ok') };
    },
  },
  'inplace-check-nochange': {
    label: 'wd deploy --check, in place, nothing new',
    make() {
      const dir = setupInPlace('appc');
      runHost(script(dir, 'deploy'));
      const text = instrument(script(dir, 'deploy', { check: true }));
      return { before() {}, run: () => runHost(text), check: expect('unchanged') };
    },
  },
  'releases-commit': {
    label: 'wd deploy, releases, one new commit',
    make() {
      const dir = setupReleases('rel');
      const text = instrument(script(dir, 'deploy', { releases: true }));
      return { before: newCommit, run: () => runHost(text), check: expect('ok') };
    },
  },
  'releases-rollback': {
    label: 'wd rollback, releases',
    make() {
      const dir = setupReleases('relrb');
      const deploy = script(dir, 'deploy', { releases: true });
      const text = instrument(script(dir, 'rollback', { releases: true }));
      // Each rollback follows a deploy of a new commit, so there is always one to go back to.
      return {
        before() {
          newCommit();
          expect('ok')(runHost(deploy));
        },
        run: () => runHost(text),
        check: expect('ok'),
      };
    },
  },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (s) => (s * 1000).toFixed(1);

const results = {};
console.log(`# scripts from ${path.relative(process.cwd(), DIST) || '.'}`);
console.log(`# host cost per step: ${RUNS} runs per scenario after one warm-up; CPU = user + system, ms; processes = PIDs handed out (processes and threads)`);
console.log(
  `# ${new Date().toISOString()}  load: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ' ',
    )}  ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}  bash ${spawnSync('bash', ['-c', 'echo $BASH_VERSION'], { encoding: 'utf8' }).stdout.trim()}  ${git(['--version'])}`,
);
for (const [id, sc] of Object.entries(SCENARIOS)) {
  if (ONLY.length > 0 && !ONLY.includes(id)) continue;
  const s = sc.make();
  s.before();
  s.check(s.run()); // warm-up
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    s.before();
    const r = s.run();
    s.check(r);
    runs.push(r);
  }
  const totals = runs.map((r) => r.total);
  const table = new Map();
  for (const r of runs) {
    for (const [label, cpu, n] of r.procs.length ? parts(r) : [['the bundle', r.total, NaN]]) {
      const e = table.get(label) ?? { cpu: [], n: [] };
      e.cpu.push(cpu);
      e.n.push(n);
      table.set(label, e);
    }
  }
  const procs = runs.map((r) => r.processes);
  results[id] = {
    label: sc.label,
    processes: median(procs),
    totalMs: { median: median(totals) * 1000, mean: mean(totals) * 1000, min: Math.min(...totals) * 1000, max: Math.max(...totals) * 1000 },
    parts: [...table].map(([label, e]) => ({ label, cpuMs: mean(e.cpu) * 1000, processes: mean(e.n), runs: e.cpu.length })),
  };
  console.log(
    `\n## ${sc.label} (${id}): total CPU ${ms(median(totals))} ms median (${ms(Math.min(...totals))}–${ms(Math.max(...totals))}), mean ${ms(mean(totals))}; processes ${median(procs)} median`,
  );
  if (runs[0].procs.length) {
    console.log('| part | CPU ms (mean) | processes (mean) | seen in runs |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const p of results[id].parts) console.log(`| ${p.label} | ${p.cpuMs.toFixed(1)} | ${p.processes.toFixed(1)} | ${p.runs}/${RUNS} |`);
  }
}
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, load: os.loadavg(), results }, null, 2) + '\n');
