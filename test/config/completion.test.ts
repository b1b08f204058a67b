// `wd completion bash|zsh|fish`: scripts made from the flag table, completing
// commands, each command's flags and the environments of the discovered config.
// The bash script is sourced into a real bash and asked, as a TAB would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLAGS, flagsFor } from '../../src/flags.js';
import { completionScript } from '../../src/completion.js';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runProcess, runWd, WD_BIN } from '../helpers/wd.js';

test.after(cleanup);

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A directory with `wd` on PATH (the built binary), as a user who installed it has. */
function binDir(): string {
  const bin = tmpDir('wd-bin-');
  writeFileSync(join(bin, 'wd'), `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(WD_BIN)} "$@"\n`);
  chmodSync(join(bin, 'wd'), 0o755);
  return bin;
}

/** COMPREPLY after the line `words` (the last one being completed), in `cwd`. */
async function complete(script: string, words: string[], cwd: string, bin = binDir()): Promise<string[]> {
  const file = join(tmpDir('wd-compl-'), 'wd.bash');
  writeFileSync(file, script);
  const program = `source ${quote(file)}
COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=${words.length - 1}
_wd
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await runProcess('bash', ['--norc', '-c', program], { cwd, env: { PATH: `${bin}:${process.env['PATH']}` } });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  return r.stdout.split('\n').filter((l) => l !== '');
}

function projectDir(yaml: string): string {
  const dir = tmpDir('wd-compl-proj-');
  writeFileSync(join(dir, 'deploy.yml'), yaml);
  return dir;
}

const ENVS = 'production:\n  deploy_to: /srv/app\n  repository: r\nstaging:\n  deploy_to: /srv/app\n  repository: r\n';

test('wd completion bash: valid bash (bash -n), printed by the binary', async () => {
  const r = await runWd(['completion', 'bash']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, completionScript('bash'));
  const syntax = await runProcess('bash', ['-n'], { input: r.stdout });
  assert.is(syntax.code, 0, syntax.stderr);
});

test('bash: wd dep<TAB> completes the command; wd deploy <TAB> the environments of ./deploy.yml', async () => {
  const script = completionScript('bash');
  const dir = projectDir(ENVS);
  assert.equal(await complete(script, ['wd', 'dep'], dir), ['deploy']);
  assert.equal(await complete(script, ['wd', 'deploy', ''], dir), ['production', 'staging']);
  assert.equal(await complete(script, ['wd', 'deploy', 'st'], dir), ['staging']);
  // After the environment, nothing more to name; flags come from the table.
  assert.equal(await complete(script, ['wd', 'deploy', 'staging', ''], dir), []);
  assert.equal(await complete(script, ['wd', 'deploy', 'staging', '--ch'], dir), ['--check']);
  assert.equal(await complete(script, ['wd', 'setup', 'staging', '--ch'], dir), []);
  assert.equal(
    (await complete(script, ['wd', 'status', '--'], dir)).sort(),
    flagsFor('status')
      .filter((f) => !f.hidden)
      .map((f) => `--${f.name}`)
      .sort(),
  );
  // -t completes environments too; -p's value is a file.
  assert.equal(await complete(script, ['wd', 'deploy', '-t', 'pro'], dir), ['production']);
  assert.equal(await complete(script, ['wd', 'deploy', '-p', 'depl'], dir), ['deploy.yml']);
  assert.equal(await complete(script, ['wd', 'completion', ''], dir), ['bash', 'zsh', 'fish']);
  assert.equal(await complete(script, ['wd', 'hook', 'in'], dir), ['install']);
});

test('bash: environments of the file named with -p, of config/deploy/<env>.yml files, and of projects', async () => {
  const script = completionScript('bash');
  const dir = projectDir(ENVS);
  writeFileSync(join(dir, 'other.yml'), 'qa:\n  deploy_to: /x\n  repository: r\n');
  assert.equal(await complete(script, ['wd', 'deploy', '-p', 'other.yml', ''], dir), ['qa']);
  const layout = tmpDir('wd-compl-layout-');
  mkdirSync(join(layout, 'config', 'deploy', 'shop'), { recursive: true });
  writeFileSync(join(layout, 'config', 'deploy', 'production.yml'), 'deploy_to: /x\nrepository: r\n');
  writeFileSync(join(layout, 'config', 'deploy', 'shop', 'staging.yml'), 'deploy_to: /x\nrepository: r\n');
  assert.equal(await complete(script, ['wd', 'setup', ''], layout), ['production', 'shop:staging']);
  const projects = projectDir(
    'shop:\n  prod:\n    deploy_to: /x\n    repository: r\nblog:\n  prod:\n    deploy_to: /x\n    repository: r\n  qa:\n    deploy_to: /x\n    repository: r\n',
  );
  const r = await runWd(['completion', '--list-envs'], { cwd: projects });
  assert.is(r.stdout, 'blog:prod\nblog:qa\nqa\nshop:prod\n');
});

test('completion --list-envs is silent and succeeds without a config, with a broken one, and never fetches a URL', async () => {
  for (const dir of [tmpDir('wd-compl-none-'), projectDir('prod: [unclosed\n')]) {
    const r = await runWd(['completion', '--list-envs'], { cwd: dir });
    assert.equal([r.code, r.stdout, r.stderr], [0, '', '']);
  }
  const url = await runWd(['completion', '--list-envs', '-p', 'http://127.0.0.1:9/deploy.yml'], { cwd: tmpDir() });
  assert.equal([url.code, url.stdout, url.stderr], [0, '', '']);
  // Completion in a directory without a config offers no environment, and no error.
  assert.equal(await complete(completionScript('bash'), ['wd', 'deploy', ''], tmpDir()), []);
});

test('zsh and fish scripts name every command and every visible flag; an unknown shell is a usage error', async () => {
  for (const shell of ['zsh', 'fish']) {
    const text = completionScript(shell);
    for (const f of FLAGS.filter((x) => !x.hidden)) assert.match(text, f.name, `${shell}: --${f.name}`);
    assert.not.match(text, 'list-envs\\[');
    assert.match(text, 'completion --list-envs');
  }
  assert.match(completionScript('zsh'), /^#compdef wd\n/);
  const r = await runWd(['completion', 'tcsh']);
  assert.is(r.code, 2);
  assert.is(r.stderr, "wd: no completion for shell 'tcsh'. Usage: wd completion bash|zsh|fish.\n");
});

test.run();
