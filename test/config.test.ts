import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { branchProblem, candidates, configFromSource, listEnvironments, loadConfig } from '../src/config.js';
import { KEY_NAMES } from '../src/keys.js';
import { loadYaml } from '../src/yaml11.js';
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
  assert.equal(c.hosts, [{ name: 'local', local: true, roles: [], host: 'local', ssh: { identityFiles: [], options: {} } }]);
  assert.equal(c.rakeEnv, {});
  assert.is(c.configRepo, undefined);
  // wd's own keys and their defaults.
  assert.equal(
    [c.strategy, c.keepReleases, c.sharedPaths, c.timeout, c.connectTimeout, c.batch, c.beforeSwitchScript, c.deployOnPush, c.warnings],
    ['in_place', 5, [], undefined, undefined, undefined, undefined, false, []],
  );
});

test('domain as a string, a list, and maps with roles and ssh_options', () => {
  assert.equal(
    cfg(`p:\n  domain: deploy@web1\n  ${BASE}`, 'p').hosts.map((h) => h.name),
    ['deploy@web1'],
  );
  const c = cfg(
    `p:\n  domain:\n    - deploy@web1:2222\n    - name: deploy@db1\n      roles: [db, '', web]\n      ssh_options: ["-p 2200", "", "-A"]\n    - name: web3\n      roles: app\n  ssh_options: -o ConnectTimeout=5\n  ${BASE}`,
    'p',
  );
  // domain parsed once, here: user, host and port, and the ssh_options parsed (the environment's first).
  assert.equal(c.hosts, [
    {
      name: 'deploy@web1:2222',
      local: false,
      roles: [],
      user: 'deploy',
      host: 'web1',
      port: 2222,
      ssh: { identityFiles: [], options: { connecttimeout: '5' } },
    },
    {
      name: 'deploy@db1',
      local: false,
      roles: ['db', 'web'],
      user: 'deploy',
      host: 'db1',
      ssh: { port: 2200, identityFiles: [], options: { connecttimeout: '5', forwardagent: 'yes' } },
    },
    { name: 'web3', local: false, roles: ['app'], host: 'web3', ssh: { identityFiles: [], options: { connecttimeout: '5' } } },
  ]);
  assert.equal(
    cfg(`p:\n  domain: ['root@[fe80::1]:2200', '[::1]']\n  ${BASE}`, 'p').hosts.map((h) => [h.user, h.host, h.port]),
    [
      ['root', 'fe80::1', 2200],
      [undefined, '::1', undefined],
    ],
  );
});

test("'local' and empty domain entries deploy locally", () => {
  assert.is(cfg(`p:\n  domain: local\n  ${BASE}`, 'p').hosts[0]!.local, true);
  assert.is(cfg(`p:\n  domain: ['']\n  ${BASE}`, 'p').hosts[0]!.local, true);
  assert.is(cfg(`p:\n  domain:\n    - name: local\n      roles: [web]\n  ${BASE}`, 'p').hosts[0]!.roles[0], 'web');
});

test('rake_env and its alias env; config repository defaults', () => {
  const c = cfg(
    `p:\n  ${BASE}  rake_env:\n    RAILS_ENV: production\n    WORKERS: 4\n    DEBUG: false\n  deploy_config_to: /etc/app\n  config_repository: /srv/config.git\n`,
    'p',
  );
  assert.equal(c.rakeEnv, { RAILS_ENV: 'production', WORKERS: '4', DEBUG: 'false' });
  assert.equal(c.configRepo, { deployTo: '/etc/app', repository: '/srv/config.git', branch: 'master', target: 'p' });
  assert.equal(cfg(`p:\n  ${BASE}  env: {A: b}\n`, 'p').rakeEnv, { A: 'b' });
});

test('errors: missing required keys', () => {
  fails('p:\n  repository: x\n', 'p', /^deploy\.yml:1:1, environment 'p': missing required key 'deploy_to'/);
  fails('p:\n  deploy_to: /x\n', 'p', /missing required key 'repository'/);
  fails('p:\n', 'p', /environment 'p' in deploy\.yml is empty/);
});

test('errors: unknown environment lists the known ones and suggests', () => {
  fails(
    `production:\n  ${BASE}staging:\n  ${BASE}`,
    'prodution',
    /unknown environment 'prodution' in deploy\.yml \(did you mean 'production'\?\)\. Environments there: production, staging/,
  );
  fails(`production:\n  ${BASE}`, undefined, /no environment given.*Environments in deploy\.yml: production/);
});

test('errors: unknown key suggests the closest', () => {
  fails(`p:\n  ${BASE}  post_deploy_scirpt: x.sh\n`, 'p', /unknown key 'post_deploy_scirpt' \(did you mean 'post_deploy_script'\?\)/);
  fails(`p:\n  domain:\n    - name: a\n      role: web\n  ${BASE}`, 'p', /unknown key 'role' in a domain entry \(did you mean 'roles'\?\)/);
});

test('errors: wrong types', () => {
  fails(`p:\n  ${BASE}  branch: [a, b]\n`, 'p', /key 'branch': expected a string, got a list/);
  fails(`p:\n  ${BASE}  rake_env: [a]\n`, 'p', /key 'rake_env': expected a map/);
  fails(`p:\n  ${BASE}  rake_env: {'BAD NAME': x}\n`, 'p', /"BAD NAME" is not a valid environment variable name/);
  fails(`p:\n  ${BASE}  deploy_on_push: maybe\n`, 'p', /deploy_on_push': expected true or false/);
  // A single map is one host, as whiskey_disk's [list].flatten made it.
  assert.equal(cfg(`p:\n  domain: {name: a, roles: web}\n  ${BASE}`, 'p').hosts, [
    { name: 'a', local: false, roles: ['web'], host: 'a', ssh: { identityFiles: [], options: {} } },
  ]);
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
    '/r/config/deploy/shop/prod.yml',
    '/r/config/deploy/shop.yml',
    '/r/config/deploy/prod.yml',
    '/r/config/prod.yml',
    '/r/config/deploy.yml',
    '/r/deploy/shop/prod.yml',
    '/r/deploy/shop.yml',
    '/r/deploy/prod.yml',
    '/r/prod.yml',
    '/r/deploy.yml',
  ]);
  const dir = tmpDir();
  writeFileSync(join(dir, 'deploy.yml'), 'top');
  assert.is((await loadConfig(undefined, dir, undefined, 'prod')).text, 'top');
  mkdirSync(join(dir, 'config', 'deploy'), { recursive: true });
  writeFileSync(join(dir, 'config', 'deploy', 'prod.yml'), 'specific');
  assert.is((await loadConfig(undefined, dir, undefined, 'prod')).text, 'specific');
  assert.is((await loadConfig(dir, '/', undefined, 'prod')).text, 'specific');
  assert.is((await loadConfig('deploy.yml', dir, undefined, 'prod')).text, 'top');
  // No environment named: only the names that need none (deploy.yml) are candidates.
  assert.is((await loadConfig(undefined, dir, undefined, undefined)).name, join(dir, 'deploy.yml'));
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

const msg = (text: string, env?: string, project?: string): string => {
  try {
    cfg(text, env, project);
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  return assert.unreachable(`no ConfigError for:\n${text}`) as never;
};

test('unknown keys and bad values carry file:line:column, like YAML syntax errors', () => {
  const text = `# a comment\nprod:\n  ${BASE}  branch: main\n\n  colour: blue\n`;
  assert.is(msg(text, 'prod'), `deploy.yml:7:3, environment 'prod': unknown key 'colour'. Known keys: ${KEY_NAMES.join(', ')}.`);
  assert.match(msg(`prod:\n  ${BASE}  branch: [a]\n`, 'prod'), /^deploy\.yml:4:3, environment 'prod', key 'branch': expected a string, got a list\./);
  // Inside a domain entry, and in flow style.
  assert.match(
    msg(`prod:\n  ${BASE}  domain:\n    - name: a\n      rolse: web\n`, 'prod'),
    /^deploy\.yml:6:7, environment 'prod', key 'domain': unknown key 'rolse' in a domain entry \(did you mean 'roles'\?\)/,
  );
  assert.match(
    msg(`prod: {deploy_to: /x, repository: y, brnch: z}\n`, 'prod'),
    /^deploy\.yml:1:38, environment 'prod': unknown key 'brnch' \(did you mean 'branch'\?\)/,
  );
  // Missing keys point at the environment itself; a single-environment file at its first key.
  assert.match(msg(`other:\n  ${BASE}prod:\n  repository: x\n`, 'prod'), /^deploy\.yml:4:1, environment 'prod': missing required key 'deploy_to'/);
  assert.match(msg(`repository: x\n`, 'prod'), /^deploy\.yml:1:1, environment 'prod': missing required key 'deploy_to'/);
});

test("'roles' (or 'name') at environment level: move it under a domain entry", () => {
  const m = msg(`prod:\n  ${BASE}  domain: deploy@web1\n  roles: [web]\n`, 'prod');
  assert.is(
    m,
    "deploy.yml:5:3, environment 'prod': 'roles' belongs to a host, not to the environment: move it under a domain entry, e.g.\n  domain:\n    - name: deploy@web1.example.com\n      roles: [web, db]",
  );
});

test("wd's keys: timeout, connect_timeout, batch, strategy and the releases keys", () => {
  const rel = `p:\n  ${BASE}  timeout: 600\n  connect_timeout: 2.5\n  batch: 25%\n  strategy: releases\n  keep_releases: 3\n  shared_paths: [log, ./tmp/pids/, public/uploads]\n  before_switch_script: script/build.sh\n`;
  const c = cfg(rel, 'p');
  assert.equal(
    [c.timeout, c.connectTimeout, c.batch, c.strategy, c.keepReleases, c.sharedPaths, c.beforeSwitchScript],
    [600, 2.5, { percent: 25 }, 'releases', 3, ['log', 'tmp/pids', 'public/uploads'], 'script/build.sh'],
  );
  assert.equal(cfg(`p:\n  ${BASE}  batch: 2\n`, 'p').batch, { size: 2 });
  assert.equal(cfg(`p:\n  ${BASE}  shared_paths: log\n  strategy: releases\n`, 'p').sharedPaths, ['log']);
  const bad: Array<[string, RegExp]> = [
    ['timeout: 0', /key 'timeout': expected a number of seconds greater than 0, got number 0\./],
    ['timeout: soon', /key 'timeout': expected a number of seconds greater than 0, got the string "soon"/],
    ['connect_timeout: -1', /key 'connect_timeout': expected a number of seconds greater than 0/],
    ['batch: 0', /key 'batch': expected a number of hosts \(1 or more\) or a percentage/],
    ['batch: 101%', /key 'batch': expected a number of hosts/],
    ['batch: [1]', /key 'batch': expected a number of hosts/],
    ['strategy: release', /key 'strategy': 'release' is not a strategy \(did you mean 'releases'\?\); use in_place \(the default\) or releases\./],
    [
      'keep_releases: 3',
      /key 'keep_releases': applies only to strategy: releases, and this environment uses in_place \(the default\); add strategy: releases or remove keep_releases\./,
    ],
    ['before_switch_script: b.sh', /key 'before_switch_script': applies only to strategy: releases/],
    ['strategy: in_place\n  shared_paths: [log]', /key 'shared_paths': applies only to strategy: releases, and this environment uses in_place;/],
    ['strategy: releases\n  keep_releases: 1', /key 'keep_releases': expected a whole number of releases, 2 or more/],
    ['strategy: releases\n  keep_releases: 2.5', /key 'keep_releases': expected a whole number of releases/],
    ['strategy: releases\n  shared_paths: [/var/log]', /key 'shared_paths': '\/var\/log' must be relative to the release/],
    ['strategy: releases\n  shared_paths: [~/x]', /must be relative to the release/],
    ['strategy: releases\n  shared_paths: [log/../../etc]', /must name a path inside the release: no '\.', '\.\.' or empty parts/],
    ['strategy: releases\n  shared_paths: [.]', /must name a path inside the release/],
    ['strategy: releases\n  shared_paths: [log, log/]', /'log' is listed twice/],
    ['strategy: releases\n  shared_paths: [{a: b}]', /expected a list of relative paths, got a map in it/],
  ];
  for (const [extra, re] of bad) fails(`p:\n  ${BASE}  ${extra}\n`, 'p', re);
});

test('environments or projects: decided by structure, so a project may be named like a key', () => {
  const env = (indent: string) => `${indent}deploy_to: /srv/app\n${indent}repository: /srv/app.git\n`;
  // whiskey_disk's own scenarios/remote/deploy.yml: one project called `project`.
  const scenario = `project:\n  "remote":\n${env('    ')}  "no_rakefile":\n${env('    ')}`;
  assert.equal([cfg(scenario, 'remote').project, cfg(scenario, 'no_rakefile', 'project').environment], ['project', 'no_rakefile']);
  assert.equal(listEnvironments(loadYaml(scenario, 'x')), [
    { project: 'project', env: 'remote' },
    { project: 'project', env: 'no_rakefile' },
  ]);
  for (const name of ['env', 'branch', 'domain', 'rake_env']) {
    const text = `${name}:\n  staging:\n${env('    ')}`;
    assert.is(cfg(text, 'staging').project, name, name);
    assert.equal(listEnvironments(loadYaml(text, 'x')), [{ project: name, env: 'staging' }], name);
  }
  // ...and environments named like keys, in a project and at the top.
  const envsLikeKeys = `shop:\n  branch:\n${env('    ')}  env:\n${env('    ')}`;
  assert.equal([cfg(envsLikeKeys, 'branch').project, cfg(envsLikeKeys, 'env', 'shop').environment], ['shop', 'env']);
  assert.is(cfg(`branch:\n${env('  ')}`, 'branch').deployTo, '/srv/app');
  assert.equal(listEnvironments(loadYaml(`branch:\n${env('  ')}`, 'x')), [{ env: 'branch' }]);
  // An environment whose only map is rake_env is still an environment, not a project.
  fails(`staging:\n  rake_env:\n    RAILS_ENV: x\n`, 'staging', /environment 'staging': missing required key 'deploy_to'/);
  assert.equal(listEnvironments(loadYaml(`staging:\n  rake_env:\n    RAILS_ENV: x\n`, 'x')), [{ env: 'staging' }]);
  // A single environment's settings at the top, even when incomplete.
  fails(`rake_env:\n  RAILS_ENV: x\n`, 'prod', /^deploy\.yml:1:1, environment 'prod': missing required key 'deploy_to'/);
  assert.equal(listEnvironments(loadYaml(env(''), 'x')), []);
  // A project named where an environment was expected.
  fails(
    `shop:\n  prod:\n${env('    ')}blog:\n  prod:\n${env('    ')}`,
    'shop',
    /'shop' is a project in deploy\.yml, not an environment; name one of its environments: shop:prod\./,
  );
});

test('Ruby-symbol keys (:staging:, :deploy_to:) are read as whiskey_disk stringified them', () => {
  const c = cfg(
    `:staging:\n  :deploy_to: /srv/app\n  :repository: /srv/app.git\n  :branch: :main\n  :rake_env:\n    :RAILS_ENV: production\n  :domain:\n    - :name: deploy@web1\n      :roles: [web]\n`,
    'staging',
  );
  assert.equal(
    [c.environment, c.deployTo, c.branch, c.rakeEnv, c.hosts[0]!.name, c.hosts[0]!.roles],
    ['staging', '/srv/app', 'main', { RAILS_ENV: 'production' }, 'deploy@web1', ['web']],
  );
  assert.equal(listEnvironments(loadYaml(`:shop:\n  :prod:\n    :deploy_to: /x\n    :repository: y\n`, 'x')), [{ project: 'shop', env: 'prod' }]);
});

test('YAML 1.1 values reach rake_env as whiskey_disk passed them; keys become strings the same way', () => {
  const c = cfg(
    `p:\n  ${BASE}  rake_env:\n    FORCE_SSL: yes\n    UMASK: 0022\n    OFF: off\n    VERSION: 1.10\n    BIG: 12345678901234567890\n    KEEP: '0022'\n    EMPTY:\n    DAY: 2024-1-5\n  deploy_on_push: on\n`,
    'p',
  );
  // The key OFF is read as false too, so whiskey_disk set a variable named "false".
  assert.equal(c.rakeEnv, {
    FORCE_SSL: 'true',
    UMASK: '18',
    false: 'false',
    VERSION: '1.1',
    BIG: '12345678901234567890',
    KEEP: '0022',
    EMPTY: '',
    DAY: '2024-01-05',
  });
  assert.is(c.deployOnPush, true);
  // Defaults merged with <<, as Psych does.
  const merged = cfg(`base: &base\n  ${BASE}  branch: main\np:\n  <<: *base\n  branch: release\n`, 'p');
  assert.equal([merged.deployTo, merged.branch], ['/var/www/app', 'release']);
});

test('ssh_options are parsed and validated in the config stage: refused flags, warnings for ignored ones', () => {
  assert.match(
    msg(`p:\n  ${BASE}  domain:\n    - name: web1\n      ssh_options: ["-R", "80:x:80"]\n`, 'p'),
    /^deploy\.yml:6:7, environment 'p', host web1: ssh_options -R 80:x:80 cannot be honoured: wd forwards no ports\. Remove it\.$/,
  );
  assert.match(
    msg(`p:\n  ${BASE}  domain: web1\n  ssh_options: -L 8080:db:5432\n`, 'p'),
    /^deploy\.yml:5:3, environment 'p': ssh_options -L 8080:db:5432 cannot be honoured: wd forwards no ports/,
  );
  assert.match(
    msg(`p:\n  ${BASE}  domain: web1\n  ssh_options: ["-o", "RemoteCommand=ls"]\n`, 'p'),
    /ssh_options -o RemoteCommand=ls cannot be honoured: wd runs its own script/,
  );
  // ProxyCommand and HostKeyAlias are honoured by the SSH client: parsed, kept.
  assert.is(cfg(`p:\n  ${BASE}  domain: web1\n  ssh_options: ["-o", "ProxyCommand=nc %h %p"]\n`, 'p').hosts[0]!.ssh.options['proxycommand'], 'nc %h %p');
  // whiskey_disk's README: -t, -vv, "-p 443". Environment-level options warn once, not once per host.
  const c = cfg(
    `p:\n  ${BASE}  domain:\n    - name: web1\n      ssh_options: ["-t", "-vv", "-p 443"]\n    - web2\n    - web3\n  ssh_options: ["-o", "ControlMaster=auto", "-tt"]\n`,
    'p',
  );
  assert.equal(c.hosts[0]!.ssh, { port: 443, identityFiles: [], options: { controlmaster: 'auto', requesttty: 'yes' }, verbose: 2 });
  assert.equal(c.warnings, [
    "deploy.yml:9:3, environment 'p': ssh_options -o ControlMaster=auto is ignored: wd opens its own connection to each host.",
    "deploy.yml:9:3, environment 'p': ssh_options -t is ignored: wd never allocates a terminal (nothing can answer a prompt in an unattended deploy).",
    "deploy.yml:6:7, environment 'p', host web1: ssh_options -t is ignored: wd never allocates a terminal (nothing can answer a prompt in an unattended deploy).",
  ]);
});

test('hosts: ports and users checked here, once', () => {
  fails(`p:\n  domain: web1:0\n  ${BASE}`, 'p', /"web1:0" is not a host: port 0 is not between 1 and 65535\./);
  fails(`p:\n  domain: web1:70000\n  ${BASE}`, 'p', /port 70000 is not between 1 and 65535/);
  fails(`p:\n  domain: ['-x@web1']\n  ${BASE}`, 'p', /is not a host/);
  fails(`p:\n  domain: ['a@-x']\n  ${BASE}`, 'p', /is not a host/);
});

test('control characters: names rejected with a clear message, values carried or rejected per field', () => {
  for (const [c, what] of [
    ['\n', 'a newline'],
    ['\r', 'a carriage return'],
    ['\0', 'a NUL byte'],
    ['\x1b', 'the control character U\\+001B'],
  ] as const) {
    const q = JSON.stringify(`a${c}b`); // a YAML double-quoted string holding the character
    // Environment and project names (from the file and from the command line).
    assert.match(
      msg(`${q}:\n  ${BASE}`, `a${c}b`),
      new RegExp(`^on the command line: the environment name .* contains ${what}; environment names must be printable`),
    );
    const picked = `${q}:\n  ${BASE}other:\n  ${BASE}`;
    assert.match(
      msg(`shop:\n  ${q}:\n    ${BASE.replace('\n  ', '\n    ')}`, 'a', 'shop'),
      /^unknown environment 'a' in deploy\.yml \(project 'shop'\) \(did you mean '"a\\[^"]+b"'\?\)\. Environments there: "a\\[^"]+b"\.$/,
    );
    assert.is(listEnvironments(loadYaml(picked, 'x')).length, 2);
    assert.match(
      msg(`${q}:\n  prod:\n    ${BASE.replace('\n  ', '\n    ')}`, 'prod'),
      new RegExp(`^deploy\\.yml:1:1: the project name .* contains ${what}; project names must be printable`),
    );
    // Hosts, roles, paths, repository, project key, ssh_options.
    const fields: Array<[string, RegExp]> = [
      [`domain: [${q}]`, new RegExp(`key 'domain': .* is not a host: it contains ${what}\\.`)],
      [`domain: [{name: web1, roles: [${q}]}]`, /key 'domain': role .* may only contain letters, digits/],
      [`post_deploy_script: ${q}`, new RegExp(`key 'post_deploy_script': .* contains ${what}; it must be one printable line\\.`)],
      [`project: ${q}`, new RegExp(`key 'project': .* contains ${what}`)],
      [`config_target: ${q}\n  deploy_config_to: /c\n  config_repository: /c.git`, new RegExp(`key 'config_target': .* contains ${what}`)],
      [`ssh_options: [${JSON.stringify(`-oUser=a${c}b`)}]`, new RegExp(`key 'ssh_options': .* contains ${what}`)],
      [`rake_env: {${q}: x}`, /key 'rake_env': ".*" is not a valid environment variable name/],
      [`branch: ${q}`, new RegExp(`key 'branch': .* contains ${what}`)],
    ];
    for (const [extra, re] of fields) fails(`p:\n  ${BASE}  ${extra}\n`, 'p', re);
    fails(`p:\n  deploy_to: ${q}\n  repository: x\n`, 'p', new RegExp(`key 'deploy_to': .* contains ${what}`));
    fails(`p:\n  deploy_to: /x\n  repository: ${q}\n`, 'p', new RegExp(`key 'repository': .* contains ${what}`));
  }
  // rake_env values: newline and CR are carried (the script quotes them), NUL cannot be.
  assert.equal(cfg(`p:\n  ${BASE}  rake_env: {A: "x\\ny\\rz"}\n`, 'p').rakeEnv, { A: 'x\ny\rz' });
  fails(`p:\n  ${BASE}  rake_env: {A: "x\\0y"}\n`, 'p', /key 'rake_env': value of A contains a NUL byte/);
  // The default config_target is the environment name: a file holding one environment
  // directly takes it from the command line, which is checked too.
  fails(`deploy_to: /x\nrepository: y\n`, 'a\tb', /environment name "a\\tb" contains a tab/);
});

test.run();
