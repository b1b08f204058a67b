// Tests of the test helpers themselves, driven by real clients (ssh2 Client,
// the OpenSSH `ssh` binary), so later test failures can be trusted to be wd's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import ssh2, { type ConnectConfig } from 'ssh2';

const { Client } = ssh2; // CommonJS: take it off the default export
import { tmpDir, cleanup } from './helpers/tmp.js';
import { makeKey, startAgent } from './helpers/keys.js';
import { startSshServer, type SshServer } from './helpers/ssh-server.js';
import { startSshd, sshdAvailable } from './helpers/sshd.js';

interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the channel closed without exit-status. */
  code: number | null;
  error?: Error;
}

/** One exec over ssh2's Client; never hangs (hard timeout). */
function ssh2Exec(cfg: ConnectConfig, command: string, stdin?: string, timeoutMs = 8000): Promise<ExecResult> {
  return new Promise((resolve) => {
    const c = new Client();
    const res: ExecResult = { stdout: '', stderr: '', code: null };
    let settled = false;
    const done = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) res.error = error;
      c.end();
      c.destroy();
      resolve(res);
    };
    const timer = setTimeout(() => done(new Error(`ssh2Exec timed out after ${timeoutMs}ms`)), timeoutMs);
    c.on('error', (err) => done(err));
    c.on('close', () => done());
    c.on('ready', () => {
      c.exec(command, (err, stream) => {
        if (err) return done(err);
        stream.on('data', (d: Buffer) => (res.stdout += d.toString()));
        stream.stderr.on('data', (d: Buffer) => (res.stderr += d.toString()));
        stream.on('exit', (code: number | null) => (res.code = code));
        stream.on('close', () => done());
        if (stdin !== undefined) stream.end(stdin);
      });
    });
    c.connect({ host: '127.0.0.1', readyTimeout: 5000, ...cfg });
  });
}

/** Run the OpenSSH client binary; never hangs. */
function runSsh(args: string[], timeoutMs = 10000): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** Options that make `ssh` use only what the test gives it. */
function sshArgs(port: number, key: string, knownHosts: string): string[] {
  return [
    '-F',
    '/dev/null',
    '-p',
    String(port),
    '-i',
    key,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
  ];
}

const servers: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
async function track<T extends { close(): Promise<void> } | { stop(): Promise<void> }>(s: Promise<T>): Promise<T> {
  const v = await s;
  servers.push(v);
  return v;
}
test.after.each(async () => {
  for (const s of servers.splice(0)) await ('close' in s ? s.close() : s.stop());
});
test.after(cleanup);

test('in-process server: stdout, stderr and exit code; records the exec', async () => {
  const home = tmpDir();
  const key = makeKey();
  const srv: SshServer = await track(startSshServer({ home, authorizedKeys: [key.publicKey] }));
  assert.match(srv.hostKeyLine, /^ssh-ed25519 AAAA\S+$/);
  const r = await ssh2Exec({ port: srv.port, username: 'deploy', privateKey: key.privateKey }, 'echo hi; echo err >&2; exit 3');
  assert.is(r.error, undefined);
  assert.is(r.stdout, 'hi\n');
  assert.is(r.stderr, 'err\n');
  assert.is(r.code, 3);
  assert.is(srv.connections, 1);
  assert.is(srv.channels, 1);
  const e = srv.execs[0];
  assert.ok(e);
  assert.is(e.command, 'echo hi; echo err >&2; exit 3');
  assert.is(e.user, 'deploy');
  assert.is(e.exitCode, 3);
  assert.ok(e.start > 0 && e.end >= e.start);
});

test('in-process server: cwd and HOME are the fake home, stdin reaches bash', async () => {
  const home = tmpDir();
  const key = makeKey();
  const srv = await track(startSshServer({ home, authorizedKeys: [key.publicKey] }));
  const r = await ssh2Exec({ port: srv.port, username: 'u', privateKey: key.privateKey }, 'echo "$HOME"; pwd; bash -s', 'echo from-stdin\n');
  assert.is(r.stdout, `${home}\n${home}\nfrom-stdin\n`);
  assert.is(r.code, 0);
});

test('in-process server: unknown key, restricted user and refuseAuth are rejected', async () => {
  const home = tmpDir();
  const key = makeKey();
  const other = makeKey();
  const srv = await track(startSshServer({ home, authorizedKeys: [key.publicKey], users: ['deploy'] }));
  const bad = await ssh2Exec({ port: srv.port, username: 'deploy', privateKey: other.privateKey }, 'true');
  assert.match(String(bad.error), /authentication methods failed/);
  const wrongUser = await ssh2Exec({ port: srv.port, username: 'root', privateKey: key.privateKey }, 'true');
  assert.match(String(wrongUser.error), /authentication methods failed/);
  const refusing = await track(startSshServer({ home, authorizedKeys: [key.publicKey], faults: { refuseAuth: true } }));
  const r = await ssh2Exec({ port: refusing.port, username: 'deploy', privateKey: key.privateKey }, 'true');
  assert.match(String(r.error), /authentication methods failed/);
  assert.is(refusing.channels, 0);
  assert.is(refusing.execs.length, 0);
});

test('in-process server: dropAfterMs closes the link with no exit code and kills the command', async () => {
  const home = tmpDir();
  const key = makeKey();
  const srv = await track(startSshServer({ home, authorizedKeys: [key.publicKey], faults: { dropAfterMs: 200 } }));
  const r = await ssh2Exec({ port: srv.port, username: 'u', privateKey: key.privateKey }, 'echo started; sleep 5');
  // No exit code: the drop ended the exec, sleep 5 did not run out (that would be code 0).
  assert.is(r.code, null);
  assert.is(r.stdout, 'started\n');
  await new Promise((res) => setTimeout(res, 300));
  assert.is(srv.execs[0]?.exitCode, null, 'bash was killed, so no exit code');
  assert.ok((srv.execs[0]?.end ?? 0) > 0);
});

test('in-process server: dropOnOutput, noExitStatus and delayMs', async () => {
  const home = tmpDir();
  const key = makeKey();
  const cfg = (port: number) => ({ port, username: 'u', privateKey: key.privateKey });
  const drop = await track(startSshServer({ home, authorizedKeys: [key.publicKey], faults: { dropOnOutput: 'STEP2' } }));
  const r1 = await ssh2Exec(cfg(drop.port), 'echo STEP1; sleep 0.2; echo STEP2; echo STEP3; exit 0');
  assert.is(r1.code, null);
  assert.not.match(r1.stdout, /STEP2/);

  const noExit = await track(startSshServer({ home, authorizedKeys: [key.publicKey], faults: { noExitStatus: true } }));
  const r2 = await ssh2Exec(cfg(noExit.port), 'echo ok; exit 4');
  assert.is(r2.stdout, 'ok\n');
  assert.is(r2.code, null);
  assert.is(noExit.execs[0]?.exitCode, 4);

  const slow = await track(startSshServer({ home, authorizedKeys: [key.publicKey], faults: { delayMs: 300 } }));
  const t0 = Date.now();
  const r3 = await ssh2Exec(cfg(slow.port), 'exit 0');
  assert.is(r3.code, 0);
  assert.ok(Date.now() - t0 >= 300);
});

test('in-process server: parallel execs overlap in the recorded timestamps', async () => {
  const key = makeKey();
  const a = await track(startSshServer({ home: tmpDir(), authorizedKeys: [key.publicKey] }));
  const b = await track(startSshServer({ home: tmpDir(), authorizedKeys: [key.publicKey] }));
  const cfg = (port: number) => ({ port, username: 'u', privateKey: key.privateKey });
  await Promise.all([ssh2Exec(cfg(a.port), 'sleep 0.3'), ssh2Exec(cfg(b.port), 'sleep 0.3')]);
  const [ea, eb] = [a.execs[0], b.execs[0]];
  assert.ok(ea && eb);
  assert.ok(ea.start < eb.end && eb.start < ea.end, 'the two execs ran at the same time');
});

test('in-process server: ssh-agent auth (plain and passphrase keys)', async () => {
  const home = tmpDir();
  const key = makeKey();
  const locked = makeKey({ passphrase: 'hunter2' });
  const agent = await track(startAgent([key, locked]));
  const srv = await track(startSshServer({ home, authorizedKeys: [locked.publicKey] }));
  // Only the passphrase key is authorized, so this proves ssh-add decrypted it.
  const r = await ssh2Exec({ port: srv.port, username: 'u', agent: agent.socket }, 'echo via-agent');
  assert.is(r.error, undefined);
  assert.is(r.stdout, 'via-agent\n');
  await agent.stop();
  const after = await ssh2Exec({ port: srv.port, username: 'u', agent: agent.socket }, 'true');
  assert.ok(after.error, 'a stopped agent cannot authenticate');
});

test('in-process server: the OpenSSH client works against it, host key checked', async () => {
  const home = tmpDir();
  const key = makeKey();
  const srv = await track(startSshServer({ home, authorizedKeys: [key.publicKey] }));
  const kh = join(tmpDir(), 'known_hosts');
  writeFileSync(kh, srv.knownHostsLine + '\n');
  const r = await runSsh([...sshArgs(srv.port, key.privatePath, kh), 'deploy@127.0.0.1', 'echo $HOME; exit 5']);
  assert.is(r.stdout, `${home}\n`, r.stderr);
  assert.is(r.code, 5);
  // A different host key must be refused by StrictHostKeyChecking.
  writeFileSync(kh, `[127.0.0.1]:${srv.port} ${makeKey().publicKey}\n`);
  const bad = await runSsh([...sshArgs(srv.port, key.privatePath, kh), 'deploy@127.0.0.1', 'true']);
  assert.is(bad.code, 255);
  assert.match(bad.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

test('in-process server: close() while a command runs ends it promptly', async () => {
  const home = tmpDir();
  const key = makeKey();
  const srv = await startSshServer({ home, authorizedKeys: [key.publicKey] });
  const pending = ssh2Exec({ port: srv.port, username: 'u', privateKey: key.privateKey }, 'sleep 30');
  while (srv.channels === 0) await new Promise((r) => setTimeout(r, 20));
  await srv.close();
  const r = await pending;
  // No exit code: close() ended it; sleep 30 running out would be code 0.
  assert.is(r.code, null);
});

// A machine without sshd may skip these locally; CI must have it (startSshd throws).
const sshdTest = sshdAvailable() || process.env['CI'] === 'true' ? test : test.skip;

sshdTest('real sshd: per-host HOME and login dir, known_hosts, connection count', async () => {
  const key = makeKey();
  const homes = [tmpDir('wd-home-a-'), tmpDir('wd-home-b-')];
  for (const h of homes) mkdirSync(join(h, 'sub'));
  const sshd = await track(startSshd({ homes, authorizedKeys: [key.publicKey] }));
  assert.is(sshd.hosts.length, 2);
  const kh = join(tmpDir(), 'known_hosts');
  writeFileSync(kh, sshd.knownHostsLine(sshd.hosts[0]!.port) + '\n' + sshd.knownHostsLine(sshd.hosts[1]!.port) + '\n');
  for (const h of sshd.hosts) {
    const r = await runSsh([...sshArgs(h.port, key.privatePath, kh), 'root@127.0.0.1', `bash -c 'echo $HOME; pwd; cd ~; cd sub; pwd'`]);
    assert.is(r.stdout, `${h.home}\n${h.home}\n${h.home}/sub\n`, r.stderr);
    assert.is(r.code, 0);
  }
  const exit = await runSsh([...sshArgs(sshd.hosts[0]!.port, key.privatePath, kh), 'root@127.0.0.1', 'exit 7']);
  assert.is(exit.code, 7);
  assert.is(sshd.connectionsFromLog(), 3);
  assert.is(sshd.connectionsFromLog(sshd.hosts[0]!.port), 2);
  assert.is(sshd.connectionsFromLog(sshd.hosts[1]!.port), 1);
});

sshdTest('real sshd: unknown key and unknown host key are refused; stdin is passed', async () => {
  const key = makeKey();
  const home = tmpDir();
  const sshd = await track(startSshd({ homes: [home], authorizedKeys: [key.publicKey] }));
  const port = sshd.hosts[0]!.port;
  const kh = join(tmpDir(), 'known_hosts');
  writeFileSync(kh, sshd.knownHosts());
  const intruder = makeKey();
  const denied = await runSsh([...sshArgs(port, intruder.privatePath, kh), 'root@127.0.0.1', 'true']);
  assert.is(denied.code, 255);
  assert.match(denied.stderr, /Permission denied/);

  const emptyKh = join(tmpDir(), 'known_hosts');
  writeFileSync(emptyKh, '');
  const unknown = await runSsh([...sshArgs(port, key.privatePath, emptyKh), 'root@127.0.0.1', 'true']);
  assert.is(unknown.code, 255);
  assert.match(unknown.stderr, /Host key verification failed/);

  const piped = await new Promise<string>((resolve) => {
    const p = spawn('ssh', [...sshArgs(port, key.privatePath, kh), 'root@127.0.0.1', 'bash -s'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    p.stdin.end('echo "script ran in $PWD"\n');
  });
  assert.is(piped, `script ran in ${home}\n`);
});

sshdTest('real sshd: agent auth through the ssh binary', async () => {
  const key = makeKey({ passphrase: 'pw' });
  const home = tmpDir();
  const sshd = await track(startSshd({ homes: [home], authorizedKeys: [key.publicKey] }));
  const agent = await track(startAgent([key]));
  const kh = join(tmpDir(), 'known_hosts');
  writeFileSync(kh, sshd.knownHosts());
  const p = spawn(
    'ssh',
    [
      '-F',
      '/dev/null',
      '-p',
      String(sshd.hosts[0]!.port),
      '-o',
      `UserKnownHostsFile=${kh}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      'root@127.0.0.1',
      'echo agent-ok',
    ],
    { env: { ...process.env, SSH_AUTH_SOCK: agent.socket }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
  const code = await new Promise<number | null>((r) => p.on('close', r));
  clearTimeout(timer);
  assert.is(out, 'agent-ok\n', err);
  assert.is(code, 0);
});

test.run();
