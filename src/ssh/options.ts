// ssh_options (OpenSSH client arguments) + ~/.ssh/config → how to reach a host.
// parseSshOptions is pure; resolveSsh reads the ssh_config file it is given.
import { createRequire } from 'node:module';
import type SSHConfigType from 'ssh-config';
import { ConfigError } from '../errors.js';

// The ssh_config parser costs ~20 ms to load; most deploy machines have no
// ~/.ssh/config at all, so load it (its CommonJS build) only when one is read.
let parser: typeof SSHConfigType | undefined;
const sshConfigParser = (): typeof SSHConfigType =>
  (parser ??= (createRequire(import.meta.url)('ssh-config') as { default: typeof SSHConfigType }).default);

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
}

/** How to raise the connect timeout when it came from SshEnv.connectTimeoutSec, for the timeout message. */
export const CONNECT_TIMEOUT_HINT = '--connect-timeout N or connect_timeout in deploy.yml';

export function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return home + p.slice(1);
  return p;
}

const yes = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : /^(yes|true|on)$/i.test(v));

export function resolveSsh(label: string, args: SshArgs, env: SshEnv, depth = 0): SshSettings {
  const d = splitDomain(label);
  const cfgPath = args.configFile !== undefined ? expandHome(args.configFile, env.home) : `${env.home}/.ssh/config`;
  const cfgText = env.readFile(cfgPath);
  if (cfgText === undefined && args.configFile !== undefined) {
    throw new ConfigError(`host ${label}: ssh config file '${args.configFile}' (from ssh_options -F) does not exist.`);
  }
  let file: Record<string, string | string[]> = {};
  if (cfgText !== undefined) {
    try {
      const computed = sshConfigParser().parse(cfgText).compute(d.host);
      // ssh_config keywords are case-insensitive.
      for (const [k, v] of Object.entries(computed)) file[k.toLowerCase()] ??= v;
    } catch (e) {
      throw new ConfigError(`host ${label}: cannot parse ssh config ${cfgPath}: ${(e as Error).message}.`);
    }
  }
  const one = (key: string): string | undefined => {
    const cli = args.options[key];
    if (cli !== undefined) return cli;
    const v = file[key];
    return Array.isArray(v) ? v[0] : v;
  };
  const tokens = (p: string, host: string, user: string, port: number): string =>
    expandHome(p, env.home).replace(/%([%dhurp])/g, (_, t: string) =>
      t === '%' ? '%' : t === 'd' ? env.home : t === 'h' ? host : t === 'u' ? env.localUser : t === 'r' ? user : String(port));

  const host = one('hostname')?.replace(/%h/g, d.host) ?? d.host;
  const user = d.user ?? args.user ?? one('user') ?? env.localUser;
  const portStr = d.port ?? args.port ?? one('port');
  const port = portStr === undefined ? 22 : Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`host ${label}: port '${String(portStr)}' is not a port number.`);

  const fileIds = file['identityfile'];
  const ids = [...args.identityFiles, ...(args.options['identityfile'] ? [args.options['identityfile']] : []), ...(Array.isArray(fileIds) ? fileIds : fileIds ? [fileIds] : [])];
  const identitiesOnly = yes(one('identitiesonly')) ?? false;
  const defaults = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => `${env.home}/.ssh/${n}`);
  const identityFiles = [...new Set((ids.length ? ids : defaults).map((p) => tokens(p, host, user, port)))];

  const strictRaw = (one('stricthostkeychecking') ?? 'accept-new').toLowerCase();
  const strict: StrictMode = strictRaw === 'yes' || strictRaw === 'true' || strictRaw === 'ask' ? 'yes' : strictRaw === 'no' || strictRaw === 'off' || strictRaw === 'false' ? 'no' : 'accept-new';
  if (!['yes', 'no', 'accept-new', 'ask', 'true', 'false', 'off'].includes(strictRaw)) {
    throw new ConfigError(`host ${label}: StrictHostKeyChecking '${strictRaw}' must be yes, no or accept-new.`);
  }
  // An explicit 'ask' cannot prompt here, so it refuses unknown hosts as OpenSSH's BatchMode does.
  const khRaw = one('userknownhostsfile');
  const knownHostsFiles = (khRaw ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2')
    .split(/\s+/)
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
    connectTimeoutMs: (env.connectTimeoutSec ?? seconds('connecttimeout', 20)) * 1000,
    keepaliveIntervalMs: seconds('serveraliveinterval', 15) * 1000,
    keepaliveCountMax: seconds('serveralivecountmax', 3),
    compression: yes(one('compression')) ?? false,
    jump: [],
    ...(agent !== undefined ? { agent } : {}),
    ...(env.connectTimeoutSec !== undefined ? { connectTimeoutHint: CONNECT_TIMEOUT_HINT } : {}),
  };
  const jumpSpec = args.jump ?? one('proxyjump');
  if (jumpSpec !== undefined && !/^none$/i.test(jumpSpec)) {
    if (depth > 5) throw new ConfigError(`host ${label}: ProxyJump chain is longer than 5 hops (a loop?).`);
    // Jump hosts are resolved from ssh_config alone, as ssh does for -J.
    const base: SshArgs = { identityFiles: [], options: {}, ...(args.configFile !== undefined ? { configFile: args.configFile } : {}) };
    settings.jump = jumpSpec.split(',').map((j) => {
      const hop = resolveSsh(j.trim().replace(/^ssh:\/\//, ''), base, env, depth + 1);
      return hop;
    }).flatMap((hop) => [...hop.jump, { ...hop, jump: [] }]);
  }
  return settings;
}
