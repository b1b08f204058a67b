// strategy: releases, the pure stages: plan fields and the generated script's
// text (the golden files, test/golden/*releases*.sh, pin the rest).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { configFromSource } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { DEFAULT_RUN, planHosts, type Action } from '../../src/plan.js';
import { quote } from '../../src/quote.js';
import { buildScript } from '../../src/script.js';

const HOSTILE = {
  shared: 'my files/$(touch pwned)`id`',
  bss: "script/it's $(build).sh",
  post: 'deploy/post $(x).sh',
};

const yaml = (extra = ''): string => `prod:
  domain: deploy@web1.example.com
  deploy_to: /var/www/app
  repository: git@github.com:example/app.git
  strategy: releases
  keep_releases: 4
  shared_paths: [log, ${JSON.stringify(HOSTILE.shared)}]
  before_switch_script: ${JSON.stringify(HOSTILE.bss)}
  post_deploy_script: ${JSON.stringify(HOSTILE.post)}
${extra}`;

function plan(text: string, action: Action = 'deploy') {
  const env = configFromSource({ name: 'deploy.yml', text }, undefined, 'prod');
  return planHosts(env, action, { roles: [] }, '/work/here', {
    ...DEFAULT_RUN,
    rollbackTo: action === 'rollback' ? '$(touch pwned)' : undefined,
  } as typeof DEFAULT_RUN)[0]!;
}

test('the plan carries the releases keys', () => {
  const p = plan(yaml());
  assert.equal([p.strategy, p.keepReleases, p.sharedPaths, p.beforeSwitchScript], ['releases', 4, ['log', HOSTILE.shared], HOSTILE.bss]);
  const inPlace = plan('prod:\n  deploy_to: /a\n  repository: r\n');
  assert.equal([inPlace.strategy, inPlace.keepReleases, inPlace.sharedPaths, inPlace.beforeSwitchScript], ['in_place', 5, [], undefined]);
  assert.not.match(buildScript(inPlace).text, /wd_new_release|WD_SHARED|releases\//);
});

test('shared paths inside one another are a ConfigError naming the file, the key and the fix', () => {
  const text = 'prod:\n  deploy_to: /a\n  repository: r\n  strategy: releases\n  shared_paths: [public/uploads, tmp, public]\n';
  assert.throws(
    () => plan(text),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message === "deploy.yml, environment 'prod', key 'shared_paths': 'public/uploads' is inside 'public', which is shared already; list only 'public'.",
  );
  // A common prefix is not nesting.
  assert.equal(plan(text.replace('public]', 'pub]')).sharedPaths, ['public/uploads', 'tmp', 'pub']);
});

test('hostile values enter every releases script only as quoted assignments', () => {
  for (const action of ['setup', 'deploy', 'rollback', 'status'] as const) {
    const s = buildScript(plan(yaml(), action)).text;
    for (const v of [
      HOSTILE.shared,
      ...(action === 'status' ? [] : [HOSTILE.bss]),
      ...(action === 'deploy' || action === 'rollback' ? [HOSTILE.post] : []),
      ...(action === 'rollback' ? ['$(touch pwned)'] : []),
    ]) {
      const q = quote(v);
      const lines = s.split('\n').filter((l) => l.includes(q));
      assert.ok(lines.length >= 1, `${action}: ${v} appears as ${q}`);
      for (const l of lines) assert.match(l, /^(export )?WD_[A-Z_]+=/, `${action}: value ${v} on line: ${l}`);
    }
    const r = spawnSync('bash', ['-n'], { input: s, encoding: 'utf8' });
    assert.is(r.status, 0, `${action}: ${r.stderr}`);
  }
});

test('relative hook paths: post scripts under current, before_switch_script in the new release; absolute ones as given', () => {
  const s = buildScript(plan(yaml())).text;
  assert.match(s, `\nWD_POST="$WD_DEPLOY_TO"/current/${quote(HOSTILE.post)}\n`);
  assert.match(s, `\nWD_BEFORE_SWITCH=${quote(HOSTILE.bss)}\n`);
  assert.match(s, '\n  case $s in /*) ;; *) s=$WD_RELEASE/$s ;; esac\n');
  const abs = buildScript(plan(yaml().replace(JSON.stringify(HOSTILE.bss), '~/build.sh').replace(JSON.stringify(HOSTILE.post), '/opt/post.sh'))).text;
  assert.match(abs, '\nWD_POST=/opt/post.sh\n');
  assert.match(abs, '\nWD_BEFORE_SWITCH="$HOME"/build.sh\n');
  // The hooks change into current, never into deploy_to itself.
  assert.match(abs, '\nwd_post() {\n  cd -- "$WD_DEPLOY_TO/current"\n');
  assert.match(abs, '\nwd_rake() {\n  cd -- "$WD_DEPLOY_TO/current"\n');
});

test.run();
