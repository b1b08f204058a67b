// docs/recipes.md (a) and (b), run as written: the marked files are read out
// of the page, committed with a tiny Python package, and deployed with wd to
// an in-process SSH host whose `sudo` only logs what it was asked to do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { sshdGate } from './helpers/e2e-fixture.js';
import { closeAllHosts, hostWithEnv, loggingCommands, missingBanner, works } from './helpers/host-env.js';
import { ok, scriptLines, show } from './helpers/output.js';
import { sshFixture, type FakeHost, type SshFixture } from './helpers/ssh-fixture.js';
import { cleanup } from './helpers/tmp.js';
import type { WdRun } from './helpers/wd.js';

test.after.each(closeAllHosts);
test.after(cleanup);

const RECIPES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'recipes.md');

/** The blocks of recipes.md marked `<!-- file: NAME -->`, by NAME. */
function recipeFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const m of readFileSync(RECIPES, 'utf8').matchAll(/^<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)^```$/gm)) files[m[1]!] = m[2]!;
  return files;
}

const PY_INSTALL = 'apt-get install -y python3 python3-setuptools python3-venv';
const gate = sshdGate(works("python3 -c 'import setuptools, ensurepip, venv'"), process.env);
if (gate === 'skip') console.error(`${missingBanner('python3 with setuptools and venv', PY_INSTALL)}!! CI is not 'true': skipping the Python recipe tests.\n`);
const t = gate === 'skip' ? test.skip : test;

const said = (r: WdRun, host: FakeHost): string[] => scriptLines(r.stdout, host.name);

interface Recipe {
  fx: SshFixture;
  host: FakeHost;
  /** Commit a new version of the package to the release branch. */
  release(version: string): void;
}

/** The package and the recipe's scripts in an origin (branch release), one host, deploy.yml from the page. */
async function recipe(name: 'a' | 'b', settings: (home: string) => Record<string, string>): Promise<Recipe> {
  assert.is(gate, 'run', missingBanner('python3 with setuptools and venv', PY_INSTALL));
  const doc = recipeFiles();
  const pkg = (version: string): Record<string, string> => {
    const setup = doc['setup.py']!.replace('version="1.0"', `version="${version}"`);
    assert.ok(setup.includes(`version="${version}"`), 'setup.py in recipes.md sets version="1.0"');
    return { 'setup.py': setup, 'hello/__init__.py': `__version__ = "${version}"\n` };
  };
  const scripts = Object.fromEntries(Object.entries(doc).filter(([f]) => f.startsWith('deploy/')));
  const fx = await sshFixture({ hosts: 0, files: { ...pkg('1.0'), '.gitignore': doc['.gitignore']!, ...scripts } });
  fx.origin.commit('release', {}, 'release branch');
  // The host's PATH starts with a `sudo` that logs to ~/sudo.log.
  const host = await hostWithEnv(fx, { PATH: `${loggingCommands(['sudo'])}:${process.env['PATH'] ?? '/usr/bin:/bin'}` });
  const env = (yaml.load(doc[`${name}/deploy.yml`]!) as { production: Record<string, unknown> }).production;
  const { domain: _domain, repository: _repository, rake_env: rakeEnv, ...keys } = env;
  fx.config({ ...keys, deploy_to: '~/hello/app', rake_env: { ...(rakeEnv as Record<string, string>), ...settings(host.home) } }, [
    { name: host.name, ssh_options: fx.sshOptions },
  ]);
  return { fx, host, release: (version) => void fx.origin.commit('release', pkg(version), `hello ${version}`) };
}

/** hello.__version__ as the given python sees it, from a directory that is not the checkout. */
function helloVersion(python: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(python, ['-c', 'import hello; print(hello.__version__)'], { cwd: '/', env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
}

t('recipe (a): setup makes a venv and installs; deploy reinstalls and restarts only when the code changed', async () => {
  const { fx, host, release } = await recipe('a', () => ({}));
  const venvPython = join(host.home, 'hello', 'app', '.venv', 'bin', 'python');
  const sudoLog = join(host.home, 'sudo.log');

  let r = await fx.wd(['setup', 'prod']);
  ok(r);
  assert.ok(said(r, host).includes('installed hello 1.0'), show(r));
  assert.is(helloVersion(venvPython), '1.0');
  assert.not.ok(existsSync(sudoLog), 'setup restarts nothing');

  release('2.0');
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.ok(said(r, host).includes('installed hello 2.0, restarted hello-web'), show(r));
  assert.is(helloVersion(venvPython), '2.0');
  assert.is(readFileSync(sudoLog, 'utf8'), 'systemctl restart hello-web\n');

  fx.origin.commit('release', { README: 'docs only\n' });
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.equal(said(r, host), ['no Python code changed: nothing to install']);
  assert.is(readFileSync(sudoLog, 'utf8'), 'systemctl restart hello-web\n', 'no restart without a code change');
  assert.is(helloVersion(venvPython), '2.0');
});

t('recipe (b): each deploy builds an egg, installs it into SITE_DIR/<version> and switches current', async () => {
  const { fx, host, release } = await recipe('b', (home) => ({ SITE_DIR: join(home, 'hello', 'site') }));
  const site = join(host.home, 'hello', 'site');
  const current = { PYTHONPATH: join(site, 'current') };

  let r = await fx.wd(['setup', 'prod']);
  ok(r);
  assert.match(said(r, host).join('\n'), /^installed hello 1\.0 from hello-1\.0-py3\.\d+\.egg$/m);
  assert.is(helloVersion('python3', current), '1.0');

  release('2.0');
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.match(said(r, host).join('\n'), /^installed hello 2\.0 from hello-2\.0-py3\.\d+\.egg$/m);
  assert.is(helloVersion('python3', current), '2.0');
  assert.is(helloVersion('python3', { PYTHONPATH: join(site, '1.0') }), '1.0', 'the previous version stays installed');
});

test.run();
