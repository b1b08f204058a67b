// whiskey_disk parity (issue #4): configuration repository, --check,
// multi-project files and discovery, --path, roles, rake hooks and the config
// filters, through the built CLI against in-process SSH hosts and `local`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { configFromSource } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { git, makeOrigin } from './helpers/git.js';
import { sshdGate } from './helpers/e2e-fixture.js';
import { closeAllHosts, hostWithEnv, missingBanner, pathWithout, works } from './helpers/host-env.js';
import { ok, resultLine, scriptLines, show } from './helpers/output.js';
import { sshFixture, type FakeHost } from './helpers/ssh-fixture.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runWd, type WdRun } from './helpers/wd.js';

test.after.each(closeAllHosts);
test.after(cleanup);

/** Lines a host printed (stdout and stderr), without the "host |" prefix. */
// What the scripts said; wd's own progress lines are checked in test/parity/.
const said = (r: WdRun, host: string): string[] => scriptLines(r.stdout + r.stderr, host);
const saidLine = (r: WdRun, host: string, line: string): void => assert.ok(said(r, host).includes(line), `expected "${host} | ${line}" in\n${show(r)}`);
/** The host's verdict in Results:, timing cut off: "succeeded", "failed: ...". */
const verdict = (r: WdRun, host: string): string => {
  const l = resultLine(r.stdout, host);
  return l
    ? l
        .slice(`  ${host} => `.length)
        .replace(/ \(\d+\.\ds\)$/, '')
        .replace(/^succeeded [0-9a-f]{7}/, 'succeeded')
    : `(no verdict for ${host})\n${show(r)}`;
};
const totals = (r: WdRun): string => r.stdout.split('\n').find((l) => l.startsWith('Total: ')) ?? show(r);
const read = (...p: string[]): string => readFileSync(join(...p), 'utf8');

// ---------------------------------------------------------------- config filters

const BASE = 'deploy_to: /srv/app\n  repository: /srv/app.git\n';
const hostsOf = (domain: string) => configFromSource({ name: 'deploy.yml', text: `p:\n  ${BASE}  domain: ${domain}\n` }, undefined, 'p').hosts;
const configError = (domain: string): string => {
  try {
    hostsOf(domain);
  } catch (e) {
    assert.instance(e, ConfigError);
    return (e as Error).message;
  }
  return assert.unreachable('no ConfigError') as never;
};

test('filters: duplicate domains are an error naming the host, also when both mean local', () => {
  assert.match(configError('[deploy@a, {name: deploy@a, roles: [db]}]'), /^deploy\.yml:4:3, environment 'p', key 'domain': duplicate host 'deploy@a'/);
  assert.match(configError("[local, '']"), /duplicate host 'local'/);
  assert.match(configError('[{name: local}, {roles: [web]}]'), /duplicate host 'local'/);
  // Only exact duplicates: whiskey_disk compared names as written.
  assert.equal(
    hostsOf('[deploy@a, a, deploy@a:22]').map((h) => h.name),
    ['deploy@a', 'a', 'deploy@a:22'],
  );
});

test('filters: empty roles dropped, a string role becomes a one-element list', () => {
  assert.equal(
    hostsOf(
      "[{name: a, roles: ''}, {name: b, roles: []}, {name: c, roles: [null, '']}, {name: d}, {name: e, roles: web}, {name: f, roles: [web, '', db]}]",
    ).map((h) => h.roles),
    [[], [], [], [], ['web'], ['web', 'db']],
  );
});

test("filters: 'local', empty and absent domains run on this machine without SSH", () => {
  const local = { name: 'local', local: true, roles: [], host: 'local', ssh: { identityFiles: [], options: {} } };
  for (const d of ['local', "''", '~', '[local]', "['']", '[{name: local}]', "[{name: ''}]"]) assert.equal(hostsOf(d), [local], `domain: ${d}`);
  assert.equal(configFromSource({ name: 'd.yml', text: `p:\n  ${BASE}` }, undefined, 'p').hosts, [local]);
  assert.equal(hostsOf('[{name: local, roles: db}]'), [{ ...local, roles: ['db'] }]);
});

test('filters: ssh_options as a string or a list, empties dropped, list items kept whole', () => {
  const opts = (o: string) => hostsOf(`[{name: a, ssh_options: ${o}}]`)[0]!.ssh;
  assert.equal(opts('"-p 2222 -A"'), { port: 2222, identityFiles: [], options: { forwardagent: 'yes' } });
  assert.equal(opts('["-p 2222", null, "", "-A"]'), { port: 2222, identityFiles: [], options: { forwardagent: 'yes' } });
  assert.equal(opts('["-i", "/keys/my key", "-o", "UserKnownHostsFile=/my hosts"]'), {
    identityFiles: ['/keys/my key'],
    options: { userknownhostsfile: '/my hosts' },
  });
  assert.equal(opts('["-o UserKnownHostsFile=/my hosts"]'), { identityFiles: [], options: { userknownhostsfile: '/my hosts' } });
  assert.equal(opts('[]'), { identityFiles: [], options: {} });
  assert.equal(opts("''"), { identityFiles: [], options: {} });
});

// ---------------------------------------------------------------- configuration repository

const REPORT_SH = `#!/bin/bash
echo "rsynced=[$(paste -sd, "$WD_RSYNC_CHANGED_FILES")] git=[$(paste -sd, "$WD_CHANGED_FILES")]"
for p in config app.txt; do if wd_changed "$p"; then echo "changed: $p"; fi; done
`;

test('config repository: setup clones it beside, deploy refreshes and rsyncs <config_target>/; wd_changed sees both lists; --check watches it', async () => {
  const fx = await sshFixture({ files: { 'post.sh': REPORT_SH } });
  const h = fx.hosts[0]!;
  const cfgOrigin = makeOrigin('config', { 'prod/config/database.yml': 'prod db v1\n', 'staging/config/database.yml': 'staging db\n' });
  fx.config({ deploy_config_to: '~/app-config', config_repository: cfgOrigin.url, config_branch: 'main', post_deploy_script: 'post.sh' });
  const app = join(h.home, 'app');

  ok(await fx.wd(['setup', 'prod']));
  assert.ok(existsSync(join(h.home, 'app-config', '.git')), 'config checkout beside the app');
  assert.is(read(app, 'config', 'database.yml'), 'prod db v1\n');
  assert.not.ok(existsSync(join(app, 'database.yml')), 'rsync source is <deploy_config_to>/<config_target>/');
  assert.is(read(app, '.git', 'wd', 'changed-rsync'), 'config/database.yml\n');

  cfgOrigin.commit('main', { 'prod/config/database.yml': 'prod db v2\n', 'prod/config/new.yml': 'new\n', 'staging/config/database.yml': 'staging v2\n' });
  let r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.is(read(app, 'config', 'database.yml'), 'prod db v2\n');
  assert.equal(said(r, h.name), ['rsynced=[config/database.yml,config/new.yml] git=[]', 'changed: config']);
  assert.is(read(app, '.git', 'wd', 'changed-rsync'), 'config/database.yml\nconfig/new.yml\n');
  assert.is(git(join(h.home, 'app-config'), 'rev-parse', 'HEAD'), cfgOrigin.head('main'));

  fx.origin.commit('main', { 'app.txt': 'v2\n' });
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.equal(said(r, h.name), ['rsynced=[] git=[app.txt]', 'changed: app.txt']);

  r = await fx.wd(['deploy', 'prod', '--check']);
  ok(r);
  assert.equal(said(r, h.name), ['No changes to deploy.']);
  assert.is(verdict(r, h.name), 'succeeded, no changes');

  // Only the config repository moved: --check still deploys.
  cfgOrigin.commit('main', { 'prod/config/database.yml': 'prod db v3\n' });
  r = await fx.wd(['deploy', 'prod', '-c']);
  ok(r);
  assert.equal(said(r, h.name), ['rsynced=[config/database.yml] git=[]', 'changed: config']);
  assert.is(read(app, 'config', 'database.yml'), 'prod db v3\n');
  assert.is(verdict(r, h.name), 'succeeded');
});

test("config repository: config_target picks another directory (whiskey_disk's <project>/<env> layout); rsync missing on a host is that host's clear failure", async () => {
  const fx = await sshFixture();
  const good = fx.hosts[0]!;
  const noRsync = await hostWithEnv(fx, { PATH: pathWithout(['rsync']) });
  const cfgOrigin = makeOrigin('config', { 'larry/production/settings.ini': 'x=1\n' });
  fx.config(
    { deploy_config_to: '~/cfg', config_repository: cfgOrigin.url, config_branch: 'main', config_target: 'larry/production' },
    [good, noRsync].map((h) => ({ name: h.name, ssh_options: fx.sshOptions })),
  );
  const r = await fx.wd(['setup', 'prod']);
  assert.is(r.code, 1, show(r));
  assert.is(verdict(r, good.name), 'succeeded');
  assert.is(read(good.home, 'app', 'settings.ini'), 'x=1\n');
  assert.is(verdict(r, noRsync.name), 'failed: rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository');
  assert.is(totals(r), 'Total: 2 deployments, 1 success, 1 failure.');
});

// ---------------------------------------------------------------- --check

test('--check: skips an up-to-date host, deploys a stale one in the same run; a host never set up fails clearly', async () => {
  const fx = await sshFixture({ hosts: 3, files: { 'post.sh': 'echo "post ran at $(cat app.txt)"\n' } });
  const [stale, current, fresh] = fx.hosts as [FakeHost, FakeHost, FakeHost];
  const entries = (hs: FakeHost[]) => hs.map((h) => ({ name: h.name, ssh_options: fx.sshOptions }));
  fx.config({ post_deploy_script: 'post.sh' }, entries([stale, current]));
  ok(await fx.wd(['setup', 'prod']));
  const v2 = fx.origin.commit('main', { 'app.txt': 'v2\n' });
  ok(await fx.wd(['deploy', 'prod', '--only', current.name]));
  const execsBefore = current.server.channels;

  let r = await fx.wd(['deploy', 'prod', '--check']);
  ok(r);
  assert.equal(said(r, current.name), ['No changes to deploy.']);
  assert.equal(said(r, stale.name), ['post ran at v2']);
  assert.is(git(join(stale.home, 'app'), 'rev-parse', 'HEAD'), v2);
  assert.is(verdict(r, current.name), 'succeeded, no changes');
  assert.is(verdict(r, stale.name), 'succeeded');
  assert.is(totals(r), 'Total: 2 deployments, 2 successes, 0 failures.');
  assert.is(current.server.channels, execsBefore + 1, 'one script, one channel, also when checking');
  assert.not.ok(/rake/i.test(r.stdout + r.stderr), 'no Rakefile: no rake step');

  fx.config({ post_deploy_script: 'post.sh' }, entries([stale, current, fresh]));
  r = await fx.wd(['deploy', 'prod', '--check']);
  assert.is(r.code, 1, show(r));
  assert.is(verdict(r, fresh.name), `failed: no git checkout at ${fresh.home}/app; run 'wd setup prod' first`);
  assert.is(verdict(r, stale.name), 'succeeded, no changes');
  assert.is(totals(r), 'Total: 3 deployments, 2 successes, 1 failure.');
});

// ---------------------------------------------------------------- multi-project files, discovery, --path

/** A local environment's settings as YAML lines at `indent`. */
const localEnv = (deployTo: string, repo: string, indent: string): string =>
  [`deploy_to: ${deployTo}`, `repository: ${repo}`, 'branch: main'].map((l) => indent + l).join('\n') + '\n';
const dryDeployTo = (r: WdRun): string => /^export WD_DEPLOY_TO=(.*)$/m.exec(r.stdout)?.[1] ?? show(r);

test('discovery: whiskey_disk order in ./config then ./, each kind of file, for --to=project:env', async () => {
  const dir = tmpDir('wd-disc-');
  const layout: Array<[string, (to: string) => string]> = [];
  for (const base of ['config/', '']) {
    layout.push(
      [`${base}deploy/shop/prod.yml`, (to) => localEnv(to, '/r.git', '')], // settings directly
      [`${base}deploy/shop.yml`, (to) => `staging:\n${localEnv('/wrong', '/r.git', '  ')}prod:\n${localEnv(to, '/r.git', '  ')}`],
      [`${base}deploy/prod.yml`, (to) => localEnv(to, '/r.git', '')],
      [`${base}prod.yml`, (to) => `prod:\n${localEnv(to, '/r.git', '  ')}`],
      [`${base}deploy.yml`, (to) => `blog:\n  prod:\n${localEnv('/wrong', '/r.git', '    ')}shop:\n  prod:\n${localEnv(to, '/r.git', '    ')}`],
    );
  }
  layout.forEach(([file, text], i) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text(`/srv/${i}`));
  });
  for (const [i, [file]] of layout.entries()) {
    const r = await runWd(['deploy', '--to=shop:prod', '-n'], { cwd: dir });
    ok(r);
    assert.is(dryDeployTo(r), `/srv/${i}`, `expected ${file} to be chosen`);
    rmSync(join(dir, file));
  }
  const r = await runWd(['deploy', '--to=shop:prod', '-n'], { cwd: dir });
  assert.is(r.code, 2, show(r));
  assert.is(
    r.stderr,
    `wd: no deploy config found; looked for:\n${layout.map(([f]) => `  ${join(dir, f)}\n`).join('')}Create one with 'wd init', or point at one with --path FILE.\n`,
  );
});

test('multi-project file: --to=project:env deploys that project; an env in several projects must be qualified', async () => {
  const origin = makeOrigin();
  const dir = tmpDir('wd-multi-');
  writeFileSync(
    join(dir, 'deploy.yml'),
    `shop:\n  prod:\n${localEnv('out/shop', origin.url, '    ')}blog:\n  prod:\n${localEnv('out/blog', origin.url, '    ')}  staging:\n${localEnv('out/blog-staging', origin.url, '    ')}`,
  );
  let r = await runWd(['setup', '--to=shop:prod'], { cwd: dir });
  ok(r);
  assert.is(read(dir, 'out', 'shop', 'app.txt'), 'v1\n');
  assert.not.ok(existsSync(join(dir, 'out', 'blog')));
  ok(await runWd(['setup', '-t', 'staging'], { cwd: dir })); // only blog has it
  assert.ok(existsSync(join(dir, 'out', 'blog-staging', 'app.txt')));
  r = await runWd(['deploy', '--to=prod'], { cwd: dir });
  assert.is(r.code, 2, show(r));
  assert.is(r.stderr, `wd: environment 'prod' exists in several projects of ${join(dir, 'deploy.yml')} (shop, blog); choose one with --to=<project>:prod.\n`);
  r = await runWd(['deploy', '--to=shp:prod'], { cwd: dir });
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr, /^wd: unknown project 'shp' in .*deploy\.yml \(did you mean 'shop'\?\)\. Projects there: shop, blog\.\n$/);
});

test('--path: a directory, a file, an http:// URL; a 404 names the URL and the status', async () => {
  const origin = makeOrigin();
  const out = tmpDir('wd-out-');
  const yml = `prod:\n${localEnv(join(out, 'app'), origin.url, '  ')}`;
  const dir = tmpDir('wd-pathdir-');
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'deploy.yml'), yml.replace(join(out, 'app'), '/from-dir'));
  writeFileSync(join(dir, 'elsewhere.yml'), yml.replace(join(out, 'app'), '/from-file'));
  const cwd = tmpDir('wd-cwd-');
  assert.is(dryDeployTo(await runWd(['deploy', 'prod', '-n', '-p', dir], { cwd })), '/from-dir');
  assert.is(dryDeployTo(await runWd(['deploy', 'prod', '-n', '--path', join(dir, 'elsewhere.yml')], { cwd })), '/from-file');

  const server: Server = createServer((req, res) => {
    if (req.url === '/deploy.yml') res.end(yml);
    else res.writeHead(404, 'Not Found').end('nope');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ok(await runWd(['setup', 'prod', '-p', `${base}/deploy.yml`], { cwd }));
    assert.is(read(out, 'app', 'app.txt'), 'v1\n');
    const r = await runWd(['deploy', 'prod', '-p', `${base}/missing.yml`], { cwd });
    assert.is(r.code, 2, show(r));
    assert.is(r.stderr, `wd: cannot fetch config from ${base}/missing.yml: HTTP 404 Not Found. Check the URL, or use a local file with --path FILE.\n`);
    assert.is(r.stdout, '');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

// ---------------------------------------------------------------- roles

const ROLES_SH = `#!/bin/bash
echo "roles=$WD_ROLES"
if wd_role db && wd_changed db/migrate; then echo "migrating"; fi
if wd_role web; then echo "restarting web"; fi
`;

test('roles: WD_ROLES, wd_role and wd_changed decide what runs; --roles picks hosts', async () => {
  const fx = await sshFixture({ hosts: 3, files: { 'post.sh': ROLES_SH } });
  const [web, db, both] = fx.hosts as [FakeHost, FakeHost, FakeHost];
  const roles: Array<[FakeHost, string[]]> = [
    [web, ['web']],
    [db, ['db']],
    [both, ['web', 'db']],
  ];
  fx.config(
    { post_deploy_script: 'post.sh' },
    roles.map(([h, rs]) => ({ name: h.name, roles: rs, ssh_options: fx.sshOptions })),
  );
  ok(await fx.wd(['setup', 'prod']));

  fx.origin.commit('main', { 'db/migrate/001_users.sql': 'create table users;\n' });
  let r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.equal(said(r, web.name), ['roles=web', 'restarting web']);
  assert.equal(said(r, db.name), ['roles=db', 'migrating']);
  assert.equal(said(r, both.name), ['roles=web:db', 'migrating', 'restarting web']);

  fx.origin.commit('main', { 'app.txt': 'v2\n' });
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.equal(said(r, db.name), ['roles=db']);
  assert.equal(said(r, both.name), ['roles=web:db', 'restarting web']);

  const webHead = git(join(web.home, 'app'), 'rev-parse', 'HEAD');
  const webConnections = web.server.connections;
  const v3 = fx.origin.commit('main', { 'db/migrate/002_posts.sql': 'create table posts;\n' });
  r = await fx.wd(['deploy', 'prod', '--roles', 'db']);
  ok(r);
  assert.equal(said(r, db.name), ['roles=db', 'migrating']);
  assert.equal(said(r, both.name), ['roles=web:db', 'migrating', 'restarting web']);
  assert.equal(said(r, web.name), []);
  assert.is(totals(r), 'Total: 2 deployments, 2 successes, 0 failures.');
  assert.is(web.server.connections, webConnections, 'a host outside --roles is not contacted');
  assert.is(git(join(web.home, 'app'), 'rev-parse', 'HEAD'), webHead);
  assert.is(git(join(db.home, 'app'), 'rev-parse', 'HEAD'), v3);

  r = await fx.wd(['deploy', 'prod', '-r', 'worker,cron']);
  assert.is(r.code, 2, show(r));
  assert.match(r.stderr, /--roles worker,cron matches no host of environment 'prod' in .*\. Roles there: web, db\.\n$/);
});

// ---------------------------------------------------------------- rake hooks

const RAKEFILE = `namespace :deploy do
  task :post_setup do
    File.open('order.log', 'a') { |f| f.puts "rake post_setup to=#{ENV['to']} RAILS_ENV=#{ENV['RAILS_ENV']}" }
  end
  task :post_deploy do
    File.open('order.log', 'a') { |f| f.puts "rake post_deploy to=#{ENV['to']} RAILS_ENV=#{ENV['RAILS_ENV']}" }
  end
end
`;
const rakeGate = sshdGate(works('command -v rake'), process.env);
if (rakeGate === 'skip') console.error(`${missingBanner('rake', 'apt-get install -y rake')}!! CI is not 'true': skipping the rake hook tests.\n`);
const rakeTest = rakeGate === 'skip' ? test.skip : test;

rakeTest('rake hooks: deploy:post_setup / deploy:post_deploy run after the post script with rake_env and to=ENV', async () => {
  assert.is(rakeGate, 'run', missingBanner('rake', 'apt-get install -y rake'));
  const fx = await sshFixture({ files: { Rakefile: RAKEFILE, 'post.sh': 'echo "post $WD_ENVIRONMENT" >>order.log\n' } });
  const h = fx.hosts[0]!;
  const noRake = await hostWithEnv(fx, { PATH: pathWithout(['rake']) });
  fx.config(
    { post_setup_script: 'post.sh', post_deploy_script: 'post.sh', rake_env: { RAILS_ENV: 'production' } },
    [h, noRake].map((x) => ({ name: x.name, ssh_options: fx.sshOptions })),
  );
  const log = (x: FakeHost): string => read(x.home, 'app', 'order.log');

  let r = await fx.wd(['setup', 'prod']);
  ok(r);
  assert.is(log(h), 'post prod\nrake post_setup to=prod RAILS_ENV=production\n');
  saidLine(r, h.name, 'Running rake deploy:post_setup...');
  r = await fx.wd(['deploy', 'prod']);
  ok(r);
  assert.is(log(h), 'post prod\nrake post_setup to=prod RAILS_ENV=production\npost prod\nrake post_deploy to=prod RAILS_ENV=production\n');
  saidLine(r, h.name, 'Running rake deploy:post_deploy...');
  // No rake on the host: the post script still runs, rake is skipped with a warning, the deploy succeeds.
  assert.is(log(noRake), 'post prod\npost prod\n');
  saidLine(r, noRake.name, 'wd: Rakefile present but rake is not installed; skipped rake deploy:post_deploy');
  assert.is(verdict(r, noRake.name), 'succeeded');

  // A Rakefile without deploy tasks is left alone.
  fx.origin.commit('main', { Rakefile: 'task :default do\n  puts "hi"\nend\n' });
  r = await fx.wd(['deploy', 'prod', '--only', h.name]);
  ok(r);
  assert.is(log(h).split('\n').slice(-2).join('\n'), 'post prod\n');
  assert.not.ok(/rake/i.test(said(r, h.name).join('\n')), show(r));
});

test.run();
