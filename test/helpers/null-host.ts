// Drives bench/lib/null-host.mjs (the one copy of the null host, shared with
// `npm run bench`) from a test: a separate process serving real SSH on
// loopback, where every username is a host that answers wd's script at once
// as a successful deploy would. See that file for what it checks.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEd25519 } from './keys.js';
import { reapOnExit, tmpDir } from './tmp.js';

/** build/test/helpers → the project root. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const NULL_HOST = join(ROOT, 'bench', 'lib', 'null-host.mjs');

export interface NullHostStats {
  connections: number;
  authenticated: number;
  execs: number;
  scripts: number;
  badScripts: number;
  users: number;
  perUserMin: number;
  perUserMax: number;
}

export interface NullHost {
  port: number;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA...` */
  knownHostsLine: string;
  /** The revision every null host reports as deployed. */
  revision: string;
  stats(): Promise<NullHostStats>;
  stop(): Promise<void>;
}

export async function startNullHost(authorizedKeys: string[]): Promise<NullHost> {
  const dir = tmpDir('wd-nullhost-');
  const hostKey = join(dir, 'host_key');
  writeFileSync(hostKey, generateEd25519().private, { mode: 0o600 });
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, `${authorizedKeys.join('\n')}\n`);
  const child = spawn(process.execPath, [NULL_HOST, '--host-key', hostKey, '--authorized-keys', authorized], { stdio: ['pipe', 'pipe', 'inherit'] });
  const unreap = child.pid !== undefined ? reapOnExit(child.pid) : () => {};
  const waiting: Array<(line: string) => void> = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = await Promise.race([
    new Promise<string>((resolve) => waiting.push(resolve)),
    exited.then(() => {
      throw new Error(`${NULL_HOST} exited before it was ready`);
    }),
  ]);
  const { port, hostKey: hostKeyLine } = JSON.parse(ready) as { port: number; hostKey: string };
  return {
    port,
    knownHostsLine: `[127.0.0.1]:${port} ${hostKeyLine}`,
    revision: 'a'.repeat(40),
    stats: () =>
      new Promise((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as NullHostStats));
        child.stdin.write('stats\n');
      }),
    stop: async () => {
      child.stdin.end();
      await exited;
      unreap();
    },
  };
}
