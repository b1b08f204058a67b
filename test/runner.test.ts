// The runner and report with a scripted transport (the seam for tests): the
// concurrency cap, waves, failure reasons from markers, --quiet, interrupts,
// and a runner that never rejects. main() in-process for usage errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../src/main.js';
import { waves } from '../src/plan.js';
import { exitCode, summary } from '../src/report.js';
import { runHosts, type HostJob, type RunOptions } from '../src/runner.js';
import type { RunRequest, Transport, TransportResult } from '../src/transport/types.js';

const MARK = '::wd:t0k3n::';

/** A host that prints `out` (markers written with MARK) and ends as `end` says, after `wait()` resolves. */
class Scripted implements Transport {
  started = 0;
  constructor(
    private readonly out: string,
    private readonly end: TransportResult | Error,
    private readonly wait: () => Promise<void> = async () => {},
    private readonly onStart: () => void = () => {},
  ) {}
  async run(req: RunRequest): Promise<TransportResult> {
    this.started++;
    this.onStart();
    req.onStdout(Buffer.from(this.out));
    await this.wait();
    if (this.end instanceof Error) throw this.end;
    return this.end;
  }
}

function sink(): { lines: string[]; stream: { write(s: string): boolean } } {
  const lines: string[] = [];
  return {
    lines,
    stream: {
      write: (s: string) => {
        lines.push(s);
        return true;
      },
    },
  };
}

function opts(extra: Partial<RunOptions> = {}): RunOptions & { out: string[] } {
  const out = sink();
  let t = 0;
  return { concurrency: 10, stdout: out.stream, stderr: out.stream, quiet: false, prefix: (h) => `${h} | `, now: () => (t += 100), out: out.lines, ...extra };
}

const job = (name: string, transport: Transport): HostJob => ({ name, script: 'unused', mark: MARK, transport });
const ok = `${MARK} step fetch\n${MARK} previous aaa\n${MARK} revision bbb\nhello\n${MARK} done\n`;

test('statuses and reasons from markers and exit codes; a throwing transport is still a result', async () => {
  const o = opts();
  const results = await runHosts(
    [
      job('a', new Scripted(ok, { exitCode: 0 })),
      job('b', new Scripted(`${MARK} step post_deploy_script\n`, { exitCode: 3 })),
      job('c', new Scripted(`${MARK} step fetch\n${MARK} reason branch x not found in repo\n`, { exitCode: 1 })),
      job('d', new Scripted(`${MARK} step fetch\n`, { exitCode: 0 })),
      job('e', new Scripted('', new Error('boom'))),
      job('f', new Scripted(`${MARK} step lock\n${MARK} result busy alice@laptop deploy since 2026\n`, { exitCode: 75 })),
      job('g', new Scripted(`${MARK} step post_deploy_script\n${MARK} result timeout\n`, { exitCode: 143 })),
      job('h', new Scripted(`${MARK} revision ccc\n${MARK} unchanged\n`, { exitCode: 0 })),
      job('i', new Scripted(`${MARK} step post_deploy_script\n${MARK} reason post_deploy_script not found: /app/x.sh\n`, { exitCode: 1 })),
    ],
    { ...o, timeoutSec: 5 },
  );
  assert.equal(
    results.map((r) => [r.host, r.status, r.reason ?? '']),
    [
      ['a', 'succeeded', ''],
      ['b', 'failed', 'post_deploy_script exited 3'],
      ['c', 'failed', 'branch x not found in repo'],
      ['d', 'failed', 'the script stopped without finishing (last step: git fetch/checkout/reset)'],
      ['e', 'failed', 'internal error: boom'],
      ['f', 'failed', 'locked by another run (alice@laptop deploy since 2026); try again later, or queue with --wait-lock SECONDS'],
      ['g', 'timeout', 'timed out after 5s during post_deploy_script'],
      ['h', 'unchanged', ''],
      ['i', 'failed', 'post_deploy_script not found: /app/x.sh'],
    ],
  );
  assert.equal([results[0]!.previous, results[0]!.revision, results[7]!.revision], ['aaa', 'bbb', 'ccc']);
  assert.ok(o.out.includes('a | hello\n'));
  assert.not.ok(
    o.out.some((l) => l.includes(MARK)),
    'markers never reach the output',
  );
  assert.is(exitCode(results), 1);
  assert.is(exitCode([results[0]!, results[7]!]), 0);
});

test('the concurrency cap: never more hosts at once than asked', async () => {
  let running = 0;
  let peak = 0;
  const hosts = Array.from({ length: 12 }, (_, i) =>
    job(
      `h${i}`,
      new Scripted(
        ok,
        { exitCode: 0 },
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          running--;
        },
        () => {
          running++;
          peak = Math.max(peak, running);
        },
      ),
    ),
  );
  const results = await runHosts(hosts, opts({ concurrency: 3 }));
  assert.is(results.length, 12);
  assert.ok(results.every((r) => r.ok));
  assert.is(peak, 3);
});

test('waves: after a wave with a failure, the rest are skipped and never contacted', async () => {
  const t = [new Scripted(ok, { exitCode: 0 }), new Scripted('', { exitCode: 1 }), new Scripted(ok, { exitCode: 0 }), new Scripted(ok, { exitCode: 0 })];
  const results = await runHosts(
    t.map((x, i) => job(`h${i}`, x)),
    opts({ waves: [1, 1, 2] }),
  );
  assert.equal(
    results.map((r) => r.status),
    ['succeeded', 'failed', 'skipped', 'skipped'],
  );
  assert.equal(
    t.map((x) => x.started),
    [1, 1, 0, 0],
  );
  assert.match(summary(results, false), '  h2 => skipped: an earlier wave had a failure\n');
  assert.match(summary(results, false), 'Total: 4 deployments, 1 success, 1 failure, 2 skipped.\n');
});

test('waves(): canary first, then batches of N or N%, in domain order', () => {
  assert.equal(waves(5, undefined, false), [5]);
  assert.equal(waves(5, undefined, true), [1, 4]);
  assert.equal(waves(5, { size: 2 }, false), [2, 2, 1]);
  assert.equal(waves(10, { percent: 25 }, true), [1, 3, 3, 3]);
  assert.equal(waves(3, { percent: 1 }, false), [1, 1, 1]);
  assert.equal(waves(0, { size: 2 }, true), []);
});

test('stop starting (first Ctrl-C): hosts not yet started are skipped; abort (second) reaches the running ones', async () => {
  const stop = new AbortController();
  const abort = new AbortController();
  let seen: AbortSignal | undefined;
  const first: Transport = {
    async run(req) {
      seen = req.abort;
      stop.abort();
      abort.abort();
      return { exitCode: 143 };
    },
  };
  const second = new Scripted(ok, { exitCode: 0 });
  const results = await runHosts([job('a', first), job('b', second)], opts({ concurrency: 1, stopStarting: stop.signal, abortRunning: abort.signal }));
  assert.ok(seen?.aborted, 'the running host was told to stop');
  assert.equal(
    results.map((r) => r.status),
    ['interrupted', 'skipped'],
  );
  assert.is(second.started, 0);
});

test('--quiet: a successful host prints nothing, a failed host its held lines', async () => {
  const o = opts({ quiet: true });
  await runHosts([job('a', new Scripted(ok, { exitCode: 0 })), job('b', new Scripted('why it broke\n', { exitCode: 2 }))], o);
  assert.equal(o.out, ['b | why it broke\n']);
});

test('main() in-process: usage errors are one line on stderr and exit 2; --json gets a JSON error too', async () => {
  const out = sink();
  const err = sink();
  const io = { stdout: out.stream, stderr: err.stream, env: {}, cwd: '/', now: () => 0 };
  assert.is(await main(['deploy', 'x', '--frobnicate'], io), 2);
  assert.equal(out.lines, []);
  assert.match(err.lines.join(''), /^wd: unknown option '--frobnicate'/);
  const j = sink();
  assert.is(await main(['--json', 'frob'], { ...io, stdout: j.stream }), 2);
  assert.is(JSON.parse(j.lines.join('')).error.kind, 'usage');
});

test.run();
