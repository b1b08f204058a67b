// Runs the script over SSH with the ssh2 package: one TCP connection (plus one
// per ProxyJump hop) and one exec channel per host. Never prompts: host keys
// are checked against known_hosts, keys come from the agent and key files.
import ssh2, { type AnyAuthMethod, type ConnectConfig, type ClientChannel } from 'ssh2';
import type { Readable } from 'node:stream';

// ssh2 is CommonJS; only some names survive as ESM named exports, so take them from the default.
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;
import { readText } from '../files.js';
import { addKnownHost, describeKey, hostId, knownTypes, verdict, type AddResult, type KnownEntry, type Verdict } from './known-hosts.js';
import { quote } from '../quote.js';
import type { SshSettings } from './options.js';
import { ProxyCommand } from './proxy-command.js';
import { privateKeyOnce } from './private-key.js';
import { onAbort, REMOTE_COMMAND, type RunRequest, type Transport, type TransportResult } from '../transport/types.js';

export interface SshDeps {
  readFile(path: string): string | undefined;
  /** Append the key unless the file (read again) already names the host; what it found. */
  addKnownHost(file: string, id: string, keyType: string, key: string): AddResult;
}

export const defaultSshDeps: SshDeps = {
  readFile: readText,
  addKnownHost,
};

const HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const algoKeyType = (a: string): string => (a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a);

class HostError extends Error {}

export class SshTransport implements Transport {
  constructor(
    private readonly s: SshSettings,
    private readonly deps: SshDeps = defaultSshDeps,
  ) {}

  async run(req: RunRequest): Promise<TransportResult> {
    const clients: Client[] = [];
    let proxy: ProxyCommand | undefined;
    try {
      let sock: Readable | undefined;
      const hops = [...this.s.jump, this.s];
      let client: Client | undefined;
      // As OpenSSH does: a host that presented a changed key (accepted only under
      // StrictHostKeyChecking no) may be an impostor, so it gets no forwarding.
      let keyChanged = false;
      for (const hop of hops) {
        if (client) sock = await forward(client, hop);
        else if (hop.proxyCommand) {
          proxy = new ProxyCommand(hop.proxyCommand.command, hop.proxyCommand.source);
          sock = proxy.stream;
        }
        const c = await this.connect(hop, sock, (note) => req.onStderr(Buffer.from(`wd: ${note}\n`)), client ? undefined : proxy);
        if (!client) proxy?.connected(req.onStderr);
        client = c.client;
        clients.push(client);
        keyChanged ||= c.keyChanged;
      }
      const connectedAt = Date.now();
      const result = await exec(client!, this.s.forwardAgent && this.s.agent !== undefined && !keyChanged, req);
      return { ...result, connectedAt };
    } catch (e) {
      return { exitCode: null, error: e instanceof HostError ? e.message : `ssh: ${(e as Error).message}` };
    } finally {
      for (const c of clients.reverse()) c.end();
      proxy?.stop();
    }
  }

  private connect(
    hop: SshSettings,
    sock: Readable | undefined,
    note: (text: string) => void,
    proxy?: ProxyCommand,
  ): Promise<{ client: Client; keyChanged: boolean }> {
    // HostKeyAlias replaces the whole name, port included, as in OpenSSH.
    const id = hop.hostKeyAlias ?? hostId(hop.host, hop.port);
    const files = hop.knownHostsFiles.map((file) => ({ file, text: this.deps.readFile(file) ?? '' }));
    const preferred = knownTypes(files, id);
    const algos = [...HOST_KEY_ALGOS].sort((a, b) => Number(preferred.includes(algoKeyType(b))) - Number(preferred.includes(algoKeyType(a))));
    const where = `${hop.user}@${hop.host}:${hop.port}`;
    let hostKeyProblem: string | undefined;
    let keyChanged = false;
    const tried: string[] = [];

    const { methods, notes } = this.authMethods(hop);
    const cfg: ConnectConfig = {
      username: hop.user,
      readyTimeout: hop.connectTimeoutMs,
      keepaliveInterval: hop.keepaliveIntervalMs,
      keepaliveCountMax: hop.keepaliveCountMax,
      algorithms: {
        serverHostKey: algos as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']>,
        ...(hop.compression ? { compress: ['zlib@openssh.com', 'zlib', 'none'] } : {}),
      },
      hostVerifier: (key: Buffer): boolean => {
        const k = describeKey(key);
        let v: Verdict | AddResult = verdict(files, id, k.keyType, k.key);
        if (v.kind === 'unknown') {
          if (hop.strict === 'yes') {
            hostKeyProblem =
              `host key of ${id} (${k.keyType} ${k.fingerprint}) is not in ${hop.knownHostsFiles.join(' or ')} and StrictHostKeyChecking is yes. ` +
              `Add it after checking the fingerprint, e.g. ssh-keyscan -p ${hop.port} ${quote(hop.host)} >> ${quote(hop.knownHostsFiles[0] ?? '~/.ssh/known_hosts')}`;
            return false;
          }
          // accept-new (the default) and no: remember the key so a later change is caught.
          const file = hop.knownHostsFiles[0];
          if (file === undefined || file === '/dev/null') return true;
          try {
            // The file read again: another host of this run (same address) or another wd may have added it.
            v = this.deps.addKnownHost(file, id, k.keyType, k.key);
          } catch (e) {
            // An unwritable known_hosts must not fail the deploy; the key was still accepted as new.
            note(`new host ${id} (${k.keyType} ${k.fingerprint}) accepted, but could not be recorded in ${file}: ${(e as Error).message}`);
            return true;
          }
          // Said out loud, as OpenSSH does: trust on first use should not be silent.
          if (v.kind === 'added') note(`new host ${id}: added its ${k.keyType} key ${k.fingerprint} to ${file}`);
        }
        if (v.kind === 'added' || v.kind === 'match') return true;
        if (v.kind === 'revoked') {
          hostKeyProblem = `host key ${k.keyType} ${k.fingerprint} of ${id} is marked @revoked in ${v.entry.file}:${v.entry.line}; refusing to connect.`;
          return false;
        }
        const e = v.entries[0]!;
        if (hop.strict === 'no') {
          keyChanged = true;
          changedKeyWarning(id, k, v.entries, hop.forwardAgent && hop.agent !== undefined).forEach(note);
          return true;
        }
        hostKeyProblem =
          `HOST KEY MISMATCH for ${id}: it presented ${k.keyType} ${k.fingerprint}, but ${e.file}:${e.line} holds ${e.keyType} ${describeKey(Buffer.from(e.key, 'base64')).fingerprint}. ` +
          `This may be an attack. If the host was really reinstalled, remove the old entry with: ssh-keygen -f ${quote(e.file)} -R ${quote(id)}`;
        return false;
      },
      authHandler: (_left, _partial, next) => {
        const m = methods.shift();
        if (!m) {
          next(false as unknown as AnyAuthMethod);
          return;
        }
        tried.push(m.label);
        next(m.method);
      },
      ...(sock ? { sock } : { host: hop.host, port: hop.port }),
      // The agent only, not agentForward: that would make ssh2 forward it on every channel, even
      // to a host whose key changed. run() asks for forwarding on the exec channel when it is safe.
      ...(hop.forwardAgent && hop.agent !== undefined ? { agent: hop.agent } : {}),
    };

    return new Promise((resolve, reject) => {
      const c = new Client();
      let settled = false;
      c.on('ready', () => {
        settled = true;
        resolve({ client: c, keyChanged });
      });
      // A ProxyCommand that exited or closed its output is the reason, whatever ssh2 saw of it.
      const fail = (msg: string): void => {
        if (!proxy || hostKeyProblem) {
          reject(new HostError(msg));
          return;
        }
        void proxy.whyClosed().then((why) => reject(new HostError(why ?? msg)));
      };
      c.on('error', (err: Error & { code?: string; level?: string }) => {
        if (settled) return;
        settled = true;
        c.end();
        fail(describeConnectError(err, where, hop, hostKeyProblem, tried, notes));
      });
      c.on('close', () => {
        if (settled) return;
        settled = true;
        fail(hostKeyProblem ?? `connection to ${where} closed during the SSH handshake.`);
      });
      try {
        c.connect(cfg);
      } catch (e) {
        settled = true;
        reject(new HostError(`cannot connect to ${where}: ${(e as Error).message}`));
      }
    });
  }

  private authMethods(hop: SshSettings): { methods: Array<{ label: string; method: AnyAuthMethod }>; notes: string[] } {
    const methods: Array<{ label: string; method: AnyAuthMethod }> = [];
    const notes: string[] = [];
    if (hop.agent !== undefined && !hop.identitiesOnly) {
      methods.push({ label: 'ssh-agent', method: { type: 'agent', username: hop.user, agent: hop.agent } });
    }
    for (const file of hop.identityFiles) {
      const text = this.deps.readFile(file);
      if (text === undefined) continue;
      const key = privateKeyOnce(text);
      if (key instanceof Error) {
        notes.push(
          /encrypted|passphrase/i.test(key.message)
            ? `${file} is passphrase-protected; add it to ssh-agent (ssh-add ${file}) so wd can use it without a prompt`
            : `${file} could not be read as a private key (${key.message})`,
        );
        continue;
      }
      methods.push({ label: file, method: { type: 'publickey', username: hop.user, key } });
    }
    if (hop.agent !== undefined && hop.identitiesOnly) {
      methods.push({ label: 'ssh-agent', method: { type: 'agent', username: hop.user, agent: hop.agent } });
    }
    return { methods, notes };
  }
}

/** What OpenSSH says when StrictHostKeyChecking no lets a changed key through, one line per note. */
function changedKeyWarning(id: string, k: { keyType: string; fingerprint: string }, entries: KnownEntry[], agentAsked: boolean): string[] {
  const held = entries.map((e) => `${e.keyType} ${describeKey(Buffer.from(e.key, 'base64')).fingerprint} in ${e.file}:${e.line}`);
  const e = entries[0]!;
  return [
    `WARNING: HOST KEY CHANGED for ${id}: it presented ${k.keyType} ${k.fingerprint}, but the known key is ${held.join(', ')}.`,
    'Someone may be intercepting this connection (man-in-the-middle), or the host was reinstalled.',
    `StrictHostKeyChecking is no, so wd connects anyway; agent forwarding is disabled for this connection${agentAsked ? ' (ForwardAgent/-A is ignored)' : ''}.`,
    `If the new key is right, remove the old entry with: ssh-keygen -f ${quote(e.file)} -R ${quote(id)}`,
  ];
}

function describeConnectError(
  err: Error & { code?: string; level?: string },
  where: string,
  hop: SshSettings,
  hostKeyProblem: string | undefined,
  tried: string[],
  notes: string[],
): string {
  if (hostKeyProblem) return hostKeyProblem;
  const code = err.code;
  if (code === 'ECONNREFUSED') return `connection refused by ${hop.host}:${hop.port}: is sshd running there, and is the port right?`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `cannot resolve host name '${hop.host}' (${code}): check the domain in deploy.yml or HostName in ~/.ssh/config.`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host ${hop.host}:${hop.port} is unreachable (${code}).`;
  if (code === 'ECONNRESET') return `connection to ${where} was reset during the SSH handshake.`;
  if (/Timed out while waiting for handshake/i.test(err.message) || code === 'ETIMEDOUT') {
    return `timed out after ${hop.connectTimeoutMs / 1000}s connecting to ${hop.host}:${hop.port}; is the host up? (raise it with ${hop.connectTimeoutHint ?? 'ssh_options -o ConnectTimeout=N'})`;
  }
  if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) {
    const what = tried.length ? `tried ${tried.join(', ')}` : 'no usable key: no ssh-agent (SSH_AUTH_SOCK) and no key file found';
    return (
      `authentication failed for ${where} (${what})${notes.length ? '; ' + notes.join('; ') : ''}. ` +
      `Add your public key to ~${hop.user}/.ssh/authorized_keys on the host, or name the key with ssh_options: -i FILE.`
    );
  }
  return `cannot connect to ${where}: ${err.message}`;
}

function forward(via: Client, hop: SshSettings): Promise<Readable> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, hop.host, hop.port, (err, stream) => {
      if (err) reject(new HostError(`ProxyJump: the jump host could not open a connection to ${hop.host}:${hop.port}: ${err.message}`));
      else resolve(stream);
    });
  });
}

function exec(c: Client, agentForward: boolean, req: RunRequest): Promise<TransportResult> {
  return new Promise((resolve) => {
    let done = false;
    let stopAbort = (): void => {};
    const finish = (r: TransportResult): void => {
      if (done) return;
      done = true;
      stopAbort();
      resolve(r);
    };
    // A connection that dies mid-script is a result, not an exception.
    c.on('error', (err) => finish({ exitCode: null, error: `connection lost: ${err.message}` }));
    c.on('close', () => finish({ exitCode: null, error: 'connection lost before the script finished' }));
    // ssh2 reads agentForward from the exec options though its typings omit it.
    c.exec(REMOTE_COMMAND, (agentForward ? { agentForward: true } : {}) as import('ssh2').ExecOptions, (err: Error | undefined, stream: ClientChannel) => {
      if (err) {
        finish({ exitCode: null, error: `the host refused to run the script: ${err.message}` });
        return;
      }
      let code: number | null = null;
      let signal: string | undefined;
      stream.on('exit', (c2: number | null, sig?: string) => {
        code = c2;
        if (sig) signal = sig;
      });
      stream.on('data', (d: Buffer) => req.onStdout(d));
      stream.stderr.on('data', (d: Buffer) => req.onStderr(d));
      stream.on('close', () => {
        if (code === null && signal === undefined) finish({ exitCode: null, error: 'connection lost before the script finished' });
        else finish({ exitCode: code, ...(signal !== undefined ? { signal } : {}) });
      });
      // The script on stdin; the channel stays open after it as the control line (abort).
      stream.write(req.script);
      stopAbort = onAbort(
        req.abort,
        (line) => stream.write(line),
        () => {
          finish({ exitCode: null, error: 'the host did not stop within the grace period after the abort; connection closed' });
          c.end();
        },
      );
    });
  });
}
