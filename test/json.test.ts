// --json output of every command, from real local runs, validated against the
// shipped schema (schema/result.schema.json, documented in docs/json.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { makeOrigin } from './helpers/git.js';
import { cleanup, tmpDir } from './helpers/tmp.js';
import { runWd, WD_BIN } from './helpers/wd.js';

test.after(cleanup);

const schema = JSON.parse(readFileSync(join(WD_BIN, '..', '..', 'schema', 'result.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

function valid(stdout: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  assert.ok(validate(doc), `${JSON.stringify(validate.errors, null, 2)}\n${stdout}`);
  return doc;
}

test('setup, deploy, failed deploy, unchanged, rollback, status (with history), dry run and errors all match the schema', async () => {
  const origin = makeOrigin('origin', { 'post.sh': 'test ! -f fail || exit 4\n' });
  const dir = tmpDir('wd-json-');
  writeFileSync(join(dir, 'deploy.yml'), `prod:\n  deploy_to: app\n  repository: ${origin.url}\n  branch: main\n  post_deploy_script: post.sh\n`);
  const run = (...args: string[]) => runWd([...args, '--json'], { cwd: dir });

  const setup = valid((await run('setup', 'prod')).stdout);
  assert.is(setup['command'], 'setup');
  const first = origin.head('main');
  origin.commit('main', { 'app.txt': 'v2\n' });
  const d = await run('deploy', 'prod');
  assert.is(d.code, 0);
  const deploy = valid(d.stdout) as { hosts: Array<Record<string, unknown>> };
  assert.equal([deploy.hosts[0]!['status'], deploy.hosts[0]!['previousRevision'], deploy.hosts[0]!['revision']], ['succeeded', first, origin.head('main')]);

  const unchanged = valid((await run('deploy', 'prod', '--check')).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.equal([unchanged.hosts[0]!['status'], unchanged.hosts[0]!['revision']], ['unchanged', origin.head('main')]);

  origin.commit('main', { fail: 'x\n' });
  const f = await run('deploy', 'prod');
  assert.is(f.code, 1);
  const failed = valid(f.stdout) as { status: string; hosts: Array<Record<string, unknown>> };
  assert.equal(
    [failed.status, failed.hosts[0]!['status'], failed.hosts[0]!['step'], failed.hosts[0]!['reason']],
    ['failed', 'failed', 'post_deploy_script', 'post_deploy_script exited 4'],
  );

  const back = valid((await run('rollback', 'prod')).stdout) as { hosts: Array<Record<string, unknown>> };
  assert.is(back.hosts[0]!['revision'], first);

  const st = valid((await run('status', 'prod', '--history', '3')).stdout) as {
    hosts: Array<{ history: Array<Record<string, unknown>> } & Record<string, unknown>>;
  };
  assert.is(st.hosts[0]!['revision'], first);
  assert.equal(
    st.hosts[0]!.history.map((h) => [h['command'], h['result']]),
    [
      ['deploy', 'ok'],
      ['deploy', 'failed post_deploy_script'],
      ['rollback', 'ok'],
    ],
  );

  valid((await run('deploy', 'prod', '-n')).stdout);
  const e = await run('deploy', 'nope');
  assert.is(e.code, 2);
  assert.is((valid(e.stdout)['error'] as Record<string, unknown>)['kind'], 'config');
  const u = await run('deploy', 'prod', '--frobnicate');
  assert.is(u.code, 2);
  assert.is((valid(u.stdout)['error'] as Record<string, unknown>)['kind'], 'usage');
});

test.run();
