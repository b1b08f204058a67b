#!/usr/bin/env node
// wd's bin. `wd --version` is answered here, before the CLI (dist/cli.js, one bundled
// module) is loaded: compiling that bundle is most of a start-up that needs none of it.
// Everything else is the CLI's. docs/benchmarks.md ("Start-up") has the measurements.
import { VERSION } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // A closed stdout (`wd --version | true`) is not an error, as in the CLI.
  process.stdout.on('error', () => {});
  process.stdout.write(`wd ${VERSION}\n`);
} else {
  await import('./cli.js');
}
