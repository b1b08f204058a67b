// Unit tests of src/ssh/config-file.ts: ~/.ssh/config read as OpenSSH's
// readconf.c reads it (tokens, first value wins, Host/Match, Include, the final pass).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/errors.js';
import { matchList, matchPattern, readSshConfig, splitArgs, type ConfigIo, type ConfigQuery } from '../../src/ssh/config-file.js';

const UID = 1000;

/** An in-memory file system: path → text (mode 0600, ours) or { text, uid, mode }. */
function io(files: Record<string, string | { text: string; uid: number; mode: number }>): ConfigIo {
  const entry = (p: string) => {
    const f = files[p];
    return f === undefined ? undefined : typeof f === 'string' ? { text: f, uid: UID, mode: 0o100600 } : f;
  };
  return {
    readFile: (p) => entry(p)?.text,
    listDir: (dir) => {
      const names = Object.keys(files)
        .filter((p) => p.startsWith(dir + '/'))
        .map((p) => p.slice(dir.length + 1).split('/')[0]!);
      return names.length ? [...new Set(names)].reverse() : undefined;
    },
    owner: (p) => entry(p),
    uid: UID,
  };
}

const q = (host: string, extra: Partial<ConfigQuery> = {}): ConfigQuery => ({ host, label: host, home: '/h', localUser: 'me', ...extra });

/** The first value of each keyword, as "keyword=args joined by |". */
function read(
  files: Record<string, string | { text: string; uid: number; mode: number }>,
  host: string,
  extra: Partial<ConfigQuery> = {},
): Record<string, string> {
  const r = readSshConfig('/h/.ssh/config', q(host, extra), io(files));
  const out: Record<string, string> = {};
  for (const [k, v] of r.values) out[k] = v.args.join('|');
  if (r.identityFiles.length) out['identityfile'] = r.identityFiles.map((v) => v.args[0]).join('|');
  return out;
}

function readError(files: Record<string, string | { text: string; uid: number; mode: number }>, host: string): string {
  try {
    readSshConfig('/h/.ssh/config', q(host), io(files));
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

test('splitArgs: whitespace, both quotes, escapes, comments at a token start', () => {
  assert.equal(splitArgs('a  b\tc'), ['a', 'b', 'c']);
  assert.equal(splitArgs(`"a b" 'c d' e"f g"h`), ['a b', 'c d', 'ef gh']);
  assert.equal(splitArgs(`a\\ b \\"c\\" "d\\"e" \\x`), ['a b', '"c"', 'd"e', '\\x']);
  assert.equal(splitArgs('a b#c # comment'), ['a', 'b#c']);
  assert.equal(splitArgs('"unterminated'), undefined);
});

test('patterns: * any run, ? exactly one character, lists with negation', () => {
  assert.ok(matchPattern('web1', 'web?'));
  assert.not.ok(matchPattern('web', 'web?'));
  assert.not.ok(matchPattern('web12', 'web?'));
  assert.ok(matchPattern('a.b.c', '*.c'));
  assert.not.ok(matchPattern('a.b.c', 'a.b'));
  assert.ok(matchPattern('x+y(1)', 'x+y(1)'));
  assert.ok(matchList('db1', 'web*,db*'));
  assert.not.ok(matchList('db1', 'db*,!db1'));
  assert.not.ok(matchList('db1', '!db1,*'));
});

test('lines: Keyword value, Keyword=value, Keyword = value, case, CR, comments; first value wins', () => {
  const cfg =
    '# top comment\r\nHost web\r\n  hostname=10.0.0.1\r\n  PORT = 2200\r\n\tUser  "dep loy"  # who\r\n  Port 2201\r\nHost *\r\n  User other\r\n  Compression yes\r\n';
  assert.equal(read({ '/h/.ssh/config': cfg }, 'web'), { hostname: '10.0.0.1', port: '2200', user: 'dep loy', compression: 'yes' });
  assert.equal(read({ '/h/.ssh/config': cfg }, 'db'), { user: 'other', compression: 'yes' });
});

test('Host: several patterns, negation wins, matched against the host as written (case matters, as in ssh)', () => {
  const cfg = 'Host web* !web3 db\n  Port 1\nHost WEB9\n  Port 9\n';
  assert.is(read({ '/h/.ssh/config': cfg }, 'web1')['port'], '1');
  assert.is(read({ '/h/.ssh/config': cfg }, 'db')['port'], '1');
  assert.is(read({ '/h/.ssh/config': cfg }, 'web3')['port'], undefined);
  assert.is(read({ '/h/.ssh/config': cfg }, 'Web1')['port'], undefined);
});

test('Include: relative to ~/.ssh, ~/ and absolute paths, globs in order, hidden files skipped, missing ones ignored', () => {
  const files = {
    '/h/.ssh/config': 'Include conf.d/*.conf ~/more missing.conf /etc/wd-test/abs\nHost *\n  Port 9\n',
    '/h/.ssh/conf.d/20-b.conf': 'Host web\n  User from-b\n  IdentityFile b\n',
    '/h/.ssh/conf.d/10-a.conf': 'Host web\n  User from-a\n  IdentityFile a\n',
    '/h/.ssh/conf.d/.hidden.conf': 'Host web\n  User hidden\n',
    '/h/.ssh/conf.d/notes.txt': 'Host web\n  User txt\n',
    '/h/more': 'Host web\n  IdentityFile more\n',
    '/etc/wd-test/abs': 'Host web\n  IdentityFile abs\n',
  };
  assert.equal(read(files, 'web'), { user: 'from-a', identityfile: 'a|b|more|abs', port: '9' });
});

test('Include: inside a Host block only when it applies; the included file cannot leave its blocks open', () => {
  const files = {
    '/h/.ssh/config': 'Host web\n  Include web.conf\nHost db\n  Include db.conf\n  Port 5432\n',
    '/h/.ssh/web.conf': 'User w\nHost other\n  Compression yes\n',
    '/h/.ssh/db.conf': 'User d\nHost nothing-matches-this\n  User never\n',
  };
  assert.equal(read(files, 'web'), { user: 'w' });
  // After db.conf's own Host line, the includer's block (Host db) is active again for Port.
  assert.equal(read(files, 'db'), { user: 'd', port: '5432' });
});

test('Include: nested includes work; a loop is an error naming the file', () => {
  const files = { '/h/.ssh/config': 'Include a\n', '/h/.ssh/a': 'Include b\nUser from-a\n', '/h/.ssh/b': 'Port 7\n' };
  assert.equal(read(files, 'x'), { port: '7', user: 'from-a' });
  assert.match(readError({ '/h/.ssh/config': 'Include config\n' }, 'x'), 'host x: /h/.ssh/config line 1: Include nested more than 16 deep');
});

test('Match: host (after HostName), originalhost, user (the command line first), localuser, all, negation', () => {
  const cfg = [
    'Host alias',
    '  HostName real.example.com',
    'Match host real.example.com',
    '  Port 1',
    'Match originalhost alias user deploy',
    '  Compression yes',
    'Match !localuser me',
    '  ForwardAgent yes',
    'Match all',
    '  ServerAliveInterval 9',
  ].join('\n');
  assert.equal(read({ '/h/.ssh/config': cfg }, 'alias'), { hostname: 'real.example.com', port: '1', serveraliveinterval: '9' });
  assert.equal(read({ '/h/.ssh/config': cfg }, 'alias', { user: 'deploy' }), {
    hostname: 'real.example.com',
    port: '1',
    compression: 'yes',
    serveraliveinterval: '9',
  });
  assert.equal(read({ '/h/.ssh/config': cfg }, 'alias', { localUser: 'you' }), {
    hostname: 'real.example.com',
    port: '1',
    forwardagent: 'yes',
    serveraliveinterval: '9',
  });
  assert.equal(read({ '/h/.ssh/config': cfg }, 'REAL.example.com'), { port: '1', serveraliveinterval: '9' });
});

test('Match final and canonical: a second pass in which Host lines see the HostName', () => {
  const cfg = 'Host alias\n  HostName box.internal\nMatch canonical host *.internal\n  User c\nHost box.internal\n  Port 2\nMatch final\n  Compression yes\n';
  assert.equal(read({ '/h/.ssh/config': cfg }, 'alias'), { hostname: 'box.internal', user: 'c', port: '2', compression: 'yes' });
  // Without a Match final anywhere, there is no second pass, and `canonical` never matches.
  assert.equal(read({ '/h/.ssh/config': cfg.replace('Match final\n', 'Match host nothing\n') }, 'alias'), { hostname: 'box.internal' });
});

test('Match tagged follows Tag', () => {
  const cfg = 'Host web\n  Tag prod\nMatch tagged prod\n  User p\nMatch tagged !prod,*\n  User n\n';
  assert.is(read({ '/h/.ssh/config': cfg }, 'web')['user'], 'p');
  assert.is(read({ '/h/.ssh/config': cfg }, 'db')['user'], 'n');
});

test('Match exec and other criteria wd cannot evaluate: an error naming file and line when reached, nothing when skipped', () => {
  const files = { '/h/.ssh/config': 'Host *\n  Port 2\n', '/h/.ssh/inc': 'Match exec "vpn-up"\n  ProxyJump bastion\n' };
  files['/h/.ssh/config'] += 'Match host web exec "vpn-up"\n  ProxyJump bastion\nMatch localnetwork 10.0.0.0/8\n  User l\n';
  const msg = readError(files, 'web');
  assert.match(msg, "host web: /h/.ssh/config line 3: Match exec cannot be evaluated by wd's built-in SSH client");
  assert.match(msg, 'Fix:');
  assert.match(readError(files, 'db'), '/h/.ssh/config line 5: Match localnetwork cannot be evaluated');
  // An earlier criterion that fails spares the question, as in ssh; so does an Include under an inactive block.
  const spared = { '/h/.ssh/config': 'Match host web exec "vpn-up"\n  User x\nHost web\n  Include inc\n', '/h/.ssh/inc': files['/h/.ssh/inc'] };
  assert.equal(read(spared, 'db'), {});
  assert.match(readError(spared, 'web'), '/h/.ssh/config line 1: Match exec');
});

test('syntax errors and bad Match lines name the file and line', () => {
  assert.match(readError({ '/h/.ssh/config': 'Host "web\n' }, 'x'), 'cannot parse ssh config /h/.ssh/config line 1: unterminated quote.');
  assert.match(readError({ '/h/.ssh/config': '\nPort\n' }, 'x'), 'cannot parse ssh config /h/.ssh/config line 2: no value after Port.');
  assert.match(readError({ '/h/.ssh/config': 'Match host\n' }, 'x'), '/h/.ssh/config line 1: Match host needs a value.');
  assert.match(readError({ '/h/.ssh/config': 'Match all host x\n' }, 'x'), "'all' cannot be combined");
  assert.match(readError({ '/h/.ssh/config': 'Include inc\n', '/h/.ssh/inc': "\n\nUser 'x\n" }, 'x'), 'cannot parse ssh config /h/.ssh/inc line 3');
});

test('a config file (or an included one) writable by others or owned by someone else is refused, as ssh does', () => {
  const mine = (text: string, mode: number, uid = UID) => ({ text, uid, mode: 0o100000 | mode });
  assert.equal(read({ '/h/.ssh/config': mine('Port 1\n', 0o644) }, 'x'), { port: '1' });
  assert.equal(read({ '/h/.ssh/config': mine('Port 1\n', 0o644, 0) }, 'x'), { port: '1' });
  assert.match(readError({ '/h/.ssh/config': mine('Port 1\n', 0o664) }, 'x'), 'host x: bad owner or permissions on /h/.ssh/config');
  assert.match(readError({ '/h/.ssh/config': mine('Port 1\n', 0o600, 4242) }, 'x'), 'bad owner or permissions');
  assert.match(readError({ '/h/.ssh/config': 'Include i\n', '/h/.ssh/i': mine('Port 1\n', 0o646) }, 'x'), 'bad owner or permissions on /h/.ssh/i');
});

test.run();
