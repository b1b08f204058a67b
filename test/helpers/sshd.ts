// A throwaway real OpenSSH server on 127.0.0.1, one listening port per fake
// "host". Everyone logs in as the test user (root), so per-host homes are
// faked: `Match LocalPort N` + `SetEnv HOME=<home>` gives each port its own
// HOME, and a ForceCommand cds there first so the login directory matches
// too (sshd itself always chdirs to the passwd home, SetEnv does not change that).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { tmpDir, reapOnExit } from './tmp.js';

export const SSHD_PATH = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 10_000;

export interface SshdOptions {
  /** One home directory per fake host; each gets its own port. */
  homes: string[];
  /** Public key lines accepted for every host. */
  authorizedKeys: string[];
  /** Extra global sshd_config lines (placed before the Match blocks). */
  extraConfig?: string;
}

export interface SshdHost {
  port: number;
  home: string;
}

export interface Sshd {
  host: '127.0.0.1';
  hosts: SshdHost[];
  /** "ssh-ed25519 AAAA..." */
  hostKeyLine: string;
  /** "[127.0.0.1]:PORT ssh-ed25519 AAAA..." */
  knownHostsLine(port: number): string;
  /** known_hosts content covering every host. */
  knownHosts(): string;
  /** "Connection from" lines in the sshd log, optionally only those to `port`. */
  connectionsFromLog(port?: number): number;
  logPath: string;
  dir: string;
  stop(): Promise<void>;
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD_PATH);
}

/** Reserve distinct free ports by holding them all open at once, then release them. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Resolves true once `port` answers with an SSH banner. */
function hasBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('SSH-2.0')) done(true);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: START_TIMEOUT_MS }, (err, _o, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    );
  });
}

// Runs as `$SHELL -c <this>` with SSH_ORIGINAL_COMMAND set to what the client
// asked for (unset for an interactive login).
const FORCE_COMMAND = 'cd "$HOME" || exit 1; if [ -n "${SSH_ORIGINAL_COMMAND+x}" ]; then exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"; else exec "$SHELL" -l; fi';

export async function startSshd(opts: SshdOptions): Promise<Sshd> {
  if (!sshdAvailable()) {
    throw new Error(`sshd not found at ${SSHD_PATH}: apt-get install -y openssh-server`);
  }
  if (opts.homes.length === 0) throw new Error('startSshd: homes must name at least one host home');
  const dir = tmpDir('wd-sshd-');
  const keyPath = join(dir, 'ssh_host_ed25519_key');
  const authPath = join(dir, 'authorized_keys');
  const configPath = join(dir, 'sshd_config');
  const logPath = join(dir, 'sshd.log');
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'wd-test-host', '-f', keyPath]);
  const hostKeyLine = readFileSync(keyPath + '.pub', 'utf8')
    .trim()
    .split(/\s+/)
    .slice(0, 2)
    .join(' ');
  writeFileSync(authPath, opts.authorizedKeys.map((k) => k.trim() + '\n').join(''), { mode: 0o600 });

  let lastError = '';
  // A port found free can be taken before sshd binds it; retry with new ports.
  for (let attempt = 1; attempt <= 5; attempt++) {
    const ports = await freePorts(opts.homes.length);
    const hosts = ports.map((port, i) => ({ port, home: opts.homes[i] as string }));
    const q = (s: string) => `"${s}"`;
    writeFileSync(
      configPath,
      [
        ...ports.map((p) => `ListenAddress 127.0.0.1:${p}`),
        `HostKey ${keyPath}`,
        'PidFile none',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AuthorizedKeysFile ${authPath}`,
        'LogLevel VERBOSE',
        'PrintMotd no',
        'PrintLastLog no',
        'UseDNS no',
        // Parallel-host tests open many connections at once; don't throttle them.
        'MaxStartups 200',
        'MaxSessions 50',
        'AllowAgentForwarding yes',
        'AllowTcpForwarding yes',
        // An external sftp-server (not internal-sftp) still works through the ForceCommand.
        'Subsystem sftp /usr/lib/openssh/sftp-server',
        `ForceCommand ${FORCE_COMMAND}`,
        opts.extraConfig ?? '',
        ...hosts.flatMap((h) => [`Match LocalPort ${h.port}`, `  SetEnv ${q(`HOME=${h.home}`)}`]),
        '',
      ].join('\n'),
    );
    writeFileSync(logPath, '');

    const errFd = openSync(join(dir, 'sshd.stderr'), 'a');
    // Absolute path: sshd re-executes itself and refuses a relative argv[0].
    const child = spawn(SSHD_PATH, ['-D', '-f', configPath, '-E', logPath], { stdio: ['ignore', 'ignore', errFd] });
    closeSync(errFd);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not spawn ${SSHD_PATH}`);
    child.unref(); // a forgotten stop() must not hang the test run...
    const unreap = reapOnExit(pid); // ...nor leave sshd running after it
    let exited = false;
    const exitP = new Promise<void>((r) =>
      child.once('exit', () => {
        exited = true;
        r();
      }),
    );
    child.once('error', () => {
      exited = true;
    });

    const stop = async () => {
      if (!exited) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exitP;
      clearTimeout(t);
      unreap();
    };
    const log = () => {
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
      return (read(logPath) + read(join(dir, 'sshd.stderr'))).trim();
    };

    const deadline = Date.now() + START_TIMEOUT_MS;
    const pending = new Set(ports);
    while (pending.size && !exited && Date.now() < deadline) {
      for (const p of [...pending]) if (await hasBanner(p)) pending.delete(p);
      if (pending.size) await new Promise((r) => setTimeout(r, 50));
    }
    // A failed bind on one of several ListenAddresses only logs, so check the log too.
    if (!pending.size && !exited && !/Bind to port \d+ .* failed/.test(log())) {
      // Our banner probes are connections too; count only what comes after them.
      const probesEnd = readFileSync(logPath).length;
      return {
        host: '127.0.0.1',
        hosts,
        hostKeyLine,
        knownHostsLine: (port) => `[127.0.0.1]:${port} ${hostKeyLine}`,
        knownHosts: () => hosts.map((h) => `[127.0.0.1]:${h.port} ${hostKeyLine}\n`).join(''),
        connectionsFromLog: (port) => {
          const text = readFileSync(logPath).subarray(probesEnd).toString('utf8');
          // 'Connection from 127.0.0.1 port 41234 on 127.0.0.1 port 2222 rdomain ""'
          const local = [...text.matchAll(/Connection from \S+ port \d+ on \S+ port (\d+)/g)].map((m) => Number(m[1]));
          return port === undefined ? local.length : local.filter((p) => p === port).length;
        },
        logPath,
        dir,
        stop,
      };
    }
    lastError = log() || (exited ? 'sshd exited' : 'timed out waiting for the SSH banner');
    await stop();
    if (!/Address already in use|Cannot bind/i.test(lastError)) break;
  }
  throw new Error(`sshd failed to start (config ${configPath}):\n${lastError}`);
}
