// A project for hook tests: a bare origin, a deploy.yml of local environments
// deploying into temp dirs (each set up), wd's hook installed with install(),
// and real `git push`es into the origin.
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeOrigin, type Origin } from './git.js';
import { both } from './output.js';
import { tmpDir } from './tmp.js';
import { runProcess, runWd, type WdRun } from './wd.js';

/** git's `remote: ` lines, without the padding git adds to clear the line. */
export const remote = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('remote: '))
    .map((l) => l.slice(8).trimEnd());

export interface EnvSpec {
  branch?: string;
  onPush?: boolean;
  extra?: Record<string, unknown>;
}

/** An origin (the bare repository pushed to), a deploy.yml of local environments deploying into tmp dirs, each set up. */
export async function project(envs: Record<string, EnvSpec>, files: Record<string, string> = {}) {
  const origin = makeOrigin('origin', files);
  const dir = tmpDir('wd-hook-');
  const deployTo = (name: string): string => join(dir, 'targets', name);
  const data: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(envs)) {
    data[name] = {
      domain: 'local',
      deploy_to: deployTo(name),
      repository: origin.url,
      branch: e.branch ?? 'main',
      ...(e.onPush ? { deploy_on_push: true } : {}),
      ...e.extra,
    };
  }
  const config = join(dir, 'deploy.yml');
  writeFileSync(config, JSON.stringify(data, null, 2) + '\n');
  for (const name of Object.keys(envs)) {
    const r = await runWd(['setup', name, '-p', config], { cwd: dir });
    assert.is(r.code, 0, both(r));
  }
  return {
    origin,
    dir,
    config,
    deployTo,
    install: (...args: string[]) => runWd(['hook', 'install', '--repo', origin.url, '-p', config, ...args], { cwd: dir }),
  };
}

/** Async git (the in-process ssh server shares this event loop), not steered by a GIT_DIR of ours. */
export const gitAsync = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<WdRun> =>
  runProcess('git', args, { cwd, env: { GIT_DIR: undefined, GIT_WORK_TREE: undefined, GIT_INDEX_FILE: undefined, ...env } });

/** Commit files on branch in the origin's work clone and `git push` it for real; returns the sha and git's output. */
export async function push(o: Origin, branch: string, files: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<{ sha: string; run: WdRun }> {
  git(o.work, 'checkout', '-q', branch);
  for (const [p, text] of Object.entries(files)) writeFileSync(join(o.work, p), text);
  git(o.work, 'add', '-A');
  git(o.work, 'commit', '-q', '-m', `push to ${branch}`);
  const sha = git(o.work, 'rev-parse', 'HEAD');
  const run = await gitAsync(o.work, ['push', 'origin', `${branch}:refs/heads/${branch}`], env);
  assert.is(run.code, 0, both(run));
  return { sha, run };
}
