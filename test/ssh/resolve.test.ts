// resolveSsh with ProxyCommand, ProxyJump, Include and the directives wd
// refuses rather than ignores: what it decides, and the errors it gives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/errors.js';
import { parseSshOptions, resolveSsh, type SshEnv } from '../../src/ssh/options.js';

function env(config: string, more: Record<string, string> = {}, extra: Partial<SshEnv> = {}): SshEnv {
  const files: Record<string, string> = { '/h/.ssh/config': config, ...more };
  return { home: '/h', localUser: 'me', readFile: (p) => files[p], listDir: () => undefined, owner: () => undefined, ...extra };
}
const resolve = (label: string, config: string, args: string[] = [], more: Record<string, string> = {}) =>
  resolveSsh(label, parseSshOptions(args, `host ${label}`), env(config, more));

function resolveError(label: string, config: string, args: string[] = []): string {
  try {
    resolve(label, config, args);
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${label}`);
}

test('ProxyCommand: tokens expanded (%h after HostName, %n as written, %p, %r, %%), its file and line kept', () => {
  const cfg = 'Host web\n  HostName 10.0.0.1\n  User deploy\n  Port 2200\n  ProxyCommand ssh -W %h:%p -l %r gw # for %n 100%%\n';
  assert.equal(resolve('web', cfg).proxyCommand, { command: 'ssh -W 10.0.0.1:2200 -l deploy gw # for web 100%', source: '/h/.ssh/config line 5' });
  assert.equal(resolve('ops@web:2', cfg).proxyCommand?.command, 'ssh -W 10.0.0.1:2 -l ops gw # for web 100%');
  assert.is(resolve('web', cfg.replace(/ProxyCommand .*/, 'ProxyCommand none')).proxyCommand, undefined);
  assert.is(resolve('db', cfg).proxyCommand, undefined);
});

test('ProxyCommand: a token wd cannot fill, or a value with shell metacharacters, is an error naming the line', () => {
  assert.match(resolveError('web', 'Host web\n  ProxyCommand nc %h %k\n'), 'host web: /h/.ssh/config line 2: ProxyCommand has the token %k');
  for (const bad of ['a;touch /tmp/x', '$(id)', 'a b', '-oProxyCommand=x', "o'brien"]) {
    const msg = resolveError(`${bad}@web`, 'Host web\n  ProxyCommand ssh -l %r -W %h:%p gw\n');
    assert.match(msg, `/h/.ssh/config line 2: ProxyCommand would put '${bad}' (%r) into a shell command`, bad);
  }
  assert.match(resolveError('web', 'Host *\n  HostName x`id`\n  ProxyCommand nc %h %p\n'), "ProxyCommand would put 'x`id`' (%h)");
  // The same names are fine when the ProxyCommand does not use them.
  assert.is(resolve('a;b@web', 'Host web\n  ProxyCommand nc %h %p\n').proxyCommand?.command, 'nc web 22');
});

test('ProxyJump and ProxyCommand: -J wins, then whichever the file sets first; none means direct', () => {
  const jumpFirst = 'Host web\n  ProxyJump gw\n  ProxyCommand nc %h %p\n';
  const commandFirst = 'Host web\n  ProxyCommand nc %h %p\nHost * !gw\n  ProxyJump gw\n';
  assert.equal([resolve('web', jumpFirst).jump.map((j) => j.host), resolve('web', jumpFirst).proxyCommand], [['gw'], undefined]);
  assert.equal([resolve('web', commandFirst).jump, resolve('web', commandFirst).proxyCommand?.command], [[], 'nc web 22']);
  // j1, the first hop, is itself reached through gw (Host * !gw), as `ssh -W web j1` would be.
  assert.equal(
    [resolve('web', commandFirst, ['-J', 'j1']).jump.map((j) => j.host), resolve('web', commandFirst, ['-J', 'j1']).proxyCommand],
    [['gw', 'j1'], undefined],
  );
  const none = resolve('web', commandFirst, ['-J', 'none']);
  assert.equal([none.jump, none.proxyCommand], [[], undefined]);
  const noneFirst = resolve('web', 'Host web\n  ProxyCommand none\nHost * !gw\n  ProxyJump gw\n');
  assert.equal([noneFirst.jump, noneFirst.proxyCommand], [[], undefined]);
});

test('ProxyJump a,b: only the first hop keeps its own ProxyJump/ProxyCommand, as ssh -J does', () => {
  const cfg = 'Host a\n  ProxyCommand nc %h %p\nHost b\n  ProxyJump z\nHost c\n  ProxyCommand false\nHost w\n  ProxyJump y\n';
  const hops = resolve('web', cfg, ['-J', 'a,b,c']).jump;
  assert.equal(
    hops.map((h) => [h.host, h.proxyCommand?.command]),
    [
      ['a', 'nc a 22'],
      ['b', undefined],
      ['c', undefined],
    ],
  );
  assert.equal(
    resolve('web', cfg, ['-J', 'w,a']).jump.map((h) => [h.host, h.proxyCommand?.command]),
    [
      ['y', undefined],
      ['w', undefined],
      ['a', undefined],
    ],
  );
});

test('Include under ~/.ssh decides host, port and user', () => {
  const s = resolve('web', 'Include hosts/*\n', [], { '/h/.ssh/hosts/web': 'Host web\n  HostName 10.1.1.1\n  Port 2222\n  User deploy\n' });
  // listDir is stubbed to nothing in env(): a glob matches no file, exactly like a missing one.
  assert.equal([s.host, s.port, s.user], ['web', 22, 'me']);
  const e = env(
    'Include hosts/*\n',
    { '/h/.ssh/hosts/web': 'Host web\n  HostName 10.1.1.1\n  Port 2222\n  User deploy\n' },
    { listDir: (d) => (d === '/h/.ssh/hosts' ? ['web'] : undefined) },
  );
  const t = resolveSsh('web', parseSshOptions([], 'host web'), e);
  assert.equal([t.host, t.port, t.user], ['10.1.1.1', 2222, 'deploy']);
});

test('directives that decide where, as whom or which key is trusted, and that wd cannot honour: errors naming file and line', () => {
  assert.match(
    resolveError('web', 'Host *\n  CanonicalizeHostname yes\n  CanonicalDomains example.com\n'),
    'host web: /h/.ssh/config line 2: CanonicalizeHostname yes is not supported',
  );
  assert.match(resolveError('web', 'Host *\n  KnownHostsCommand /usr/bin/fetch-keys %H\n'), '/h/.ssh/config line 2: KnownHostsCommand is not supported');
  assert.match(resolveError('web', 'Host *\n  ProxyCommand nc %h %p\n  ProxyUseFdpass yes\n'), '/h/.ssh/config line 3: ProxyUseFdpass yes is not supported');
  // Their harmless values, or ProxyUseFdpass without a ProxyCommand, are fine.
  resolve('web', 'Host *\n  CanonicalizeHostname no\n  KnownHostsCommand none\n  ProxyUseFdpass yes\n');
  // The first value wins: a later `yes` never applies.
  resolve('web', 'Host web\n  CanonicalizeHostname no\nHost *\n  CanonicalizeHostname yes\n');
});

test('HostKeyAlias and the connect timeout override', () => {
  assert.is(resolve('web', 'Host web\n  HostKeyAlias web-key\n').hostKeyAlias, 'web-key');
  assert.is(resolve('web', '').hostKeyAlias, undefined);
  const e = env('Host *\n  ConnectTimeout 40\n');
  assert.is(resolveSsh('web', parseSshOptions([], 'x'), e).connectTimeoutMs, 40000);
  assert.is(resolveSsh('web', parseSshOptions(['-o', 'ConnectTimeout=30'], 'x'), e).connectTimeoutMs, 30000);
  const o = resolveSsh('web', parseSshOptions(['-o', 'ConnectTimeout=30', '-J', 'gw'], 'x'), { ...e, connectTimeoutSec: 2.5 });
  assert.equal([o.connectTimeoutMs, o.jump[0]!.connectTimeoutMs], [2500, 2500]);
  assert.is(o.connectTimeoutHint, '--connect-timeout N or connect_timeout in deploy.yml');
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    assert.throws(
      () => resolveSsh('web', parseSshOptions([], 'x'), { ...e, connectTimeoutSec: bad }),
      /host web: the connect timeout '.*' must be a positive number of seconds/,
    );
  }
});

test.run();
