import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branchProblem, candidates, configFromSource, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { cleanup, tmpDir } from './helpers/tmp.js';

test.after(cleanup);

const cfg = (text: string, env?: string, project?: string) => configFromSource({ name: 'deploy.yml', text }, project, env);
const fails = (text: string, env: string | undefined, re: RegExp, project?: string): void => {
  try {
    cfg(text, env, project);
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${re} for:\n${text}`);
};
const BASE = 'deploy_to: /var/www/app\n  repository: git@example.com:app.git\n';

test('whiskey_disk defaults: branch master, local when no domain', () => {
  const c = cfg(`prod:\n  ${BASE}`, 'prod');
  assert.is(c.branch, 'master');
  assert.is(c.environment, 'prod');
  assert.equal(c.hosts, [{ name: 'local', roles: [], sshOptions: [], local: true }]);
  assert.equal(c.rakeEnv, {});
  assert.is(c.configRepo, undefined);
});

test('domain as a string, a list, and maps with roles and ssh_options', () => {
  assert.equal(cfg(`p:\n  domain: deploy@web1\n  ${BASE}`, 'p').hosts.map((h) => h.name), ['deploy@web1']);
  const c = cfg(`p:\n  domain:\n    - deploy@web1:2222\n    - name: deploy@db1\n      roles: [db, '', web]\n      ssh_options: ["-p 2200", "", "-A"]\n    - name: web3\n      roles: app\n  ssh_options: -o ConnectTimeout=5\n  ${BASE}`, 'p');
  assert.equal(c.hosts, [
    { name: 'deploy@web1:2222', roles: [], sshOptions: ['-o', 'ConnectTimeout=5'], local: false },
    { name: 'deploy@db1', roles: ['db', 'web'], sshOptions: ['-o', 'ConnectTimeout=5', '-p', '2200', '-A'], local: false },
    { name: 'web3', roles: ['app'], sshOptions: ['-o', 'ConnectTimeout=5'], local: false },
  ]);
});

test("'local' and empty domain entries deploy locally", () => {
  assert.is(cfg(`p:\n  domain: local\n  ${BASE}`, 'p').hosts[0]!.local, true);
  assert.is(cfg(`p:\n  domain: ['']\n  ${BASE}`, 'p').hosts[0]!.local, true);
  assert.is(cfg(`p:\n  domain:\n    - name: local\n      roles: [web]\n  ${BASE}`, 'p').hosts[0]!.roles[0], 'web');
});

test('rake_env and its alias env; config repository defaults', () => {
  const c = cfg(`p:\n  ${BASE}  rake_env:\n    RAILS_ENV: production\n    WORKERS: 4\n    DEBUG: false\n  deploy_config_to: /etc/app\n  config_repository: /srv/config.git\n`, 'p');
  assert.equal(c.rakeEnv, { RAILS_ENV: 'production', WORKERS: '4', DEBUG: 'false' });
  assert.equal(c.configRepo, { deployTo: '/etc/app', repository: '/srv/config.git', branch: 'master', target: 'p' });
  assert.equal(cfg(`p:\n  ${BASE}  env: {A: b}\n`, 'p').rakeEnv, { A: 'b' });
});

test('errors: missing required keys', () => {
  fails('p:\n  repository: x\n', 'p', /deploy\.yml, environment 'p': missing required key 'deploy_to'/);
  fails('p:\n  deploy_to: /x\n', 'p', /missing required key 'repository'/);
  fails('p:\n', 'p', /environment 'p' in deploy\.yml is empty/);
});

test('errors: unknown environment lists the known ones and suggests', () => {
  fails(`production:\n  ${BASE}staging:\n  ${BASE}`, 'prodution', /unknown environment 'prodution' in deploy\.yml \(did you mean 'production'\?\)\. Environments there: production, staging/);
  fails(`production:\n  ${BASE}`, undefined, /no environment given.*Environments in deploy\.yml: production/);
});

test('errors: unknown key suggests the closest', () => {
  fails(`p:\n  ${BASE}  post_deploy_scirpt: x.sh\n`, 'p', /unknown key 'post_deploy_scirpt' \(did you mean 'post_deploy_script'\?\)/);
  fails(`p:\n  domain:\n    - name: a\n      role: web\n  ${BASE}`, 'p', /unknown key 'role' in a domain entry \(did you mean 'roles'\?\)/);
});

test('errors: wrong types', () => {
  fails(`p:\n  ${BASE}  branch: [a, b]\n`, 'p', /key 'branch': expected a string, got a list/);
  fails(`p:\n  ${BASE}  rake_env: [a]\n`, 'p', /key 'rake_env': expected a map/);
  fails(`p:\n  ${BASE}  rake_env: {'BAD NAME': x}\n`, 'p', /'BAD NAME' is not a valid environment variable name/);
  fails(`p:\n  ${BASE}  deploy_on_push: maybe\n`, 'p', /deploy_on_push': expected true or false/);
  // A single map is one host, as whiskey_disk's [list].flatten made it.
  assert.equal(cfg(`p:\n  domain: {name: a, roles: web}\n  ${BASE}`, 'p').hosts, [{ name: 'a', roles: ['web'], sshOptions: [], local: false }]);
  fails(`p:\n  domain: [[a]]\n  ${BASE}`, 'p', /each entry must be a host name or a map/);
  fails(`p:\n  domain: ['-oProxyCommand=sh']\n  ${BASE}`, 'p', /is not a host/);
  fails('- a\n- b\n', 'p', /top level must be a map/);
});

test('errors: duplicate host, config repo half given', () => {
  fails(`p:\n  domain: [deploy@a, deploy@b, deploy@a]\n  ${BASE}`, 'p', /duplicate host 'deploy@a'/);
  fails(`p:\n  ${BASE}  config_repository: /c.git\n`, 'p', /deploy_config_to .* is required/);
  fails(`p:\n  ${BASE}  config_branch: main\n`, 'p', /config_branch.*without config_repository/);
});

test('errors: YAML syntax error names file, line and column', () => {
  fails('p:\n  deploy_to: /x\n   repository: y\n', 'p', /YAML syntax error in deploy\.yml:3:\d+/);
  fails('p:\n  deploy_to: /x\n  deploy_to: /y\n', 'p', /YAML syntax error in deploy\.yml:3:\d+: duplicated mapping key/);
});

test('hostile branch names: git rules enforced, shell metacharacters left to quoting', () => {
  fails(`p:\n  ${BASE}  branch: --upload-pack=evil\n`, 'p', /'--upload-pack=evil' is not a valid git branch name: it must not start with -/);
  fails(`p:\n  ${BASE}  branch: "a b"\n`, 'p', /not a valid git branch name/);
  fails(`p:\n  ${BASE}  branch: a..b\n`, 'p', /must not contain '\.\.'/);
  assert.is(cfg(`p:\n  ${BASE}  branch: "$(id>pwned)"\n`, 'p').branch, '$(id>pwned)');
  assert.is(branchProblem('feature/x-1'), undefined);
  assert.ok(branchProblem('x.lock'));
  assert.ok(branchProblem('a\nb'));
});

test('multi-project files: --to=project:env, and env alone when unambiguous', () => {
  const text = `shop:\n  prod:\n    ${BASE.replace('\n  ', '\n    ')}blog:\n  staging:\n    ${BASE.replace('\n  ', '\n    ')}`;
  const c = cfg(text, 'prod', 'shop');
  assert.is(c.project, 'shop');
  assert.is(c.environment, 'prod');
  assert.is(cfg(text, 'staging').project, 'blog');
  fails(text, 'qa', /unknown environment 'qa'.*shop:prod, blog:staging/);
});

test('a file holding one environment directly (config/deploy/<env>.yml)', () => {
  const c = cfg(BASE.replace(/^/, '').replace('\n  ', '\n'), 'prod');
  assert.is(c.environment, 'prod');
  assert.is(c.deployTo, '/var/www/app');
});

test('discovery order: config/ before ./, most specific first', async () => {
  assert.equal(candidates('/r', 'shop', 'prod'), [
    '/r/config/deploy/shop/prod.yml', '/r/config/deploy/shop.yml', '/r/config/deploy/prod.yml', '/r/config/prod.yml', '/r/config/deploy.yml',
    '/r/deploy/shop/prod.yml', '/r/deploy/shop.yml', '/r/deploy/prod.yml', '/r/prod.yml', '/r/deploy.yml',
  ]);
  const dir = tmpDir();
  writeFileSync(join(dir, 'deploy.yml'), 'top');
  assert.is((await loadConfig(undefined, dir, undefined, 'prod')).text, 'top');
  mkdirSync(join(dir, 'config', 'deploy'), { recursive: true });
  writeFileSync(join(dir, 'config', 'deploy', 'prod.yml'), 'specific');
  assert.is((await loadConfig(undefined, dir, undefined, 'prod')).text, 'specific');
  assert.is((await loadConfig(dir, '/', undefined, 'prod')).text, 'specific');
  assert.is((await loadConfig('deploy.yml', dir, undefined, 'prod')).text, 'top');
  // No environment named: the environment-specific files are not candidates.
  assert.is((await loadConfig(undefined, dir, undefined, undefined)).text, 'top');
  try {
    await loadConfig(undefined, tmpDir(), undefined, 'prod');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no deploy config found; looked for:/);
  }
  try {
    await loadConfig('nope.yml', dir, undefined, 'prod');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /--path 'nope\.yml' does not exist/);
  }
});

test.run();
