// A local run that does not stop after an abort: once the grace period is
// over, wd stops waiting for it, even while something outside bash's process
// group still holds the output pipes open.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalTransport } from '../../src/transport/local.js';
import type { TransportResult } from '../../src/transport/types.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';

test.after(cleanup);

test('local transport: after an abort and the grace period, the run is cut off and reported, even with its pipes still held', async () => {
  const dir = tmpDir('wd-cutoff-');
  const pidFile = join(dir, 'holder.pid');
  // bash never reads the abort line (exec sleep), and a process in its own session keeps stdout open.
  const script = `setsid sleep 120 & echo $! >${pidFile}; echo started; exec sleep 120\n`;
  const abort = new AbortController();
  let out = '';
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('LocalTransport.run hung after the cut-off')), 40000)));
  const run = new LocalTransport(process.env, dir).run({
    script,
    onStdout: (c) => {
      out += c.toString();
      if (out.includes('started')) abort.abort();
    },
    onStderr: () => {},
    abort: abort.signal,
  });
  let r: TransportResult;
  try {
    r = await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
    const holder = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(holder, 'SIGKILL');
    } catch {}
  }
  assert.is(out, 'started\n');
  assert.is(r.exitCode, null);
  assert.is(r.error, 'the run did not stop within the grace period after the abort; wd stopped waiting for it');
});

test.run();
