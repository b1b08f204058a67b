// ssh_options (OpenSSH client arguments) + ~/.ssh/config → how to reach a host.
// parseSshOptions is pure; resolveSsh reads the ssh_config files it is given.
import { readdirSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { expandHostName, readSshConfig, type ConfigIo, type ConfigValue } from './config-file.js';

export type StrictMode = 'yes' | 'no' | 'accept-new';

/** What the command line (domain + ssh_options) says; first value wins, as in ssh. */
export interface SshArgs {
  user?: string;
  port?: number;
  identityFiles: string[];
  configFile?: string;
  jump?: string;
  /** -o Name=value options, keys lower-cased. */
  options: Record<string, string>;
}

export interface SshSettings {
  /** The host name as written in deploy.yml, for messages. */
  label: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  strict: StrictMode;
  knownHostsFiles: string[];
  forwardAgent: boolean;
  agent?: string;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  compression: boolean;
  jump: SshSettings[];
  /** ProxyCommand (tokens expanded), run with sh to carry the connection; only ever on the first hop. */
  proxyCommand?: { command: string; source: string };
  /** HostKeyAlias: the name this host's key is looked up and recorded under in known_hosts. */
  hostKeyAlias?: string;
  /** Set when connectTimeoutMs came from SshEnv.connectTimeoutSec: the setting to name in a timeout message. */
  connectTimeoutHint?: string;
}

// -o names wd understands. Options that only make sense for an interactive or
// different ssh are rejected rather than silently ignored.
const SUPPORTED = new Map<string, string>([
  ['port', 'Port'], ['user', 'User'], ['hostname', 'HostName'], ['identityfile', 'IdentityFile'],
  ['identitiesonly', 'IdentitiesOnly'], ['proxyjump', 'ProxyJump'], ['stricthostkeychecking', 'StrictHostKeyChecking'],
  ['userknownhostsfile', 'UserKnownHostsFile'], ['forwardagent', 'ForwardAgent'], ['connecttimeout', 'ConnectTimeout'],
  ['serveraliveinterval', 'ServerAliveInterval'], ['serveralivecountmax', 'ServerAliveCountMax'], ['identityagent', 'IdentityAgent'],
  ['compression', 'Compression'],
  // Accepted because wd already behaves this way: it never prompts, never asks for passwords.
  ['batchmode', 'BatchMode'], ['loglevel', 'LogLevel'], ['passwordauthentication', 'PasswordAuthentication'],
  ['checkhostip', 'CheckHostIP'], ['hashknownhosts', 'HashKnownHosts'], ['addkeystoagent', 'AddKeysToAgent'],
  ['requesttty', 'RequestTTY'], ['kbdinteractiveauthentication', 'KbdInteractiveAuthentication'],
  ['preferredauthentications', 'PreferredAuthentications'], ['globalknownhostsfile', 'GlobalKnownHostsFile'],
]);
// Flags without an argument that are harmless (quiet, no tty, no X11, verbose).
const VALUE_FLAGS = new Set(['-p', '-l', '-i', '-F', '-J', '-o']);
const NOOP_FLAGS = new Set(['-q', '-T', '-x', '-v', '-vv', '-vvv', '-n', '-a', '-4', '-6', '-k']);

export function parseSshOptions(args: readonly string[], where: string): SshArgs {
  const out: SshArgs = { identityFiles: [], options: {} };
  const bad = (msg: string): never => {
    throw new ConfigError(`${where}: ssh_options ${msg}`);
  };
  const setOpt = (raw: string): void => {
    const m = /^([A-Za-z]+)\s*(?:=|\s)\s*(.*)$/.exec(raw.trim());
    if (!m || m[2] === '') bad(`-o '${raw}': expected Name=value.`);
    const key = m![1]!.toLowerCase();
    const value = m![2]!;
    if (!SUPPORTED.has(key)) {
      bad(`-o ${m![1]} is not supported by wd's built-in SSH client. Supported: ${[...SUPPORTED.values()].join(', ')}.`);
    }
    if (key === 'identityfile') out.identityFiles.push(value);
    else if (!(key in out.options)) out.options[key] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = (): string => {
      // Accept both "-p 2222" and "-p2222".
      if (a.length > 2) return a.slice(2);
      const v = args[++i];
      if (v === undefined) bad(`${a} needs a value.`);
      return v!;
    };
    const flag = a.slice(0, 2);
    if (NOOP_FLAGS.has(a)) continue;
    // Consumed before the switch: a repeated flag's value must be skipped even when the first one wins.
    const v = VALUE_FLAGS.has(flag) ? next() : '';
    switch (flag) {
      case '-p':
        if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) bad(`-p '${v}' is not a port number.`);
        out.port ??= Number(v);
        break;
      case '-l':
        out.user ??= v;
        break;
      case '-i':
        out.identityFiles.push(v);
        break;
      case '-F':
        out.configFile ??= v;
        break;
      case '-J':
        out.jump ??= v;
        break;
      case '-o':
        setOpt(v);
        break;
      case '-A':
        if (a !== '-A') bad(`'${a}' is not understood.`);
        out.options['forwardagent'] ??= 'yes';
        break;
      case '-C':
        if (a !== '-C') bad(`'${a}' is not understood.`);
        out.options['compression'] ??= 'yes';
        break;
      default:
        bad(`'${a}' is not supported by wd's built-in SSH client. Supported: -p PORT, -l USER, -i FILE, -F FILE, -J JUMP, -o Name=value, -A, -C (and the no-ops -q -T -x -v -n -a -4 -6).`);
    }
  }
  return out;
}

/** user@host:port, user@[v6]:port → parts. */
export function splitDomain(name: string): { user?: string; host: string; port?: number } {
  let rest = name;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(rest);
  if (v6) {
    rest = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else {
    const m = /^(.*):([0-9]+)$/.exec(rest);
    if (m) {
      rest = m[1]!;
      port = Number(m[2]);
    }
  }
  return { ...(user !== undefined ? { user } : {}), host: rest, ...(port !== undefined ? { port } : {}) };
}

export interface SshEnv {
  home: string;
  localUser: string;
  agentSocket?: string;
  /** Returns the file's text, or undefined when it does not exist. */
  readFile(path: string): string | undefined;
  /** wd's own connect timeout (a flag or deploy.yml key): wins over ConnectTimeout from ssh_options and ~/.ssh/config. */
  connectTimeoutSec?: number;
  /** Directory listing for Include globs, owner/mode checks of ssh config files; the real file system when absent. */
  listDir?(dir: string): string[] | undefined;
  owner?(path: string): { uid: number; mode: number } | undefined;
}

/** How to raise the connect timeout when it came from SshEnv.connectTimeoutSec, for the timeout message. */
export const CONNECT_TIMEOUT_HINT = '--connect-timeout N or connect_timeout in deploy.yml';

export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return home + p.slice(1);
  return p;
}

const yes = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : /^(yes|true|on)$/i.test(v));

function configIo(env: SshEnv): ConfigIo {
  return {
    readFile: env.readFile,
    listDir: env.listDir ?? ((dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return undefined;
      }
    }),
    owner: env.owner ?? ((path) => {
      try {
        const st = statSync(path);
        return { uid: st.uid, mode: st.mode };
      } catch {
        return undefined;
      }
    }),
    uid: process.getuid?.(),
  };
}

// What a ProxyCommand token may carry from deploy.yml into a shell command line:
// OpenSSH 9.6 refuses shell metacharacters in names from its command line for
// the same reason (CVE-2023-51385).
const SAFE_TOKEN = /^[A-Za-z0-9_.:@+\[\]-]*$/;

/** ProxyCommand's %-tokens, as OpenSSH expands them: %h %n %p %r %%. */
function expandProxyCommand(cmd: string, v: ConfigValue | undefined, label: string, t: Record<'h' | 'n' | 'p' | 'r', string>): string {
  const where = v ? `${v.file} line ${v.line}` : 'ssh_options';
  return cmd.replace(/%(.?)/gs, (_, k: string) => {
    if (k === '%') return '%';
    if (k === 'h' || k === 'n' || k === 'p' || k === 'r') {
      const val = t[k];
      if (!SAFE_TOKEN.test(val) || val.startsWith('-')) {
        throw new ConfigError(`host ${label}: ${where}: ProxyCommand would put '${val}' (%${k}) into a shell command; refusing a value with shell metacharacters. Fix the host or user name.`);
      }
      return val;
    }
    throw new ConfigError(`host ${label}: ${where}: ProxyCommand has the token %${k}, which ssh does not know either (ProxyCommand knows %h %n %p %r %%).`);
  });
}

/** Directives that decide where or as whom ssh connects (or which host key it trusts) and that wd cannot honour. */
function refuseUnsupported(values: Map<string, ConfigValue>, label: string, proxied: boolean): void {
  const refuse = (v: ConfigValue, what: string, fix: string): never => {
    throw new ConfigError(`host ${label}: ${v.file} line ${v.line}: ${what} is not supported by wd's built-in SSH client, and ignoring it would change ${fix}`);
  };
  const canon = values.get('canonicalizehostname');
  if (canon && !/^(no|false)$/i.test(canon.args[0] ?? '')) {
    refuse(canon, `CanonicalizeHostname ${canon.args[0]}`, 'which host wd connects to. Fix: write the full host name in deploy.yml (or as HostName), and set CanonicalizeHostname no for it.');
  }
  const khc = values.get('knownhostscommand');
  if (khc && !/^none$/i.test(khc.args[0] ?? '')) {
    refuse(khc, 'KnownHostsCommand', 'which host keys are trusted. Fix: put the keys in a known_hosts file (UserKnownHostsFile), and set KnownHostsCommand none for this host.');
  }
  const fdpass = values.get('proxyusefdpass');
  if (proxied && fdpass && yes(fdpass.args[0])) {
    refuse(fdpass, 'ProxyUseFdpass yes', 'how wd reaches the host. Fix: set ProxyUseFdpass no for this host; wd talks SSH over the ProxyCommand\'s stdin and stdout.');
  }
}

export function resolveSsh(label: string, args: SshArgs, env: SshEnv, depth = 0): SshSettings {
  const d = splitDomain(label);
  const cfgPath = args.configFile !== undefined ? expandHome(args.configFile, env.home) : `${env.home}/.ssh/config`;
  if (args.configFile !== undefined && env.readFile(cfgPath) === undefined) {
    throw new ConfigError(`host ${label}: ssh config file '${args.configFile}' (from ssh_options -F) does not exist.`);
  }
  const cliUser = d.user ?? args.user ?? args.options['user'];
  const cfg = readSshConfig(cfgPath, {
    host: d.host,
    label,
    home: env.home,
    localUser: env.localUser,
    ...(cliUser !== undefined ? { user: cliUser } : {}),
    ...(args.options['hostname'] !== undefined ? { hostName: args.options['hostname'] } : {}),
  }, configIo(env));
  const one = (key: string): string | undefined => args.options[key] ?? cfg.values.get(key)?.args[0];
  const tokens = (p: string, host: string, user: string, port: number): string =>
    expandHome(p, env.home).replace(/%([%dhurp])/g, (_, t: string) =>
      t === '%' ? '%' : t === 'd' ? env.home : t === 'h' ? host : t === 'u' ? env.localUser : t === 'r' ? user : String(port));

  const hostName = one('hostname');
  const host = hostName === undefined ? d.host : expandHostName(hostName, d.host);
  const user = cliUser ?? one('user') ?? env.localUser;
  const portStr = d.port ?? args.port ?? one('port');
  const port = portStr === undefined ? 22 : Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`host ${label}: port '${String(portStr)}' is not a port number.`);

  const ids = [...args.identityFiles, ...(args.options['identityfile'] ? [args.options['identityfile']] : []), ...cfg.identityFiles.map((v) => v.args[0]!)];
  const identitiesOnly = yes(one('identitiesonly')) ?? false;
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => `${env.home}/.ssh/${n}`);
  const identityFiles = [...new Set((ids.length ? ids : defaults).map((p) => tokens(p, host, user, port)))];

  const strictRaw = (one('stricthostkeychecking') ?? 'accept-new').toLowerCase();
  const strict: StrictMode = strictRaw === 'yes' || strictRaw === 'true' || strictRaw === 'ask' ? 'yes' : strictRaw === 'no' || strictRaw === 'off' || strictRaw === 'false' ? 'no' : 'accept-new';
  if (!['yes', 'no', 'accept-new', 'ask', 'true', 'false', 'off'].includes(strictRaw)) {
    throw new ConfigError(`host ${label}: StrictHostKeyChecking '${strictRaw}' must be yes, no or accept-new.`);
  }
  // An explicit 'ask' cannot prompt here, so it refuses unknown hosts as OpenSSH's BatchMode does.
  const khCli = args.options['userknownhostsfile'];
  const knownHostsFiles = (khCli !== undefined ? khCli.split(/\s+/) : cfg.values.get('userknownhostsfile')?.args ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'])
    .filter((p) => p !== '')
    .map((p) => tokens(p, host, user, port));

  const seconds = (key: string, dflt: number): number => {
    const v = one(key);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`host ${label}: ${key} '${v}' must be a number of seconds.`);
    return n;
  };
  const override = env.connectTimeoutSec;
  if (override !== undefined && !(Number.isFinite(override) && override > 0)) {
    throw new ConfigError(`host ${label}: the connect timeout '${override}' must be a positive number of seconds.`);
  }
  const agentRaw = one('identityagent');
  const agent = agentRaw === undefined ? env.agentSocket : /^none$/i.test(agentRaw) ? undefined : agentRaw === 'SSH_AUTH_SOCK' ? env.agentSocket : tokens(agentRaw, host, user, port);

  // ProxyJump and ProxyCommand exclude each other: -J first, then whichever the config file sets first.
  const cliJump = args.jump ?? args.options['proxyjump'];
  const fileJump = cfg.values.get('proxyjump');
  const fileProxy = cfg.values.get('proxycommand');
  const jumpSpec = cliJump ?? fileJump?.args[0];
  const proxySpec = cliJump !== undefined || fileJump ? undefined : args.options['proxycommand'] ?? fileProxy?.raw;
  const proxied = proxySpec !== undefined && !/^none$/i.test(proxySpec);
  refuseUnsupported(cfg.values, label, proxied);
  const hostKeyAlias = one('hostkeyalias');

  const settings: SshSettings = {
    label,
    host,
    port,
    user,
    identityFiles,
    identitiesOnly,
    strict,
    knownHostsFiles,
    forwardAgent: yes(one('forwardagent')) ?? false,
    // 20 s, not OpenSSH's "none": a silent host must not hold an unattended deploy forever.
    connectTimeoutMs: (override ?? seconds('connecttimeout', 20)) * 1000,
    keepaliveIntervalMs: seconds('serveraliveinterval', 15) * 1000,
    keepaliveCountMax: seconds('serveralivecountmax', 3),
    compression: yes(one('compression')) ?? false,
    jump: [],
    ...(agent !== undefined ? { agent } : {}),
    ...(override !== undefined ? { connectTimeoutHint: CONNECT_TIMEOUT_HINT } : {}),
    ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
    ...(proxied ? {
      proxyCommand: {
        command: expandProxyCommand(proxySpec, args.options['proxycommand'] !== undefined ? undefined : fileProxy, label, { h: host, n: d.host, p: String(port), r: user }),
        source: args.options['proxycommand'] !== undefined ? 'ssh_options' : `${fileProxy!.file} line ${fileProxy!.line}`,
      },
    } : {}),
  };
  if (jumpSpec !== undefined && !/^none$/i.test(jumpSpec)) {
    if (depth > 5) throw new ConfigError(`host ${label}: ProxyJump chain is longer than 5 hops (a loop?).`);
    // Jump hosts are resolved from ssh_config alone, as ssh does for -J.
    const base: SshArgs = { identityFiles: [], options: {}, ...(args.configFile !== undefined ? { configFile: args.configFile } : {}) };
    // As ssh runs -J a,b,c: c is reached with -J a,b and b with -J a, so only the
    // first hop's own ProxyJump/ProxyCommand count (ssh's -J overrides the others').
    settings.jump = jumpSpec.split(',').flatMap((j, i) => {
      const hop = resolveSsh(j.trim().replace(/^ssh:\/\//, ''), base, env, depth + 1);
      if (i === 0) return [...hop.jump, { ...hop, jump: [] }];
      const { proxyCommand: _ignored, ...rest } = hop;
      return [{ ...rest, jump: [] }];
    });
  }
  return settings;
}
