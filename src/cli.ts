#!/usr/bin/env node
// The wd binary: real process streams, clock and environment into main().
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  now: () => Date.now(),
});
