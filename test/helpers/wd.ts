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

export function runWd(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<WdRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WD_BIN, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wd ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60000}ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}
