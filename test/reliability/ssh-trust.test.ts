// Regression tests for the SSH half of the trust issue, each failing on the
// code before its fix: agent forwarding to a host whose key changed, ProxyCommand
// and Include in ~/.ssh/config, one known_hosts line per key, the connect timeout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { closedPort, closeFixtures, sshFixture, sshKey, writeHome, type FakeHost } from '../helpers/ssh-fixture.js';
import { runProcess, runWd, WD_BIN } from '../helpers/wd.js';
import { cachedReader } from '../../src/files.js';
import { describeKey } from '../../src/ssh/known-hosts.js';
import { parseSshOptions, resolveSsh } from '../../src/ssh/options.js';
import { defaultSshDeps, SshTransport } from '../../src/ssh/transport.js';

test.after.each(closeFixtures);
test.after(cleanup);

const read = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
const both = (r: { stdout: string; stderr: string }): string => r.stdout + r.stderr;
const fingerprint = (keyLine: string): string => describeKey(Buffer.from(keyLine.trim().split(/\s+/)[1]!, 'base64')).fingerprint;

test('StrictHostKeyChecking=no and a changed host key: loud warning, the deploy runs, no agent forwarding', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  const agent = await fx.agent([fx.key]);
  const old = sshKey().publicKey;
  const stale = `# first line\n[127.0.0.1]:${h.server.port} ${old}\n`;
  writeFileSync(fx.knownHosts, stale);
  fx.config({}, [{ name: h.name, ssh_options: ['-o', `UserKnownHostsFile=${fx.knownHosts}`, '-o', 'StrictHostKeyChecking=no', '-A'] }]);
  const r = await fx.wd(['setup', 'prod'], { SSH_AUTH_SOCK: agent.socket });
  assert.is(r.code, 0, both(r));
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v1\n');
  const warning = r.stderr.split('\n').filter((l) => l.includes('wd: '));
  const text = warning.join('\n');
  assert.match(text, `WARNING: HOST KEY CHANGED for [127.0.0.1]:${h.server.port}`);
  assert.match(text, `ssh-ed25519 ${fingerprint(h.server.hostKeyLine)}`);
  assert.match(text, `ssh-ed25519 ${fingerprint(old)} in ${fx.knownHosts}:2`);
  assert.match(text, 'agent forwarding is disabled for this connection');
  assert.is(h.server.agentForwardRequests, 0);
  // The changed key is not recorded: the next run warns again.
  assert.is(read(fx.knownHosts), stale);
});

test('-A with a host key that matches: the agent is forwarded (the control for the test above)', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  const agent = await fx.agent([fx.key]);
  fx.config({}, [{ name: h.name, ssh_options: ['-o', `UserKnownHostsFile=${fx.knownHosts}`, '-o', 'StrictHostKeyChecking=no', '-A'] }]);
  const r = await fx.wd(['setup', 'prod'], { SSH_AUTH_SOCK: agent.socket });
  assert.is(r.code, 0, both(r));
  assert.not.match(r.stderr, 'HOST KEY CHANGED');
  assert.is(h.server.agentForwardRequests, 1);
});

test('50 hosts at one address accept its new key: known_hosts gets one line, one notice', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  writeFileSync(fx.knownHosts, '# mine, no final newline');
  const readFile = cachedReader(); // as in a run: every host sees the file as it was at the start
  const args = parseSshOptions(['-i', fx.key.privatePath, '-o', `UserKnownHostsFile=${fx.knownHosts}`], 'test');
  let notes = '';
  const runs = Array.from({ length: 50 }, (_, i) => {
    const s = resolveSsh(`u${i}@127.0.0.1:${h.server.port}`, args, { home: fx.home, localUser: 'nobody', readFile });
    return new SshTransport(s, { ...defaultSshDeps, readFile }).run({ script: 'true; exit\n', onStdout: () => {}, onStderr: (c) => (notes += c.toString()) });
  });
  const results = await Promise.all(runs);
  assert.equal(
    results.map((r) => r.exitCode),
    results.map(() => 0),
    notes,
  );
  assert.is(read(fx.knownHosts), `# mine, no final newline\n${h.server.knownHostsLine}\n`);
  assert.is(notes.split('\n').filter((l) => l.includes('added its ssh-ed25519 key')).length, 1, notes);
  assert.not.ok(existsSync(`${fx.knownHosts}.wd-lock`));
});

test('four wd processes at once accept the same new key: one known_hosts line', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  const dir = tmpDir('wd-kh-parallel-');
  const runs = [1, 2, 3, 4].map((i) => {
    const file = join(dir, `deploy${i}.yml`);
    const domain = [{ name: h.name, ssh_options: ['-i', fx.key.privatePath, '-o', `UserKnownHostsFile=${fx.knownHosts}`] }];
    writeFileSync(file, JSON.stringify({ prod: { domain, deploy_to: `~/app${i}`, repository: fx.origin.url, branch: 'main' } }));
    return runWd(['setup', 'prod', '-p', file], { cwd: dir, env: { HOME: fx.home, SSH_AUTH_SOCK: '' }, timeoutMs: 30000 });
  });
  for (const r of await Promise.all(runs)) assert.is(r.code, 0, both(r));
  assert.is(read(fx.knownHosts), `${h.server.knownHostsLine}\n`);
});

test('with umask 000, the known_hosts wd creates is 0600 and ~/.ssh 0700', async () => {
  const fx = await sshFixture({ trust: false });
  const h = fx.hosts[0]!;
  const config = fx.config({}, [{ name: h.name, ssh_options: ['-i', fx.key.privatePath] }]);
  const file = join(fx.home, '.ssh', 'known_hosts');
  assert.not.ok(existsSync(join(fx.home, '.ssh')));
  const r = await runProcess('sh', ['-c', 'umask 000 && exec "$@"', 'sh', process.execPath, WD_BIN, 'setup', 'prod', '-p', config], {
    env: { HOME: fx.home, SSH_AUTH_SOCK: '', NO_COLOR: '1' },
  });
  assert.is(r.code, 0, both(r));
  assert.is(read(file), `${h.server.knownHostsLine}\n`);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(statSync(join(fx.home, '.ssh')).mode & 0o777, 0o700);
  assert.equal(readdirSync(join(fx.home, '.ssh')), ['known_hosts']);
});

test('a silent host (TCP accepted, no SSH banner): ssh_options -o ConnectTimeout=1 fails it with a clear message', async () => {
  const fx = await sshFixture({ hosts: 2, faults: [{ silent: true }] });
  const [silent, ok] = fx.hosts as [FakeHost, FakeHost];
  fx.config({}, [
    { name: silent.name, ssh_options: [...fx.sshOptions, '-o', 'ConnectTimeout=1'] },
    { name: ok.name, ssh_options: fx.sshOptions },
  ]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  assert.ok(
    r.stdout.includes(
      `  ${silent.name} => failed: timed out after 1s connecting to 127.0.0.1:${silent.server.port}; is the host up? (raise it with ssh_options -o ConnectTimeout=N)`,
    ),
    r.stdout,
  );
  assert.match(r.stdout, `  ${ok.name} => succeeded`);
});

test("wd's connect timeout wins over -o ConnectTimeout and ~/.ssh/config, and the message names it", async () => {
  const fx = await sshFixture({ faults: [{ silent: true }] });
  const h = fx.hosts[0]!;
  writeHome(fx, '.ssh/config', 'Host *\n  ConnectTimeout 40\n');
  const args = parseSshOptions([...fx.sshOptions, '-o', 'ConnectTimeout=30'], 'test');
  const env = { home: fx.home, localUser: 'nobody', readFile: read };
  assert.is(resolveSsh(h.name, args, env).connectTimeoutMs, 30000);
  const s = resolveSsh(h.name, args, { ...env, connectTimeoutSec: 1 });
  assert.is(s.connectTimeoutMs, 1000);
  const r = await new SshTransport(s).run({ script: 'true; exit\n', onStdout: () => {}, onStderr: () => {} });
  assert.is(r.exitCode, null);
  assert.is(
    r.error,
    `timed out after 1s connecting to 127.0.0.1:${h.server.port}; is the host up? (raise it with --connect-timeout N or connect_timeout in deploy.yml)`,
  );
  assert.is(h.server.channels, 0);
});

/** A ProxyCommand in the spirit of `nc`: records its arguments, then pipes stdio to 127.0.0.1:PORT. */
function proxyScript(): { script: string; log: string } {
  const dir = tmpDir('wd-proxy-');
  const script = join(dir, 'proxy.cjs');
  const log = join(dir, 'args.json');
  writeFileSync(
    script,
    `
    const net = require('net');
    const [port, log, ...tokens] = process.argv.slice(2);
    require('fs').writeFileSync(log, JSON.stringify(tokens));
    const s = net.connect(Number(port), '127.0.0.1');
    process.stdin.pipe(s);
    s.pipe(process.stdout);
    s.on('error', (e) => { console.error('proxy: ' + e.message); process.exit(3); });
  `,
  );
  return { script, log };
}

test('~/.ssh/config ProxyCommand: the connection goes through it, with %h %p %r %n %% expanded', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  const { script, log } = proxyScript();
  const nowhere = await closedPort();
  writeHome(
    fx,
    '.ssh/config',
    [
      'Host viaproxy',
      '  HostName 127.0.0.1',
      `  Port ${nowhere}`, // a direct connection would be refused
      '  User deploy',
      `  ProxyCommand ${process.execPath} ${script} ${h.server.port} ${log} %h %p %r %n 100%%`,
      `  HostKeyAlias [127.0.0.1]:${h.server.port}`,
      `  IdentityFile ${fx.key.privatePath}`,
      `  UserKnownHostsFile ${fx.knownHosts}`,
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  fx.config({}, [{ name: 'viaproxy' }]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 0, both(r));
  assert.is(read(join(h.home, 'app', 'app.txt')), 'v1\n');
  assert.is(h.server.execs[0]?.user, 'deploy');
  assert.equal(JSON.parse(read(log)!), ['127.0.0.1', String(nowhere), 'deploy', 'viaproxy', '100%']);
});

test('~/.ssh/config ProxyCommand that fails: the host fails with its exit status and stderr', async () => {
  const fx = await sshFixture();
  writeHome(fx, '.ssh/config', `Host broken\n  ProxyCommand sh -c 'echo "no route to %h" >&2; exit 7'\n`);
  fx.config({}, [{ name: 'broken', ssh_options: fx.sshOptions }]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, both(r));
  assert.match(
    r.stdout,
    `  broken => failed: ProxyCommand (${join(fx.home, '.ssh/config')} line 2) exited with status 7 before the SSH handshake finished: no route to broken. It ran: sh -c 'echo "no route to broken" >&2; exit 7' (`,
  );
});

test('~/.ssh/config Include: a Host block in an included file decides port and user', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  writeHome(fx, '.ssh/config', 'Include conf.d/*.conf\n\nHost *\n  User nobody-else\n');
  writeHome(fx, '.ssh/conf.d/10-web.conf', ['Host webalias', '  HostName 127.0.0.1', `  Port ${h.server.port}`, '  User deploy', ''].join('\n'));
  fx.config({}, [{ name: 'webalias', ssh_options: fx.sshOptions }]);
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 0, both(r));
  assert.is(h.server.execs[0]?.user, 'deploy');
});

test('~/.ssh/config Match exec: wd cannot evaluate it, so the run stops (exit 2) naming file, line and directive', async () => {
  const fx = await sshFixture();
  const h = fx.hosts[0]!;
  const nowhere = await closedPort();
  const cfg = writeHome(fx, '.ssh/config', `Host *\n  ServerAliveInterval 5\n\nMatch host 127.0.0.1 exec "test -e /"\n  Port ${nowhere}\n`);
  fx.config();
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 2, both(r));
  assert.match(r.stderr, `host ${h.name}: ${cfg} line 4: Match exec cannot be evaluated by wd's built-in SSH client`);
  assert.is(h.server.connections, 0);
});

test.run();
