// The library API as an embedding tool uses it: results as data, lines by callback.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, deploy, loadEnv, UsageError } from '../src/index.js';
import { closeFixtures, sshFixture } from './helpers/ssh-fixture.js';
import { makeOrigin } from './helpers/git.js';
import { cleanup, tmpDir } from './helpers/tmp.js';

test.after(async () => {
  await closeFixtures();
  cleanup();
});

test('loadEnv + deploy: setup then deploy a local environment, lines by callback, results as data', async () => {
  const origin = makeOrigin('origin', { 'post.sh': 'echo "deployed $WD_REVISION"\n' });
  const dir = tmpDir('wd-lib-');
  writeFileSync(join(dir, 'deploy.yml'), `prod:\n  deploy_to: app\n  repository: ${origin.url}\n  branch: main\n  post_deploy_script: post.sh\n`);
  const env = await loadEnv({ env: 'prod', cwd: dir });
  assert.is(env.environment, 'prod');
  const lines: string[] = [];
  const setup = await deploy(env, { action: 'setup', cwd: dir, onLine: (h, l, s) => lines.push(`${h} ${s} ${l}`) });
  assert.is(setup.length, 1);
  assert.is(setup[0]!.status, 'succeeded', setup[0]!.reason);
  const results = await deploy(env, { cwd: dir, onLine: (h, l, s) => lines.push(`${h} ${s} ${l}`) });
  assert.is(results[0]!.status, 'succeeded');
  assert.is(results[0]!.revision, origin.head('main'));
  assert.ok(lines.includes(`local stdout deployed ${origin.head('main')}`), lines.join('\n'));
});

test('loadEnv rejects a bad config with a ConfigError', async () => {
  const dir = tmpDir('wd-lib-');
  writeFileSync(join(dir, 'deploy.yml'), 'prod:\n  deploy_to: app\n');
  try {
    await loadEnv({ env: 'prod', cwd: dir });
    assert.unreachable('expected a ConfigError');
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, "missing required key 'repository'");
  }
});

test("deploy: the environment's connect_timeout applies as it does for the CLI; a flag-like rollbackTo is refused before any host", async () => {
  const fx = await sshFixture({ faults: [{ silent: true }] });
  const h = fx.hosts[0]!;
  const file = fx.config({ connect_timeout: 1 });
  const env = await loadEnv({ path: file, env: 'prod' });
  const processEnv = { HOME: fx.home, SSH_AUTH_SOCK: '' };
  const [r] = await deploy(env, { processEnv, onLine: () => {} });
  assert.is(r!.status, 'failed');
  assert.is(
    r!.reason,
    `timed out after 1s connecting to 127.0.0.1:${h.server.port}; is the host up? (raise it with --connect-timeout N or connect_timeout in deploy.yml)`,
  );
  try {
    await deploy(env, { action: 'rollback', rollbackTo: '--upload-pack=x', processEnv });
    assert.unreachable('expected a UsageError');
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, "rollbackTo '--upload-pack=x' is not a revision");
  }
  assert.is(h.server.channels, 0);
});

test.run();
