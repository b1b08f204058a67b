// Host output → prefixed whole lines. Each host's stdout and stderr are split
// into lines; a line is written in one call, so hosts never interleave
// mid-line. wd's own marker lines are taken out and handed to onMark.
import { MARK_PREFIX } from './marks.js';

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

export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const l of lines) this.onLine(l.endsWith('\r') ? l.slice(0, -1) : l);
  }

  end(): void {
    if (this.rest !== '') this.onLine(this.rest);
    this.rest = '';
  }
}

export interface HostOutputOptions {
  prefix: string;
  stdout: Stream;
  stderr: Stream;
  /** Hold lines back (for --quiet: shown only if the host fails). */
  hold: boolean;
  /** The marker prefix of this host's script (marks.ts); default: any token. */
  mark?: string;
  onMark(fields: string[]): void;
}

/** Everything one host prints, on its way to the terminal. */
export class HostOutput {
  readonly out: LineSplitter;
  readonly err: LineSplitter;
  private held: Array<[Stream, string]> = [];
  private droppedHeld = 0;
  /** Last non-empty stderr line, to explain a failure in the summary. */
  lastError = '';

  constructor(private readonly o: HostOutputOptions) {
    this.out = new LineSplitter((l) => {
      // A post script's last line may lack its newline (echo -n, curl -s): the
      // marker then arrives glued to it, and the text before it is still output.
      const mark = this.o.mark ?? MARK_PREFIX;
      const at = l.indexOf(mark);
      if (at < 0) return this.emit(this.o.stdout, l);
      if (at > 0) this.emit(this.o.stdout, l.slice(0, at));
      this.o.onMark(l.slice(at + mark.length).replace(/^ /, '').split(' '));
    });
    this.err = new LineSplitter((l) => {
      if (l.trim() !== '' && !l.startsWith('+')) this.lastError = l.trim();
      this.emit(this.o.stderr, l);
    });
  }

  private emit(to: Stream, line: string): void {
    const text = `${this.o.prefix}${line}\n`;
    if (!this.o.hold) {
      to.write(text);
      return;
    }
    this.held.push([to, text]);
    // Keep the tail: a failure is explained by its last lines.
    if (this.held.length > 500) {
      this.held.shift();
      this.droppedHeld++;
    }
  }

  close(): void {
    this.out.end();
    this.err.end();
  }

  /** For --quiet: show what a failed host printed. */
  flushHeld(): void {
    if (this.droppedHeld > 0) this.o.stderr.write(`${this.o.prefix}... (${this.droppedHeld} earlier lines not shown)\n`);
    for (const [to, text] of this.held) to.write(text);
    this.held = [];
  }
}
