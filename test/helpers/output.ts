// Reading a wd run in assertions: its whole output for a failure message, the
// lines one host printed, a host's line of the Results block, optional files.
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import type { WdRun } from './wd.js';

/** Exit code, stdout and stderr: the message of an assertion about a run. */
export const show = (r: WdRun): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** stdout then stderr, for a short failure message or a search in either. */
export const both = (r: { stdout: string; stderr: string }): string => r.stdout + r.stderr;

/** The run exited 0; the message shows the run when it did not. */
export const ok = (r: WdRun): void => assert.is(r.code, 0, show(r));

/** A file's text, or undefined when it does not exist. */
export const readIfExists = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The lines of `text` that `host` printed ("host | line", the name maybe padded), without that prefix. */
export function hostLines(text: string, host: string): string[] {
  const prefix = new RegExp(`^${escapeRegExp(host)} *\\| (.*)$`);
  return text.split('\n').flatMap((l) => {
    const m = prefix.exec(l);
    return m ? [m[1]!] : [];
  });
}

/** The host's line of the Results block ("  host => ..."), or undefined. */
export const resultLine = (out: string, host: string): string | undefined => out.split('\n').find((l) => l.startsWith(`  ${host} => `));

/** wd's own progress lines in a host's output (whiskey_disk printed the same), as opposed to what its scripts said. */
export const WD_PROGRESS: ReadonlySet<string> = new Set(['Running post script...', 'Rsyncing configuration...']);

/** A host's lines without wd's progress lines: what the post scripts printed. */
export function scriptLines(text: string, host: string): string[] {
  return hostLines(text, host).filter((l) => !WD_PROGRESS.has(l));
}
