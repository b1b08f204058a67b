// Runs every *.test.js under build/test with uvu's own parse() and run(), then
// prints the plain "N passed, N failed" line CI reads. WD_TEST_FILTER=substring
// limits the run to the test files whose path (relative to build/test) holds it;
// WD_TEST_DIR runs another directory (test/harness.test.ts uses it).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'uvu/parse';
import { run } from 'uvu/run';

const dir = process.env['WD_TEST_DIR'] || dirname(fileURLToPath(import.meta.url));

// uvu counts in its own printed summary only; to count exactly (and to see a
// suite whose `before` hook threw, which uvu reports as passing), every suite
// runner uvu queues is wrapped. The queue is uvu's: run() pushes one group per
// file ([file name, ...suite runners]) and exec() calls each runner, which
// resolves to [errors or true, passed, skipped, total].
type Outcome = [errors: string | true, passed: number, skipped: number, total: number];
const tally = { passed: 0, failed: 0, skipped: 0, file: '' };

class CountedGroup extends Array<unknown> {
  override push(...runners: unknown[]): number {
    const file = String(this[0]);
    return super.push(
      ...runners.map((r) =>
        typeof r !== 'function'
          ? r
          : async (): Promise<Outcome> => {
              tally.file = file;
              const out = (await r()) as Outcome;
              const [, passed, skipped, total] = out;
              tally.passed += passed;
              tally.failed += total - passed;
              tally.skipped += skipped;
              return out;
            },
      ),
    );
  }
}
class CountedQueue extends Array<unknown> {
  override push(...groups: unknown[]): number {
    return super.push(...groups.map((g) => CountedGroup.from(g as unknown[])));
  }
}
// Set before uvu's module first loads: it keeps a queue that already exists.
(globalThis as { UVU_QUEUE?: unknown }).UVU_QUEUE = new CountedQueue();

const verdict = (): string => `${tally.passed} passed, ${tally.failed} failed${tally.skipped ? `, ${tally.skipped} skipped` : ''}`;

// What this process holds open before any test (its own stdout and stderr, made on first use),
// to tell apart what tests leave open.
process.stdout.write('');
process.stderr.write('');
const baseline = process.getActiveResourcesInfo();

// uvu has no timeouts; a wedged test must still end the run with a verdict.
// The full suite takes 2 to 3 minutes alone, near 6 on a busy 2-core machine.
// 25 minutes: the suite takes 3-5 alone, but 10+ on a 2-core machine shared with other runs; a wedged test still ends the run.
const WATCHDOG_MS = Number(process.env['WD_TEST_WATCHDOG_MS'] ?? 25 * 60 * 1000);
const watchdog = setTimeout(() => {
  console.log(`\ntest run exceeded ${WATCHDOG_MS / 60000} minutes (in ${tally.file || 'no file yet'}): stopping`);
  tally.failed++;
  console.log(verdict());
  process.exit(1);
}, WATCHDOG_MS).unref();

// An error no test catches (a stray callback throwing, an unhandled rejection) would end the
// process mid-run without a verdict: it is a failure, and the run stops there with the line.
process.on('uncaughtException', (e) => {
  console.log(`\nuncaught error (in ${tally.file || 'loading the test files'}): ${e.stack ?? String(e)}`);
  tally.failed++;
  console.log(verdict());
  process.exit(1);
});

const filter = process.env['WD_TEST_FILTER'];
const { suites } = await parse(dir, /\.test\.js$/);
const picked = suites.filter((s) => !filter || s.name.includes(filter));

try {
  await run(picked, { bail: false });
} catch (e) {
  // A test file that fails to load is a failure, with the verdict line still printed.
  console.log(`\ntest run stopped in ${tally.file || 'loading the test files'}: ${(e as Error).stack ?? String(e)}`);
  tally.failed++;
}

clearTimeout(watchdog);
// Let what is already finishing (a file removal in flight) finish before looking.
await new Promise((r) => setTimeout(r, 100));
// A server, socket, timer or child a test left open would keep node (and CI) waiting after the
// last test: name what is left, then end the run anyway.
const left = [...baseline].reduce((rest, r) => {
  const i = rest.indexOf(r);
  return i < 0 ? rest : [...rest.slice(0, i), ...rest.slice(i + 1)];
}, process.getActiveResourcesInfo());
if (left.length > 0) console.log(`\nnote: still open after the last test (a test did not close it): ${left.sort().join(', ')}`);
if (tally.passed + tally.failed === 0) {
  console.log(`no test ran${filter ? ` (no test file under ${dir} matches WD_TEST_FILTER=${filter})` : ''}: that is a failure`);
}
console.log(verdict());
process.exit(tally.failed > 0 || tally.passed + tally.failed === 0 ? 1 : 0);
