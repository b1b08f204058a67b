// argv → options → command. The one catch: typed errors become a message and
// exit 2; a host failing is a result (exit 1), never an exception.
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from "node:path";
import { parseArgs, type Options } from './args.js';
import { WdError, UsageError } from './errors.js';
import { helpText } from './help.js';
import { STARTER } from './init.js';
import type { Io } from './run.js';
import { VERSION } from './version.js';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const opts = parseArgs(argv);
    return await dispatch(opts, io);
  } catch (e) {
    if (e instanceof WdError) {
      io.stderr.write(`wd: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr.write(`wd: internal error (please report it): ${(e as Error).stack ?? String(e)}\n`);
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
      return init(opts, io);
    case 'hook': {
      const { runHook } = await import('./hook/hook.js');
      return runHook(opts, io);
    }
    case 'setup':
    case 'deploy':
    case 'status':
    case 'rollback':
      return (await (await import('./run.js')).runAction(opts.command, opts, io)).code;
  }
}

function init(opts: Options, io: Io): number {
  if (opts.rest.length > 1) throw new UsageError(`too many arguments to 'wd init': ${opts.rest.join(' ')}. Usage: wd init [FILE] [--force].`);
  const file = resolve(io.cwd, opts.rest[0] ?? 'deploy.yml');
  if (existsSync(file) && !opts.force) throw new UsageError(`${file} already exists; not overwriting it. Use --force to replace it, or name another file: wd init FILE.`);
  writeFileSync(file, STARTER);
  io.stdout.write(`Wrote ${file}. Edit it, then run: wd setup staging\n`);
  return 0;
}

