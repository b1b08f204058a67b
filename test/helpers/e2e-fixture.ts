// The end-to-end world: one real sshd serving several fake hosts (one home
// each), a bare origin, a generated key, a pinned known_hosts and a fake local
// HOME, plus deploy.yml writing and result assertions shared by e2e tests.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import yaml from 'js-yaml';
import { tmpDir } from './tmp.js';
import type { KeyPair } from './keys.js';
import { closedPort, sshKey } from './ssh-fixture.js';
import { startSshd, sshdAvailable, SSHD_PATH, type Sshd } from './sshd.js';
import { makeOrigin, type Origin } from './git.js';
import { runWd, type WdRun } from './wd.js';

/** What to do about the sshd-based suite on this machine. */
export function sshdGate(available: boolean, env: NodeJS.ProcessEnv): 'run' | 'fail' | 'skip' {
  if (available) return 'run';
  return env['CI'] === 'true' ? 'fail' : 'skip';
}

export const SSHD_MISSING =
  `\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
  `!! ${SSHD_PATH} is missing: the e2e suite (real OpenSSH) cannot run.\n` +
  `!! Install it: apt-get install -y openssh-server\n` +
  `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`;

export function currentSshdGate(): 'run' | 'fail' | 'skip' {
  return sshdGate(sshdAvailable(), process.env);
}

export interface FakeHost {
  /** As written in deploy.yml and printed by wd: root@127.0.0.1:PORT. */
  name: string;
  port: number;
  home: string;
  roles: string[];
}

export interface World {
  sshd: Sshd;
  origin: Origin;
  key: KeyPair;
  knownHosts: string;
  /** wd's HOME: nothing of this machine's ~/.ssh is used. */
  localHome: string;
  /** wd's working directory. */
  cwd: string;
  hosts: FakeHost[];
  /** A host on a port nobody listens on. */
  down: FakeHost;
  /** Write deploy.yml with environment `prod` (hosts default to all live ones); returns its path. */
  config(env: Record<string, unknown>, hosts?: FakeHost[]): string;
  wd(args: string[]): Promise<WdRun>;
  stop(): Promise<void>;
}

export async function startWorld(roles: string[][], initial: Record<string, string> = {}): Promise<World> {
  const key = sshKey();
  const homes = roles.map((_, i) => tmpDir(`wd-e2e-host${i}-`));
  const sshd = await startSshd({ homes, authorizedKeys: [key.publicKey] });
  const base = tmpDir('wd-e2e-local-');
  const localHome = join(base, 'home');
  const cwd = join(base, 'cwd');
  mkdirSync(localHome);
  mkdirSync(cwd);
  const knownHosts = join(base, 'known_hosts');
  writeFileSync(knownHosts, sshd.knownHosts());
  const origin = makeOrigin('origin', initial);
  const hosts = sshd.hosts.map((h, i) => ({ name: `root@127.0.0.1:${h.port}`, port: h.port, home: h.home, roles: roles[i] ?? [] }));
  const dp = await closedPort();
  const down = { name: `root@127.0.0.1:${dp}`, port: dp, home: tmpDir('wd-e2e-down-'), roles: ['web'] };
  const sshOptions = ['-i', key.privatePath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'];
  let n = 0;
  return {
    sshd,
    origin,
    key,
    knownHosts,
    localHome,
    cwd,
    hosts,
    down,
    config(env, list = hosts) {
      const file = join(base, `deploy-${++n}.yml`);
      const prod = {
        domain: list.map((h) => ({ name: h.name, roles: h.roles, ssh_options: sshOptions })),
        repository: origin.url,
        branch: 'main',
        ...env,
      };
      writeFileSync(file, yaml.dump({ prod }));
      return file;
    },
    wd: (args) => runWd(args, { cwd, env: { HOME: localHome, SSH_AUTH_SOCK: '' }, timeoutMs: 30_000 }),
    stop: () => sshd.stop(),
  };
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A line wd printed for a host: "NAME | text" (equal-length names, so no padding). */
export function hostLine(host: FakeHost, text: string): string {
  return `${host.name} | ${text}`;
}

export function assertLine(out: string, line: string, msg = ''): void {
  assert.ok(out.split('\n').includes(line), `expected the line ${JSON.stringify(line)}${msg ? ` (${msg})` : ''} in:\n${out}`);
}

/** The Results: block: each host's verdict line, then the Total: line. */
export function assertSummary(r: WdRun, ok: FakeHost[], failed: Array<[FakeHost, string]> = []): void {
  const out = r.stdout;
  const all = `\nstdout:\n${out}\nstderr:\n${r.stderr}`;
  assert.match(out, /^Results:$/m, all);
  for (const h of ok) assert.match(out, new RegExp(`^  ${esc(h.name)} => succeeded [0-9a-f]{7} \\(\\d+\\.\\ds\\)$`, 'm'), all);
  for (const [h, reason] of failed) assert.match(out, new RegExp(`^  ${esc(h.name)} => failed: ${esc(reason)} \\(\\d+\\.\\ds\\)$`, 'm'), all);
  const total = ok.length + failed.length;
  const p = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  assertLine(out, `Total: ${p(total, 'deployment', 'deployments')}, ${p(ok.length, 'success', 'successes')}, ${p(failed.length, 'failure', 'failures')}.`, all);
  assert.is(r.code, failed.length ? 1 : 0, `exit code${all}`);
}
