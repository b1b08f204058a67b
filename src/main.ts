// argv → options → command. The one catch: typed errors become a message and
// exit 2; a host failing is a result (exit 1), never an exception.
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs, type Options } from './args.js';
import { UsageError, WdError } from './errors.js';
import { helpText } from './help.js';
import type { Io } from './run.js';
import { VERSION } from './version.js';

/**
 * The bundled CLI (scripts/bundle.mjs) runs without --enable-source-maps, which would parse
 * the map at every start: an internal error's stack has its positions in dist/cli.js mapped
 * back to src/*.ts here, when one happens. Compiled alone (no map next to it), unchanged.
 */
function sourceStack(stack: string): string {
  try {
    const file = fileURLToPath(import.meta.url);
    const map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload);
    const at = new RegExp(`(?:${reEscape(import.meta.url)}|${reEscape(file)}):(\\d+):(\\d+)`, 'g');
    return stack.replace(at, (whole, line: string, col: string) => {
      const e = map.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number };
      if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) return whole;
      return `${fileURLToPath(new URL(e.originalSource, import.meta.url))}:${e.originalLine + 1}:${e.originalColumn + 1}`;
    });
  } catch {
    return stack;
  }
}
const reEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const opts = parseArgs(argv);
    return await dispatch(opts, io);
  } catch (e) {
    if (e instanceof WdError) {
      io.stderr.write(`wd: ${e.message}\n`);
      // A machine asked for JSON: it gets a JSON document even when nothing ran.
      if (argv.includes('--json'))
        io.stdout.write(
          JSON.stringify({ version: VERSION, status: 'error', error: { kind: e instanceof UsageError ? 'usage' : 'config', message: e.message } }, null, 2) +
            '\n',
        );
      return e.exitCode;
    }
    io.stderr.write(`wd: internal error (please report it): ${sourceStack((e as Error).stack ?? String(e))}\n`);
    return 70;
  }
}

async function dispatch(opts: Options, io: Io): Promise<number> {
  switch (opts.command) {
    case 'version':
      io.stdout.write(`wd ${VERSION}\n`);
      return 0;
    case 'help':
      io.stdout.write(helpText(opts.helpFor));
      return 0;
    case 'init':
      return (await import('./init.js')).runInit(opts, io);
    case 'completion':
      return (await import('./completion.js')).runCompletion(opts, io);
    case 'hook': {
      const { runHook } = await import('./hook/hook.js');
      return runHook(opts, io);
    }
    case 'pull':
      return (await import('./pull.js')).runPull(opts, io);
    case 'setup':
    case 'deploy':
    case 'status':
    case 'rollback':
      return (await (await import('./run.js')).runAction(opts.command, opts, io)).code;
  }
}
