// The progress display, frame by frame, with a fake clock and timer and one
// string "terminal" that records everything in the order it was written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { elapsed, Progress, type ProgressOptions } from '../src/progress.js';

function rig(opts: Partial<ProgressOptions> & { isTTY: boolean }) {
  let t = 0;
  let tick: (() => void) | undefined;
  let every = 0;
  const screen: string[] = [];
  const term = { write: (s: string) => screen.push(s) };
  const p = new Progress({
    stream: term,
    quiet: false,
    columns: () => 200,
    now: () => t,
    setInterval: (fn, ms) => {
      tick = fn;
      every = ms;
      return 'timer';
    },
    clearInterval: (h) => {
      assert.is(h, 'timer');
      tick = undefined;
    },
    ...opts,
  });
  return {
    p,
    term,
    screen,
    /** Move the clock on, firing the timer at each of its due times. */
    advance(ms: number) {
      const end = t + ms;
      while (tick !== undefined && every > 0 && t + every - (t % every) <= end) {
        t += every - (t % every);
        tick();
      }
      t = end;
    },
    take(): string[] {
      return screen.splice(0);
    },
  };
}

test('elapsed: whole seconds, then minutes', () => {
  assert.equal([0, 999, 1000, 59_999, 60_000, 65_400, 3_600_000].map(elapsed), ['0s', '0s', '1s', '59s', '1m00s', '1m05s', '60m00s']);
});

test('terminal: no line for the first second, then one frame per change', () => {
  const r = rig({ isTTY: true });
  r.p.start(['web1', 'web2', 'db1']);
  r.p.step('web1', 'connecting');
  r.p.step('db1', 'connecting');
  r.advance(900);
  assert.equal(r.take(), []);
  r.advance(100);
  assert.equal(r.take(), ['\r[1s] 0 done, 0 failed, 2 running, 1 waiting of 3 - slowest: web1 (connecting, 1s)\x1b[K']);
  r.advance(500);
  assert.equal(r.take(), [], 'nothing changed within the second: no redraw');
  r.p.step('web2', 'connecting');
  r.p.step('web1', 'fetch');
  r.p.step('db1', 'post_deploy_script');
  r.p.done('web1', true);
  r.advance(100);
  assert.equal(r.take(), ['\r[1s] 1 done, 0 failed, 2 running of 3 - slowest: db1 (post_deploy_script, 1s)\x1b[K']);
  r.p.done('web2', false);
  r.advance(19_000);
  assert.equal(r.take().pop(), '\r[20s] 1 done, 1 failed, 1 running of 3 - slowest: db1 (post_deploy_script, 20s)\x1b[K');
  r.p.done('db1', true);
  r.p.stop();
  assert.equal(r.take(), ['\r\x1b[K'], 'stop erases the line');
  r.advance(5000);
  assert.equal(r.take(), [], 'and the timer is gone');
});

test('terminal: an output line erases the status line first; the redraw waits for the next frame', () => {
  const r = rig({ isTTY: true, showAfterMs: 0 });
  const out = r.p.wrap(r.term);
  r.p.start(['web1']);
  r.p.step('web1', 'rsync');
  r.advance(100);
  out.write('web1 | one\n');
  out.write('web1 | two\n');
  assert.equal(r.take(), ['\r[0s] 0 done, 0 failed, 1 running of 1 - slowest: web1 (rsync, 0s)\x1b[K', '\r\x1b[K', 'web1 | one\n', 'web1 | two\n']);
  r.advance(100);
  assert.equal(r.take(), ['\r[0s] 0 done, 0 failed, 1 running of 1 - slowest: web1 (rsync, 0s)\x1b[K']);
});

test('terminal: a flood of output redraws the line at most once per frame', () => {
  const r = rig({ isTTY: true, showAfterMs: 0 });
  r.p.start(['web1']);
  r.p.step('web1', 'post_deploy_script');
  let frames = 0;
  for (let ms = 0; ms < 2000; ms += 5) {
    r.p.write(r.term, 'web1 | line\n');
    r.advance(5);
    frames += r.take().filter((s) => s.startsWith('\r[')).length;
  }
  assert.is(frames, 20);
});

test('terminal: the line is cut to the width of the terminal, names are made inert', () => {
  const r = rig({ isTTY: true, showAfterMs: 0, columns: () => 40 });
  r.p.start(['web1\x1b[2J\r']);
  r.p.step('web1\x1b[2J\r', 'fetch');
  r.advance(100);
  const [frame] = r.take();
  assert.is(frame, '\r[0s] 0 done, 0 failed, 1 running of 1 …\x1b[K');
  assert.is(frame!.length - '\r\x1b[K'.length, 39);
  assert.is(r.p.status(), '[0s] 0 done, 0 failed, 1 running of 1 - slowest: web1 (fetch, 0s)');
});

test('not a terminal: a keep-alive line every 10 s listing the running hosts, slowest first', () => {
  const r = rig({ isTTY: false });
  r.p.start(['web1', 'web3', 'db1']);
  r.p.step('db1', 'connecting');
  r.advance(2000);
  r.p.step('web3', 'connecting');
  r.p.step('web1', 'connecting');
  r.p.done('web1', true);
  r.p.step('db1', 'post_deploy_script');
  r.p.step('web3', 'fetch');
  r.advance(7999);
  assert.equal(r.take(), []);
  r.advance(1);
  assert.equal(r.take(), ['still running: db1 (post_deploy_script, 10s), web3 (fetch, 8s)\n']);
  r.advance(10_000);
  assert.equal(r.take(), ['still running: db1 (post_deploy_script, 20s), web3 (fetch, 18s)\n']);
  r.p.write(r.term, 'db1 | hi\n');
  assert.equal(r.take(), ['db1 | hi\n'], 'no erasing off a terminal');
  r.p.done('db1', false);
  r.p.done('web3', true);
  r.advance(10_000);
  assert.equal(r.take(), [], 'nothing running, nothing to say');
  r.p.stop();
  assert.equal(r.take(), []);
});

test('not a terminal: many hosts are summed up', () => {
  const r = rig({ isTTY: false, keepAliveMs: 1000 });
  const names = Array.from({ length: 8 }, (_, i) => `h${i}`);
  r.p.start(names);
  for (const n of names) r.p.step(n, 'fetch');
  r.advance(1000);
  assert.equal(r.take(), ['still running: h0 (fetch, 1s), h1 (fetch, 1s), h2 (fetch, 1s), h3 (fetch, 1s), h4 (fetch, 1s) and 3 more\n']);
});

test('--quiet: nothing on a terminal; off a terminal the keep-alive still runs', () => {
  const tty = rig({ isTTY: true, quiet: true });
  tty.p.start(['web1']);
  tty.p.step('web1', 'fetch');
  tty.advance(60_000);
  tty.p.write(tty.term, 'held line\n');
  tty.p.stop();
  assert.equal(tty.take(), ['held line\n']);
  const ci = rig({ isTTY: false, quiet: true });
  ci.p.start(['web1']);
  ci.p.step('web1', 'fetch');
  ci.advance(10_000);
  assert.equal(ci.take(), ['still running: web1 (fetch, 10s)\n']);
});

test.run();
