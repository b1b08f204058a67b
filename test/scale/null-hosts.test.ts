// 100 hosts in one run, against the null host (bench/lib/null-host.mjs): real
// SSH, every host answering wd's own script at once. What a fleet-sized run
// must show: every host's exact verdict, one connection per host, every script
// arriving whole (its marker token checked by the host), exit 0, and nothing
// on stderr but progress lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeKey } from '../helpers/keys.js';
import { startNullHost, type NullHost } from '../helpers/null-host.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

const N = 100;
let host: NullHost | undefined;

test.after(async () => {
  await host?.stop();
  await cleanup();
});

test(`deploy to ${N} hosts: ${N} exact results, one connection each, exit 0`, async () => {
  const key = makeKey();
  host = await startNullHost([key.publicKey]);
  const dir = tmpDir('wd-scale-');
  const home = join(dir, 'home');
  mkdirSync(home);
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${host.knownHostsLine}\n`);
  const names = Array.from({ length: N }, (_, i) => `h${i + 1}@127.0.0.1:${host!.port}`);
  const config = join(dir, 'deploy.yml');
  writeFileSync(
    config,
    [
      'prod:',
      `  ssh_options: ${JSON.stringify(['-i', key.privatePath, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes'])}`,
      '  deploy_to: /srv/app',
      '  repository: https://example.invalid/app.git',
      '  branch: main',
      '  domain:',
      ...names.map((n) => `    - ${n}`),
      '',
    ].join('\n'),
  );

  const r = await runWd(['deploy', 'prod', '-p', config], { cwd: dir, env: { HOME: home, SSH_AUTH_SOCK: '' }, timeoutMs: 120_000 });
  const all = `\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.is(r.code, 0, all);
  const short = host.revision.slice(0, 7);
  const expected = ['Results:', ...names.map((n) => `  ${n} => succeeded ${short} (T)`), `Total: ${N} deployments, ${N} successes, 0 failures.`, ''].join('\n');
  assert.is(r.stdout.replace(/\(\d+\.\ds\)$/gm, '(T)'), expected, all);
  // A non-terminal stderr gets a progress line now and then; anything else (a warning) is a defect.
  assert.is(
    r.stderr
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('still running: '))
      .join('\n'),
    '',
    all,
  );
  assert.equal(await host.stats(), {
    connections: N,
    authenticated: N,
    execs: N,
    scripts: N,
    badScripts: 0,
    users: N,
    perUserMin: 1,
    perUserMax: 1,
  });
});

test.run();
