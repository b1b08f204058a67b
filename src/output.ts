// Host output → prefixed whole lines. Each host's stdout and stderr are split
// into lines; whole lines are written in one call, so hosts never interleave
// mid-line. wd's own marker lines are taken out and handed to onMark. Lines
// are made inert for the terminal (sanitize) and long ones truncated (renderLine).
import { MARK_PREFIX } from './marks.js';
//
// Whatever a script prints, this costs time linear in its size and memory
// bounded per host: bytes stay Buffers until a line is complete (a newline
// byte never occurs inside a multi-byte UTF-8 character, so whole lines decode
// cleanly), a line keeps at most MAX_LINE bytes plus a short tail, and --quiet
// holds at most HOLD_CHARS / HOLD_LINES of the latest lines.

/** Default marker prefix, for callers that do not pass the script's own (marks.ts). */
export const MARK = MARK_PREFIX;

/** Bytes of one line that are shown; the rest is replaced by "… [N bytes not shown]". */
export const MAX_LINE = 64 * 1024;
/** Bytes kept from the end of an over-long line: enough for a marker glued to it. */
export const LINE_TAIL = 4096;
/** --quiet keeps about this many characters (UTF-16 units) of the latest lines... */
export const HOLD_CHARS = 1024 * 1024;
/** ...and at most this many lines. */
export const HOLD_LINES = 500;
/** The failure reason quotes at most this many characters of the last stderr line. */
const REASON_CHARS = 300;

export interface Stream {
  write(s: string): unknown;
}

/**
 * A process stream that survives its reader going away (`wd deploy | head -1`):
 * EPIPE must not crash wd or stop a deploy half-way; output is dropped, the
 * exit status still tells.
 */
export function guardStream<S extends NodeJS.WritableStream & { isTTY?: boolean }>(s: S): Stream & { isTTY?: boolean } {
  let closed = false;
  s.on('error', () => {
    closed = true;
  });
  return {
    ...(s.isTTY !== undefined ? { isTTY: s.isTTY } : {}),
    write(t: string) {
      if (closed) return false;
      try {
        return s.write(t);
      } catch {
        closed = true;
        return false;
      }
    },
  };
}

export interface Style {
  color: boolean;
}

const paint = (on: boolean, code: string, s: string): string => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = (on: boolean, s: string): string => paint(on, '32', s);
export const red = (on: boolean, s: string): string => paint(on, '31', s);
export const dim = (on: boolean, s: string): string => paint(on, '2', s);
export const bold = (on: boolean, s: string): string => paint(on, '1', s);

/** Colour only for a terminal, and never when NO_COLOR is set (no-color.org). */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  return isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '') && env['TERM'] !== 'dumb';
}

// Terminal escape sequences: CSI (ESC [ … final), OSC (ESC ] … BEL or ST, or
// to the end of the line when unterminated), DCS/SOS/PM/APC (ESC P/X/^/_ … ST)
// and the short ESC forms (ESC c resets the terminal, ESC 7/8 move the cursor).
// eslint-disable-next-line no-control-regex
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])/g;
// What is left that a terminal would act on, or that reorders text on screen:
// C0 controls but TAB, DEL, C1 controls (U+009B is a CSI to some terminals),
// and the bidirectional overrides/isolates ("Trojan Source").
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

// Any character that sanitize() has to look at (ESC and CR are among them).
const SUSPECT = new RegExp(UNSAFE.source);

const visible = (c: string): string => {
  const n = c.charCodeAt(0);
  if (n === 0x0a) return '\\n';
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/**
 * Text from a host (or a host name, or a failure reason), made safe to put on
 * one terminal line: it can neither move the cursor, nor restyle, retitle or
 * reset the terminal, nor start a new line that looks like wd's own.
 * - Escape sequences are removed (a script's colours are lost with them).
 * - A carriage return keeps what a terminal would end up showing: the last
 *   non-empty CR-separated part (a progress bar's final state). It cannot
 *   overwrite anything outside the value, which follows a prefix of wd's.
 * - Every other control character is shown escaped (`\x07`, `\n`, `\u202e`).
 */
export function sanitize(s: string): string {
  if (!SUSPECT.test(s)) return s;
  let t = s.includes('\x1b') ? s.replace(ESCAPE_SEQUENCE, '') : s;
  if (t.includes('\r')) {
    const parts = t.split('\r');
    let i = parts.length - 1;
    while (i > 0 && parts[i] === '') i--;
    t = parts[i]!;
  }
  return t.replace(UNSAFE, visible);
}

/**
 * An over-long line as the splitter hands it over: its first `cap` bytes, how
 * many bytes were dropped after them, and its last bytes (where a marker
 * glued to it would be).
 */
export interface LongLine {
  head: Buffer;
  omitted: number;
  tail: Buffer;
}

/** A line: decoded text when it is at most `cap` bytes (the usual case), else its ends. */
export type Line = string | LongLine;

const EMPTY = Buffer.alloc(0);

/**
 * Bytes → lines, split on the byte 0x0A; a CR right before it goes with it.
 * Linear in the input; memory is bounded by `cap` + `tailCap` bytes whatever
 * a line's length: past `cap`, only the last `tailCap` bytes are kept (a
 * marker glued to the end of a huge line must still be found).
 */
export class LineSplitter {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer = EMPTY;
  private omitted = 0;
  private pending = false;

  constructor(
    private readonly onLine: (line: Line) => void,
    private readonly cap = MAX_LINE,
    private readonly tailCap = LINE_TAIL,
  ) {}

  push(chunk: Buffer | string): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    if (this.pending) {
      const nl = b.indexOf(0x0a);
      this.take(b, 0, nl < 0 ? b.length : nl);
      if (nl < 0) return;
      this.flush(true);
      from = nl + 1;
    }
    const last = b.lastIndexOf(0x0a);
    if (last >= from) {
      if (last - from <= this.cap) {
        // The common case, at the speed of one decode and one split: whole
        // lines, none over the cap. A newline byte never falls inside a
        // UTF-8 character, so decoding them together changes nothing.
        for (const l of b.toString('utf8', from, last).split('\n')) this.onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
      } else {
        for (let nl = b.indexOf(0x0a, from); nl >= 0 && nl <= last; nl = b.indexOf(0x0a, from)) {
          this.take(b, from, nl);
          this.flush(true);
          from = nl + 1;
        }
      }
      from = last + 1;
    }
    this.take(b, from, b.length);
  }

  /** The input ended: a last line without a newline is still a line. */
  end(): void {
    if (this.pending) this.flush(false);
  }

  private take(b: Buffer, from: number, to: number): void {
    if (from === to) return;
    this.pending = true;
    let at = from;
    if (this.headLen < this.cap) {
      const n = Math.min(this.cap - this.headLen, to - at);
      this.head.push(b.subarray(at, at + n));
      this.headLen += n;
      at += n;
    }
    if (at === to) return;
    const more = to - at;
    // Copies, not views: a view would keep the whole chunk alive.
    if (more >= this.tailCap) {
      this.omitted += this.tail.length + more - this.tailCap;
      this.tail = Buffer.from(b.subarray(to - this.tailCap, to));
    } else {
      const keep = Math.min(this.tail.length, this.tailCap - more);
      this.omitted += this.tail.length - keep;
      this.tail = Buffer.concat([this.tail.subarray(this.tail.length - keep), b.subarray(at, to)]);
    }
  }

  private flush(newline: boolean): void {
    let head = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head, this.headLen);
    let tail = this.tail;
    const omitted = this.omitted;
    this.head = [];
    this.headLen = 0;
    this.tail = EMPTY;
    this.omitted = 0;
    this.pending = false;
    if (newline) {
      // CR LF is a line end like LF.
      if (tail.length > 0 && tail[tail.length - 1] === 0x0d) tail = tail.subarray(0, -1);
      else if (tail.length === 0 && head.length > 0 && head[head.length - 1] === 0x0d) head = head.subarray(0, -1);
    }
    if (omitted === 0 && head.length + tail.length <= this.cap) this.onLine((tail.length === 0 ? head : Buffer.concat([head, tail])).toString('utf8'));
    else this.onLine({ head, omitted, tail });
  }
}

/** Where to cut `b` at or before `max` without splitting a UTF-8 character. */
function utf8Cut(b: Buffer, max: number): number {
  if (b.length <= max) return b.length;
  let i = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the character at `max`.
  while (i > 0 && max - i < 3 && (b[i]! & 0xc0) === 0x80) i--;
  return (b[i]! & 0xc0) === 0x80 ? max : i;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * A line as text for the terminal. Policy for an over-long line: it is
 * truncated, not cut into pieces, so that one host printing a 30 MB line
 * (a minified file, binary data) costs the terminal MAX_LINE bytes and a note
 * saying how much was left out: `… [N bytes not shown]`.
 */
export function renderLine(l: Line, cap = MAX_LINE): string {
  if (typeof l === 'string') return sanitize(l);
  const whole = l.omitted === 0 ? (l.tail.length === 0 ? l.head : Buffer.concat([l.head, l.tail])) : undefined;
  if (whole !== undefined && whole.length <= cap) return sanitize(whole.toString('utf8'));
  const src = whole ?? l.head;
  const cut = utf8Cut(src, cap);
  const total = l.head.length + l.omitted + l.tail.length;
  return `${sanitize(src.subarray(0, cut).toString('utf8'))}… [${plural(total - cut, 'byte', 'bytes')} not shown]`;
}

const fieldsOf = (s: string): string[] => s.trim().split(/ +/);

/**
 * The marker in a stdout line: it may come after text the script printed
 * without a final newline, and runs to the end of the line. The last
 * occurrence counts (wd's own printf always ends the line). In an over-long
 * line only a marker within the kept tail is found: wd's markers are short.
 * `text` is what came before the marker ('' when nothing did).
 */
export function findMark(l: Line, mark: string): { text: Line; fields: string[] } | undefined {
  if (typeof l === 'string') {
    const at = l.lastIndexOf(mark);
    return at < 0 ? undefined : { text: l.slice(0, at), fields: fieldsOf(l.slice(at + mark.length)) };
  }
  const at = l.tail.lastIndexOf(mark);
  if (at < 0) return undefined;
  return {
    text: { head: l.head, omitted: l.omitted, tail: l.tail.subarray(0, at) },
    fields: fieldsOf(l.tail.subarray(at + Buffer.byteLength(mark)).toString('utf8')),
  };
}

export interface HostOutputOptions {
  prefix: string;
  stdout: Stream;
  stderr: Stream;
  /** Hold lines back (for --quiet: shown only if the host fails). */
  hold: boolean;
  /** The marker prefix of wd's own stdout lines, e.g. `::wd:3f9c1a…::` (per run, unguessable). Default MARK. */
  mark?: string;
  /** The fields after the marker, split on spaces. */
  onMark(fields: string[]): void;
  /** Limits, for tests; defaults MAX_LINE, HOLD_CHARS, HOLD_LINES. */
  maxLine?: number;
  holdChars?: number;
  holdLines?: number;
}

/** Everything one host prints, on its way to the terminal. */
export interface LineFeed {
  push(chunk: Buffer | string): void;
  end(): void;
}

export class HostOutput {
  /** The host's stdout and stderr bytes go in here, chunk by chunk. */
  readonly out: LineFeed;
  readonly err: LineFeed;
  // The lines of one chunk are written together: one write per chunk rather
  // than per line (a script printing 100 MB of short lines), still whole lines.
  private batch: string[] = [];
  private batchTo: Stream | undefined;
  private held: Array<[Stream, string] | undefined> = [];
  private heldFirst = 0;
  private heldChars = 0;
  private droppedHeld = 0;
  private readonly maxLine: number;
  private readonly holdChars: number;
  private readonly holdLines: number;
  /** Last non-empty stderr line (sanitised, shortened), to explain a failure in the summary. */
  lastError = '';

  constructor(private readonly o: HostOutputOptions) {
    this.maxLine = o.maxLine ?? MAX_LINE;
    this.holdChars = o.holdChars ?? HOLD_CHARS;
    this.holdLines = o.holdLines ?? HOLD_LINES;
    const mark = o.mark ?? MARK;
    // An empty marker would match every line and swallow all output.
    if (mark === '') throw new Error('HostOutput: the marker prefix must not be empty');
    const feed = (split: LineSplitter): LineFeed => ({
      push: (c) => {
        split.push(c);
        this.send();
      },
      end: () => {
        split.end();
        this.send();
      },
    });
    this.out = feed(
      new LineSplitter((l) => {
        const m = findMark(l, mark);
        if (m === undefined) return this.emit(this.o.stdout, this.render(l));
        // A post script's last line may lack its newline (echo -n, curl -s): the
        // marker then arrives glued to it, and the text before it is still output.
        if (m.text !== '') this.emit(this.o.stdout, this.render(m.text));
        this.o.onMark(m.fields);
      }, this.maxLine),
    );
    this.err = feed(
      new LineSplitter((l) => {
        const text = this.render(l);
        const t = text.trim();
        if (t !== '' && !t.startsWith('+')) this.lastError = shorten(t, REASON_CHARS);
        this.emit(this.o.stderr, text);
      }, this.maxLine),
    );
  }

  private render(l: Line): string {
    return renderLine(l, this.maxLine);
  }

  private emit(to: Stream, line: string): void {
    const text = `${this.o.prefix}${line}\n`;
    if (!this.o.hold) {
      if (to !== this.batchTo) this.send();
      this.batchTo = to;
      this.batch.push(text);
      return;
    }
    this.held.push([to, text]);
    this.heldChars += text.length;
    // Keep the tail: a failure is explained by its last lines.
    while (this.held.length - this.heldFirst > 1 && (this.heldChars > this.holdChars || this.held.length - this.heldFirst > this.holdLines)) {
      this.heldChars -= this.held[this.heldFirst]![1].length;
      this.held[this.heldFirst++] = undefined;
      this.droppedHeld++;
    }
    if (this.heldFirst > 1024 && this.heldFirst * 2 > this.held.length) {
      this.held = this.held.slice(this.heldFirst);
      this.heldFirst = 0;
    }
  }

  private send(): void {
    if (this.batch.length === 0 || this.batchTo === undefined) return;
    const text = this.batch.length === 1 ? this.batch[0]! : this.batch.join('');
    this.batch = [];
    this.batchTo.write(text);
  }

  close(): void {
    this.out.end();
    this.err.end();
  }

  /** For --quiet: show what a failed host printed. */
  flushHeld(): void {
    if (this.droppedHeld > 0) this.o.stderr.write(`${this.o.prefix}... (${plural(this.droppedHeld, 'earlier line', 'earlier lines')} not shown)\n`);
    for (let i = this.heldFirst; i < this.held.length; i++) {
      const [to, text] = this.held[i]!;
      to.write(text);
    }
    this.held = [];
    this.heldFirst = 0;
    this.heldChars = 0;
    this.droppedHeld = 0;
  }
}

/** At most `max` characters, not splitting a surrogate pair, "…" when shortened. */
export function shorten(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}
