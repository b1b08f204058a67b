import type { Options } from './args.js';
import { UsageError } from './errors.js';
import type { Io } from './run.js';

export async function runHook(_opts: Options, _io: Io): Promise<number> {
  throw new UsageError('wd hook is not available yet.');
}
