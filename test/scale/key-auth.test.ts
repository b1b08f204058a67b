// Public-key auth signs from a KeyObject made once per key and run
// (src/ssh/private-key.ts) instead of ssh2's sign-from-PEM per host. The
// signatures must be the very bytes ssh2 would have made, an RSA key must still
// log in to a real OpenSSH (which takes only the SHA-2 signatures), and a key
// wd cannot use must still be named with the same message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { fastSigning, privateKeyOnce } from '../../src/ssh/private-key.js';
import { makeKey } from '../helpers/keys.js';
import { makeOrigin } from '../helpers/git.js';
import { startSshd, sshdAvailable, type Sshd } from '../helpers/sshd.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

const { utils } = ssh2;
const sshdTest = sshdAvailable() || process.env['CI'] === 'true' ? test : test.skip;
const running: Sshd[] = [];

test.after(async () => {
  for (const s of running.splice(0)) await s.stop();
  await cleanup();
});

/** An OpenSSH-format key made by ssh-keygen itself, as users have them. */
function keygen(type: 'rsa' | 'ecdsa' | 'ed25519', passphrase = ''): { privatePath: string; privateKey: string; publicKey: string } {
  const dir = tmpDir('wd-keyauth-');
  const privatePath = join(dir, `id_${type}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', passphrase, '-C', 'wd-test', '-f', privatePath]);
  return { privatePath, privateKey: readFileSync(privatePath, 'utf8'), publicKey: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}

const parsed = (text: string): ParsedKey => {
  const k = utils.parseKey(text);
  if (k instanceof Error) throw k;
  return (Array.isArray(k) ? k[0] : k) as ParsedKey;
};

test('Ed25519 and RSA (ssh-rsa, rsa-sha2-256, rsa-sha2-512): the same signature bytes as ssh2 makes', () => {
  const data = createHash('sha512').update('session id and userauth request').digest();
  const ed = parsed(makeKey().privateKey);
  assert.equal(fastSigning(ed).sign(data), ed.sign(data));
  const rsa = parsed(keygen('rsa').privateKey);
  const fast = fastSigning(rsa);
  for (const hash of [undefined, 'sha1', 'sha256', 'sha512']) assert.equal(fast.sign(data, hash), rsa.sign(data, hash), `hash ${hash}`);
  assert.not.equal(fast.sign(data, 'sha256'), fast.sign(data, 'sha512'));
});

test('ECDSA: a signature the public key verifies (ECDSA signatures differ on every call)', () => {
  const data = Buffer.from('userauth request');
  const ec = parsed(keygen('ecdsa').privateKey);
  const sig = fastSigning(ec).sign(data);
  assert.instance(sig, Buffer);
  assert.is(ec.verify(data, sig as Buffer), true);
});

test('one parse per key text: the same key object for every host of the run', () => {
  const text = makeKey().privateKey;
  const a = privateKeyOnce(text);
  assert.ok(!(a instanceof Error));
  assert.is(privateKeyOnce(text), a);
});

test('a passphrase-protected or unreadable key is an Error, as ssh2 says it', () => {
  const locked = privateKeyOnce(keygen('ed25519', 'hunter2').privateKey);
  assert.instance(locked, Error);
  assert.match((locked as Error).message, /encrypted|passphrase/i);
  assert.instance(privateKeyOnce('-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n'), Error);
});

async function world(authorized: string[]) {
  const home = tmpDir('wd-keyauth-host-');
  const sshd = await startSshd({ homes: [home], authorizedKeys: authorized });
  running.push(sshd);
  const port = sshd.hosts[0]!.port;
  const local = tmpDir('wd-keyauth-local-');
  mkdirSync(join(local, 'home'));
  const knownHosts = join(local, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine(port)}\n`);
  const origin = makeOrigin('origin', { 'app.txt': 'v1\n' });
  const setup = async (keyFile: string) => {
    const file = join(local, 'deploy.yml');
    writeFileSync(
      file,
      [
        'prod:',
        `  domain: root@127.0.0.1:${port}`,
        `  ssh_options: ${JSON.stringify(['-i', keyFile, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'])}`,
        '  deploy_to: ~/app',
        `  repository: ${origin.url}`,
        '  branch: main',
        '',
      ].join('\n'),
    );
    return runWd(['setup', 'prod', '-p', file], { cwd: local, env: { HOME: join(local, 'home'), SSH_AUTH_SOCK: '' }, timeoutMs: 60_000 });
  };
  return { home, port, setup };
}

sshdTest('real sshd: RSA and ECDSA keys log in (OpenSSH takes only SHA-2 RSA signatures)', async () => {
  const rsa = keygen('rsa');
  const ec = keygen('ecdsa');
  const w = await world([rsa.publicKey, ec.publicKey]);
  for (const k of [rsa, ec]) {
    const r = await w.setup(k.privatePath);
    assert.is(r.code, 0, `${k.privatePath}\n${r.stdout}\n${r.stderr}`);
    assert.is(readFileSync(join(w.home, 'app', 'app.txt'), 'utf8'), 'v1\n');
  }
});

sshdTest('real sshd: an unreadable or passphrase-protected key file is named, with the fix', async () => {
  const good = keygen('ed25519');
  const w = await world([good.publicKey]);
  const bad = join(tmpDir('wd-keyauth-bad-'), 'id_bad');
  writeFileSync(bad, 'not a key\n', { mode: 0o600 });
  const r = await w.setup(bad);
  assert.is(r.code, 1, r.stdout);
  assert.ok(
    r.stdout.includes(
      `failed: authentication failed for root@127.0.0.1:${w.port} (no usable key: no ssh-agent (SSH_AUTH_SOCK) and no key file found); ${bad} could not be read as a private key (`,
    ),
    r.stdout,
  );
  const locked = keygen('ed25519', 'hunter2');
  const r2 = await w.setup(locked.privatePath);
  assert.is(r2.code, 1, r2.stdout);
  assert.ok(
    r2.stdout.includes(`${locked.privatePath} is passphrase-protected; add it to ssh-agent (ssh-add ${locked.privatePath}) so wd can use it without a prompt`),
    r2.stdout,
  );
});

test.run();
