import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs, splitTarget } from '../src/args.js';
import { UsageError } from '../src/errors.js';

const usage = (argv: string[], re: RegExp): void => {
  assert.throws(() => parseArgs(argv), (e: unknown) => e instanceof UsageError && re.test((e as Error).message), argv.join(' '));
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

test('splitTarget', () => {
  assert.equal(splitTarget('prod'), { env: 'prod' });
  assert.equal(splitTarget('shop:prod'), { project: 'shop', env: 'prod' });
  assert.throws(() => splitTarget(':prod'));
});

test.run();
