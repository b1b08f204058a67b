// In-process fake SSH host built on ssh2's Server: publickey auth against a
// list of public keys, exec requests run as `bash -c <command>` in `home`.
// Fault switches let tests simulate refused auth, dropped links and slowness.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type Connection, type ParsedKey } from 'ssh2';
import { generateEd25519 } from './keys.js';

// ssh2 is CommonJS: node's ESM loader does not see utils/Server as named exports.
const { Server, utils } = ssh2;

export interface SshFaults {
  /** Reject every authentication attempt. */
  refuseAuth?: boolean;
  /** Destroy the TCP socket this long after an exec starts. */
  dropAfterMs?: number;
  /** Destroy the TCP socket when the exec's stdout contains this text (that chunk is not sent). */
  dropOnOutput?: string;
  /** Wait this long before answering each exec request. */
  delayMs?: number;
  /** Close the channel without sending exit-status/exit-signal. */
  noExitStatus?: boolean;
  /** Accept TCP connections and never say a word (no SSH banner): a hung sshd. */
  silent?: boolean;
}

export interface SshServerOptions {
  /** This fake host's home: exec cwd and HOME. */
  home: string;
  /** Public key lines ("ssh-ed25519 AAAA... comment") accepted for publickey auth. */
  authorizedKeys: string[];
  /** Accept only these usernames (any when absent). */
  users?: string[];
  /** Host private key (OpenSSH or PEM); an ed25519 key is generated when absent. */
  hostKey?: string;
  /** Extra environment for the exec'd bash. */
  env?: Record<string, string>;
  faults?: SshFaults;
}

export interface ExecRecord {
  command: string;
  user: string;
  /** Date.now() when the exec started (after delayMs). */
  start: number;
  /** Date.now() when bash exited; 0 while running. */
  end: number;
  /** bash's exit code; null while running or when it died by a signal. */
  exitCode: number | null;
}

export interface SshServer {
  host: '127.0.0.1';
  port: number;
  /** "ssh-ed25519 AAAA..." for known_hosts (prefix with `[127.0.0.1]:PORT `). */
  hostKeyLine: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA...` */
  knownHostsLine: string;
  execs: ExecRecord[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Exec channels opened so far. */
  readonly channels: number;
  /** auth-agent-req@openssh.com requests (agent forwarding) received so far. */
  readonly agentForwardRequests: number;
  close(): Promise<void>;
}

function publicLine(key: ParsedKey): string {
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

function parseOrThrow(text: string, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`${what}: ${parsed.message}`);
  // parseKey returns an array for multi-key input; tests pass one key at a time.
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

export async function startSshServer(opts: SshServerOptions): Promise<SshServer> {
  const faults = opts.faults ?? {};
  const hostKey = opts.hostKey ?? generateEd25519().private;
  const hostKeyLine = publicLine(parseOrThrow(hostKey, 'hostKey'));
  const allowed = opts.authorizedKeys.map((k) => parseOrThrow(k, `authorized key ${k.slice(0, 40)}`));

  const execs: ExecRecord[] = [];
  const sockets = new Set<Socket>();
  const byRemotePort = new Map<number, Socket>();
  const procs = new Set<ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let channels = 0;
  let agentForwardRequests = 0;
  let closing = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  // Kill the whole group: the command may have spawned its own children.
  const killGroup = (p: ChildProcess) => {
    if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };

  const ssh = new Server({ hostKeys: [hostKey] }, (client: Connection, info) => {
    const sock = byRemotePort.get(info.port);
    // A dead peer makes ssh2 emit 'error'; unhandled it would crash the test run.
    client.on('error', () => {});
    let user = '';
    // This connection's commands: its disconnect must not kill another client's.
    const mine = new Set<ChildProcess>();

    client.on('authentication', (ctx) => {
      if (faults.refuseAuth || ctx.method !== 'publickey' || (opts.users && !opts.users.includes(ctx.username))) {
        return ctx.reject(['publickey']);
      }
      const offered = ctx.key.data;
      const match = allowed.find((k) => {
        const blob = k.getPublicSSH();
        return blob.length === offered.length && timingSafeEqual(blob, offered);
      });
      if (!match) return ctx.reject(['publickey']);
      // No signature = the client only asks "would this key do?" (OpenSSH and agents ask first).
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      if (match.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      user = ctx.username;
      ctx.accept();
    });

    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        // Counted, then accepted as sshd would: tests check who asked for it, not what it carries.
        session.on('auth-agent', (accept) => {
          agentForwardRequests++;
          accept?.();
        });
        // env/pty/shell/sftp have no listeners, so ssh2 rejects them for us.
        session.on('exec', (accept, _reject, { command }) => {
          const run = () => {
            // The client may have gone away during delayMs.
            if (closing || !sock || sock.destroyed) return;
            const stream = accept();
            stream.on('error', () => {});
            channels++;
            const rec: ExecRecord = { command, user, start: Date.now(), end: 0, exitCode: null };
            execs.push(rec);
            const child = spawn('bash', ['-c', command], {
              cwd: opts.home,
              env: { HOME: opts.home, PATH: process.env['PATH'] ?? '/usr/bin:/bin', USER: user, LOGNAME: user, ...opts.env },
              detached: true, // own process group, so a disconnect can kill all of it
              stdio: 'pipe',
            });
            procs.add(child);
            mine.add(child);
            const drop = () => {
              killGroup(child);
              sock?.destroy();
            };

            stream.pipe(child.stdin);
            child.stdin.on('error', () => {}); // EPIPE when bash exits before reading all stdin
            let tail = '';
            child.stdout.on('data', (chunk: Buffer) => {
              if (faults.dropOnOutput !== undefined) {
                // Keep a tail so a marker split across two chunks is still seen.
                const text = tail + chunk.toString('utf8');
                if (text.includes(faults.dropOnOutput)) return drop();
                tail = text.slice(-faults.dropOnOutput.length);
              }
              stream.write(chunk);
            });
            // Not pipe(): its automatic end() would close the channel before exit-status is sent.
            child.stderr.on('data', (chunk: Buffer) => stream.stderr.write(chunk));
            if (faults.dropAfterMs !== undefined) later(faults.dropAfterMs, drop);

            child.on('error', (err) => {
              stream.stderr.write(`fake sshd: ${err.message}\n`);
              finish(127, null);
            });
            child.on('close', (code, signal) => finish(code, signal));
            let finished = false;
            function finish(code: number | null, signal: NodeJS.Signals | null) {
              if (finished) return;
              finished = true;
              procs.delete(child);
              mine.delete(child);
              rec.end = Date.now();
              rec.exitCode = code;
              if (!faults.noExitStatus) {
                if (code !== null) stream.exit(code);
                else if (signal) stream.exit(signal.replace(/^SIG/, ''), false, '');
              }
              stream.end();
            }
          };
          if (faults.delayMs) later(faults.delayMs, run);
          else run();
        });
      });
    });

    client.on('close', () => {
      for (const p of mine) killGroup(p);
    });
  });

  // Our own listener feeds ssh2 via injectSocket, so we can count raw TCP
  // connections and hold each socket to destroy it (faults, close()).
  const tcp = createServer((socket) => {
    connections++;
    sockets.add(socket);
    if (socket.remotePort !== undefined) byRemotePort.set(socket.remotePort, socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      sockets.delete(socket);
      if (socket.remotePort !== undefined) byRemotePort.delete(socket.remotePort);
    });
    if (closing) return void socket.destroy();
    if (faults.silent) return;
    ssh.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, '127.0.0.1', () => resolve());
  });
  // Live connections keep node alive by themselves; the idle listener must not.
  tcp.unref();
  const port = (tcp.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    hostKeyLine,
    knownHostsLine: `[127.0.0.1]:${port} ${hostKeyLine}`,
    execs,
    get connections() {
      return connections;
    },
    get channels() {
      return channels;
    },
    get agentForwardRequests() {
      return agentForwardRequests;
    },
    async close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const p of procs) killGroup(p);
      // net.Server.close() waits for open connections, so destroy them first.
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
