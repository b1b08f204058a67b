// Host output → lines: split on bytes (UTF-8 safe at every chunk boundary),
// bounded per line and per held host, sanitised for the terminal, with wd's
// markers found wherever a line ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostOutput, LineSplitter, LINE_TAIL, MARK, renderLine, sanitize, shorten, type Line, type LongLine } from '../src/output.js';
import { summary } from '../src/report.js';
import type { HostResult } from '../src/runner.js';

/** Feed the chunks to a splitter; the rendered lines it produced. */
function split(chunks: Array<Buffer | string>, cap?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(renderLine(l, cap)), cap);
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

/** Every way of cutting `b` in two, plus one byte per chunk. */
function cuts(b: Buffer): Buffer[][] {
  const all: Buffer[][] = [];
  for (let i = 0; i <= b.length; i++) all.push([b.subarray(0, i), b.subarray(i)]);
  all.push([...b].map((x) => Buffer.from([x])));
  return all;
}

test('a multi-byte character split at any byte is still that character', () => {
  const text = 'aé€😀z\nß\n';
  for (const chunks of cuts(Buffer.from(text))) {
    assert.equal(split(chunks), ['aé€😀z', 'ß'], chunks.map((c) => c.toString('hex')).join('|'));
  }
});

test('with a small cap, at every chunk boundary: long lines cut on a character, short ones whole', () => {
  const text = 'aé€😀z\nß\r\nabc\n\nxxxxxxxxxx';
  for (const chunks of cuts(Buffer.from(text))) {
    assert.equal(split(chunks, 4), ['aé… [8 bytes not shown]', 'ß', 'abc', '', 'xxxx… [6 bytes not shown]'], chunks.map((c) => c.toString('hex')).join('|'));
  }
});

test('splitter table: line ends, CR, empty chunks, end of input', () => {
  const table: Array<[string, Array<Buffer | string>, string[]]> = [
    ['LF', ['a\nb\n'], ['a', 'b']],
    ['CRLF', ['a\r\nb\r\n'], ['a', 'b']],
    ['CR and LF in different chunks', ['a\r', '\nb'], ['a', 'b']],
    ['empty lines', ['\n\n'], ['', '']],
    ['a lone CR keeps what a terminal shows', ['10%\r20%\r100%\n'], ['100%']],
    ['a CR at the end of the text', ['done\r\r\n'], ['done']],
    ['only CRs', ['\r\r\n'], ['']],
    ['0-byte chunks', ['', 'a', '', Buffer.alloc(0), 'b\n', ''], ['ab']],
    ['end without newline', ['abc'], ['abc']],
    ['end after a newline adds nothing', ['abc\n'], ['abc']],
    ['nothing at all', [], []],
    ['NUL and BEL are shown, not sent', ['a\0b\x07\n'], ['a\\x00b\\x07']],
    ['colour codes are dropped', ['\x1b[31mred\x1b[0m\n'], ['red']],
  ];
  for (const [name, chunks, want] of table) assert.equal(split(chunks), want, name);
});

test('a line of exactly the cap is whole; one byte more is cut with a note', () => {
  assert.equal(split(['x'.repeat(8) + '\n'], 8), ['x'.repeat(8)]);
  assert.equal(split(['x'.repeat(8) + '\r\n'], 8), ['x'.repeat(8)], 'the CR of CRLF is not content');
  assert.equal(split(['x'.repeat(9) + '\n'], 8), ['x'.repeat(8) + '… [1 byte not shown]']);
  assert.equal(split(['x'.repeat(9)], 8), ['x'.repeat(8) + '… [1 byte not shown]'], 'without a final newline too');
  assert.equal(split(['x'.repeat(20), 'y'.repeat(20), '\nnext\n'], 8), ['x'.repeat(8) + '… [32 bytes not shown]', 'next']);
});

test('the cap never cuts a character in two', () => {
  // 'abcd€': the cap of 5 falls inside the 3-byte €.
  for (const chunks of cuts(Buffer.from('abcd€f\n'))) assert.equal(split(chunks, 5), ['abcd… [4 bytes not shown]']);
  assert.equal(split(['abcd€\n'], 7), ['abcd€']);
  assert.equal(split(['😀😀\n'], 6), ['😀… [4 bytes not shown]']);
});

test('a 30 MB line keeps the cap plus a short tail, and counts the rest', () => {
  const lines: Line[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const n = 480;
  for (let i = 0; i < n; i++) s.push(chunk);
  s.push('END\n');
  assert.is(lines.length, 1);
  const l = lines[0] as LongLine;
  assert.is(typeof l, 'object');
  assert.is(l.head.length, 64 * 1024);
  assert.is(l.tail.length, LINE_TAIL);
  assert.is(l.tail.subarray(-3).toString(), 'END');
  assert.is(l.head.length + l.omitted + l.tail.length, n * chunk.length + 3);
  assert.is(renderLine(l), 'x'.repeat(64 * 1024) + `… [${n * chunk.length + 3 - 64 * 1024} bytes not shown]`);
});

test('sanitize: nothing in a value can move the cursor, restyle the terminal or start a line', () => {
  const table: Array<[string, string]> = [
    ['plain text\twith tab', 'plain text\twith tab'],
    ['\x1b[1;31mbold red\x1b[0m', 'bold red'],
    ['\x1b[2K\x1b[1Aup', 'up'],
    ['\x1b]0;new title\x07text', 'text'],
    ['\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\', 'link'],
    ['\x1b]0;unterminated title', ''],
    ['\x1bPq#0;2;0;0;0\x1b\\after', 'after'],
    ['\x1bcreset', 'reset'],
    ['\x1b', '\\x1b'],
    ['failed\r  web1 => succeeded', '  web1 => succeeded'],
    ['progress\r', 'progress'],
    ['\r', ''],
    ['one\ntwo', 'one\\ntwo'],
    ['back\bspace\x7f', 'back\\x08space\\x7f'],
    ['c1 \u009b31m', 'c1 \\x9b31m'],
    ['\u202eexe.txt', '\\u202eexe.txt'],
    ['unicodé ☃ 𝄞 \ufffd', 'unicodé ☃ 𝄞 \ufffd'],
  ];
  for (const [raw, want] of table) {
    assert.is(sanitize(raw), want, JSON.stringify(raw));
    assert.is(sanitize(sanitize(raw)), want, `idempotent on ${JSON.stringify(raw)}`);
  }
});

test('binary output comes out without a control character', () => {
  const bytes = Buffer.alloc(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
  for (const line of split([bytes])) {
    // eslint-disable-next-line no-control-regex
    assert.not.match(line, /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  }
});

function host(opts: { hold?: boolean; mark?: string; holdChars?: number; holdLines?: number; maxLine?: number } = {}) {
  const written: string[] = [];
  const marks: string[][] = [];
  // One entry per line, whether lines come one per write or several.
  const rec = (tag: string) => ({
    write: (s: string) => {
      for (const l of s.split(/(?<=\n)/)) written.push(`${tag}:${l}`);
    },
  });
  const out = rec('out');
  const err = rec('err');
  const h = new HostOutput({ prefix: 'web1 | ', stdout: out, stderr: err, hold: opts.hold ?? false, onMark: (f) => marks.push(f), ...opts });
  return { h, written, marks };
}

test('a marker glued to text without a newline: the text is a line, the fields go to onMark', () => {
  const mark = '::wd:3f9c1a::';
  const data = Buffer.from(`hello\nhealth: ok${mark} done\n`);
  for (const chunks of cuts(data)) {
    const { h, written, marks } = host({ mark });
    for (const c of chunks) h.out.push(c);
    h.close();
    assert.equal(written, ['out:web1 | hello\n', 'out:web1 | health: ok\n']);
    assert.equal(marks, [['done']]);
  }
});

test('a marker alone on its line prints nothing; its fields are split on spaces', () => {
  const { h, written, marks } = host({ mark: '::wd:t::' });
  h.out.push('::wd:t:: step post_deploy_script\n::wd:t:: revision abc123\r\n');
  h.close();
  assert.equal(written, []);
  assert.equal(marks, [
    ['step', 'post_deploy_script'],
    ['revision', 'abc123'],
  ]);
});

test("without the run's token, marker-looking output is just output", () => {
  const { h, written, marks } = host({ mark: '::wd:3f9c1a::' });
  h.out.push(`::wd:: step rsync\n::wd:: done\n::wd:0000:: done\n`);
  h.close();
  assert.equal(marks, []);
  assert.equal(written, ['out:web1 | ::wd:: step rsync\n', 'out:web1 | ::wd:: done\n', 'out:web1 | ::wd:0000:: done\n']);
});

test('the default marker is MARK', () => {
  const { h, written, marks } = host();
  h.out.push(`ok${MARK} done\n`);
  h.close();
  assert.equal(written, ['out:web1 | ok\n']);
  assert.equal(marks, [['done']]);
});

test('a marker at the end of a huge line without a newline is found', () => {
  const { h, written, marks } = host({ mark: '::wd:t::', maxLine: 1000 });
  for (let i = 0; i < 100; i++) h.out.push(Buffer.alloc(10_000, 'y'));
  h.out.push('::wd:t:: done\n');
  h.close();
  assert.equal(marks, [['done']]);
  assert.equal(written, [`out:web1 | ${'y'.repeat(1000)}… [999000 bytes not shown]\n`]);
});

test('stderr lines are sanitised; the last one explains a failure, shortened', () => {
  const { h, written } = host();
  h.err.push('\x1b[31mfatal: \x1b[0mno\rfatal: bad\n+ set -x line\n');
  h.close();
  assert.equal(written, ['err:web1 | fatal: bad\n', 'err:web1 | + set -x line\n']);
  assert.is(h.lastError, 'fatal: bad');
  const long = host();
  long.h.err.push('e'.repeat(5000));
  long.h.close();
  assert.is(long.h.lastError, 'e'.repeat(300) + '…');
  assert.is(shorten('ab😀', 3), 'ab…', 'no half surrogate pair');
});

test('--quiet holds the latest lines within a character budget and says how many it dropped', () => {
  const { h, written } = host({ hold: true, maxLine: 1000, holdChars: 10_000 });
  for (let i = 0; i < 300; i++) h.out.push(`${String(i).padStart(3, '0')}${'z'.repeat(2000)}\n`);
  h.close();
  assert.equal(written, [], 'nothing while held');
  h.flushHeld();
  // Each held line: "web1 | " + 1000 bytes + "… [1003 bytes not shown]" + "\n" = 1032 characters; 9 fit.
  const lineLen = 'web1 | '.length + 1000 + '… [1003 bytes not shown]\n'.length;
  const kept = Math.floor(10_000 / lineLen);
  assert.is(written.length, kept + 1);
  assert.is(written[0], `err:web1 | ... (${300 - kept} earlier lines not shown)\n`);
  assert.ok(written[1]!.startsWith(`out:web1 | ${300 - kept}`));
  assert.ok(written[kept]!.startsWith('out:web1 | 299'));
});

test('--quiet holds at most holdLines lines, in order across stdout and stderr', () => {
  const { h, written } = host({ hold: true, holdLines: 3 });
  for (let i = 0; i < 5; i++) {
    h.out.push(`o${i}\n`);
    h.err.push(`e${i}\n`);
  }
  h.flushHeld();
  assert.equal(written, ['err:web1 | ... (7 earlier lines not shown)\n', 'err:web1 | e3\n', 'out:web1 | o4\n', 'err:web1 | e4\n']);
});

const result = (r: Partial<HostResult> & { host: string }): HostResult => ({
  ok: false,
  status: 'failed',
  unchanged: false,
  exitCode: 1,
  startedAt: 0,
  endedAt: 1200,
  ...r,
});

test('summary: a failed host\'s reason cannot make its line read "succeeded"', () => {
  const s = summary(
    [result({ host: 'web1', reason: 'boom\r  web1 => succeeded' }), result({ host: 'web2\x1b[2K', reason: 'x\x1b[1A\x1b[2K\n  web2 => succeeded (0.1s)' })],
    false,
  );
  assert.is(
    s,
    'Results:\n' +
      '  web1 => failed:   web1 => succeeded (1.2s)\n' +
      '  web2 => failed: x\\n  web2 => succeeded (0.1s) (1.2s)\n' +
      'Total: 2 deployments, 0 successes, 2 failures.\n',
  );
});

test.run();
