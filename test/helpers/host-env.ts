// Fake hosts whose shell environment differs from this machine's: a PATH
// without rsync or rake, or with a stand-in `sudo`. They join an
// SshFixture (same key, same known_hosts), so fx.config() can list them.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { startSshServer, type SshServer } from './ssh-server.js';
import { closeFixtures, sshKey, type FakeHost, type SshFixture } from './ssh-fixture.js';
import { tmpDir } from './tmp.js';

const servers: SshServer[] = [];

export async function closeHostEnvs(): Promise<void> {
  for (const s of servers.splice(0)) await s.close();
}

/** One more in-process host for fx, its bash started with `env` on top of the usual HOME/PATH. */
export async function hostWithEnv(fx: SshFixture, env: Record<string, string>): Promise<FakeHost> {
  const home = tmpDir('wd-host-');
  const server = await startSshServer({ home, hostKey: sshKey().privateKey, authorizedKeys: [fx.key.publicKey], env });
  servers.push(server);
  appendFileSync(fx.knownHosts, server.knownHostsLine + '\n');
  return { server, home, name: `root@127.0.0.1:${server.port}` };
}

/** A one-directory PATH holding every command of this PATH except `names`. */
export function pathWithout(names: string[]): string {
  const bin = tmpDir('wd-bin-');
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      const link = join(bin, e);
      if (names.includes(e) || existsSync(link)) continue;
      try {
        if (statSync(join(dir, e)).isFile()) symlinkSync(join(dir, e), link);
      } catch {
        /* dangling or unreadable: not a command we need */
      }
    }
  }
  return bin;
}

/** A directory of stand-in commands, each logging its arguments to $HOME/<name>.log. */
export function loggingCommands(names: string[]): string {
  const bin = tmpDir('wd-fakebin-');
  for (const n of names) writeFileSync(join(bin, n), `#!/bin/sh\necho "$*" >>"$HOME/${n}.log"\n`, { mode: 0o755 });
  return bin;
}

/** Does `check` (a shell command) succeed on this machine? */
export function works(check: string): boolean {
  try {
    execFileSync('bash', ['-c', check], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Banner for a suite skipped because a tool is missing (it fails instead under CI=true). */
export function missingBanner(what: string, install: string): string {
  const bar = '!'.repeat(78);
  return `\n${bar}\n!! ${what} is missing: these tests cannot run.\n!! Install it: ${install}\n${bar}\n`;
}

/** Stops the SshFixture hosts and the hosts added with hostWithEnv (an after.each hook). */
export async function closeAllHosts(): Promise<void> {
  await closeFixtures();
  await closeHostEnvs();
}
