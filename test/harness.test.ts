// The test runner itself (test/run.ts): a verdict line CI can read whatever
// the tests do, and a failure whenever nothing ran. Each case runs the built
// runner on a throwaway directory of tiny uvu test files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runProcess, type WdRun } from './helpers/wd.js';
import { show } from './helpers/output.js';

test.after(cleanup);

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'run.js');
// The same uvu module the runner loads, so the files below queue into its run.
const UVU = import.meta.resolve('uvu');
const ASSERT = import.meta.resolve('uvu/assert');

/** A directory of test files (name → body after the imports), run by the runner. */
async function runner(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<WdRun> {
  const dir = tmpDir('wd-harness-');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), `import { test, suite } from '${UVU}';\nimport * as assert from '${ASSERT}';\n${body}\ntest.run();\n`);
  }
  return runProcess(process.execPath, [RUNNER], { env: { WD_TEST_DIR: dir, WD_TEST_FILTER: undefined, WD_TEST_WATCHDOG_MS: undefined, ...env } });
}
const lastLine = (r: WdRun): string => r.stdout.trimEnd().split('\n').pop() ?? '';

const PASS = "test('passes', () => assert.ok(true));";
const FAIL = "test('fails', () => assert.is(1, 2));";

test('counts passes and failures over all files, exit 1 on a failure, 0 when all pass', async () => {
  const mixed = await runner({ 'a.test.js': `${PASS}\n${PASS}`, 'sub/b.test.js': FAIL, 'helper.js': 'throw new Error("not a test file")' });
  assert.is(mixed.code, 1, show(mixed));
  assert.is(lastLine(mixed), '2 passed, 1 failed', show(mixed));
  assert.match(mixed.stdout, 'sub/b.test.js');
  const green = await runner({ 'a.test.js': PASS });
  assert.is(green.code, 0, show(green));
  assert.is(lastLine(green), '1 passed, 0 failed');
});

test('a suite whose before hook throws counts its tests as failed (uvu alone exits 0)', async () => {
  const r = await runner({ 'a.test.js': `test.before(() => { throw new Error('setup broke'); });\n${PASS}\n${PASS}` });
  assert.is(r.code, 1, show(r));
  assert.is(lastLine(r), '0 passed, 2 failed', show(r));
});

test('skipped tests are counted, not passed', async () => {
  const r = await runner({ 'a.test.js': `${PASS}\ntest.skip('later', () => {});` });
  assert.is(r.code, 0, show(r));
  assert.is(lastLine(r), '1 passed, 0 failed, 1 skipped');
});

test('a test file that throws while loading fails the run, and the verdict line is still printed', async () => {
  const r = await runner({ 'a.test.js': PASS, 'b.test.js': "throw new Error('broken import');" });
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, 'broken import');
  assert.match(lastLine(r), / passed, [1-9]\d* failed$/, show(r));
});

test('an error no test catches (a throwing timer, an unhandled rejection) ends the run with a verdict', async () => {
  for (const stray of ["setTimeout(() => { throw new Error('stray throw'); }, 10)", "Promise.reject(new Error('stray throw'))"]) {
    const r = await runner({
      'a.test.js': PASS,
      'b.test.js': `test('leaves a stray', async () => { ${stray}; await new Promise((r) => setTimeout(r, 200)); });`,
    });
    assert.is(r.code, 1, show(r));
    assert.match(r.stdout, 'uncaught error (in b.test.js): Error: stray throw', show(r));
    assert.is(lastLine(r), '1 passed, 1 failed', show(r));
  }
});

test('no test ran: no file, or a filter matching none, is a failure', async () => {
  const empty = await runner({});
  assert.is(empty.code, 1, show(empty));
  assert.match(empty.stdout, 'no test ran: that is a failure\n0 passed, 0 failed\n');
  const r = await runner({ 'a.test.js': PASS }, { WD_TEST_FILTER: 'nothing-matches' });
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, 'no test file under');
  assert.match(r.stdout, 'matches WD_TEST_FILTER=nothing-matches');
});

test('WD_TEST_FILTER matches the path below the test directory, not the directory itself', async () => {
  const r = await runner({ 'a.test.js': PASS, 'hook/b.test.js': FAIL }, { WD_TEST_FILTER: 'a.test' });
  assert.is(r.code, 0, show(r));
  assert.is(lastLine(r), '1 passed, 0 failed');
  // The temp directory's name holds "wd-harness": it must not select every file.
  const all = await runner({ 'a.test.js': PASS }, { WD_TEST_FILTER: 'wd-harness' });
  assert.is(all.code, 1, show(all));
});

test('runProcess: a child that exits without reading its input is a result, not a crash (EPIPE)', async () => {
  const r = await runProcess('sh', ['-c', 'exit 3'], { input: 'x'.repeat(4 << 20) });
  assert.equal(r, { code: 3, stdout: '', stderr: '' });
});

test('a test leaving a server open: the run still ends, naming what was left open', async () => {
  const r = await runner({
    'a.test.js': `import { createServer } from 'node:net';\ntest('listens', () => new Promise((r) => createServer().listen(0, '127.0.0.1', r)));`,
  });
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, '\nnote: still open after the last test (a test did not close it): TCPServerWrap\n1 passed, 0 failed\n');
});

test('the watchdog ends a wedged run with a verdict naming the file', async () => {
  const r = await runner(
    { 'a.test.js': PASS, 'b.test.js': "test('hangs', () => new Promise(() => setInterval(() => {}, 1000)));" },
    { WD_TEST_WATCHDOG_MS: '500' },
  );
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, 'test run exceeded');
  assert.match(r.stdout, '(in b.test.js): stopping');
  assert.is(lastLine(r), '1 passed, 1 failed');
});

test.run();
