// known_hosts is parsed and indexed once per file text (plain names in a map,
// hashed/wildcard/negated lines scanned), and each host looked up once: at
// thousands of hosts the file used to be scanned twice per host. The index
// must answer exactly what a line-by-line scan does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findEntries, knownTypes, verdict } from '../../src/ssh/known-hosts.js';

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C7okWi0dh2l9GKJl';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBlfrQxWDmhC7qZFLWNpTW0f2jY5F7lY5kPZcWBGWbyq';

test('entries of every kind come back in file order, plain names case-insensitive', () => {
  const text = [
    `*.example.com ssh-ed25519 ${K1}`,
    `WEB1.example.com,web1 ssh-rsa ${K2}`,
    `web1.example.com,!db.example.com ecdsa-sha2-nistp256 ${K2}`,
    `@revoked web1.example.com ssh-ed25519 ${K2}`,
    `web1.example.com ssh-ed25519 ${K1}`,
  ].join('\n');
  const r = findEntries(text, 'kh', 'web1.example.com');
  assert.equal(
    r.entries.map((e) => [e.line, e.keyType]),
    [
      [1, 'ssh-ed25519'],
      [2, 'ssh-rsa'],
      [3, 'ecdsa-sha2-nistp256'],
      [5, 'ssh-ed25519'],
    ],
  );
  assert.equal(
    r.revoked.map((e) => e.line),
    [4],
  );
  assert.equal(knownTypes([{ file: 'kh', text }], 'web1.example.com'), ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
  assert.equal(
    findEntries(text, 'kh', 'db.example.com').entries.map((e) => e.line),
    [1],
  );
});

test('thousands of lines: each host finds its own line, repeated lookups agree', () => {
  const n = 3000;
  const text = Array.from({ length: n }, (_, i) => `[10.0.${i >> 8}.${i & 255}]:22${i % 10} ssh-ed25519 ${i % 2 ? K1 : K2}`).join('\n');
  for (const i of [0, 1, 1234, n - 1]) {
    const id = `[10.0.${i >> 8}.${i & 255}]:22${i % 10}`;
    const key = i % 2 ? K1 : K2;
    assert.equal(verdict([{ file: 'kh', text }], id, 'ssh-ed25519', key), { kind: 'match', entry: { file: 'kh', line: i + 1, keyType: 'ssh-ed25519', key } });
    assert.equal(verdict([{ file: 'kh', text }], id, 'ssh-ed25519', key).kind, 'match');
  }
  assert.equal(verdict([{ file: 'kh', text }], '[10.0.0.0]:22', 'ssh-ed25519', K1).kind, 'unknown');
});

test('a file whose text changed is read anew (a key another host of the run added)', () => {
  const before = `web1 ssh-ed25519 ${K1}\n`;
  assert.equal(verdict([{ file: 'kh2', text: before }], 'web2', 'ssh-ed25519', K2).kind, 'unknown');
  const after = `${before}web2 ssh-ed25519 ${K2}\n`;
  assert.equal(verdict([{ file: 'kh2', text: after }], 'web2', 'ssh-ed25519', K2).kind, 'match');
  assert.equal(verdict([{ file: 'kh2', text: after }], 'web1', 'ssh-ed25519', K2).kind, 'mismatch');
});

test.run();
