// N in-process SSH hosts (each with its own home), one authorized key, a fake
// local HOME for wd, a known_hosts file and a git origin; writes deploy.yml
// for them and runs the built wd against it. closeFixtures() stops everything.
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeKey, startAgent, type Agent, type KeyOptions, type KeyPair } from './keys.js';
import { makeOrigin, type Origin } from './git.js';
import { startSshServer, type SshFaults, type SshServer } from './ssh-server.js';
import { tmpDir } from './tmp.js';
import { runWd, type WdRun } from './wd.js';

/** Kept for the tests that import it from here: makeKey already retries bad keys. */
export const sshKey = (opts: KeyOptions = {}): KeyPair => makeKey(opts);

export interface FakeHost {
  server: SshServer;
  home: string;
  /** As written in `domain`: root@127.0.0.1:PORT */
  name: string;
}

export interface DomainEntry {
  name: string;
  ssh_options?: string[];
  roles?: string[];
}

export interface SshFixture {
  key: KeyPair;
  /** HOME for every wd run, so this machine's ~/.ssh is never read. */
  home: string;
  knownHosts: string;
  origin: Origin;
  hosts: FakeHost[];
  /** -i KEY, UserKnownHostsFile=knownHosts, StrictHostKeyChecking=yes. */
  sshOptions: string[];
  /** Write deploy.yml (environment prod); entries default to every host with sshOptions. */
  config(keys?: Record<string, unknown>, entries?: DomainEntry[]): string;
  /** runWd with HOME=fixture home, no agent; extra args after the config path. */
  wd(args: string[], env?: NodeJS.ProcessEnv): Promise<WdRun>;
  agent(keys: KeyPair[]): Promise<Agent>;
}

export interface FixtureOptions {
  hosts?: number;
  /** Faults of host i. */
  faults?: Array<SshFaults | undefined>;
  /** Pre-fill known_hosts with every host's key (default true). */
  trust?: boolean;
  /** Extra files for the origin's first commit (*.sh are executable). */
  files?: Record<string, string>;
  /** Public keys the hosts accept (default: the fixture key). */
  authorizedKeys?: string[];
}

const open: Array<{ close(): Promise<void> } | Agent> = [];

export async function closeFixtures(): Promise<void> {
  for (const s of open.splice(0)) await ('close' in s ? s.close() : s.stop());
}

export async function sshFixture(o: FixtureOptions = {}): Promise<SshFixture> {
  const key = sshKey();
  const home = tmpDir('wd-localhome-');
  const knownHosts = join(tmpDir('wd-kh-'), 'known_hosts');
  const origin = makeOrigin('origin', o.files ?? {});
  const hosts: FakeHost[] = [];
  for (let i = 0; i < (o.hosts ?? 1); i++) {
    const h = tmpDir('wd-host-');
    const faults = o.faults?.[i];
    const server = await startSshServer({
      home: h,
      hostKey: sshKey().privateKey,
      authorizedKeys: o.authorizedKeys ?? [key.publicKey],
      ...(faults ? { faults } : {}),
    });
    open.push(server);
    hosts.push({ server, home: h, name: `root@127.0.0.1:${server.port}` });
  }
  if (o.trust ?? true) writeFileSync(knownHosts, hosts.map((h) => h.server.knownHostsLine + '\n').join(''));
  const sshOptions = ['-i', key.privatePath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'];
  const dir = tmpDir('wd-cfg-');
  const file = join(dir, 'deploy.yml');
  return {
    key,
    home,
    knownHosts,
    origin,
    hosts,
    sshOptions,
    config(keys = {}, entries = hosts.map((h) => ({ name: h.name, ssh_options: sshOptions }))) {
      // JSON is YAML, and it spares us quoting paths.
      const prod = { domain: entries, deploy_to: '~/app', repository: origin.url, branch: 'main', ...keys };
      writeFileSync(file, JSON.stringify({ prod }, null, 2) + '\n');
      return file;
    },
    wd(args, env = {}) {
      return runWd([...args, '-p', file], { cwd: dir, env: { HOME: home, SSH_AUTH_SOCK: '', ...env }, timeoutMs: 30000 });
    },
    async agent(keys) {
      const a = await startAgent(keys);
      open.push(a);
      return a;
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Write a file under the fixture's fake HOME (e.g. .ssh/config), creating directories. */
export function writeHome(fx: SshFixture, rel: string, text: string, mode = 0o600): string {
  const path = join(fx.home, rel);
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode });
  return path;
}
