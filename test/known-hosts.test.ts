// Unit tests of src/known-hosts.ts, checked against OpenSSH's own ssh-keygen
// where it has an opinion (hashing, fingerprints).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addKnownHost, describeKey, findEntries, hostId, knownTypes, verdict } from '../src/ssh/known-hosts.js';
import { sshKey } from './helpers/ssh-fixture.js';
import { cleanup, tmpDir } from './helpers/tmp.js';

test.after(cleanup);

const sshKeygen = async (...args: string[]): Promise<string> => (await promisify(execFile)('ssh-keygen', args, { timeout: 20000 })).stdout;

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBlfrQxWDmhC7qZFLWNpTW0f2jY5F7lY5kPZcWBGWbyq';
const hosts = (text: string, id: string): string[] => findEntries(text, 'kh', id).entries.map((e) => e.key);

test('hostId: bare on port 22, [host]:port otherwise', () => {
  assert.is(hostId('web1', 22), 'web1');
  assert.is(hostId('127.0.0.1', 2222), '[127.0.0.1]:2222');
  assert.is(hostId('::1', 2222), '[::1]:2222');
});

test('findEntries: plain, lists, [host]:port, wildcards, negation, comments', () => {
  const text = [
    '# comment',
    '',
    `web1.example.com,10.0.0.1 ssh-ed25519 ${K1}`,
    `[127.0.0.1]:2222 ssh-ed25519 ${K1} with a comment`,
    `*.example.org ssh-ed25519 ${K1}`,
    `10.1.?.1 ssh-ed25519 ${K1}`,
    `*.corp,!db.corp ssh-ed25519 ${K1}`,
    `@cert-authority *.example.com ssh-ed25519 ${K2}`,
  ].join('\n');
  for (const id of ['web1.example.com', 'WEB1.example.com', '10.0.0.1', '[127.0.0.1]:2222', 'a.example.org', '10.1.5.1', 'app.corp']) {
    assert.equal(hosts(text, id), [K1], id);
  }
  for (const id of ['web2.example.com', '127.0.0.1', '[127.0.0.1]:2223', '1:2222', 'example.org', '10.1.55.1', 'db.corp']) {
    assert.equal(hosts(text, id), [], id);
  }
  assert.equal(findEntries(text, 'kh', '[127.0.0.1]:2222').entries, [{ file: 'kh', line: 4, keyType: 'ssh-ed25519', key: K1 }]);
});

test('findEntries: hashed entries written by ssh-keygen -H', async () => {
  const file = join(tmpDir(), 'known_hosts');
  writeFileSync(file, `[127.0.0.1]:2222 ssh-ed25519 ${K1}\nweb1.example.com ssh-ed25519 ${K2}\n`);
  await sshKeygen('-H', '-f', file);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^\|1\|\S+\|\S+ ssh-ed25519 /);
  assert.not.match(text, 'example.com');
  assert.equal(hosts(text, '[127.0.0.1]:2222'), [K1]);
  assert.equal(hosts(text, 'web1.example.com'), [K2]);
  assert.equal(hosts(text, '127.0.0.1'), []);
  assert.equal(hosts('|1|bad ssh-ed25519 ' + K1, 'web1'), []);
});

test('verdict: match, mismatch, revoked, unknown; across files', () => {
  const a = { file: 'a', text: `web1 ssh-ed25519 ${K1}\nweb2 ssh-ed25519 ${K2}\n` };
  const b = { file: 'b', text: `web1 ssh-ed25519 ${K2}\n@revoked web3 ssh-ed25519 ${K1}\nweb3 ssh-ed25519 ${K1}\n` };
  assert.equal(verdict([a, b], 'web1', 'ssh-ed25519', K1), { kind: 'match', entry: { file: 'a', line: 1, keyType: 'ssh-ed25519', key: K1 } });
  // web1 is known with K1 in a and K2 in b: either is accepted, as by ssh.
  assert.is(verdict([a, b], 'web1', 'ssh-ed25519', K2).kind, 'match');
  assert.equal(verdict([a, b], 'web2', 'ssh-ed25519', K1), { kind: 'mismatch', entries: [{ file: 'a', line: 2, keyType: 'ssh-ed25519', key: K2 }] });
  assert.equal(verdict([a, b], 'web3', 'ssh-ed25519', K1), { kind: 'revoked', entry: { file: 'b', line: 2, keyType: 'ssh-ed25519', key: K1 } });
  assert.equal(verdict([a, b], 'web4', 'ssh-ed25519', K1), { kind: 'unknown' });
  assert.equal(verdict([], 'web1', 'ssh-ed25519', K1), { kind: 'unknown' });
});

test('knownTypes: the key types a host is known by, once each', () => {
  const files = [
    { file: 'a', text: `web1 ssh-rsa AAAAB3Nza\nweb1 ssh-ed25519 ${K1}\n` },
    { file: 'b', text: `web1 ssh-rsa AAAAB3Nzb\nweb2 ecdsa-sha2-nistp256 AAAAE2V\n@revoked web1 ecdsa-sha2-nistp256 AAAAE2V\n` },
  ];
  assert.equal(knownTypes(files, 'web1'), ['ssh-rsa', 'ssh-ed25519']);
  assert.equal(knownTypes(files, 'web3'), []);
});

test('describeKey: type, blob and the fingerprint ssh-keygen -lf prints', async () => {
  const dir = tmpDir();
  const ed = sshKey({ dir });
  await sshKeygen('-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'id_rsa'));
  for (const pub of [ed.publicPath, join(dir, 'id_rsa.pub')]) {
    const [type, blob] = readFileSync(pub, 'utf8').split(' ') as [string, string];
    const d = describeKey(Buffer.from(blob, 'base64'));
    assert.is(d.keyType, type);
    assert.is(d.key, blob);
    const fp = (await sshKeygen('-lf', pub)).split(' ')[1];
    assert.is(d.fingerprint, fp);
  }
});

test('addKnownHost: creates the directory and appends one line, mode 0600', () => {
  const file = join(tmpDir(), 'new', '.ssh', 'known_hosts');
  assert.equal(addKnownHost(file, '[127.0.0.1]:2222', 'ssh-ed25519', K1), { kind: 'added' });
  assert.equal(addKnownHost(file, 'web1', 'ssh-ed25519', K2), { kind: 'added' });
  assert.is(readFileSync(file, 'utf8'), `[127.0.0.1]:2222 ssh-ed25519 ${K1}\nweb1 ssh-ed25519 ${K2}\n`);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(verdict([{ file, text: readFileSync(file, 'utf8') }], '[127.0.0.1]:2222', 'ssh-ed25519', K1).kind, 'match');
});

test('addKnownHost: a key already there is not added again; another key for the host is a mismatch', () => {
  const file = join(tmpDir(), 'known_hosts');
  writeFileSync(file, `# no final newline`);
  addKnownHost(file, 'web1', 'ssh-ed25519', K1);
  assert.equal(addKnownHost(file, 'web1', 'ssh-ed25519', K1), { kind: 'match', entry: { file, line: 2, keyType: 'ssh-ed25519', key: K1 } });
  assert.equal(addKnownHost(file, 'web1', 'ssh-ed25519', K2), { kind: 'mismatch', entries: [{ file, line: 2, keyType: 'ssh-ed25519', key: K1 }] });
  assert.is(readFileSync(file, 'utf8'), `# no final newline\nweb1 ssh-ed25519 ${K1}\n`);
  assert.equal(readdirSync(join(file, '..')), ['known_hosts']);
});

test('addKnownHost: waits for another process holding the lock, then sees its line', async () => {
  const file = join(tmpDir(), 'known_hosts');
  const lock = `${file}.wd-lock`;
  // The other wd: takes the lock, appends the same key a little later, lets go.
  const other = spawn(
    process.execPath,
    [
      '-e',
      `
    const fs = require('fs');
    fs.writeFileSync(${JSON.stringify(lock)}, process.pid + '\\n', { flag: 'wx' });
    setTimeout(() => { fs.appendFileSync(${JSON.stringify(file)}, 'web1 ssh-ed25519 ${K1}\\n'); fs.rmSync(${JSON.stringify(lock)}); }, 300);
  `,
    ],
    { stdio: 'inherit' },
  );
  const exited = new Promise((r) => other.on('exit', r));
  while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5));
  assert.is(addKnownHost(file, 'web1', 'ssh-ed25519', K1).kind, 'match');
  await exited;
  assert.is(readFileSync(file, 'utf8'), `web1 ssh-ed25519 ${K1}\n`);
});

test('addKnownHost: a lock left by a process that is gone does not block', () => {
  const file = join(tmpDir(), 'known_hosts');
  const dead = spawnSync('true').pid;
  writeFileSync(`${file}.wd-lock`, `${dead}\n`);
  assert.is(addKnownHost(file, 'web1', 'ssh-ed25519', K1).kind, 'added');
  assert.equal(readdirSync(join(file, '..')), ['known_hosts']);
});

test.run();
