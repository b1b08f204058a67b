// wd installed as users install it, from a copy of this project (its git files
// as they are now, no node_modules, no dist/): the tarball `npm pack` makes,
// installed globally with and without install scripts, run with npx, and a
// fresh clone's `npm i -g .`. Each installed wd (the one-file bundle, dist/cli.js) prints its
// version and help, deploys and dry-runs; the library (dist/index.js) imports by the package's name.
// npm reaches the registry only for what its cache lacks (--prefer-offline).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeOrigin } from './helpers/git.js';
import { show } from './helpers/output.js';
import { closeFixtures, sshFixture } from './helpers/ssh-fixture.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runProcess, type WdRun } from './helpers/wd.js';

test.after.each(closeFixtures);
test.after(cleanup);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const TARBALL = `${PKG.name}-${PKG.version}.tgz`;
const NPM_MS = 5 * 60 * 1000;

// `npm test` hands its own settings (npm_config_*, npm_package_*) to its children: not to these.
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
// The installed wd starts with `#!/usr/bin/env node`.
const PATH = `${dirname(process.execPath)}:${process.env['PATH'] ?? '/usr/bin:/bin'}`;

const npm = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<WdRun> =>
  runProcess('npm', ['--no-audit', '--no-fund', '--prefer-offline', ...args], { cwd, env: { ...baseEnv, PATH, ...env }, timeoutMs: NPM_MS });

/** This project's files as git would hand them to a fresh clone (tracked and new, not ignored), working-tree contents. */
function copyProject(): string {
  const dir = join(tmpDir('wd-pkg-src-'), 'wd');
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const f of files) {
    if (f === '' || !existsSync(join(ROOT, f))) continue; // deleted but not yet staged
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(dir, f));
  }
  return dir;
}

/** f's promise, made on the first call and shared by the later ones. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= f());
}

/** `npm pack` of a copy (its prepare builds dist/ with this checkout's TypeScript). */
const tarball = once(async () => {
  const copy = copyProject();
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const out = tmpDir('wd-pkg-tgz-');
  const r = await npm(['pack', '--pack-destination', out], copy);
  assert.is(r.code, 0, show(r));
  return join(out, TARBALL);
});

/** The tarball installed globally into a new prefix (npm's flags added); the prefix. */
const installTarball = (flags: string[]) =>
  once(async () => {
    const tgz = await tarball();
    const prefix = tmpDir('wd-pkg-prefix-');
    const r = await npm(['install', '--global', '--prefix', prefix, '--omit=dev', ...flags, tgz], tmpDir());
    assert.is(r.code, 0, show(r));
    return prefix;
  });
const withoutScripts = installTarball(['--ignore-scripts']);
const withScripts = installTarball([]);

/** A fresh clone's `npm i -g .` into a new prefix; the clone and the prefix. */
const cloneInstall = once(async () => {
  const clone = copyProject();
  const prefix = tmpDir('wd-pkg-prefix-');
  const r = await npm(['install', '--global', '--prefix', prefix, '.'], clone);
  assert.is(r.code, 0, show(r));
  return { clone, prefix };
});

// The installs take a while each (the clone's installs its dev tools, the scripted one builds
// ssh2's native add-ons): start them all now, each test awaits its own.
test.before(() => {
  for (const start of [withoutScripts, withScripts, cloneInstall]) start().catch(() => undefined);
});

/** Runs an installed wd. */
const wd = (bin: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<WdRun> =>
  runProcess(bin, args, { cwd: opts.cwd ?? tmpDir(), env: { ...baseEnv, PATH, NO_COLOR: '1', ...opts.env } });

/** A local environment (no SSH): setup, a new commit, deploy; the files and the summary lines checked. */
async function localDeploy(bin: string): Promise<void> {
  const origin = makeOrigin();
  const dir = tmpDir('wd-pkg-deploy-');
  writeFileSync(join(dir, 'deploy.yml'), `prod:\n  domain: local\n  deploy_to: ${join(dir, 'app')}\n  repository: ${origin.url}\n  branch: main\n`);
  const setup = await wd(bin, ['setup', 'prod'], { cwd: dir });
  assert.is(setup.code, 0, show(setup));
  assert.is(readFileSync(join(dir, 'app', 'app.txt'), 'utf8'), 'v1\n');
  const sha = origin.commit('main', { 'app.txt': 'v2\n' });
  const deploy = await wd(bin, ['deploy', 'prod'], { cwd: dir });
  assert.is(deploy.code, 0, show(deploy));
  assert.is(readFileSync(join(dir, 'app', 'app.txt'), 'utf8'), 'v2\n');
  assert.match(
    deploy.stdout,
    new RegExp(`^Results:\n {2}local => succeeded ${sha.slice(0, 7)} \\(\\d+\\.\\ds\\)\nTotal: 1 deployment, 1 success, 0 failures\\.\n$`, 'm'),
    show(deploy),
  );
}

async function versionAndDeploy(bin: string): Promise<void> {
  const v = await wd(bin, ['--version']);
  assert.equal(v, { code: 0, stdout: `wd ${PKG.version}\n`, stderr: '' });
  const help = await wd(bin, ['--help']);
  assert.is(help.code, 0, show(help));
  assert.ok(help.stdout.startsWith(`wd ${PKG.version}: `), show(help));
  assert.is(help.stderr, '');
  await localDeploy(bin);
  // A dry run of a remote host: the config read (js-yaml from the installed package), nobody contacted.
  const dir = tmpDir('wd-pkg-dry-');
  writeFileSync(
    join(dir, 'deploy.yml'),
    'prod:\n  domain: deploy@127.0.0.1:1\n  deploy_to: /srv/app\n  repository: https://example.invalid/app.git\n  branch: main\n',
  );
  const dry = await wd(bin, ['deploy', 'prod', '--dry-run'], { cwd: dir });
  assert.is(dry.code, 0, show(dry));
  assert.match(dry.stdout, /deploy@127\.0\.0\.1/, show(dry));
}

/** The library (package.json "exports") imported by name from where the package is installed. */
async function libraryImport(packageDir: string): Promise<void> {
  const dir = tmpDir('wd-pkg-lib-');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(packageDir, join(dir, 'node_modules', PKG.name));
  const code = `import * as wd from '${PKG.name}'; console.log(wd.VERSION, typeof wd.deploy, typeof wd.loadEnv, new wd.ConfigError('x') instanceof wd.WdError);`;
  const r = await runProcess(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env: { ...baseEnv, PATH } });
  assert.equal(r, { code: 0, stdout: `${PKG.version} function function true\n`, stderr: '' });
}

test('the tarball: dist/ built fresh, the docs, LICENSE and CHANGELOG; no sources, tests or build scripts', async () => {
  const tgz = await tarball();
  const files = execFileSync('tar', ['tzf', tgz], { encoding: 'utf8' }).trim().split('\n').sort();
  for (const f of [
    'package/package.json',
    'package/README.md',
    'package/LICENSE',
    'package/CHANGELOG.md',
    'package/docs/usage.md',
    'package/schema/deploy.schema.json',
    'package/schema/result.schema.json',
    'package/dist/index.js',
    'package/dist/index.d.ts',
    `package/${PKG.bin['wd']}`,
  ]) {
    assert.ok(files.includes(f), `${f} in\n${files.join('\n')}`);
  }
  const outside = files.filter(
    (f) =>
      !/^package\/(dist\/.*\.(js|d\.ts)|dist\/cli\.js\.map|docs\/.*|schema\/[a-z-]+\.schema\.json|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/.test(f),
  );
  assert.equal(outside, []);
  // Every module in dist/ has its source: nothing left over from a module that moved.
  for (const f of files.filter((x) => x.startsWith('package/dist/'))) {
    const source = join(ROOT, 'src', f.slice('package/dist/'.length).replace(/(\.d)?\.ts$|\.js(\.map)?$/, '.ts'));
    assert.ok(existsSync(source), `${f} has no source ${source}`);
  }
  // The bin answers --version and imports the CLI: the one-file bundle (scripts/bundle.mjs)
  // with its source map, not tsc's dist/cli.js.
  assert.is(PKG.bin['wd'], 'dist/bin.js');
  const bin = execFileSync('tar', ['xzOf', tgz, 'package/dist/bin.js'], { encoding: 'utf8' });
  assert.ok(bin.startsWith('#!/usr/bin/env node\n'), bin.slice(0, 200));
  assert.match(bin, "await import('./cli.js')");
  const cli = execFileSync('tar', ['xzOf', tgz, 'package/dist/cli.js'], { encoding: 'utf8' });
  assert.ok(cli.startsWith('#!/usr/bin/env node\n'), cli.slice(0, 200));
  assert.not.match(cli, /\bfrom ["']\.\.?\//);
  assert.ok(cli.trimEnd().endsWith('//# sourceMappingURL=cli.js.map'), cli.slice(-200));
  assert.ok(files.includes('package/dist/cli.js.map'));
});

test('global install of the tarball with --omit=dev --ignore-scripts: --version, a local deploy, an SSH deploy (no native add-ons)', async () => {
  const prefix = await withoutScripts();
  const bin = join(prefix, 'bin', 'wd');
  await versionAndDeploy(bin);
  await libraryImport(join(prefix, 'lib', 'node_modules', PKG.name));
  // Only the four runtime dependencies and theirs; ssh2 without its crypto binding or cpu-features built.
  const modules = join(prefix, 'lib', 'node_modules', PKG.name, 'node_modules');
  assert.not.ok(existsSync(join(modules, 'typescript')));
  assert.not.ok(existsSync(join(modules, 'ssh2', 'lib', 'protocol', 'crypto', 'build')));
  assert.not.ok(existsSync(join(modules, 'cpu-features', 'build')));
  const fx = await sshFixture();
  const file = fx.config();
  const ssh = await wd(bin, ['setup', 'prod', '-p', file], { env: { HOME: fx.home, SSH_AUTH_SOCK: '' } });
  assert.is(ssh.code, 0, show(ssh));
  assert.is(readFileSync(join(fx.hosts[0]!.home, 'app', 'app.txt'), 'utf8'), 'v1\n');
});

test('global install of the tarball with install scripts: --version and a local deploy', async () => {
  await versionAndDeploy(join(await withScripts(), 'bin', 'wd'));
});

test('npx runs wd from the tarball without installing it', async () => {
  const tgz = await tarball();
  // npx keeps what it installs under the npm cache, in _npx/<hash of the spec>; this spec is new each run.
  const cache = execFileSync('npm', ['config', 'get', 'cache'], { env: { ...baseEnv, PATH }, encoding: 'utf8' }).trim();
  const npxDir = join(cache, '_npx');
  const before = new Set(existsSync(npxDir) ? readdirSync(npxDir) : []);
  try {
    const r = await npm(['exec', '--yes', '--ignore-scripts', '--package', tgz, '--', 'wd', '--version'], tmpDir());
    assert.is(r.code, 0, show(r));
    assert.is(r.stdout, `wd ${PKG.version}\n`);
  } finally {
    for (const d of existsSync(npxDir) ? readdirSync(npxDir) : []) {
      if (!before.has(d) && readFileSync(join(npxDir, d, 'package.json'), 'utf8').includes(basename(dirname(tgz))))
        rmSync(join(npxDir, d), { recursive: true, force: true });
    }
  }
});

test("a fresh clone's `npm i -g .` (no node_modules, no dist/): --version and a local deploy", async () => {
  const { clone, prefix } = await cloneInstall();
  assert.ok(existsSync(join(clone, 'dist', 'cli.js')));
  assert.ok(existsSync(join(clone, 'dist', 'cli.js.map')), 'the clone built the bundle (scripts/bundle.mjs ran)');
  await versionAndDeploy(join(prefix, 'bin', 'wd'));
  await libraryImport(join(prefix, 'lib', 'node_modules', PKG.name));
});

test.run();
