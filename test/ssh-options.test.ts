// Unit tests of src/ssh-options.ts: ssh_options parsing, domain splitting and
// how domain, ssh_options, ~/.ssh/config and defaults combine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/errors.js';
import { parseSshOptions, resolveSsh, splitDomain, type SshEnv } from '../src/ssh/options.js';

const parse = (...args: string[]) => parseSshOptions(args, 'host web1');

function parseError(args: string[]): string {
  try {
    parseSshOptions(args, 'host web1');
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  throw new Error(`no error for ${args.join(' ')}`);
}

test('parseSshOptions: -p, -l, -i, -F, -J with separate and attached values', () => {
  assert.equal(parse('-p', '2222', '-l', 'deploy', '-i', 'k1', '-F', 'cfg', '-J', 'jump'), {
    port: 2222, user: 'deploy', identityFiles: ['k1'], configFile: 'cfg', jump: 'jump', options: {},
  });
  assert.equal(parse('-p2222', '-ldeploy', '-ik1', '-i', 'k2'), { port: 2222, user: 'deploy', identityFiles: ['k1', 'k2'], options: {} });
});

test('parseSshOptions: -o Name=value and -o "Name value", names lower-cased', () => {
  const a = parse('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile /tmp/kh', '-o', 'ConnectTimeout = 5', '-oBatchMode=yes');
  assert.equal(a.options, { stricthostkeychecking: 'no', userknownhostsfile: '/tmp/kh', connecttimeout: '5', batchmode: 'yes' });
  assert.equal(parse('-o', 'IdentityFile=~/.ssh/deploy').identityFiles, ['~/.ssh/deploy']);
});

test('parseSshOptions: -A, -C and the no-op flags', () => {
  assert.equal(parse('-A', '-C', '-q', '-T', '-x', '-v', '-4'), { identityFiles: [], options: { forwardagent: 'yes', compression: 'yes' } });
});

test('parseSshOptions: the first value wins, as in ssh', () => {
  const a = parse('-p', '1', '-p', '2', '-l', 'a', '-l', 'b', '-o', 'Port=3', '-o', 'port=4', '-J', 'j1', '-J', 'j2', '-F', 'c1', '-F', 'c2', '-o', 'ForwardAgent=no', '-A');
  assert.is(a.port, 1);
  assert.is(a.user, 'a');
  assert.is(a.jump, 'j1');
  assert.is(a.configFile, 'c1');
  assert.equal(a.options, { port: '3', forwardagent: 'no' });
});

test('parseSshOptions: errors name the host and the option', () => {
  assert.match(parseError(['-p', 'abc']), "host web1: ssh_options -p 'abc' is not a port number.");
  assert.match(parseError(['-p', '0']), 'not a port number');
  assert.match(parseError(['-p', '65536']), 'not a port number');
  assert.match(parseError(['-i']), 'host web1: ssh_options -i needs a value.');
  assert.match(parseError(['-R', '80:localhost:80']), "host web1: ssh_options '-R' is not supported by wd's built-in SSH client");
  const cm = parseError(['-o', 'ControlMaster=auto']);
  assert.match(cm, 'host web1: ssh_options -o ControlMaster is not supported');
  assert.match(cm, 'StrictHostKeyChecking');
  assert.match(parseError(['-o', 'Port']), "-o 'Port': expected Name=value.");
  assert.match(parseError(['-Ax']), "'-Ax' is not understood.");
});

test('splitDomain: user, host, port, IPv6', () => {
  assert.equal(splitDomain('deploy@web1.example.com:2222'), { user: 'deploy', host: 'web1.example.com', port: 2222 });
  assert.equal(splitDomain('web1'), { host: 'web1' });
  assert.equal(splitDomain('root@web1'), { user: 'root', host: 'web1' });
  assert.equal(splitDomain('web1:22'), { host: 'web1', port: 22 });
  assert.equal(splitDomain('[::1]:22'), { host: '::1', port: 22 });
  assert.equal(splitDomain('deploy@[fe80::1]'), { user: 'deploy', host: 'fe80::1' });
  assert.equal(splitDomain('me@corp@host:10'), { user: 'me@corp', host: 'host', port: 10 });
});

const SSH_CONFIG = `
Host web
  HostName 10.0.0.1
  Port 2200
  User cfguser
  IdentityFile ~/.ssh/web_key
  IdentityFile %d/keys/%h_%r_%p_%u%%

Host j2
  HostName jump2.internal
  User ju
  Port 2022

Host behind
  ProxyJump j2

Host loop1
  ProxyJump loop2
Host loop2
  ProxyJump loop1

Host *
  StrictHostKeyChecking yes
  ServerAliveInterval 7
`;

function env(files: Record<string, string> = { '/h/.ssh/config': SSH_CONFIG }, agentSocket?: string): SshEnv {
  return { home: '/h', localUser: 'me', ...(agentSocket ? { agentSocket } : {}), readFile: (p) => files[p] };
}
const resolve = (label: string, args: string[] = [], e: SshEnv = env()) => resolveSsh(label, parseSshOptions(args, `host ${label}`), e);

function resolveError(label: string, args: string[], e: SshEnv = env()): string {
  try {
    resolve(label, args, e);
  } catch (err) {
    assert.instance(err, ConfigError);
    return (err as Error).message;
  }
  throw new Error(`no error for ${label}`);
}

test('resolveSsh: defaults with no ssh config', () => {
  const s = resolve('web1', [], env({}));
  assert.equal(s, {
    label: 'web1', host: 'web1', port: 22, user: 'me',
    identityFiles: ['/h/.ssh/id_ed25519', '/h/.ssh/id_ecdsa', '/h/.ssh/id_rsa'], identitiesOnly: false,
    strict: 'accept-new', knownHostsFiles: ['/h/.ssh/known_hosts', '/h/.ssh/known_hosts2'],
    forwardAgent: false, connectTimeoutMs: 20000, keepaliveIntervalMs: 15000, keepaliveCountMax: 3, compression: false, jump: [],
  });
  assert.is(resolve('web1', [], env({}, '/run/agent.sock')).agent, '/run/agent.sock');
  assert.is(resolve('web1', ['-o', 'IdentityAgent=none'], env({}, '/run/agent.sock')).agent, undefined);
});

test('resolveSsh: domain beats ssh_options beats ~/.ssh/config beats defaults', () => {
  const fromFile = resolve('web');
  assert.equal([fromFile.host, fromFile.port, fromFile.user, fromFile.strict, fromFile.keepaliveIntervalMs], ['10.0.0.1', 2200, 'cfguser', 'yes', 7000]);
  const fromOptions = resolve('web', ['-p', '2201', '-l', 'cli', '-o', 'StrictHostKeyChecking=no', '-o', 'HostName=10.9.9.9']);
  assert.equal([fromOptions.host, fromOptions.port, fromOptions.user, fromOptions.strict], ['10.9.9.9', 2201, 'cli', 'no']);
  const fromDomain = resolve('dom@web:2202', ['-p', '2201', '-l', 'cli']);
  assert.equal([fromDomain.host, fromDomain.port, fromDomain.user], ['10.0.0.1', 2202, 'dom']);
  const other = resolve('other');
  assert.equal([other.host, other.port, other.user, other.strict], ['other', 22, 'me', 'yes']);
});

test('resolveSsh: IdentityFile order and %-tokens, ~ expansion', () => {
  assert.equal(resolve('web').identityFiles, ['/h/.ssh/web_key', '/h/keys/10.0.0.1_cfguser_2200_me%']);
  assert.equal(resolve('u@web:1', ['-i', '~/cli_key']).identityFiles, ['/h/cli_key', '/h/.ssh/web_key', '/h/keys/10.0.0.1_u_1_me%']);
  assert.equal(resolve('x', ['-o', 'UserKnownHostsFile=~/kh1 /abs/kh2']).knownHostsFiles, ['/h/kh1', '/abs/kh2']);
});

test('resolveSsh: ProxyJump from -J and from ssh config, chained in order', () => {
  const hops = (label: string, args: string[] = []) => resolve(label, args).jump.map((j) => `${j.user}@${j.host}:${j.port}`);
  assert.equal(hops('x', ['-J', 'a@j1:2222,j2']), ['a@j1:2222', 'ju@jump2.internal:2022']);
  assert.equal(hops('behind'), ['ju@jump2.internal:2022']);
  assert.equal(hops('behind', ['-J', 'none']), []);
  // A hop that itself needs a jump comes after that jump.
  assert.equal(hops('x', ['-J', 'behind']), ['ju@jump2.internal:2022', 'me@behind:22']);
  assert.match(resolveError('loop1', []), 'ProxyJump chain is longer than 5 hops');
});

test('resolveSsh: -F replaces ~/.ssh/config; a missing -F file is an error', () => {
  const e = env({ '/h/.ssh/config': SSH_CONFIG, '/h/other.conf': 'Host web\n  Port 3333\n' });
  assert.is(resolve('web', ['-F', '~/other.conf'], e).port, 3333);
  assert.is(resolve('web', ['-F', '~/other.conf'], e).user, 'me');
  assert.is(resolveError('web', ['-F', '~/missing.conf'], e), "host web: ssh config file '~/missing.conf' (from ssh_options -F) does not exist.");
});

test('resolveSsh: bad values from ssh config or options are ConfigErrors naming the host', () => {
  assert.match(resolveError('web', ['-o', 'StrictHostKeyChecking=maybe']), "host web: StrictHostKeyChecking 'maybe' must be yes, no or accept-new.");
  assert.match(resolveError('p', [], env({ '/h/.ssh/config': 'Host p\n  Port http\n' })), "host p: port 'http' is not a port number.");
  assert.match(resolveError('web', ['-o', 'ConnectTimeout=soon']), "connecttimeout 'soon' must be a number of seconds");
  assert.match(resolveError('web', [], env({ '/h/.ssh/config': 'Host "unterminated\n' })), 'host web: cannot parse ssh config /h/.ssh/config');
});

test.run();
