// `wd init`: the starter lists every key of the table and is a valid config,
// its first line points editors at the schema, missing directories are made,
// and the "next" hint names a file that plain `wd setup` would not find.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromSource } from '../../src/config.js';
import { SCHEMA_FILE, schemaReference, starter } from '../../src/init.js';
import { KEYS } from '../../src/keys.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

test.after(cleanup);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('the starter shows every key (optional ones commented) and both its environments are valid', () => {
  const text = starter('schema.json');
  for (const k of KEYS.filter((x) => !x.aliasOf)) assert.match(text, new RegExp(`^  (# )?${k.name}:`, 'm'), k.name);
  const staging = configFromSource({ name: 'deploy.yml', text }, undefined, 'staging');
  assert.equal([staging.hosts.length, staging.branch, staging.rakeEnv], [2, 'main', { RAILS_ENV: 'staging' }]);
  assert.is(configFromSource({ name: 'deploy.yml', text }, undefined, 'local').hosts[0]!.local, true);
  // Uncommenting every optional key of the starter still gives a valid config.
  const all = text.replace(/^ {2}# ([a-z_]+:.*)$/gm, '  $1');
  const full = configFromSource({ name: 'deploy.yml', text: all }, undefined, 'staging');
  assert.equal(
    [full.strategy, full.keepReleases, full.sharedPaths, full.batch, full.timeout],
    ['releases', 5, ['log', 'tmp/pids', 'public/uploads'], { percent: 25 }, 600],
  );
  // The doc it points at exists.
  assert.match(text, 'Reference: docs/usage.md');
  assert.ok(existsSync(join(ROOT, 'docs', 'usage.md')));
});

test('the schema reference: relative inside the project that installed wd, absolute elsewhere', () => {
  const inNodeModules = '/home/me/app/node_modules/wd-deploy/schema/deploy.schema.json';
  assert.is(schemaReference('/home/me/app/deploy.yml', inNodeModules), 'node_modules/wd-deploy/schema/deploy.schema.json');
  assert.is(schemaReference('/home/me/app/config/deploy/production.yml', inNodeModules), '../../node_modules/wd-deploy/schema/deploy.schema.json');
  assert.is(schemaReference('/srv/other/deploy.yml', inNodeModules), inNodeModules);
  // A clone of wd: files inside it point into it, others at the clone's absolute path.
  assert.is(schemaReference('/src/wd/deploy.yml', '/src/wd/schema/deploy.schema.json'), 'schema/deploy.schema.json');
  assert.is(schemaReference('/tmp/x/deploy.yml', '/src/wd/schema/deploy.schema.json'), '/src/wd/schema/deploy.schema.json');
  // Beside the compiled module's directory, whichever build this is.
  assert.is(SCHEMA_FILE, join(dirname(dirname(fileURLToPath(new URL('../../src/init.js', import.meta.url)))), 'schema', 'deploy.schema.json'));
});

test('wd init: schema line first, the file it wrote, the next step', async () => {
  const dir = tmpDir('wd-init-');
  const r = await runWd(['init'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  const file = join(dir, 'deploy.yml');
  assert.is(r.stdout, `Wrote ${file}. Edit it, then run: wd setup staging\n`);
  const text = readFileSync(file, 'utf8');
  // The binary's schema: dist/ and schema/ sit side by side in the package.
  assert.is(text.split('\n')[0], `# yaml-language-server: $schema=${join(ROOT, 'schema', 'deploy.schema.json')}`);
  assert.ok(existsSync(resolve(dirname(file), text.split('\n')[0]!.split('$schema=')[1]!)));
  const again = await runWd(['init'], { cwd: dir });
  assert.is(again.code, 2);
  assert.match(again.stderr, 'already exists; not overwriting it. Use --force');
  assert.is((await runWd(['init', '--force'], { cwd: dir })).code, 0);
});

test('wd init DIR/FILE: creates the directories; the hint names the file with -p when plain discovery would not find it', async () => {
  const dir = tmpDir('wd-init-');
  const r = await runWd(['init', 'config/deploy/production.yml'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  const file = join(dir, 'config', 'deploy', 'production.yml');
  assert.ok(existsSync(file));
  assert.is(r.stdout, `Wrote ${file}. Edit it, then run: wd setup staging -p config/deploy/production.yml\n`);
  // The hint works as written.
  const dry = await runWd(['setup', 'staging', '-p', 'config/deploy/production.yml', '-n'], { cwd: dir });
  assert.is(dry.code, 0, dry.stderr);
  // config/deploy.yml is found without -p.
  const c = await runWd(['init', 'config/deploy.yml'], { cwd: dir });
  assert.is(c.stdout, `Wrote ${join(dir, 'config', 'deploy.yml')}. Edit it, then run: wd setup staging\n`);
  // ./deploy.yml is not, while config/deploy.yml exists: say -p.
  const top = await runWd(['init'], { cwd: dir });
  assert.is(top.stdout, `Wrote ${join(dir, 'deploy.yml')}. Edit it, then run: wd setup staging -p deploy.yml\n`);
  // A name with spaces is quoted in the hint.
  const sp = await runWd(['init', 'my deploy.yml'], { cwd: dir });
  assert.match(sp.stdout, "then run: wd setup staging -p 'my deploy.yml'\n");
});

test('wd init where a file blocks the directory: a usage error, not a stack trace', async () => {
  const dir = tmpDir('wd-init-');
  writeFileSync(join(dir, 'config'), 'not a directory');
  const r = await runWd(['init', 'config/deploy.yml'], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, /^wd: cannot write .*config\/deploy\.yml: .*Choose another FILE: wd init FILE\.\n$/);
  mkdirSync(join(dir, 'ok'));
});

test.run();
