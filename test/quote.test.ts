// quote() is the only way values enter a shell command: round-trip hostile
// strings through a real bash and get them back byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { quote, quotePath } from '../src/quote.js';

const HOSTILE = [
  '',
  ' ',
  'plain',
  "it's",
  '"double"',
  'a b  c',
  '$(touch /tmp/wd-pwned)',
  '`id`',
  '${HOME}',
  '$HOME',
  'semi;colon',
  'pipe|amp&',
  'new\nline',
  'tab\there',
  'back\\slash',
  '*',
  '?',
  '[a]',
  '~',
  '~root',
  '-n',
  '--',
  '!event',
  '#comment',
  'unicodé ☃ 𝄞',
  "'",
  "''",
  "'\\''",
  'a=b',
  '%s',
  '\x01ctrl',
  '>out',
  '<in',
  '{a,b}',
];

function bashEcho(expr: string): string {
  return execFileSync('bash', ['-c', `printf '%s' ${expr}`], { encoding: 'utf8' });
}

test('quote round-trips hostile strings through bash', () => {
  for (const s of HOSTILE) assert.is(bashEcho(quote(s)), s, `value ${JSON.stringify(s)} as ${quote(s)}`);
});

test('quote leaves plain words bare and quotes the rest', () => {
  assert.is(quote('main'), 'main');
  assert.is(quote('git@github.com:me/app.git'), 'git@github.com:me/app.git');
  assert.is(quote('a b'), "'a b'");
  assert.is(quote("it's"), "'it'\\''s'");
  assert.is(quote(''), "''");
});

test('quotePath expands ~ on the host and keeps the rest literal', () => {
  const home = '/home/deploy';
  const run = (p: string): string => execFileSync('bash', ['-c', `printf '%s' ${quotePath(p)}`], { encoding: 'utf8', env: { ...process.env, HOME: home } });
  assert.is(run('~'), home);
  assert.is(run('~/app'), `${home}/app`);
  assert.is(run("~/my app's $(dir)"), `${home}/my app's $(dir)`);
  assert.is(run('/var/www/a b'), '/var/www/a b');
  assert.is(run('rel/path'), 'rel/path');
  assert.is(run('~root/x'), '~root/x');
});

test.run();
