// What is happening while hosts run, so a slow host does not look like a
// frozen screen or a dead CI job.
// - On a terminal: one live status line at the bottom (hosts done / failed /
//   running, elapsed, the slowest host's current step). Output lines never mix
//   with it: it is erased before each one is written (write()) and redrawn by
//   the next frame, so at most once per frameMs whatever the output rate.
// - Not a terminal (CI, a log file): a `still running: …` line every
//   keepAliveMs, for CI systems that kill jobs that stay silent.
// - --quiet on a terminal: nothing (the summary says it all); --quiet
//   elsewhere still keeps CI alive.
// Pure but for the stream, the clock and the timer, which are passed in.
import { sanitize, shorten, type Stream } from './output.js';

export interface ProgressOptions {
  /** Where the status line or the keep-alive lines go (wd's stderr). */
  stream: Stream;
  /** A terminal that understands `\r` and `ESC[K`: draw the live line. */
  isTTY: boolean;
  quiet: boolean;
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  /** Terminal width: the line is cut to fit, or erasing it would leave its wrapped part. */
  columns?(): number | undefined;
  /** Default 10 000. */
  keepAliveMs?: number;
  /** Default 100: at most ten redraws a second. */
  frameMs?: number;
  /** Default 1000: a run shorter than this shows no status line at all. */
  showAfterMs?: number;
}

type State = 'waiting' | 'running' | 'ok' | 'failed';

interface HostState {
  name: string;
  state: State;
  step?: string;
  since: number;
}

// Cursor to column 0, then erase to the end of the line.
const ERASE = '\r\x1b[K';
const KEEP_ALIVE_HOSTS = 5;

/** 7s, 1m05s: whole seconds, as a status line ticks. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export class Progress {
  private hosts: HostState[] = [];
  private byName = new Map<string, HostState>();
  private startedAt = 0;
  private timer: unknown;
  /** The live line currently on screen ('' when none). */
  private shown = '';
  private readonly mode: 'live' | 'keep-alive' | 'off';

  constructor(private readonly o: ProgressOptions) {
    this.mode = o.isTTY ? (o.quiet ? 'off' : 'live') : 'keep-alive';
  }

  /** Hosts wait until their first step(); the runner calls step(host, 'connecting') when it starts one. */
  start(hosts: readonly string[]): void {
    this.startedAt = this.o.now();
    this.hosts = hosts.map((name) => ({ name, state: 'waiting', since: this.startedAt }));
    this.byName = new Map(this.hosts.map((h) => [h.name, h]));
    if (this.mode === 'off') return;
    const [fn, ms] = this.mode === 'live' ? [() => this.frame(), this.o.frameMs ?? 100] : [() => this.keepAlive(), this.o.keepAliveMs ?? 10_000];
    this.timer = this.o.setInterval(fn, ms);
    // The summary, not this timer, decides when wd is finished.
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  step(host: string, word: string): void {
    const h = this.byName.get(host);
    if (h === undefined || h.state === 'ok' || h.state === 'failed') return;
    if (h.state === 'waiting') {
      h.state = 'running';
      h.since = this.o.now();
    }
    h.step = word;
  }

  done(host: string, ok: boolean): void {
    const h = this.byName.get(host);
    if (h !== undefined) h.state = ok ? 'ok' : 'failed';
  }

  /** Every output line goes through here, so that it never lands on the status line. */
  write(stream: Stream, text: string): unknown {
    this.erase();
    return stream.write(text);
  }

  /** `stream`, with its writes going through write(). */
  wrap(stream: Stream): Stream {
    return { write: (text: string) => this.write(stream, text) };
  }

  /** Stop the timer and take the status line off the screen; write() keeps working. */
  stop(): void {
    if (this.timer !== undefined) this.o.clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
  }

  /** The live status line's text, before it is cut to the terminal's width. */
  status(): string {
    const now = this.o.now();
    const count = (s: State): number => this.hosts.filter((h) => h.state === s).length;
    const waiting = count('waiting');
    let line = `[${elapsed(now - this.startedAt)}] ${count('ok')} done, ${count('failed')} failed, ${count('running')} running${waiting > 0 ? `, ${waiting} waiting` : ''} of ${this.hosts.length}`;
    const slowest = this.running()[0];
    if (slowest !== undefined) line += ` - slowest: ${this.describe(slowest, now)}`;
    return line;
  }

  /** The keep-alive line's text, or undefined when no host is running. */
  stillRunning(): string | undefined {
    const now = this.o.now();
    const running = this.running();
    if (running.length === 0) return undefined;
    const listed = running.slice(0, KEEP_ALIVE_HOSTS).map((h) => this.describe(h, now));
    const more = running.length - listed.length;
    return `still running: ${listed.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }

  /** Running hosts, the longest-running first. */
  private running(): HostState[] {
    return this.hosts.filter((h) => h.state === 'running').sort((a, b) => a.since - b.since);
  }

  private describe(h: HostState, now: number): string {
    return `${sanitize(h.name)} (${sanitize(h.step ?? 'connecting')}, ${elapsed(now - h.since)})`;
  }

  private frame(): void {
    if (this.o.now() - this.startedAt < (this.o.showAfterMs ?? 1000)) return;
    const width = Math.max(10, (this.o.columns?.() ?? 80) - 1);
    const full = this.status();
    const line = full.length <= width ? full : shorten(full, width - 1);
    if (line === this.shown) return;
    // Overwrite, then clear what a longer previous line left: no blank flicker.
    this.o.stream.write(`\r${line}\x1b[K`);
    this.shown = line;
  }

  private keepAlive(): void {
    const line = this.stillRunning();
    if (line !== undefined) this.o.stream.write(`${line}\n`);
  }

  private erase(): void {
    if (this.shown === '') return;
    this.o.stream.write(ERASE);
    this.shown = '';
  }
}
