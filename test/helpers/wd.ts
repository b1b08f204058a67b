// Spawn the built wd binary (dist/cli.js) the way a user would, and capture
// stdout, stderr and the exit code. Async: the in-process SSH server shares
// this event loop, so a blocking spawn would deadlock it.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WD_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'cli.js');

export interface WdRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOpts {
  cwd?: string;
  /** Added to process.env; an undefined value removes that variable. */
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

export function runWd(args: string[], opts: RunOpts = {}): Promise<WdRun> {
  return runProcess(process.execPath, [WD_BIN, ...args], { ...opts, env: { NO_COLOR: '1', ...opts.env } }, `wd ${args.join(' ')}`);
}

/** Any command, async, output captured, killed after timeoutMs (default 60 s). */
export function runProcess(file: string, args: string[], opts: RunOpts = {}, what = `${file} ${args.join(' ')}`): Promise<WdRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${opts.timeoutMs ?? 60000}ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits without reading its input closes the pipe (EPIPE): its exit code and output tell the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
