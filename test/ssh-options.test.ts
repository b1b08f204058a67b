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
    port: 2222,
    user: 'deploy',
    identityFiles: ['k1'],
    configFile: 'cfg',
    jump: 'jump',
    options: {},
  });
  assert.equal(parse('-p2222', '-ldeploy', '-ik1', '-i', 'k2'), { port: 2222, user: 'deploy', identityFiles: ['k1', 'k2'], options: {} });
});

test('parseSshOptions: -o Name=value and -o "Name value", names lower-cased', () => {
  const a = parse('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile /tmp/kh', '-o', 'ConnectTimeout = 5', '-oBatchMode=yes');
  assert.equal(a.options, { stricthostkeychecking: 'no', userknownhostsfile: '/tmp/kh', connecttimeout: '5', batchmode: 'yes' });
  assert.equal(parse('-o', 'IdentityFile=~/.ssh/deploy').identityFiles, ['~/.ssh/deploy']);
});

test('parseSshOptions: flags read as getopt does (bundled, attached values), each as the option it stands for', () => {
  assert.equal(parse('-A', '-C'), { identityFiles: [], options: { forwardagent: 'yes', compression: 'yes' } });
  assert.equal(parse('-AC', '-vp2222'), { port: 2222, identityFiles: [], options: { forwardagent: 'yes', compression: 'yes' }, verbose: 1 });
  assert.equal(parse('-a').options, { forwardagent: 'no' });
  assert.equal(parse('-T', '-x', '-4').options, { requesttty: 'no', forwardx11: 'no', addressfamily: 'inet' });
  // -v levels (and LogLevel) are kept for --debug, capped at 3.
  assert.is(parse('-vv').verbose, 2);
  assert.is(parse('-vvv', '-v').verbose, 3);
  assert.is(parse('-o', 'LogLevel=DEBUG2').verbose, 2);
  assert.is(parse('-q').verbose, undefined);
});

test('parseSshOptions: the first value wins, as in ssh', () => {
  const a = parse(
    '-p',
    '1',
    '-p',
    '2',
    '-l',
    'a',
    '-l',
    'b',
    '-o',
    'Port=3',
    '-o',
    'port=4',
    '-J',
    'j1',
    '-J',
    'j2',
    '-F',
    'c1',
    '-F',
    'c2',
    '-o',
    'ForwardAgent=no',
    '-A',
  );
  assert.is(a.port, 1);
  assert.is(a.user, 'a');
  assert.is(a.jump, 'j1');
  assert.is(a.configFile, 'c1');
  assert.equal(a.options, { port: '3', forwardagent: 'no' });
});

/** The warnings one parse adds. */
function warningsFor(...args: string[]): string[] {
  const w: string[] = [];
  parseSshOptions(args, 'host web1', w);
  return w;
}

test('parseSshOptions: whiskey_disk configs carry any OpenSSH flag; harmless ones accepted silently', () => {
  for (const args of [
    ['-q'],
    ['-T'],
    ['-x'],
    ['-n'],
    ['-k'],
    ['-g'],
    ['-y'],
    ['-v'],
    ['-vvv'],
    ['-e', '~'],
    ['-a'],
    ['-A'],
    ['-C'],
    ['-p', '22'],
    ['-l', 'u'],
    ['-i', 'k'],
    ['-F', 'f'],
    ['-J', 'j'],
    ['-o', 'BatchMode=yes'],
    ['-o', 'RequestTTY=no'],
    ['-o', 'ForwardX11=no'],
    ['-o', 'ControlMaster=no'],
    ['-o', 'Tunnel=no'],
    ['-o', 'SessionType=default'],
  ]) {
    assert.equal(warningsFor(...args), [], args.join(' '));
  }
});

test('parseSshOptions: flags that make no sense for an unattended exec are ignored with a one-line warning naming them', () => {
  const cases: Array<[string[], string]> = [
    [['-t'], '-t is ignored: wd never allocates a terminal (nothing can answer a prompt in an unattended deploy).'],
    [['-X'], '-X is ignored: wd forwards no X11 display.'],
    [['-Y'], '-Y is ignored: wd forwards no X11 display.'],
    [['-4'], "-4 is ignored: wd's SSH client uses the address family the host name resolves to."],
    [['-6'], "-6 is ignored: wd's SSH client uses the address family the host name resolves to."],
    [['-K'], '-K is ignored: wd does not authenticate with GSSAPI/Kerberos (keys and the agent only).'],
    [['-f'], '-f is ignored: wd keeps each connection in the foreground until its script ends.'],
    [['-M'], '-M is ignored: wd opens its own connection to each host.'],
    [['-c', 'aes256-ctr'], "-c aes256-ctr is ignored: wd's SSH client negotiates from its own algorithm list."],
    [['-m', 'hmac-sha2-256'], "-m hmac-sha2-256 is ignored: wd's SSH client negotiates from its own algorithm list."],
    [['-b', '10.0.0.5'], "-b 10.0.0.5 is ignored: wd's SSH client connects from the default local address."],
    [['-B', 'eth1'], "-B eth1 is ignored: wd's SSH client connects from the default local interface."],
    [['-E', '/tmp/ssh.log'], "-E /tmp/ssh.log is ignored: wd's SSH client writes no log file (use --debug for more detail)."],
    [['-S', '/tmp/ctl'], '-S /tmp/ctl is ignored: wd opens its own connection to each host.'],
    [['-I', '/usr/lib/opensc.so'], '-I /usr/lib/opensc.so is ignored: wd does not use PKCS#11 tokens (keys and the agent only).'],
    [['-P', 'work'], '-P work is ignored: wd does not evaluate Match tagged in ~/.ssh/config.'],
    [['-o', 'ControlPersist=10m'], '-o ControlPersist=10m is ignored: wd opens its own connection to each host.'],
    [['-o', 'SendEnv=LANG'], '-o SendEnv=LANG is ignored: wd passes no local environment variables; use rake_env.'],
    [['-o', 'RequestTTY=force'], '-o RequestTTY=force is ignored: wd never allocates a terminal (nothing can answer a prompt in an unattended deploy).'],
  ];
  for (const [args, text] of cases) assert.equal(warningsFor(...args), [`host web1: ssh_options ${text}`], args.join(' '));
  // -tt: one warning, not two.
  assert.equal(warningsFor('-tt', '-t').length, 1);
});

test('parseSshOptions: refused only what changes where or as whom, forwards ports, or would not run the deploy', () => {
  const refused: Array<[string[], string]> = [
    [['-R', '80:localhost:80'], '-R 80:localhost:80 cannot be honoured: wd forwards no ports. Remove it.'],
    [['-L', '8080:db:5432'], '-L 8080:db:5432 cannot be honoured: wd forwards no ports. Remove it.'],
    [['-D', '1080'], '-D 1080 cannot be honoured: wd forwards no ports. Remove it.'],
    [['-w', '0:0'], '-w 0:0 cannot be honoured: wd forwards no tun devices. Remove it.'],
    [['-W', 'db:22'], '-W cannot be honoured: it forwards stdin/stdout to another host and port, which would change where wd connects. Remove it.'],
    [['-N'], '-N cannot be honoured: it makes ssh run no command, so nothing would be deployed. Remove it.'],
    [['-O', 'check'], '-O cannot be honoured: it sends a command to a control master instead of running the deploy. Remove it.'],
    [['-s'], '-s cannot be honoured: it makes ssh start a subsystem instead of running the deploy script. Remove it.'],
    [['-G'], '-G cannot be honoured: it makes ssh print its configuration and connect nowhere. Remove it.'],
    [['-o', 'RemoteCommand=sh'], '-o RemoteCommand=sh cannot be honoured: wd runs its own script on the host, not another command. Remove it.'],
    [['-o', 'LocalForward=1 x:1'], '-o LocalForward=1 x:1 cannot be honoured: wd forwards no ports. Remove it.'],
  ];
  for (const [args, text] of refused) assert.is(parseError(args), `host web1: ssh_options ${text}`, args.join(' '));
});

test('parseSshOptions: errors name the host and the option', () => {
  assert.match(parseError(['-p', 'abc']), "host web1: ssh_options -p 'abc' is not a port number.");
  assert.match(parseError(['-p', '0']), 'not a port number');
  assert.match(parseError(['-p', '65536']), 'not a port number');
  assert.match(parseError(['-i']), 'host web1: ssh_options -i needs a value.');
  assert.is(parseError(['-o', 'ControlMastr=auto']), "host web1: ssh_options -o ControlMastr is not an OpenSSH option (did you mean 'ControlMaster'?).");
  assert.match(parseError(['-o', 'Port']), "-o 'Port': expected Name=value.");
  assert.is(parseError(['-Z']), "host web1: ssh_options '-Z': -Z is not an OpenSSH client flag.");
  assert.is(parseError(['web1']), "host web1: ssh_options 'web1' is not an option: ssh_options holds flags such as -p 2222 or -o Name=value.");
  assert.match(parseError(['--', '-p']), "'--' is not an option");
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
    label: 'web1',
    host: 'web1',
    port: 22,
    user: 'me',
    identityFiles: ['/h/.ssh/id_ed25519', '/h/.ssh/id_ecdsa', '/h/.ssh/id_rsa'],
    identitiesOnly: false,
    strict: 'accept-new',
    knownHostsFiles: ['/h/.ssh/known_hosts', '/h/.ssh/known_hosts2'],
    forwardAgent: false,
    connectTimeoutMs: 20000,
    keepaliveIntervalMs: 15000,
    keepaliveCountMax: 3,
    compression: false,
    jump: [],
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
