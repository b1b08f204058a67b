#!/usr/bin/env node
// The wd binary: real process streams, clock and environment into main().
import { main } from './main.js';
import { guardStream } from './output.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: guardStream(process.stdout),
  stderr: guardStream(process.stderr),
  env: process.env,
  cwd: process.cwd(),
  now: () => Date.now(),
  onInterrupt(handler) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
});
