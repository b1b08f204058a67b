// The benchmark testbed, on loopback only: N fake hosts (local users wdb1..wdbN,
// one home directory each), a throwaway sshd with its own config and host key,
// one throwaway client key, a bare origin repository, and delay proxies that
// emulate the network round-trip time in front of sshd.
//
// Everything lives under bench/.work (git-ignored). Users are kept across runs
// (creating 100 of them is the slow part of a first run); their state is reset.
// Every process started here is registered with `cleanup` and stopped on exit.

import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
export const WORK = path.join(BENCH_DIR, '.work');
export const KEY = path.join(WORK, 'id_ed25519');
export const HOST_KEY = path.join(WORK, 'ssh_host_ed25519_key');
export const AUTHORIZED_KEYS = path.join(WORK, 'authorized_keys');
export const SSHD_CONFIG = path.join(WORK, 'sshd_config');
export const SSHD_LOG = path.join(WORK, 'sshd.log');
export const SSHD_PID = path.join(WORK, 'sshd.pid');
export const ORIGIN = path.join(WORK, 'origin.git');
export const CLONE = path.join(WORK, 'author'); // the root-owned clone we commit from
export const USER_PREFIX = 'wdb';
export const BRANCH = 'main';
export const SSHD = '/usr/sbin/sshd';

export const userName = (i) => `${USER_PREFIX}${i}`;
export const homeOf = (i) => `/home/${userName(i)}`;

// ---------------------------------------------------------------- cleanup --

const cleanups = [];
let cleaning = false;

/** Register `fn` to run on exit (LIFO). Returns an unregister function. */
export function onCleanup(name, fn) {
  const entry = { name, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

export function cleanupAll() {
  cleaning = true; // from here on, children going away is expected
  while (cleanups.length) {
    const { name, fn } = cleanups.pop();
    try {
      fn();
    } catch (err) {
      process.stderr.write(`cleanup ${name}: ${err.message}\n`);
    }
  }
}

let handlersInstalled = false;
export function installExitHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping everything it started\n`);
      cleanupAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack || err}\n`);
    cleanupAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${err?.stack || err}\n`);
    cleanupAll();
    process.exit(1);
  });
}

/** Kill a process group we spawned (detached) — never anything else. */
export function killGroup(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
}

// ------------------------------------------------------------------ utils --

export function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || '').trim()}`);
  }
  return r;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdlineOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------- users --

function existingUsers() {
  const set = new Set();
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) set.add(line.split(':')[0]);
  return set;
}

/** Make sure users wdb1..wdbN exist, each with a home and a ~/.gitconfig. */
export function ensureUsers(n, log = () => {}) {
  const have = existingUsers();
  let created = 0;
  for (let i = 1; i <= n; i++) {
    const u = userName(i);
    if (!have.has(u)) {
      // -p '*': no password, but not "locked" ('!'), which sshd refuses without PAM.
      sh('useradd', ['-m', '-s', '/bin/bash', '-p', '*', u]);
      created++;
    }
    const home = homeOf(i);
    const gitconfig = path.join(home, '.gitconfig');
    if (!fs.existsSync(gitconfig)) {
      // The origin repository is owned by root; without this git refuses it
      // ("detected dubious ownership").
      fs.writeFileSync(gitconfig, '[safe]\n\tdirectory = *\n[advice]\n\tdetachedHead = false\n');
      const { uid, gid } = fs.statSync(home);
      fs.chownSync(gitconfig, uid, gid);
    }
  }
  if (created) log(`created ${created} users (${userName(1)}..${userName(n)})`);
}

/** Remove what contenders left on hosts 1..n (by default: every trace). */
export function resetHosts(n, dirs = ['app', 'wdrel', 'pm2app', 'shipitapp', '.wdbench-post']) {
  for (let i = 1; i <= n; i++) {
    const home = homeOf(i);
    for (const d of dirs) fs.rmSync(path.join(home, d), { recursive: true, force: true });
  }
}

/** Delete the bench users and their homes (only on explicit request). */
export function removeUsers(log = () => {}) {
  const have = existingUsers();
  let removed = 0;
  for (const u of have) {
    if (/^wdb\d+$/.test(u)) {
      sh('userdel', ['-r', u], { allowFail: true });
      removed++;
    }
  }
  log(`removed ${removed} users`);
}

// -------------------------------------------------------------------- keys --

export function ensureKeys() {
  fs.mkdirSync(WORK, { recursive: true });
  if (!fs.existsSync(KEY)) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'wd-bench', '-f', KEY]);
  if (!fs.existsSync(HOST_KEY)) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'wd-bench-host', '-f', HOST_KEY]);
  fs.chmodSync(KEY, 0o600);
  fs.chmodSync(HOST_KEY, 0o600);
  fs.writeFileSync(AUTHORIZED_KEYS, fs.readFileSync(`${KEY}.pub`));
  fs.chmodSync(AUTHORIZED_KEYS, 0o644);
  // Every bench user must be able to reach bench/.work (authorized_keys, origin.git).
  for (let d = WORK; d !== '/'; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o005) !== 0o005) fs.chmodSync(d, mode | 0o005);
    if (d === ROOT) break;
  }
}

// ------------------------------------------------------------------ origin --

const git = (args, cwd) =>
  sh('git', args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'wd bench',
      GIT_AUTHOR_EMAIL: 'bench@wd.invalid',
      GIT_COMMITTER_NAME: 'wd bench',
      GIT_COMMITTER_EMAIL: 'bench@wd.invalid',
    },
  }).stdout.trim();

/**
 * A fresh bare origin with a small app: ~60 files, a post-deploy script that
 * records which stamp got deployed in ~/.wdbench-post (the harness checks it).
 */
export function createOrigin() {
  fs.rmSync(ORIGIN, { recursive: true, force: true });
  fs.rmSync(CLONE, { recursive: true, force: true });
  git(['init', '-q', '--bare', '-b', BRANCH, ORIGIN]);
  git(['init', '-q', '-b', BRANCH, CLONE]);
  fs.mkdirSync(path.join(CLONE, 'bin'));
  fs.mkdirSync(path.join(CLONE, 'src'));
  fs.writeFileSync(path.join(CLONE, 'README.md'), '# wd bench app\n\nA small repository the benchmark deploys.\n');
  fs.writeFileSync(
    path.join(CLONE, 'bin', 'post-deploy'),
    '#!/bin/bash\n' +
      '# The post-deploy command every contender runs: record the deployed stamp.\n' +
      'echo "post-deploy $(cat stamp.txt)" > "$HOME/.wdbench-post"\n',
  );
  fs.chmodSync(path.join(CLONE, 'bin', 'post-deploy'), 0o755);
  for (let i = 0; i < 60; i++) {
    const body = Array.from({ length: 40 }, (_, j) => `export const v${i}_${j} = ${i * 1000 + j}; // filler line for a realistic tree`).join('\n');
    fs.writeFileSync(path.join(CLONE, 'src', `mod${i}.js`), body + '\n');
  }
  fs.writeFileSync(path.join(CLONE, 'stamp.txt'), 'initial\n');
  git(['add', '-A'], CLONE);
  git(['commit', '-q', '-m', 'initial'], CLONE);
  git(['remote', 'add', 'origin', ORIGIN], CLONE);
  git(['push', '-q', 'origin', BRANCH], CLONE);
  return git(['rev-parse', 'HEAD'], CLONE);
}

/** Pack the origin's objects, as a real git server's would be (clones copy loose objects one by one). */
export function packOrigin() {
  git(['gc', '-q', '--prune=now'], ORIGIN);
}

let commitCounter = 0;
/** Commit a new stamp (and touch one source file) and push it to origin. */
export function newCommit(label) {
  const stamp = `${label}-${Date.now()}-${++commitCounter}`;
  fs.writeFileSync(path.join(CLONE, 'stamp.txt'), stamp + '\n');
  fs.appendFileSync(path.join(CLONE, 'src', `mod${commitCounter % 60}.js`), `// ${stamp}\n`);
  git(['commit', '-q', '-am', `deploy ${stamp}`], CLONE);
  git(['push', '-q', 'origin', BRANCH], CLONE);
  return { stamp, rev: git(['rev-parse', 'HEAD'], CLONE) };
}

/** Hosts (1..n) whose post-deploy did not record `stamp`. */
export function hostsMissing(n, stamp) {
  const bad = [];
  for (let i = 1; i <= n; i++) {
    let got = '';
    try {
      got = fs.readFileSync(path.join(homeOf(i), '.wdbench-post'), 'utf8').trim();
    } catch {
      /* missing */
    }
    if (got !== `post-deploy ${stamp}`) bad.push(userName(i));
  }
  return bad;
}

/**
 * Hosts (1..n) where the post-deploy command did not run in the release
 * ~/<dir>/current points to (what a rollback must have done).
 */
export function hostsNotAtCurrent(n, dir) {
  const bad = [];
  for (let i = 1; i <= n; i++) {
    let got = '',
      want = 'no current';
    try {
      got = fs.readFileSync(path.join(homeOf(i), '.wdbench-post'), 'utf8').trim();
      want = `post-deploy ${fs.readFileSync(path.join(homeOf(i), dir, 'current', 'stamp.txt'), 'utf8').trim()}`;
    } catch {
      /* missing */
    }
    if (got !== want) bad.push(userName(i));
  }
  return bad;
}

/** Hosts (1..n) that have no checkout at ~/<dir>. */
export function hostsWithoutCheckout(n, dir = 'app') {
  const bad = [];
  // A releases layout has its checkout in current.
  const marker = dir === 'wdrel' ? path.join('current', '.git') : '.git';
  for (let i = 1; i <= n; i++) if (!fs.existsSync(path.join(homeOf(i), dir, marker))) bad.push(userName(i));
  return bad;
}

// -------------------------------------------------------------------- sshd --

/** Stop an sshd left behind by an earlier, killed run (ours only: matched by config path). */
function stopStaleSshd() {
  if (!fs.existsSync(SSHD_PID)) return;
  const pid = Number(fs.readFileSync(SSHD_PID, 'utf8').trim());
  if (pid > 1 && alive(pid) && cmdlineOf(pid).includes(SSHD_CONFIG)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(SSHD_PID, { force: true });
}

/** Stop proxies left behind by an earlier, killed run (matched by script path). */
function stopStaleProxies() {
  const file = path.join(WORK, 'proxies.pid');
  if (!fs.existsSync(file)) return;
  for (const pid of fs.readFileSync(file, 'utf8').split(/\s+/).filter(Boolean).map(Number)) {
    if (pid > 1 && alive(pid) && cmdlineOf(pid).some((a) => a.endsWith(path.join('bench', 'proxy.mjs')))) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
  fs.rmSync(file, { force: true });
}

export async function startSshd({ kex = 'curve25519-sha256,curve25519-sha256@libssh.org' } = {}) {
  stopStaleSshd();
  stopStaleProxies();
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  fs.writeFileSync(
    SSHD_CONFIG,
    [
      '# Throwaway sshd for `npm run bench` (bench/lib/testbed.mjs). Loopback only.',
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${HOST_KEY}`,
      `PidFile ${SSHD_PID}`,
      `AuthorizedKeysFile ${AUTHORIZED_KEYS}`,
      'AllowUsers wdb*',
      'PermitRootLogin no',
      'UsePAM no',
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'MaxStartups 1000:30:1000',
      'MaxSessions 100',
      'MaxAuthTries 10',
      'UseDNS no',
      'PrintMotd no',
      'PrintLastLog no',
      'X11Forwarding no',
      'LogLevel VERBOSE',
      // OpenSSH 9's default key exchange (sntrup761x25519) costs ~0.14 s of CPU
      // per handshake on each side on a small VM, and ssh2 does not implement it.
      // Offer curve25519 only, so every contender does the same handshake work.
      ...(kex === 'default' ? [] : [`KexAlgorithms ${kex}`]),
      '',
    ].join('\n'),
  );
  sh(SSHD, ['-t', '-f', SSHD_CONFIG]);
  fs.writeFileSync(SSHD_LOG, '');
  const child = spawn(SSHD, ['-D', '-f', SSHD_CONFIG, '-E', SSHD_LOG], { stdio: 'ignore', detached: true });
  onCleanup('sshd', () => {
    // sshd -D is the listener; its per-connection children end with their sessions.
    if (child.exitCode === null)
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    fs.rmSync(SSHD_PID, { force: true });
  });
  child.on('exit', (code, sig) => {
    if (!cleaning) process.stderr.write(`bench: sshd exited (${code ?? sig})\n`);
  });
  const deadline = performance.now() + 10000;
  while (performance.now() < deadline) {
    if (
      await bannerTime(port).then(
        () => true,
        () => false,
      )
    )
      return { port, pid: child.pid };
    await sleep(50);
  }
  throw new Error(`sshd did not come up on 127.0.0.1:${port}; see ${SSHD_LOG}`);
}

/** Milliseconds from connect() to the first line of the SSH banner. */
export function bannerTime(port) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('banner timeout'));
    }, 5000);
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        const ms = performance.now() - t0;
        s.destroy();
        if (buf.startsWith('SSH-')) resolve(ms);
        else reject(new Error(`not ssh: ${buf}`));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// ---------------------------------------------------------------- proxies --

const proxyPids = [];
/** Start a delay proxy in its own process; resolves to its port. */
export function startProxy(targetPort, rtt, { trace } = {}) {
  return new Promise((resolve, reject) => {
    const extra = trace ? ['--trace', trace] : [];
    const child = spawn(process.execPath, [path.join(BENCH_DIR, 'proxy.mjs'), '--target-port', String(targetPort), '--rtt', String(rtt), ...extra], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    proxyPids.push(child.pid);
    fs.writeFileSync(path.join(WORK, 'proxies.pid'), proxyPids.join('\n') + '\n');
    onCleanup(`proxy ${rtt}ms`, () => {
      if (child.exitCode === null)
        try {
          child.kill('SIGTERM');
        } catch {
          /* gone */
        }
      fs.rmSync(path.join(WORK, 'proxies.pid'), { force: true });
    });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          resolve({ ...JSON.parse(buf.slice(0, nl)), child });
        } catch (e) {
          reject(e);
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  });
}

// ------------------------------------------------------------- sshd log --

export function sshdLogSize() {
  try {
    return fs.statSync(SSHD_LOG).size;
  } catch {
    return 0;
  }
}

/**
 * SSH connections sshd saw since `offset`: the total of "Connection from" lines
 * and, per user, the "Accepted publickey for USER" lines.
 */
export function sshdConnectionsSince(offset) {
  const fd = fs.openSync(SSHD_LOG, 'r');
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(Math.max(0, size - offset));
  fs.readSync(fd, buf, 0, buf.length, offset);
  fs.closeSync(fd);
  const text = buf.toString('utf8');
  const connections = (text.match(/Connection from /g) || []).length;
  const perUser = new Map();
  for (const m of text.matchAll(/Accepted publickey for (\S+) /g)) perUser.set(m[1], (perUser.get(m[1]) || 0) + 1);
  return { connections, perUser };
}

// ----------------------------------------------------------- machine info --

export function machineFacts() {
  const first = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return ((r.stdout || '') + (r.stderr || '')).trim().split('\n')[0];
  };
  const mem = fs.readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/);
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || 'unknown';
  let osName = 'Linux';
  try {
    osName = (fs.readFileSync('/etc/os-release', 'utf8').match(/PRETTY_NAME="([^"]*)"/) || [])[1] || osName;
  } catch {
    /* none */
  }
  return {
    os: osName,
    kernel: first('uname', ['-r']),
    cpu,
    cores: Number(first('nproc', [])),
    memoryGiB: mem ? Math.round((Number(mem[1]) / 1024 / 1024) * 10) / 10 : null,
    node: process.version,
    ssh: first('ssh', ['-V']),
    sshd: first('dpkg-query', ['-W', '-f', 'openssh-server ${Version}', 'openssh-server']),
    git: first('git', ['--version']),
  };
}

export { execFileSync };
