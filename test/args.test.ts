import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs, splitTarget } from '../src/args.js';
import { UsageError } from '../src/errors.js';

const usage = (argv: string[], re: RegExp): void => {
  assert.throws(
    () => parseArgs(argv),
    (e: unknown) => e instanceof UsageError && re.test((e as Error).message),
    argv.join(' '),
  );
};

test('command and positional environment', () => {
  const o = parseArgs(['deploy', 'production']);
  assert.is(o.command, 'deploy');
  assert.is(o.env, 'production');
  assert.is(o.project, undefined);
  assert.is(o.check, false);
});

test('--to, -t and project:env, whiskey_disk style', () => {
  assert.is(parseArgs(['deploy', '--to=staging']).env, 'staging');
  const o = parseArgs(['setup', '-t', 'shop:production']);
  assert.is(o.command, 'setup');
  assert.is(o.project, 'shop');
  assert.is(o.env, 'production');
  // `wd --to=env` alone deploys, as whiskey_disk's deploy task did.
  assert.is(parseArgs(['--to=staging']).command, 'deploy');
});

test('every flag, long and short', () => {
  const o = parseArgs(['deploy', 'prod', '-p', 'x.yml', '-o', 'web1', '-r', 'web, db', '-c', '-d', '-n', '-j', '4', '-q', '--json']);
  assert.equal(
    { path: o.path, only: o.only, roles: o.roles, check: o.check, debug: o.debug, dryRun: o.dryRun, concurrency: o.concurrency, quiet: o.quiet, json: o.json },
    { path: 'x.yml', only: 'web1', roles: ['web', 'db'], check: true, debug: true, dryRun: true, concurrency: 4, quiet: true, json: true },
  );
  const l = parseArgs(['deploy', 'prod', '--path=x.yml', '--only=web1', '--roles=web', '--check', '--debug', '--dry-run', '--concurrency=2', '--quiet']);
  assert.equal([l.path, l.only, l.roles, l.check, l.debug, l.dryRun, l.concurrency, l.quiet], ['x.yml', 'web1', ['web'], true, true, true, 2, true]);
});

test('help and version', () => {
  assert.is(parseArgs(['--help']).command, 'help');
  assert.is(parseArgs(['-h']).command, 'help');
  assert.is(parseArgs(['--version']).command, 'version');
  assert.is(parseArgs(['deploy', '--help']).helpFor, 'deploy');
  assert.is(parseArgs(['help', 'setup']).helpFor, 'setup');
});

test('usage errors name the problem and the fix', () => {
  usage([], /no command given/);
  usage(['deplyo', 'prod'], /unknown command 'deplyo' \(did you mean 'deploy'\?\)/);
  usage(['deploy', 'prod', '--chek'], /unknown option '--chek' \(did you mean '--check'\?\)/);
  usage(['deploy', 'prod', '-j', '0'], /--concurrency must be a whole number/);
  usage(['deploy', 'prod', '-j', 'many'], /--concurrency must be a whole number/);
  usage(['deploy', 'a', 'b'], /too many arguments/);
  usage(['deploy', 'a', '--to=b'], /environment given twice/);
  usage(['deploy', '--to=a:b:c'], /bad environment 'a:b:c'/);
  usage(['deploy', 'prod', '--roles=,'], /--roles needs at least one role/);
  usage(['deploy', 'prod', '-p'], /--path needs a value/);
});

test("wd's flags: --timeout, --connect-timeout, --batch, --canary, --wait-lock, --history, --rev", () => {
  const o = parseArgs(['deploy', 'prod', '--timeout', '600', '--connect-timeout=2.5', '--batch', '25%', '--canary', '--wait-lock', '0']);
  assert.equal([o.timeout, o.connectTimeout, o.batch, o.canary, o.waitLock], [600, 2.5, { percent: 25 }, true, 0]);
  assert.equal(parseArgs(['setup', 'prod', '--batch=3']).batch, { size: 3 });
  assert.is(parseArgs(['status', 'prod', '--history', '20']).history, 20);
  assert.is(parseArgs(['rollback', 'prod', '--rev', 'abc123']).rev, 'abc123');
  const d = parseArgs(['deploy', 'prod']);
  assert.equal(
    [d.timeout, d.connectTimeout, d.batch, d.canary, d.waitLock, d.history, d.rev],
    [undefined, undefined, undefined, false, undefined, undefined, undefined],
  );
  usage(['deploy', 'prod', '--timeout', '0'], /^--timeout must be a number of seconds greater than 0, got '0'\.$/);
  usage(['deploy', 'prod', '--timeout', '10s'], /--timeout must be a number of seconds greater than 0, got '10s'/);
  usage(['deploy', 'prod', '--connect-timeout', '-1'], /^--connect-timeout '-1': negative values are not accepted\.$/);
  usage(['deploy', 'prod', '-j', '-2'], /^--concurrency '-2': negative values are not accepted\.$/);
  usage(['deploy', 'prod', '--wait-lock', 'x'], /^--wait-lock must be a number of seconds, got 'x'\.$/);
  usage(['deploy', 'prod', '--batch', '0'], /^--batch must be a number of hosts \(1 or more\) or a percentage \(1% to 100%\), got '0'\.$/);
  usage(['deploy', 'prod', '--batch', '150%'], /--batch must be/);
  usage(['status', 'prod', '--history', '0'], /^--history must be a whole number of lines >= 1, got '0'\.$/);
  usage(['rollback', 'prod', '--rev', '--upload-pack=x'], /^unknown option '--upload-pack=x'/);
  usage(['rollback', 'prod', '--rev=-x'], /^--rev '-x' is not a revision: it must not be empty, start with '-'/);
  usage(['rollback', 'prod', '--rev=a\nb'], /^--rev 'a\nb' is not a revision/);
  usage(['rollback', 'prod', '--rev='], /^--rev needs a value\./);
  // whiskey_disk's --to after <env> is the revision too, and gets the same check.
  usage(['rollback', 'prod', '--to=-x'], /^--to '-x' is not a revision: it must not be empty, start with '-'/);
  usage(['rollback', 'prod', '--to', 'a\rb'], /^--to 'a\rb' is not a revision/);
});

test("rollback: whiskey_disk's --to names the environment, so after <env> it is the revision", () => {
  const a = parseArgs(['rollback', 'prod', '--to', 'abc123']);
  assert.equal([a.env, a.rev], ['prod', 'abc123']);
  const b = parseArgs(['rollback', '--to', 'shop:prod']);
  assert.equal([b.project, b.env, b.rev], ['shop', 'prod', undefined]);
  usage(['rollback', 'prod', '--to', 'a', '--rev', 'b'], /^revision given twice: --to='a' and --rev='b'\. Use --rev REV\.$/);
  usage(['deploy', 'prod', '--to', 'abc'], /environment given twice/);
});

test('each command accepts only its own flags', () => {
  usage(['setup', 'prod', '--check'], /^--check does not apply to 'wd setup'; it is an option of: wd deploy\. See 'wd setup --help'\.$/);
  usage(['setup', 'prod', '-c'], /^--check does not apply to 'wd setup'/);
  usage(['init', '--only', 'x'], /^--only does not apply to 'wd init'/);
  usage(['deploy', 'prod', '--history', '3'], /^--history does not apply to 'wd deploy'; it is an option of: wd status\./);
  usage(['deploy', 'prod', '--rev', 'x'], /^--rev does not apply to 'wd deploy'/);
  usage(['status', 'prod', '--canary'], /^--canary does not apply to 'wd status'; it is an option of: wd deploy, wd rollback, wd hook\./);
  usage(['hook', 'install', '--list-envs'], /^--list-envs does not apply to 'wd hook'/);
  // A flag's value is never taken for a flag, and a flag never for a value: as minimist reads them.
  assert.equal([parseArgs(['deploy', 'prod', '-p', '-', '-c']).path, parseArgs(['deploy', 'prod', '-p', 'c.yml', '-c']).check], ['-', true]);
  usage(['setup', 'prod', '--only', '--check'], /^--check does not apply to 'wd setup'/);
  // Help for a command works whatever else is on the line.
  assert.is(parseArgs(['setup', '--help', '--check']).helpFor, 'setup');
  assert.is(parseArgs(['hook', 'install', '-p', 'deploy.yml', '-q', '--force', '--repo', '/srv/r.git']).repo, '/srv/r.git');
});

test('completion: the shell as its argument; --list-envs is its hidden helper', () => {
  const o = parseArgs(['completion', 'bash']);
  assert.equal([o.command, o.rest], ['completion', ['bash']]);
  const l = parseArgs(['completion', '--list-envs', '-p', 'x.yml']);
  assert.equal([l.listEnvs, l.path], [true, 'x.yml']);
});

test('unknown flags suggest the closest known one, from the same table', () => {
  usage(['deploy', 'prod', '--timout', '5'], /^unknown option '--timout' \(did you mean '--timeout'\?\)/);
  usage(['deploy', 'prod', '--wait-locks'], /did you mean '--wait-lock'/);
  usage(['deploy', 'prod', '-Z'], /^unknown option '-Z'/);
});

test('splitTarget', () => {
  assert.equal(splitTarget('prod'), { env: 'prod' });
  assert.equal(splitTarget('shop:prod'), { project: 'shop', env: 'prod' });
  assert.throws(() => splitTarget(':prod'));
});

test.run();
