// npm runs this as `prepare`: after `npm ci` / `npm install` in a clone, before `npm pack` and
// `npm publish` (so the tarball carries a fresh dist/), and for a git dependency. It makes a
// clean dist/ (no file left over from a module that moved): tsc's output, then the CLI bundled
// into one file (`npm run build` does the same two steps).
//
// `npm i -g .` in a fresh clone links the folder into the global prefix and installs none of
// its dependencies, so there is no TypeScript to build with and no js-yaml or ssh2 for wd to
// run with. Then this first installs the locked dependencies, dev tools included, into the
// clone itself, as `npm ci` would (their install scripts are skipped: wd needs none of them).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function run(file, args, env = process.env) {
  const r = spawnSync(file, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`wd prepare: ${[file, ...args].join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

if (!existsSync(tsc)) {
  console.error('wd prepare: no node_modules in this clone (npm i -g . installs none); installing them from package-lock.json first');
  // The global install's own settings must not steer this local one.
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^npm_config_(global|location|prefix|omit|include|production|only|dry_run)$/i.test(k)) delete env[k];
  }
  const npm = process.env.npm_execpath;
  const [file, pre] = npm?.endsWith('.js') ? [process.execPath, [npm]] : [npm || 'npm', []];
  run(file, [...pre, 'ci', '--ignore-scripts', '--include=dev', '--no-audit', '--no-fund'], env);
}

rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]);
// The CLI as one bundled file over tsc's dist/cli.js (scripts/bundle.mjs says why).
run(process.execPath, [join(root, 'scripts', 'bundle.mjs')]);
