// ssh_options (OpenSSH client arguments) + ~/.ssh/config → how to reach a host.
// parseSshOptions is pure; resolveSsh reads the ssh_config files it is given.
import { readdirSync, statSync } from 'node:fs';
import { ConfigError, didYouMean } from '../errors.js';
import { expandHostName, readSshConfig, type ConfigIo, type ConfigValue } from './config-file.js';

export type StrictMode = 'yes' | 'no' | 'accept-new';

/** What the command line (domain + ssh_options) says; first value wins, as in ssh. */
export interface SshArgs {
  user?: string;
  port?: number;
  identityFiles: string[];
  configFile?: string;
  jump?: string;
  /** -o Name=value options (and the flags that stand for one), keys lower-cased; the first value wins. */
  options: Record<string, string>;
  /** -v, -vv, -vvv, LogLevel VERBOSE/DEBUG1..3: how much SSH detail --debug may show. */
  verbose?: number;
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

// What wd does with each OpenSSH client option, as `-o Name=value` or as the
// flag that stands for it. whiskey_disk handed ssh_options to the ssh binary,
// so a whiskey_disk config may carry any of them. wd honours what its client
// implements, ignores what cannot matter to an unattended exec (a warning says
// so when the user may expect an effect), and refuses only what would change
// where or as whom it connects, forward ports, or stop the deploy from running.

/** Read by resolveSsh. Extend this set when resolveSsh learns an option. */
const HONOURED = new Set([
  'port',
  'user',
  'hostname',
  'identityfile',
  'identitiesonly',
  'proxyjump',
  'stricthostkeychecking',
  'userknownhostsfile',
  'forwardagent',
  'connecttimeout',
  'serveraliveinterval',
  'serveralivecountmax',
  'identityagent',
  'compression',
  'proxycommand',
  'hostkeyalias',
]);

// wd already behaves this way (never prompts, no terminal, no X11, no forwarding), so these change nothing.
const SILENT = new Set([
  'batchmode',
  'passwordauthentication',
  'kbdinteractiveauthentication',
  'kbdinteractivedevices',
  'challengeresponseauthentication',
  'numberofpasswordprompts',
  'checkhostip',
  'hashknownhosts',
  'addkeystoagent',
  'preferredauthentications',
  'globalknownhostsfile',
  'tcpkeepalive',
  'exitonforwardfailure',
  'clearallforwardings',
  'gatewayports',
  'stdinnull',
  'visualhostkey',
  'updatehostkeys',
  'ipqos',
  'rekeylimit',
  'fingerprinthash',
  'gssapidelegatecredentials',
  'enablesshkeysign',
  'syslogfacility',
  'logverbose',
  'channeltimeout',
  'enableescapecommandline',
  'obscurekeystroketiming',
  'requiredrsasize',
  'xauthlocation',
  'forwardx11timeout',
  'streamlocalbindmask',
  'streamlocalbindunlink',
  'permitremoteopen',
  'usekeychain',
  'ignoreunknown',
  'connectionattempts',
  'protocol',
  'useroaming',
  'hostbasedauthentication',
  'pubkeyauthentication',
  'escapechar',
  'loglevel',
]);

// Options whose effect the user may count on, ignored with a warning saying why.
const IGNORED: Record<string, string> = {
  controlmaster: 'wd opens its own connection to each host',
  controlpath: 'wd opens its own connection to each host',
  controlpersist: 'wd opens its own connection to each host',
  forwardx11: 'wd forwards no X11 display',
  forwardx11trusted: 'wd forwards no X11 display',
  requesttty: 'wd never allocates a terminal (nothing can answer a prompt in an unattended deploy)',
  forkafterauthentication: 'wd keeps each connection in the foreground until its script ends',
  addressfamily: "wd's SSH client uses the address family the host name resolves to",
  bindaddress: "wd's SSH client connects from the default local address",
  bindinterface: "wd's SSH client connects from the default local interface",
  ciphers: "wd's SSH client negotiates from its own algorithm list",
  macs: "wd's SSH client negotiates from its own algorithm list",
  kexalgorithms: "wd's SSH client negotiates from its own algorithm list",
  hostkeyalgorithms: "wd's SSH client negotiates from its own algorithm list",
  pubkeyacceptedalgorithms: "wd's SSH client negotiates from its own algorithm list",
  pubkeyacceptedkeytypes: "wd's SSH client negotiates from its own algorithm list",
  casignaturealgorithms: "wd's SSH client negotiates from its own algorithm list",
  hostbasedacceptedalgorithms: "wd's SSH client negotiates from its own algorithm list",
  cipher: "wd's SSH client negotiates from its own algorithm list",
  gssapiauthentication: 'wd does not authenticate with GSSAPI/Kerberos (keys and the agent only)',
  pkcs11provider: 'wd does not use PKCS#11 tokens (keys and the agent only)',
  securitykeyprovider: 'wd does not use a security key provider (keys and the agent only)',
  certificatefile: 'wd does not use SSH certificates (keys and the agent only)',
  sendenv: 'wd passes no local environment variables; use rake_env',
  setenv: 'wd passes no environment variables this way; use rake_env',
  localcommand: 'wd runs no local command after connecting',
  permitlocalcommand: 'wd runs no local command after connecting',
  knownhostscommand: 'wd reads host keys from the known_hosts files only',
  revokedhostkeys: 'wd does not read a revoked-keys file; remove revoked keys from known_hosts',
  verifyhostkeydns: 'wd does not look up SSHFP records; it checks known_hosts',
  nohostauthenticationforlocalhost: 'wd checks the host key of localhost too',
  canonicaldomains: 'wd does not canonicalize host names',
  canonicalizefallbacklocal: 'wd does not canonicalize host names',
  canonicalizemaxdots: 'wd does not canonicalize host names',
  canonicalizepermittedcnames: 'wd does not canonicalize host names',
  proxyusefdpass: 'wd runs no proxy command',
  tag: 'wd does not evaluate Match tagged in ~/.ssh/config',
};

// Options that change where or as whom wd connects, forward ports, or replace the command:
// honouring them is impossible and ignoring them would connect somewhere else, or do something else.
const REFUSED: Record<string, (value: string) => string | undefined> = {
  localforward: () => 'wd forwards no ports',
  remoteforward: () => 'wd forwards no ports',
  dynamicforward: () => 'wd forwards no ports',
  tunnel: (v) => (/^no$/i.test(v) ? undefined : 'wd forwards no tun devices'),
  tunneldevice: () => 'wd forwards no tun devices',
  remotecommand: () => 'wd runs its own script on the host, not another command',
  sessiontype: (v) => (/^default$/i.test(v) ? undefined : 'wd runs its script as the session'),
  canonicalizehostname: (v) => (/^(no|false)$/i.test(v) ? undefined : 'wd does not canonicalize host names, so it would connect to another name'),
  include: () => 'an Include belongs in an ssh config file (-F)',
};

// OpenSSH flags that take a value, and the -o option each stands for (undefined: handled below).
const FLAG_VALUE: Record<string, string | undefined> = {
  B: 'bindinterface',
  b: 'bindaddress',
  c: 'ciphers',
  D: 'dynamicforward',
  E: undefined,
  e: 'escapechar',
  F: undefined,
  I: 'pkcs11provider',
  i: undefined,
  J: undefined,
  L: 'localforward',
  l: undefined,
  m: 'macs',
  O: undefined,
  o: undefined,
  P: 'tag',
  p: undefined,
  Q: undefined,
  R: 'remoteforward',
  S: 'controlpath',
  W: undefined,
  w: 'tunneldevice',
};
// OpenSSH flags without a value, as the option they set.
const FLAG_BOOL: Record<string, [string, string] | undefined> = {
  '4': ['addressfamily', 'inet'],
  '6': ['addressfamily', 'inet6'],
  A: ['forwardagent', 'yes'],
  a: ['forwardagent', 'no'],
  C: ['compression', 'yes'],
  f: ['forkafterauthentication', 'yes'],
  g: ['gatewayports', 'yes'],
  K: ['gssapiauthentication', 'yes'],
  k: ['gssapidelegatecredentials', 'no'],
  M: ['controlmaster', 'yes'],
  n: ['stdinnull', 'yes'],
  q: ['loglevel', 'quiet'],
  T: ['requesttty', 'no'],
  t: ['requesttty', 'yes'],
  X: ['forwardx11', 'yes'],
  x: ['forwardx11', 'no'],
  Y: ['forwardx11trusted', 'yes'],
  y: ['syslogfacility', 'user'],
};
// Flags that make ssh do something else than run a command on the host.
const FLAG_REFUSED: Record<string, string> = {
  G: 'makes ssh print its configuration and connect nowhere',
  N: 'makes ssh run no command, so nothing would be deployed',
  s: 'makes ssh start a subsystem instead of running the deploy script',
  V: 'makes ssh print its version and connect nowhere',
  O: 'sends a command to a control master instead of running the deploy',
  Q: 'makes ssh list supported algorithms and connect nowhere',
  W: 'forwards stdin/stdout to another host and port, which would change where wd connects',
};

// Option values whose effect wd already has: no warning.
const QUIET_VALUE: Record<string, RegExp> = {
  requesttty: /^(no|auto)$/i,
  forwardx11: /^no$/i,
  forwardx11trusted: /^no$/i,
  controlmaster: /^no$/i,
  controlpath: /^none$/i,
  controlpersist: /^no$/i,
  forkafterauthentication: /^no$/i,
  gssapiauthentication: /^no$/i,
  addressfamily: /^any$/i,
  permitlocalcommand: /^no$/i,
  tunnel: /^no$/i,
  sessiontype: /^default$/i,
  canonicalizehostname: /^(no|false)$/i,
};

const OPTION_NAMES = [
  'AddKeysToAgent',
  'AddressFamily',
  'BatchMode',
  'BindAddress',
  'BindInterface',
  'CanonicalDomains',
  'CanonicalizeFallbackLocal',
  'CanonicalizeHostname',
  'CanonicalizeMaxDots',
  'CanonicalizePermittedCNAMEs',
  'CASignatureAlgorithms',
  'CertificateFile',
  'ChannelTimeout',
  'CheckHostIP',
  'Ciphers',
  'ClearAllForwardings',
  'Compression',
  'ConnectionAttempts',
  'ConnectTimeout',
  'ControlMaster',
  'ControlPath',
  'ControlPersist',
  'DynamicForward',
  'EnableEscapeCommandline',
  'EnableSSHKeysign',
  'EscapeChar',
  'ExitOnForwardFailure',
  'FingerprintHash',
  'ForkAfterAuthentication',
  'ForwardAgent',
  'ForwardX11',
  'ForwardX11Timeout',
  'ForwardX11Trusted',
  'GatewayPorts',
  'GlobalKnownHostsFile',
  'GSSAPIAuthentication',
  'GSSAPIDelegateCredentials',
  'HashKnownHosts',
  'HostbasedAcceptedAlgorithms',
  'HostbasedAuthentication',
  'HostKeyAlgorithms',
  'HostKeyAlias',
  'HostName',
  'IdentitiesOnly',
  'IdentityAgent',
  'IdentityFile',
  'IgnoreUnknown',
  'Include',
  'IPQoS',
  'KbdInteractiveAuthentication',
  'KbdInteractiveDevices',
  'KexAlgorithms',
  'KnownHostsCommand',
  'LocalCommand',
  'LocalForward',
  'LogLevel',
  'LogVerbose',
  'MACs',
  'NoHostAuthenticationForLocalhost',
  'NumberOfPasswordPrompts',
  'ObscureKeystrokeTiming',
  'PasswordAuthentication',
  'PermitLocalCommand',
  'PermitRemoteOpen',
  'PKCS11Provider',
  'Port',
  'PreferredAuthentications',
  'ProxyCommand',
  'ProxyJump',
  'ProxyUseFdpass',
  'PubkeyAcceptedAlgorithms',
  'PubkeyAcceptedKeyTypes',
  'PubkeyAuthentication',
  'RekeyLimit',
  'RemoteCommand',
  'RemoteForward',
  'RequestTTY',
  'RequiredRSASize',
  'RevokedHostKeys',
  'SecurityKeyProvider',
  'SendEnv',
  'ServerAliveCountMax',
  'ServerAliveInterval',
  'SessionType',
  'SetEnv',
  'StdinNull',
  'StreamLocalBindMask',
  'StreamLocalBindUnlink',
  'StrictHostKeyChecking',
  'SyslogFacility',
  'Tag',
  'TCPKeepAlive',
  'Tunnel',
  'TunnelDevice',
  'UpdateHostKeys',
  'User',
  'UserKnownHostsFile',
  'VerifyHostKeyDNS',
  'VisualHostKey',
  'XAuthLocation',
  // Older spellings OpenSSH still accepts.
  'ChallengeResponseAuthentication',
  'UseKeychain',
  'Protocol',
  'UseRoaming',
  'Cipher',
];
const CANONICAL = new Map(OPTION_NAMES.map((n) => [n.toLowerCase(), n]));

/**
 * ssh_options → SshArgs. Flags are read as OpenSSH's getopt reads them
 * (`-tt`, `-vp2222`, `-p 2222` as one item). Errors are ConfigErrors prefixed
 * with `where`; a flag or option that is ignored adds a sentence to `warnings`.
 */
export function parseSshOptions(args: readonly string[], where: string, warnings: string[] = []): SshArgs {
  const out: SshArgs = { identityFiles: [], options: {} };
  const bad = (msg: string): never => {
    throw new ConfigError(`${where}: ssh_options ${msg}`);
  };
  const warn = (msg: string): void => {
    const text = `${where}: ssh_options ${msg}`;
    if (!warnings.includes(text)) warnings.push(text);
  };
  /** One option, from -o or from the flag that stands for it (`shown`, for messages). */
  const option = (key: string, value: string, shown: string): void => {
    const refused = REFUSED[key]?.(value);
    if (refused !== undefined) bad(`${shown} cannot be honoured: ${refused}. Remove it.`);
    if (key === 'loglevel') {
      const level = /^debug([23]?)$/i.exec(value) ?? /^(verbose)$/i.exec(value);
      if (level) out.verbose = Math.max(out.verbose ?? 0, level[1] === '3' ? 3 : level[1] === '2' ? 2 : 1);
    }
    if (!HONOURED.has(key) && !SILENT.has(key) && !QUIET_VALUE[key]?.test(value)) {
      warn(`${shown} is ignored: ${IGNORED[key] ?? "wd's SSH client does not implement it"}.`);
    }
    if (key === 'identityfile') out.identityFiles.push(value);
    else if (!(key in out.options)) out.options[key] = value;
  };
  const setOpt = (raw: string): void => {
    const m = /^([A-Za-z0-9]+)\s*(?:=|\s)\s*(.*)$/.exec(raw.trim());
    if (!m || m[2] === '') bad(`-o '${raw}': expected Name=value.`);
    const key = m![1]!.toLowerCase();
    if (!CANONICAL.has(key)) bad(`-o ${m![1]} is not an OpenSSH option${didYouMean(m![1]!, OPTION_NAMES)}.`);
    option(key, m![2]!, `-o ${CANONICAL.get(key)}=${m![2]}`);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!/^-[^-]/.test(a)) bad(`'${a}' is not an option: ssh_options holds flags such as -p 2222 or -o Name=value.`);
    // getopt: flags without a value may be bundled (-tt, -vA); a flag with one takes the rest of the word or the next word.
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      if (f in FLAG_VALUE) {
        let v = a.slice(j + 1);
        if (v === '') {
          const nextArg = args[++i];
          if (nextArg === undefined) bad(`-${f} needs a value.`);
          v = nextArg!;
        }
        // whiskey_disk's README writes "-p 443" as one list item; ssh skipped the space.
        v = v.trim();
        flagWithValue(f, v);
        break;
      }
      if (f === 'v') {
        out.verbose = Math.min(3, (out.verbose ?? 0) + 1);
        continue;
      }
      const refused = FLAG_REFUSED[f];
      if (refused !== undefined) bad(`-${f} cannot be honoured: it ${refused}. Remove it.`);
      const set = FLAG_BOOL[f];
      if (set === undefined) bad(`'${a}': -${f} is not an OpenSSH client flag.`);
      option(set![0], set![1], `-${f}`);
    }
  }
  return out;

  function flagWithValue(f: string, v: string): void {
    switch (f) {
      case 'p':
        if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) bad(`-p '${v}' is not a port number.`);
        out.port ??= Number(v);
        return;
      case 'l':
        out.user ??= v;
        return;
      case 'i':
        out.identityFiles.push(v);
        return;
      case 'F':
        out.configFile ??= v;
        return;
      case 'J':
        out.jump ??= v;
        return;
      case 'o':
        setOpt(v);
        return;
      case 'E':
        warn(`-E ${v} is ignored: wd's SSH client writes no log file (use --debug for more detail).`);
        return;
    }
    const refused = FLAG_REFUSED[f];
    if (refused !== undefined) bad(`-${f} cannot be honoured: it ${refused}. Remove it.`);
    option(FLAG_VALUE[f]!, v, `-${f} ${v}`);
  }
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
    listDir:
      env.listDir ??
      ((dir) => {
        try {
          return readdirSync(dir);
        } catch {
          return undefined;
        }
      }),
    owner:
      env.owner ??
      ((path) => {
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
const SAFE_TOKEN = /^[A-Za-z0-9_.:@+[\]-]*$/;

/** ProxyCommand's %-tokens, as OpenSSH expands them: %h %n %p %r %%. */
function expandProxyCommand(cmd: string, v: ConfigValue | undefined, label: string, t: Record<'h' | 'n' | 'p' | 'r', string>): string {
  const where = v ? `${v.file} line ${v.line}` : 'ssh_options';
  return cmd.replace(/%(.?)/gs, (_, k: string) => {
    if (k === '%') return '%';
    if (k === 'h' || k === 'n' || k === 'p' || k === 'r') {
      const val = t[k];
      if (!SAFE_TOKEN.test(val) || val.startsWith('-')) {
        throw new ConfigError(
          `host ${label}: ${where}: ProxyCommand would put '${val}' (%${k}) into a shell command; refusing a value with shell metacharacters. Fix the host or user name.`,
        );
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
    refuse(
      canon,
      `CanonicalizeHostname ${canon.args[0]}`,
      'which host wd connects to. Fix: write the full host name in deploy.yml (or as HostName), and set CanonicalizeHostname no for it.',
    );
  }
  const khc = values.get('knownhostscommand');
  if (khc && !/^none$/i.test(khc.args[0] ?? '')) {
    refuse(
      khc,
      'KnownHostsCommand',
      'which host keys are trusted. Fix: put the keys in a known_hosts file (UserKnownHostsFile), and set KnownHostsCommand none for this host.',
    );
  }
  const fdpass = values.get('proxyusefdpass');
  if (proxied && fdpass && yes(fdpass.args[0])) {
    refuse(
      fdpass,
      'ProxyUseFdpass yes',
      "how wd reaches the host. Fix: set ProxyUseFdpass no for this host; wd talks SSH over the ProxyCommand's stdin and stdout.",
    );
  }
}

export function resolveSsh(label: string, args: SshArgs, env: SshEnv, depth = 0): SshSettings {
  const d = splitDomain(label);
  const cfgPath = args.configFile !== undefined ? expandHome(args.configFile, env.home) : `${env.home}/.ssh/config`;
  if (args.configFile !== undefined && env.readFile(cfgPath) === undefined) {
    throw new ConfigError(`host ${label}: ssh config file '${args.configFile}' (from ssh_options -F) does not exist.`);
  }
  const cliUser = d.user ?? args.user ?? args.options['user'];
  const cfg = readSshConfig(
    cfgPath,
    {
      host: d.host,
      label,
      home: env.home,
      localUser: env.localUser,
      ...(cliUser !== undefined ? { user: cliUser } : {}),
      ...(args.options['hostname'] !== undefined ? { hostName: args.options['hostname'] } : {}),
    },
    configIo(env),
  );
  const one = (key: string): string | undefined => args.options[key] ?? cfg.values.get(key)?.args[0];
  const tokens = (p: string, host: string, user: string, port: number): string =>
    expandHome(p, env.home).replace(/%([%dhurp])/g, (_, t: string) =>
      t === '%' ? '%' : t === 'd' ? env.home : t === 'h' ? host : t === 'u' ? env.localUser : t === 'r' ? user : String(port),
    );

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
  const strict: StrictMode =
    strictRaw === 'yes' || strictRaw === 'true' || strictRaw === 'ask'
      ? 'yes'
      : strictRaw === 'no' || strictRaw === 'off' || strictRaw === 'false'
        ? 'no'
        : 'accept-new';
  if (!['yes', 'no', 'accept-new', 'ask', 'true', 'false', 'off'].includes(strictRaw)) {
    throw new ConfigError(`host ${label}: StrictHostKeyChecking '${strictRaw}' must be yes, no or accept-new.`);
  }
  // An explicit 'ask' cannot prompt here, so it refuses unknown hosts as OpenSSH's BatchMode does.
  const khCli = args.options['userknownhostsfile'];
  const knownHostsFiles = (
    khCli !== undefined ? khCli.split(/\s+/) : (cfg.values.get('userknownhostsfile')?.args ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'])
  )
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
  const agent =
    agentRaw === undefined
      ? env.agentSocket
      : /^none$/i.test(agentRaw)
        ? undefined
        : agentRaw === 'SSH_AUTH_SOCK'
          ? env.agentSocket
          : tokens(agentRaw, host, user, port);

  // ProxyJump and ProxyCommand exclude each other: -J first, then whichever the config file sets first.
  const cliJump = args.jump ?? args.options['proxyjump'];
  const fileJump = cfg.values.get('proxyjump');
  const fileProxy = cfg.values.get('proxycommand');
  const jumpSpec = cliJump ?? fileJump?.args[0];
  const proxySpec = cliJump !== undefined || fileJump ? undefined : (args.options['proxycommand'] ?? fileProxy?.raw);
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
    ...(proxied
      ? {
          proxyCommand: {
            command: expandProxyCommand(proxySpec, args.options['proxycommand'] !== undefined ? undefined : fileProxy, label, {
              h: host,
              n: d.host,
              p: String(port),
              r: user,
            }),
            source: args.options['proxycommand'] !== undefined ? 'ssh_options' : `${fileProxy!.file} line ${fileProxy!.line}`,
          },
        }
      : {}),
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
