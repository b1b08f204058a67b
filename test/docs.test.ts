// The docs' commands, run as written. Every shell block of README.md and
// docs/usage.md marked runnable (a `<!-- runnable -->` line right before its
// fence, or `runnable` in the fence's info string: ```sh runnable) runs with
// bash in a fresh clone of this repository, against the bundled `local`
// environment of deploy.yml, and must exit 0. So a doc cannot drift from the
// code unnoticed. The blocks of one page run in order, in one clone: a page
// reads top to bottom. `wd` is the built dist/cli.js (a shim on PATH), and
// `node dist/cli.js` works in the clone as in a user's after `npm ci`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from '../src/quote.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runProcess } from './helpers/wd.js';

test.after(cleanup);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PAGES = ['README.md', 'docs/usage.md'];
const MARK = '<!-- runnable -->';

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
}

/** The runnable blocks of a markdown text, in order. */
function runnableBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const marked = lines[start - 1]?.trim() === MARK || /\brunnable\b/.test(open[2]!);
    if (marked) out.push({ line: start + 1, lang: open[1]!, text: body.join('\n') + '\n' });
  }
  return out;
}

test('runnableBlocks: the marker line or the info string, nothing else', () => {
  const md = ['```sh', 'not me', '```', MARK, '```sh', 'echo a', '```', '', '```bash runnable', 'echo b', 'echo c', '```', '```yaml', 'x: 1', '```'].join('\n');
  assert.equal(runnableBlocks(md), [
    { line: 5, lang: 'sh', text: 'echo a\n' },
    { line: 9, lang: 'bash', text: 'echo b\necho c\n' },
  ]);
});

const GIT_ENV: NodeJS.ProcessEnv = {
  GIT_AUTHOR_NAME: 'wd docs test',
  GIT_AUTHOR_EMAIL: 'docs@wd.invalid',
  GIT_COMMITTER_NAME: 'wd docs test',
  GIT_COMMITTER_EMAIL: 'docs@wd.invalid',
};

/** A fresh clone of this repository at HEAD, with branch main there (deploy.yml's `local` deploys main), dist/ and a `wd` on PATH. */
function freshClone(): { dir: string; path: string } {
  const base = tmpDir('wd-docs-');
  const dir = join(base, 'wd');
  const env = { ...process.env, ...GIT_ENV };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
  execFileSync('git', ['clone', '-q', ROOT, dir], { env, stdio: 'pipe' });
  execFileSync('git', ['checkout', '-q', '-B', 'main'], { cwd: dir, env, stdio: 'pipe' });
  // The docs go back one commit (rollback --to HEAD~1); a shallow CI clone may have only one.
  execFileSync('git', ['commit', '-q', '--allow-empty', '-m', 'docs test: one more revision'], { cwd: dir, env, stdio: 'pipe' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'wd'), `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(join(ROOT, 'dist', 'cli.js'))} "$@"\n`);
  chmodSync(join(bin, 'wd'), 0o755);
  return { dir, path: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}` };
}

for (const page of PAGES) {
  test(`${page}: every runnable block runs as written against the local environment`, async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli.js')), 'dist/cli.js is built (npm run build)');
    const blocks = runnableBlocks(readFileSync(join(ROOT, page), 'utf8'));
    // A page whose markers all went missing must not pass by running nothing.
    assert.ok(blocks.length > 0, `${page} has no block marked ${MARK}`);
    const { dir, path } = freshClone();
    for (const b of blocks) {
      assert.ok(['sh', 'bash', 'shell'].includes(b.lang), `${page}:${b.line}: a runnable block is a sh/bash block, not '${b.lang}'`);
      const env: NodeJS.ProcessEnv = { PATH: path, NO_COLOR: '1', GIT_DIR: undefined, GIT_WORK_TREE: undefined, GIT_INDEX_FILE: undefined };
      const r = await runProcess('bash', ['-e', '-o', 'pipefail', '-c', b.text], { cwd: dir, env, timeoutMs: 120_000 }, `${page}:${b.line}`);
      assert.is(r.code, 0, `${page}:${b.line} exited ${r.code}:\n${b.text}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    }
  });
}

test.run();
