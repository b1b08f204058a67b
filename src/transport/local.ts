// Runs the script with the local bash, for `domain: local` (or none).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { onAbort, type RunRequest, type Transport, type TransportResult } from './types.js';

// Inside a git hook these point at the hook's repository; the deploy's own git
// commands must act on deploy_to instead.
const GIT_HOOK_VARS = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_PREFIX',
  'GIT_QUARANTINE_PATH',
];

export function scrubbedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of GIT_HOOK_VARS) delete out[k];
  return out;
}

export class LocalTransport implements Transport {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly cwd: string = process.cwd(),
  ) {}

  run(req: RunRequest): Promise<TransportResult> {
    return new Promise((resolve) => {
      const started = Date.now();
      let child: ChildProcessWithoutNullStreams;
      try {
        // Detached: the run outlives wd like a remote one does (its stdin closing changes nothing).
        child = spawn('bash', ['-s'], { cwd: this.cwd, env: scrubbedEnv(this.env), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      } catch (e) {
        resolve({ exitCode: null, error: `cannot start bash: ${(e as Error).message}` });
        return;
      }
      const stdin = child.stdin;
      stdin.on('error', () => {
        // bash gone before reading everything: its exit status says why.
      });
      stdin.write(req.script);
      let settled = false;
      const finish = (r: TransportResult): void => {
        if (settled) return;
        settled = true;
        done();
        stdin.destroy();
        resolve(r);
      };
      const done = onAbort(
        req.abort,
        (l) => stdin.writable && stdin.write(l),
        () => {
          // Whatever still holds the pipes (a child that ignored the abort) must not hold wd too.
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
          child.stdout.destroy();
          child.stderr.destroy();
          finish({ exitCode: null, error: 'the run did not stop within the grace period after the abort; wd stopped waiting for it' });
        },
      );
      child.stdout.on('data', (c: Buffer) => req.onStdout(c));
      child.stderr.on('data', (c: Buffer) => req.onStderr(c));
      child.on('error', (e: NodeJS.ErrnoException) => {
        finish({
          exitCode: null,
          error: e.code === 'ENOENT' ? 'bash not found on this machine; install bash for local deploys' : `cannot run bash: ${e.message}`,
        });
      });
      child.on('close', (code, signal) => finish({ exitCode: code, connectedAt: started, ...(signal ? { signal } : {}) }));
    });
  }
}
