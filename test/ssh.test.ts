// wd's SSH transport against in-process ssh2 hosts: through the built CLI,
// and through SshTransport directly where the CLI adds nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanup } from './helpers/tmp.js';
import { git } from './helpers/git.js';
import { both, readIfExists as read, resultLine } from './helpers/output.js';
import { closeFixtures, closedPort, sshFixture, sshKey, writeHome, type FakeHost, type SshFixture } from './helpers/ssh-fixture.js';
import { parseSshOptions, resolveSsh } from '../src/ssh/options.js';
import { SshTransport } from '../src/ssh/transport.js';
import type { TransportResult } from '../src/transport/types.js';

test.after.each(closeFixtures);
test.after(cleanup);

const expectResult = (out: string, host: string, want: string | RegExp): void => assert.match(resultLine(out, host) ?? '', want, `${host} in:\n${out}`);
/** Only the key file and known_hosts, trust on first use. */
const acceptNew = (fx: SshFixture): string[] => ['-i', fx.key.privatePath, '-o', `UserKnownHostsFile=${fx.knownHosts}`];

async function setupOk(fx: SshFixture, h: FakeHost, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await fx.wd(['setup', 'prod'], env);
  assert.is(r.code, 0, both(r));
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v1\n');
  return r.stdout;
}

test('setup then deploy: files on the host, prefixed output, summary', async () => {
  const fx = await sshFixture({ files: { 'post.sh': 'echo "deployed $(cat app.txt)"\n' } });
  const h = fx.hosts[0]!;
  fx.config({ post_deploy_script: 'post.sh' });
  await setupOk(fx, h);
  const sha = fx.origin.commit('main', { 'app.txt': 'v2\n' });
  const r = await fx.wd(['deploy', 'prod']);
  assert.is(r.code, 0, both(r));
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v2\n');
  assert.is(git(join(h.home, 'app'), 'rev-parse', 'HEAD'), sha);
  const [hostPart, summary] = r.stdout.split('Results:\n');
  assert.ok(summary, r.stdout);
  const lines = hostPart!.split('\n').filter((l) => l !== '');
  assert.ok(lines.includes(`${h.name} | deployed v2`), r.stdout);
  for (const l of lines) assert.ok(l.startsWith(`${h.name} | `), `unprefixed line: ${l}`);
  expectResult(r.stdout, h.name, /^ {2}root@127\.0\.0\.1:\d+ => succeeded [0-9a-f]{7} \(\d+\.\ds\)$/);
  assert.ok(r.stdout.endsWith('Total: 1 deployment, 1 success, 0 failures.\n'), r.stdout);
  assert.is(h.server.connections, 2);
  assert.is(h.server.channels, 2);
});

test('auth: ssh-agent (SSH_AUTH_SOCK, no -i) with a passphrase-protected key', async () => {
  const locked = sshKey({ passphrase: 'hunter2' });
  const fx = await sshFixture({ authorizedKeys: [locked.publicKey] });
  const h = fx.hosts[0]!;
  fx.config({}, [{ name: h.name, ssh_options: ['-o', `UserKnownHostsFile=${fx.knownHosts}`] }]);
  const without = await fx.wd(['setup', 'prod']);
  assert.is(without.code, 1, both(without));
  const agent = await fx.agent([locked]);
  await setupOk(fx, h, { SSH_AUTH_SOCK: agent.socket });
});

test('auth: default key file ~/.ssh/id_ed25519; unknown host recorded in ~/.ssh/known_hosts', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  writeHome(fx, '.ssh/id_ed25519', fx.key.privateKey);
  fx.config({}, [{ name: h.name }]);
  await setupOk(fx, h);
  assert.is(read(join(fx.home, '.ssh', 'known_hosts')), h.server.knownHostsLine + '\n');
});

test('auth: passphrase-protected key without agent fails fast, names the key and ssh-agent', async () => {
  const locked = sshKey({ passphrase: 'hunter2' });
  const fx = await sshFixture({ authorizedKeys: [locked.publicKey] });
  const h = fx.hosts[0]!;
  fx.config({}, [{ name: h.name, ssh_options: ['-i', locked.privatePath, '-o', `UserKnownHostsFile=${fx.knownHosts}`] }]);
  // fx.wd gives up after 30 s: a wd waiting for a passphrase would fail the test there.
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, h.name, 'authentication failed');
  expectResult(r.stdout, h.name, `${locked.privatePath} is passphrase-protected`);
  expectResult(r.stdout, h.name, 'ssh-agent');
  assert.is(h.server.execs.length, 0);
});

test('auth: refused by the host → exit 1, authentication failed', async () => {
  const fx = await sshFixture({ faults: [{ refuseAuth: true }] });
  const h = fx.hosts[0]!;
  fx.config();
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, h.name, `=> failed: authentication failed for root@127.0.0.1:${h.server.port} (tried ${fx.key.privatePath})`);
  assert.is(h.server.channels, 0);
});

test('host keys: accept-new appends [127.0.0.1]:PORT to UserKnownHostsFile once', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  writeFileSync(fx.knownHosts, '# mine\n');
  fx.config({}, [{ name: h.name, ssh_options: acceptNew(fx) }]);
  const first = await fx.wd(['setup', 'prod']);
  assert.is(first.code, 0, both(first));
  // Trust on first use is said out loud, with the fingerprint.
  assert.match(
    first.stderr,
    new RegExp(
      `^${h.name.replace(/[.[\]]/g, '\\$&')} \\| wd: new host \\[127\\.0\\.0\\.1\\]:${h.server.port}: added its ssh-ed25519 key SHA256:[A-Za-z0-9+/]+ to ${fx.knownHosts}$`,
      'm',
    ),
  );
  const line = `[127.0.0.1]:${h.server.port} ssh-ed25519 `;
  assert.ok(h.server.knownHostsLine.startsWith(line));
  assert.is(read(fx.knownHosts), `# mine\n${h.server.knownHostsLine}\n`);
  const again = await fx.wd(['deploy', 'prod']);
  assert.is(again.code, 0, both(again));
  assert.is(read(fx.knownHosts), `# mine\n${h.server.knownHostsLine}\n`);
  assert.not.match(again.stderr, 'new host');
});

test('host keys: a changed key is refused even under accept-new; the script never runs', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  const stale = `[127.0.0.1]:${h.server.port} ${sshKey().publicKey}\n`;
  writeFileSync(fx.knownHosts, stale);
  fx.config({}, [{ name: h.name, ssh_options: acceptNew(fx) }]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, h.name, 'HOST KEY MISMATCH');
  expectResult(r.stdout, h.name, `${fx.knownHosts}:1`);
  assert.equal(h.server.execs, []);
  assert.is(read(fx.knownHosts), stale);
});

test('host keys: StrictHostKeyChecking=yes refuses an unknown host', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  writeFileSync(fx.knownHosts, '');
  fx.config();
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, h.name, 'StrictHostKeyChecking is yes');
  assert.equal(h.server.execs, []);
  assert.is(read(fx.knownHosts), '');
});

test('host keys: hashed known_hosts entries (ssh-keygen -H) match', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  await promisify(execFile)('ssh-keygen', ['-H', '-f', fx.knownHosts], { timeout: 10000 });
  const kh = read(fx.knownHosts) ?? '';
  assert.match(kh, /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
  assert.not.match(kh, '127.0.0.1');
  fx.config();
  await setupOk(fx, h);
  assert.is(read(fx.knownHosts), kh);
});

test('~/.ssh/config: a Host alias with HostName, Port, User, IdentityFile', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  writeHome(fx, '.ssh/deploy_key', fx.key.privateKey);
  writeHome(
    fx,
    '.ssh/config',
    [
      'Host prodbox',
      '  HostName 127.0.0.1',
      `  Port ${h.server.port}`,
      '  User deploy',
      '  IdentityFile ~/.ssh/deploy_key',
      `  UserKnownHostsFile ${fx.knownHosts}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  fx.config({}, [{ name: 'prodbox' }]);
  const out = await setupOk(fx, h);
  expectResult(out, 'prodbox', '=> succeeded');
  assert.is(h.server.execs[0]?.user, 'deploy');
});

test('a host that drops the connection fails with connection lost; the others succeed', async () => {
  const fx = await sshFixture({
    hosts: 3,
    faults: [{ dropOnOutput: 'DROP-NOW' }, { dropAfterMs: 300 }],
    // The pause sends the step marker in an earlier chunk than the one that triggers the drop.
    files: { 'post.sh': 'sleep 0.2\necho DROP-NOW\nsleep 1\necho after\n' },
  });
  const [onOutput, afterMs, healthy] = fx.hosts as [FakeHost, FakeHost, FakeHost];
  fx.config({ post_setup_script: 'post.sh' });
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, onOutput.name, /=> failed: connection lost.*post_setup_script/);
  // The timer may fire before the post script starts on a loaded machine.
  expectResult(r.stdout, afterMs.name, '=> failed: connection lost');
  expectResult(r.stdout, healthy.name, '=> succeeded');
  assert.ok(r.stdout.includes(`${healthy.name} | after\n`), r.stdout);
  assert.not.match(r.stdout, `${afterMs.name} | after`);
  assert.match(r.stdout, 'Total: 3 deployments, 1 success, 2 failures.');
});

test('a host that is down: connection refused, exit 1, the others unaffected', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  const down = `root@127.0.0.1:${await closedPort()}`;
  fx.config({}, [
    { name: down, ssh_options: fx.sshOptions },
    { name: h.name, ssh_options: fx.sshOptions },
  ]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  expectResult(r.stdout, down, '=> failed: connection refused by 127.0.0.1:');
  expectResult(r.stdout, h.name, '=> succeeded');
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v1\n');
});

test('20 hosts run in parallel over one connection and one exec channel each', async () => {
  const fx = await sshFixture({ hosts: 20, files: { 'post.sh': 'sleep 1\n' } });
  fx.config({ post_setup_script: 'post.sh' });
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 0, both(r));
  assert.match(r.stdout, 'Total: 20 deployments, 20 successes, 0 failures.');
  for (const h of fx.hosts) {
    assert.is(h.server.connections, 1);
    assert.is(h.server.channels, 1);
    assert.is(read(join(h.home, 'app', 'app.txt')), 'v1\n');
  }
  const execs = fx.hosts.map((h) => h.server.execs[0]!);
  const maxStart = Math.max(...execs.map((e) => e.start));
  const minEnd = Math.min(...execs.map((e) => e.end));
  assert.ok(maxStart < minEnd, `every host was running at ${maxStart}, yet one ended at ${minEnd}`);
});

test('--concurrency 1: one host after the other', async () => {
  const fx = await sshFixture({ hosts: 3, files: { 'post.sh': 'sleep 0.2\n' } });
  fx.config({ post_setup_script: 'post.sh' });
  const r = await fx.wd(['setup', 'prod', '--concurrency', '1']);
  assert.is(r.code, 0, both(r));
  const execs = fx.hosts.map((h) => h.server.execs[0]!).sort((a, b) => a.start - b.start);
  assert.is(execs.length, 3);
  for (let i = 1; i < execs.length; i++) assert.ok(execs[i]!.start >= execs[i - 1]!.end, `exec ${i} overlaps the one before`);
});

for (const bad of [
  ['-R', '80:localhost:80'],
  ['-o', 'RemoteCommand=sh'],
] as const) {
  test(`unsupported ssh option ${bad.join(' ')} → exit 2 before any connection`, async () => {
    const fx = await sshFixture({ hosts: 2 });
    const [a, b] = fx.hosts as [FakeHost, FakeHost];
    fx.config({}, [
      { name: a.name, ssh_options: fx.sshOptions },
      { name: b.name, ssh_options: [...fx.sshOptions, ...bad] },
    ]);
    const r = await fx.wd(['setup', 'prod']);
    assert.is(r.code, 2, both(r));
    assert.match(r.stderr, `host ${b.name}`);
    assert.match(r.stderr, `ssh_options ${bad.join(' ')} cannot be honoured`);
    assert.is(a.server.connections + b.server.connections, 0);
  });
}

test('a post script that reads stdin gets EOF and the script goes on', async () => {
  const fx = await sshFixture({ files: { 'post.sh': 'cat\necho "after cat"\n' } });
  const h = fx.hosts[0]!;
  fx.config({ post_setup_script: 'post.sh' });
  const out = await setupOk(fx, h);
  assert.ok(out.includes(`${h.name} | after cat\n`), out);
  expectResult(out, h.name, '=> succeeded');
});

/** SshTransport.run on host h with the fixture's options; fails the test instead of hanging. */
async function transportRun(fx: SshFixture, h: FakeHost, script: string, abort?: AbortSignal): Promise<TransportResult & { out: string }> {
  const s = resolveSsh(h.name, parseSshOptions(fx.sshOptions, 'test'), { home: fx.home, localUser: 'nobody', readFile: read });
  let out = '';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('SshTransport.run hung')), 15000)));
  try {
    const r = await Promise.race([
      new SshTransport(s).run({ script, onStdout: (c) => (out += c.toString()), onStderr: () => {}, ...(abort ? { abort } : {}) }),
      timeout,
    ]);
    return { ...r, out };
  } finally {
    clearTimeout(timer);
  }
}

test('SshTransport: the script goes to bash on stdin, the rest of stdin is the control channel, exit status comes back', async () => {
  const fx = await sshFixture();
  const abort = new AbortController();
  abort.abort();
  const r = await transportRun(fx, fx.hosts[0]!, 'read -r line; echo "control: $line"; exit 3\n', abort.signal);
  assert.is(r.out, 'control: abort\n');
  assert.is(r.exitCode, 3);
  assert.is(r.error, undefined);
});

test('SshTransport: a channel closed without exit status is a lost connection', async () => {
  const fx = await sshFixture({ faults: [{ noExitStatus: true }] });
  const r = await transportRun(fx, fx.hosts[0]!, 'echo hi; exit\n');
  assert.is(r.out, 'hi\n');
  assert.is(r.exitCode, null);
  assert.match(r.error ?? '', 'connection lost');
});

test.run();
