// whiskey_disk 0.6.24 behaviours that wd missed silently, each named after the
// whiskey_disk spec or source it mirrors (spec/integration/*, lib/whiskey_disk.rb).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeOrigin } from '../helpers/git.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

test.after(cleanup);

function project(extra: string, files: Record<string, string> = {}) {
  const origin = makeOrigin('origin', files);
  const dir = tmpDir('wd-wdspec-');
  writeFileSync(join(dir, 'deploy.yml'), `prod:\n  deploy_to: app\n  repository: ${origin.url}\n  branch: main\n${extra}`);
  return { origin, dir, app: join(dir, 'app') };
}
const hasRake = (() => {
  try {
    execFileSync('rake', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('lib/whiskey_disk.rb#flush: --only matching no host reports "No deployments to report." and exits 0', async () => {
  const { dir } = project('');
  const r = await runWd(['deploy', 'prod', '--only', 'db9.example.com'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'No deployments to report.\n');
  assert.match(r.stderr, "--only 'db9.example.com' matches no host");
});

test('spec/integration/post_script_spec: "Running post script..." and "Rsyncing configuration..." progress lines', async () => {
  const cfg = makeOrigin('config', { 'prod/settings.yml': 'a: 1\n' });
  const { dir } = project(`  post_setup_script: post.sh\n  deploy_config_to: cfg\n  config_repository: ${cfg.url}\n  config_branch: main\n`, {
    'post.sh': 'echo hello\n',
  });
  const r = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('local | '));
  assert.equal(lines, ['local | Rsyncing configuration...', 'local | Running post script...', 'local | hello']);
  const q = await runWd(['setup', 'prod', '-q'], { cwd: dir });
  assert.not.match(q.stdout, 'Running post script');
});

test('spec/integration/setup_spec: setup on an existing checkout still fetches, checks out the branch and runs the post script', async () => {
  const { dir, app, origin } = project('  post_setup_script: post.sh\n', { 'post.sh': 'echo "post-setup at $(git rev-parse --short HEAD)"\n' });
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0);
  const next = origin.commit('main', { 'app.txt': 'v2\n' });
  const r = await runWd(['setup', 'prod'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `local | Repository already cloned to [${app}].  Skipping.\n`);
  assert.match(r.stdout, `local | post-setup at ${next.slice(0, 7)}\n`);
  assert.is(readFileSync(join(app, 'app.txt'), 'utf8'), 'v2\n');
});

test('spec/integration/rake_spec: a Rakefile that fails to load fails the host; no Rakefile and no such task skip', async () => {
  if (!hasRake) {
    if (process.env['CI'] === 'true') assert.unreachable('rake is not installed (.ci/run installs it)');
    console.warn('WARNING: rake not installed; Rakefile test skipped');
    return;
  }
  const { dir, origin } = project('', { Rakefile: 'task :other do; end\n' });
  assert.is((await runWd(['setup', 'prod'], { cwd: dir })).code, 0, 'a Rakefile without the task skips');
  origin.commit('main', { Rakefile: "require 'no_such_gem_for_wd'\n" });
  const r = await runWd(['deploy', 'prod'], { cwd: dir });
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /local => failed: rake could not load the Rakefile in \S+ \(rake's message is above\)/);
  assert.match(r.stderr, 'no_such_gem_for_wd');
  assert.ok(existsSync(join(dir, 'app', 'Rakefile')));
});

test.run();
