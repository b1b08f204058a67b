// What the bundled CLI (dist/cli.js, which package.json's bin, dist/bin.js, runs) loads at start:
// `wd --version` and `wd --help` neither ssh2 nor js-yaml nor the heavier node built-ins;
// js-yaml comes when a config is read, ssh2 when a host is contacted. The bundle runs from
// a copy next to a node_modules whose ssh2 and js-yaml end the process the moment they load
// (by require or by import): a run that loads one cannot pass, and the controls show each of
// them does go off when its time comes. Also: an internal error's stack points into src/*.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { show } from '../helpers/output.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runProcess, runWd, WD_BIN, type WdRun } from '../helpers/wd.js';

test.after(cleanup);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const BOMB = 97;

/** A package that ends the process with BOMB as soon as it is loaded, by require or import. */
function bomb(modules: string, name: string): void {
  const dir = join(modules, name);
  mkdirSync(dir, { recursive: true });
  const body = `process.stderr.write('${name} loaded\\n'); process.exit(${BOMB});\n`;
  writeFileSync(join(dir, 'index.js'), body);
  writeFileSync(join(dir, 'index.mjs'), body);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '0.0.0', main: 'index.js', exports: { '.': { import: './index.mjs', require: './index.js' } } }),
  );
}

/** The built CLI copied alone into a package whose node_modules holds the named bombs (the other dependency real); its cli.js. */
function sandbox(bombs: string[]): string {
  const pkg = tmpDir('wd-startup-');
  mkdirSync(join(pkg, 'dist'));
  copyFileSync(WD_BIN, join(pkg, 'dist', 'cli.js'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'wd-startup-sandbox', type: 'module' }));
  const modules = join(pkg, 'node_modules');
  mkdirSync(modules);
  for (const name of ['ssh2', 'js-yaml']) {
    if (bombs.includes(name)) bomb(modules, name);
    else symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
  return join(pkg, 'dist', 'cli.js');
}

const node = (args: string[], cwd = tmpDir(), env: NodeJS.ProcessEnv = {}): Promise<WdRun> =>
  runProcess(process.execPath, args, { cwd, env: { NO_COLOR: '1', ...env } });

/** A deploy.yml with one host on a port nothing listens on (a deploy fails to connect; a dry run contacts nobody). */
function config(): string {
  const dir = tmpDir('wd-startup-cfg-');
  writeFileSync(
    join(dir, 'deploy.yml'),
    'prod:\n  domain: deploy@127.0.0.1:1\n  deploy_to: /srv/app\n  repository: https://example.invalid/app.git\n  branch: main\n',
  );
  return dir;
}

test('the bin answers --version without loading the CLI, and runs the bundle the tests run for everything else', async () => {
  const BIN = join(ROOT, PKG.bin['wd'] ?? '');
  assert.is(BIN, join(dirname(WD_BIN), 'bin.js'));
  // One file: nothing of wd's own is imported from next to the bundle.
  const head = readFileSync(WD_BIN, 'utf8').split('\n').slice(0, 3).join('\n');
  assert.ok(head.startsWith('#!/usr/bin/env node\n'), head);
  assert.not.match(readFileSync(WD_BIN, 'utf8'), /\bfrom ["']\.\.?\//);
  // The bin beside a cli.js that ends the process when loaded: --version never loads it, the rest does.
  const pkg = tmpDir('wd-startup-bin-');
  mkdirSync(join(pkg, 'dist'));
  for (const f of ['bin.js', 'version.js']) copyFileSync(join(ROOT, 'dist', f), join(pkg, 'dist', f));
  writeFileSync(join(pkg, 'dist', 'cli.js'), `process.stderr.write('cli loaded\\n');\nprocess.exit(${BOMB});\n`);
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'wd-startup-bin', type: 'module' }));
  const bin = join(pkg, 'dist', 'bin.js');
  for (const v of ['--version', '-V']) assert.equal(await node([bin, v]), { code: 0, stdout: `wd ${PKG.version}\n`, stderr: '' });
  for (const args of [['--help'], ['--version', '--json'], ['version'], []]) {
    assert.equal(await node([bin, ...args]), { code: BOMB, stdout: '', stderr: 'cli loaded\n' }, args.join(' '));
  }
  // The real bin gives what the bundle gives, exit status included.
  for (const args of [['--version'], ['--help'], ['nosuch']]) assert.equal(await node([BIN, ...args]), await node([WD_BIN, ...args]), args.join(' '));
});

test('wd --version and wd --help load neither ssh2 nor js-yaml', async () => {
  const cli = sandbox(['ssh2', 'js-yaml']);
  assert.equal(await node([cli, '--version']), { code: 0, stdout: `wd ${PKG.version}\n`, stderr: '' });
  const help = await node([cli, '--help']);
  const real = await runWd(['--help']);
  assert.is(real.code, 0, show(real));
  assert.equal(help, real);
});

test('control: reading a config loads js-yaml (its bomb goes off)', async () => {
  const cli = sandbox(['ssh2', 'js-yaml']);
  const r = await node([cli, 'deploy', 'prod', '--dry-run'], config());
  assert.equal(r, { code: BOMB, stdout: '', stderr: 'js-yaml loaded\n' });
});

test('a dry run reads the config without loading ssh2; a deploy to a host loads it (its bomb goes off)', async () => {
  const cli = sandbox(['ssh2']);
  const dir = config();
  const dry = await node([cli, 'deploy', 'prod', '--dry-run'], dir);
  assert.is(dry.code, 0, show(dry));
  assert.match(dry.stdout, /deploy@127\.0\.0\.1/);
  const real = await node([cli, 'deploy', 'prod'], dir);
  assert.equal(real, { code: BOMB, stdout: real.stdout, stderr: 'ssh2 loaded\n' });
});

/** The node built-ins a run of the bundle loaded (process.moduleLoadList, written at exit by a preload). */
async function builtinsLoaded(args: string[], cwd?: string): Promise<{ run: WdRun; loaded: string[] }> {
  const dir = tmpDir('wd-startup-ml-');
  const out = join(dir, 'modules.txt');
  const preload = join(dir, 'list.cjs');
  writeFileSync(preload, "process.on('exit', () => require('fs').writeFileSync(process.env.WD_TEST_MODULES, process.moduleLoadList.join('\\n')));\n");
  const run = await node(['--require', preload, WD_BIN, ...args], cwd, { WD_TEST_MODULES: out });
  return { run, loaded: readFileSync(out, 'utf8').split('\n') };
}

test('wd --version and wd --help load neither node:crypto nor node:child_process; a dry run does (the list is real)', async () => {
  for (const args of [['--version'], ['--help']]) {
    const { run, loaded } = await builtinsLoaded(args);
    assert.is(run.code, 0, show(run));
    assert.ok(loaded.length > 20, loaded.join('\n'));
    for (const m of ['NativeModule crypto', 'NativeModule child_process']) assert.not.ok(loaded.includes(m), `${args.join(' ')} loaded ${m}`);
  }
  const { run, loaded } = await builtinsLoaded(['deploy', 'prod', '--dry-run'], config());
  assert.is(run.code, 0, show(run));
  for (const m of ['NativeModule crypto', 'NativeModule child_process']) assert.ok(loaded.includes(m), `a dry run loaded no ${m}`);
});

test('an internal error from the bundle: its stack points into src/*.ts, not into dist/cli.js', async () => {
  const dir = config();
  const preload = join(dir, 'boom.cjs');
  writeFileSync(preload, "require('os').hostname = () => { throw new TypeError('boom from a test preload'); };\n");
  const r = await node(['--require', preload, WD_BIN, 'deploy', 'prod', '--dry-run'], dir);
  assert.is(r.code, 70, show(r));
  assert.ok(r.stderr.startsWith('wd: internal error (please report it): TypeError: boom from a test preload\n'), show(r));
  assert.ok(r.stderr.includes(` (${join(ROOT, 'src', 'run.ts')}:`), show(r));
  assert.ok(r.stderr.includes(` (${join(ROOT, 'src', 'main.ts')}:`), show(r));
  assert.not.ok(r.stderr.includes('dist/cli.js'), show(r));
});

test.run();
