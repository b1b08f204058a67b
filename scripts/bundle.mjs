// Bundles the CLI (src/cli.ts and everything it reaches) into one ES module, dist/cli.js,
// with a source map next to it (dist/cli.js.map). It runs after tsc, whose dist/cli.js it
// replaces: the library (dist/index.js and the modules it imports) stays tsc's output.
// Why: a start-up is mostly node's own, then one ES module per file; one file is one read,
// one compile and no resolution. docs/benchmarks.md ("Start-up") has the measurements.
//
// What the bundle loads only where it is first used, because a `wd --version` needs none of it:
// - ssh2 and js-yaml stay in node_modules (ssh2 carries optional native add-ons) and are
//   required when the module that imports them first runs: ssh2 when a host is contacted,
//   js-yaml when a config is read. A static import would be hoisted to the bundle's top
//   and loaded at every start.
// - node's built-in modules the same way (child_process and stream alone cost more than
//   the rest of `wd --version`).
// - node:crypto, which output.ts reaches on every start (through marks.ts), is loaded by the
//   first call of one of its functions: only its lower-case functions (createHash, ...) can be
//   imported; anything else fails this build, loudly.
import { chmodSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const DEPENDENCIES = new Set(['ssh2', 'js-yaml']);
const ON_FIRST_CALL = new Set(['node:crypto']);

/** @type {esbuild.Plugin} */
const loadWhereUsed = {
  name: 'load-where-used',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.namespace === 'where-used') return { path: a.path, external: true };
      if (!builtins.has(a.path) && !DEPENDENCIES.has(a.path)) return undefined;
      return { path: a.path, namespace: 'where-used' };
    });
    build.onLoad({ filter: /.*/, namespace: 'where-used' }, (a) => {
      const id = JSON.stringify(a.path);
      if (!ON_FIRST_CALL.has(a.path)) return { contents: `module.exports = require(${id});`, loader: 'js' };
      const m = require(a.path);
      const names = Object.keys(m).filter((k) => /^[a-z]/.test(k) && typeof m[k] === 'function');
      return { contents: names.map((n) => `export const ${n} = (...a) => require(${id}).${n}(...a);`).join('\n'), loader: 'js' };
    });
  },
};

const outfile = join(root, 'dist', 'cli.js');
await esbuild.build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  plugins: [loadWhereUsed],
  // `require` for the modules above, resolved from dist/ as an import would be.
  banner: { js: "import { createRequire as __wdCreateRequire } from 'node:module';\nconst require = __wdCreateRequire(import.meta.url);" },
  // Not minified: a stack trace through the bundle stays readable; src/main.ts maps it
  // back to src/*.ts with the source map when it prints an internal error.
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
// The bin (src/bin.ts, tsc's output) answers --version itself and imports this bundle for the rest.
chmodSync(join(root, 'dist', 'bin.js'), 0o755);
