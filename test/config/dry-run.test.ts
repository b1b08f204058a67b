// A dry run goes through the same config stage as a real run: what `wd deploy`
// would reject, `wd deploy -n` rejects too (exit 2), and the warnings about
// ignored ssh_options are printed by both, on stderr.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, tmpDir } from '../helpers/tmp.js';
import { runWd } from '../helpers/wd.js';

test.after(cleanup);

function project(yaml: string): string {
  const dir = tmpDir('wd-dry-');
  writeFileSync(join(dir, 'deploy.yml'), yaml);
  return dir;
}

test('ssh_options ["-R", "80:x:80"]: exit 2 in a dry run, as in a real run', async () => {
  const dir = project(
    'prod:\n  domain:\n    - name: deploy@web1.example.com\n      ssh_options: ["-R", "80:x:80"]\n  deploy_to: /srv/app\n  repository: /srv/app.git\n',
  );
  const want = `wd: ${join(dir, 'deploy.yml')}:4:7, environment 'prod', host deploy@web1.example.com: ssh_options -R 80:x:80 cannot be honoured: wd forwards no ports. Remove it.\n`;
  for (const args of [
    ['deploy', 'prod', '-n'],
    ['setup', 'prod', '--dry-run'],
    ['deploy', 'prod'],
  ]) {
    const r = await runWd(args, { cwd: dir });
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.stderr, want, args.join(' '));
    assert.is(r.stdout, '');
  }
});

test('a bad port in domain, a bad key value: exit 2 in a dry run', async () => {
  for (const [yaml, re] of [
    [
      'prod:\n  domain: web1:99999\n  deploy_to: /srv/app\n  repository: r\n',
      /key 'domain': "web1:99999" is not a host: port 99999 is not between 1 and 65535\./,
    ],
    ['prod:\n  deploy_to: /srv/app\n  repository: r\n  strategy: blue-green\n', /key 'strategy': 'blue-green' is not a strategy/],
    ['prod:\n  deploy_to: /srv/app\n  repository: r\n  timeout: 0\n', /key 'timeout': expected a number of seconds greater than 0/],
  ] as const) {
    const r = await runWd(['deploy', 'prod', '-n'], { cwd: project(yaml) });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
  }
});

test('ignored ssh_options: one warning line each on stderr, the dry run still prints the scripts', async () => {
  const dir = project(
    'prod:\n  domain:\n    - name: deploy@web1.example.com\n      ssh_options: ["-t", "-vv", "-p 443"]\n  deploy_to: /srv/app\n  repository: /srv/app.git\n',
  );
  const r = await runWd(['deploy', 'prod', '-n'], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stderr,
    `wd: warning: ${join(dir, 'deploy.yml')}:4:7, environment 'prod', host deploy@web1.example.com: ssh_options -t is ignored: wd never allocates a terminal (nothing can answer a prompt in an unattended deploy).\n`,
  );
  assert.match(r.stdout, /^# ---- deploy@web1\.example\.com ----$/m);
});

test.run();
