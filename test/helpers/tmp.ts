// Throwaway directories for tests. Everything made here is removed by
// cleanup() (call it in an `after` hook), unless WD_KEEP_TMP=1 so a failing
// run can be inspected afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
const keep = () => process.env['WD_KEEP_TMP'] === '1';

/** Fresh empty directory under os.tmpdir(), registered for cleanup(). */
export function tmpDir(prefix = 'wd-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** Register a path made elsewhere so cleanup() removes it too. */
export function trackTmp(path: string): string {
  made.add(path);
  return path;
}

/** Remove every registered directory (no-op with WD_KEEP_TMP=1). */
export async function cleanup(): Promise<void> {
  if (keep()) {
    if (made.size) console.error(`WD_KEEP_TMP=1: keeping ${[...made].join(' ')}`);
    made.clear();
    return;
  }
  const dirs = [...made];
  made.clear();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

// A test that crashes before cleanup() should still not litter /tmp.
process.once('exit', () => {
  if (keep()) return;
  for (const d of made) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  }
});

const children = new Set<number>();

/**
 * Kill this pid (a process group when `group`) if the test process exits
 * while it is still registered, so a crashed test leaves no sshd/agent behind.
 * Returns the function that unregisters it (call it once you stopped it).
 */
export function reapOnExit(pid: number, group = false): () => void {
  const target = group ? -pid : pid;
  children.add(target);
  return () => void children.delete(target);
}

process.once('exit', () => {
  for (const target of children) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});
