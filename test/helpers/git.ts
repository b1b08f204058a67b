// Real git repositories for tests: a bare "origin" with commits on two
// branches, and a way to push new commits to it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpDir } from './tmp.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'wd test',
  GIT_AUTHOR_EMAIL: 'test@wd.invalid',
  GIT_COMMITTER_NAME: 'wd test',
  GIT_COMMITTER_EMAIL: 'test@wd.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
};
for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete (GIT_ENV as Record<string, unknown>)[k];

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface Origin {
  /** Path of the bare repository (usable as `repository:`). */
  url: string;
  /** A working clone used to make commits. */
  work: string;
  /** Write files (path → content; executable when the path ends in .sh), commit and push to branch. Returns the new sha. */
  commit(branch: string, files: Record<string, string>, message?: string, remove?: string[]): string;
  head(branch: string): string;
}

/** A bare origin with branch `main` (README, app.txt) and branch `other` (one more commit). */
export function makeOrigin(name = 'origin', initial: Record<string, string> = {}): Origin {
  const root = tmpDir('wd-git-');
  const url = join(root, `${name}.git`);
  const work = join(root, 'work');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', url], { env: GIT_ENV });
  execFileSync('git', ['init', '-q', '-b', 'main', work], { env: GIT_ENV });
  git(work, 'remote', 'add', 'origin', url);
  const origin: Origin = {
    url,
    work,
    commit(branch, files, message = 'change', remove = []) {
      const hasHead = (() => {
        try {
          git(work, 'rev-parse', '--verify', '-q', 'HEAD');
          return true;
        } catch {
          return false;
        }
      })();
      if (git(work, 'branch', '--list', branch) !== '') git(work, 'checkout', '-q', branch);
      else if (git(work, 'ls-remote', 'origin', `refs/heads/${branch}`) !== '') git(work, 'checkout', '-q', '-b', branch, `origin/${branch}`);
      else if (hasHead) git(work, 'checkout', '-q', '-b', branch);
      for (const [path, content] of Object.entries(files)) {
        const full = join(work, path);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
        if (path.endsWith('.sh')) chmodSync(full, 0o755);
      }
      for (const p of remove) git(work, 'rm', '-q', p);
      git(work, 'add', '-A');
      git(work, 'commit', '-q', '--allow-empty', '-m', message);
      git(work, 'push', '-q', 'origin', `${branch}:refs/heads/${branch}`);
      git(work, 'fetch', '-q', 'origin');
      return git(work, 'rev-parse', 'HEAD');
    },
    head(branch) {
      return git(url, 'rev-parse', `refs/heads/${branch}`);
    },
  };
  origin.commit('main', { README: 'hello\n', 'app.txt': 'v1\n', ...initial }, 'initial');
  origin.commit('other', { 'other.txt': 'on other\n' }, 'other branch');
  git(work, 'checkout', '-q', 'main');
  return origin;
}
