// argv → Options. Pure: no filesystem, no environment, so every flag rule is
// testable without spawning anything. Which flags exist and which commands take
// them is src/flags.ts's table.
import minimist from 'minimist';
import { UsageError, closest, didYouMean } from './errors.js';
import { COMMANDS, COMMAND_SPECS, FLAGS, HOST_COMMANDS, type Command, type FlagSpec } from './flags.js';
import { parseBatch, type Batch } from './keys.js';
import { DEFAULT_EVERY, parseEvery } from './pull/schedule.js';

export { COMMANDS, type Command } from './flags.js';

/** A revision to roll back to, checked once for every way it can be given (--rev, --to, the library's rollbackTo). */
export function revision(rev: string, given: string): string {
  // It is handed to git on the host: it must never read as an option, nor hold a line break.
  if (rev === '' || rev.startsWith('-') || /[\x00-\x20\x7f]/.test(rev)) {
    throw new UsageError(`${given} '${rev}' is not a revision: it must not be empty, start with '-' or contain spaces or control characters.`);
  }
  return rev;
}

export interface Options {
  command: Command;
  /** Environment name, from the positional argument or --to. */
  env?: string;
  /** Project name, from --to=project:env. */
  project?: string;
  path?: string;
  only?: string;
  roles: string[];
  check: boolean;
  debug: boolean;
  dryRun: boolean;
  concurrency?: number;
  json: boolean;
  quiet: boolean;
  /** Seconds for the whole script on one host (--timeout). */
  timeout?: number;
  /** Seconds to connect to one host (--connect-timeout). */
  connectTimeout?: number;
  batch?: Batch;
  canary: boolean;
  /** Seconds to wait for another run's per-host lock (--wait-lock). */
  waitLock?: number;
  /** status: how many history lines per host (--history). */
  history?: number;
  /** rollback: the revision to go back to (--rev, or --to after a positional <env>). */
  rev?: string;
  /** Go ahead where wd would refuse: init overwrites, hook install replaces wd's hook, hosts lose local changes. */
  force: boolean;
  /** wd pull: what to do on the hosts. */
  pull?: PullSubcommand;
  /** wd pull install: seconds between pulls (--every, default 5m). */
  every?: number;
  /** hook install: the bare repository. */
  repo?: string;
  /** completion --list-envs: print the discovered config's environments (used by the completion scripts). */
  listEnvs?: boolean;
  /** `wd help deploy`, `wd deploy --help`: the command whose help to show. */
  helpFor?: Command;
  /** Positional words after the command (hook subcommands, init target, completion shell). */
  rest: string[];
}

export const PULL_SUBCOMMANDS = ['install', 'uninstall', 'status'] as const;
export type PullSubcommand = (typeof PULL_SUBCOMMANDS)[number];

const byName = new Map(FLAGS.map((f) => [f.name, f]));
const byShort = new Map(FLAGS.filter((f) => f.short).map((f) => [f.short!, f]));
const VISIBLE_NAMES = FLAGS.filter((f) => !f.hidden).map((f) => f.name);
const TAKES_VALUE = (next: string | undefined): next is string => next !== undefined && !/^(-|--)[^-]/.test(next);

/**
 * The flags argv names, in order, read as minimist reads them (so a flag's
 * value is never taken for a flag): known ones as their spec, others as written.
 */
function givenFlags(argv: readonly string[]): { known: FlagSpec[]; unknown: string[] } {
  const known: FlagSpec[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('--')) {
      const [raw, value] = a.slice(2).split(/=(.*)/s) as [string, string | undefined];
      const negated = raw.startsWith('no-') && byName.get(raw.slice(3))?.type === 'boolean';
      const f = byName.get(negated ? raw.slice(3) : raw);
      if (!f) {
        unknown.push(a);
        continue;
      }
      known.push(f);
      if (f.type === 'string' && value === undefined) negative(f, argv[i + 1]);
      if (f.type === 'string' && value === undefined && TAKES_VALUE(argv[i + 1])) i++;
    } else if (/^-[^-]/.test(a)) {
      for (let j = 1; j < a.length; j++) {
        const f = byShort.get(a[j]!);
        if (!f) {
          unknown.push(`-${a[j]}`);
          continue;
        }
        known.push(f);
        if (f.type === 'string') {
          if (j === a.length - 1) negative(f, argv[i + 1]);
          if (j === a.length - 1 && TAKES_VALUE(argv[i + 1])) i++;
          break;
        }
      }
    }
  }
  return { known, unknown };
}

// `--timeout -1` would read -1 as flags; say what is wrong with the value instead.
function negative(f: FlagSpec, next: string | undefined): void {
  if (next !== undefined && /^-[0-9]/.test(next)) throw new UsageError(`--${f.name} '${next}': negative values are not accepted.`);
}

export function parseArgs(argv: readonly string[]): Options {
  const { known, unknown } = givenFlags(argv);
  if (unknown.length > 0) {
    const flag = unknown[0]!;
    const c = closest(flag.replace(/^-+/, '').split('=')[0]!, VISIBLE_NAMES);
    throw new UsageError(`unknown option '${flag}'${c ? ` (did you mean '--${c}'?)` : ''}. Run 'wd --help' for the list of options.`);
  }
  const parsed = minimist([...argv], {
    string: FLAGS.filter((f) => f.type === 'string').map((f) => f.name),
    boolean: FLAGS.filter((f) => f.type === 'boolean').map((f) => f.name),
    alias: Object.fromEntries(FLAGS.filter((f) => f.short).map((f) => [f.short!, f.name])),
  });

  const words = parsed._.map(String);
  const first = words[0];
  let command: Command;
  let rest: string[];
  if (parsed['version']) return base('version', []);
  if (first === undefined) {
    if (parsed['help']) return base('help', []);
    if (typeof parsed['to'] === 'string' && parsed['to'] !== '') {
      // `wd --to=env` with no command deploys: wd's shortcut for `rake deploy:now to=env`.
      // (whiskey_disk's own `wd` script printed its usage instead: it required setup or deploy.)
      command = 'deploy';
      rest = [];
    } else {
      throw new UsageError(
        `no command given. Usage: wd <${COMMAND_SPECS.filter((c) => !c.hidden && c.name !== 'help')
          .map((c) => c.name)
          .join('|')}> [env] [options]; run 'wd --help' for details.`,
      );
    }
  } else if ((COMMANDS as readonly string[]).includes(first)) {
    command = first as Command;
    rest = words.slice(1);
  } else {
    throw new UsageError(
      `unknown command '${first}'${didYouMean(first, COMMANDS)}. Commands: ${COMMANDS.filter((c) => c !== 'help' && c !== 'version').join(', ')}.`,
    );
  }

  if (command === 'help') {
    const about = rest[0];
    if (about !== undefined && !(COMMANDS as readonly string[]).includes(about)) {
      throw new UsageError(`no help for '${about}'${didYouMean(about, COMMANDS)}.`);
    }
    return { ...base('help', []), ...(about ? { helpFor: about as Command } : {}) };
  }
  if (parsed['help']) return { ...base('help', []), helpFor: command };
  for (const f of known) {
    if (!f.commands.includes(command)) {
      const where = f.commands.filter((c) => c !== 'help' && c !== 'version');
      throw new UsageError(
        `--${f.name} does not apply to 'wd ${command}'; it is an option of: ${where.map((c) => `wd ${c}`).join(', ')}. See 'wd ${command} --help'.`,
      );
    }
  }

  const str = (k: string): string | undefined => {
    const v: unknown = parsed[k];
    if (Array.isArray(v)) throw new UsageError(`--${k} given more than once.`);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new UsageError(`--${k} needs a value.`);
    return v;
  };
  const seconds = (k: string, min: 'positive' | 'zero'): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = /^[0-9]+(\.[0-9]+)?$/.test(v) ? Number(v) : NaN;
    if (!(min === 'zero' ? n >= 0 : n > 0)) throw new UsageError(`--${k} must be a number of seconds${min === 'zero' ? '' : ' greater than 0'}, got '${v}'.`);
    return n;
  };
  const whole = (k: string, what: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`--${k} must be a whole number of ${what} >= 1, got '${v}'.`);
    return Number(v);
  };

  const opts = base(command, rest);
  let args = rest;
  if (command === 'pull') {
    const sub = rest[0];
    const subs: readonly string[] = PULL_SUBCOMMANDS;
    if (sub === undefined) throw new UsageError(`'wd pull' needs a subcommand: ${subs.join(', ')}. Usage: wd pull install|uninstall|status <env> [options].`);
    if (!subs.includes(sub)) throw new UsageError(`unknown pull subcommand '${sub}'${didYouMean(sub, subs)}. Subcommands: ${subs.join(', ')}.`);
    opts.pull = sub as PullSubcommand;
    args = rest.slice(1);
    const every = str('every');
    if (every !== undefined && sub !== 'install') throw new UsageError(`--every applies to 'wd pull install' only (got 'wd pull ${sub}').`);
    if (sub === 'install') opts.every = parseEvery(every ?? DEFAULT_EVERY);
  }
  if ((HOST_COMMANDS as readonly string[]).includes(command) || command === 'pull') {
    const usage = command === 'pull' ? `wd pull ${opts.pull!} <env>` : `wd ${command} <env>`;
    let to = str('to');
    const positional = args[0];
    if (args.length > 1) throw new UsageError(`too many arguments: '${args.slice(1).join(' ')}'. Usage: ${usage} [options].`);
    // whiskey_disk's --to names the environment; after `wd rollback <env>` it can only mean the revision.
    if (command === 'rollback' && positional !== undefined && to !== undefined) {
      if (str('rev') !== undefined) throw new UsageError(`revision given twice: --to='${to}' and --rev='${str('rev')}'. Use --rev REV.`);
      opts.rev = revision(to, '--to');
      to = undefined;
    }
    if (to !== undefined && positional !== undefined) {
      throw new UsageError(`environment given twice: '${positional}' and --to='${to}'. Use one of them.`);
    }
    const target = to ?? positional;
    if (target !== undefined) {
      const { project, env } = splitTarget(target);
      opts.env = env;
      if (project !== undefined) opts.project = project;
    }
    opts.rest = [];
  }

  const path = str('path');
  if (path !== undefined) opts.path = path;
  const only = str('only');
  if (only !== undefined) opts.only = only;
  const roles = str('roles');
  if (roles !== undefined) {
    opts.roles = roles
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '');
    if (opts.roles.length === 0) throw new UsageError(`--roles needs at least one role name, e.g. --roles web,db.`);
  }
  const conc = whole('concurrency', 'hosts');
  if (conc !== undefined) opts.concurrency = conc;
  const timeout = seconds('timeout', 'positive');
  if (timeout !== undefined) opts.timeout = timeout;
  const connectTimeout = seconds('connect-timeout', 'positive');
  if (connectTimeout !== undefined) opts.connectTimeout = connectTimeout;
  const waitLock = seconds('wait-lock', 'zero');
  if (waitLock !== undefined) opts.waitLock = waitLock;
  const history = whole('history', 'lines');
  if (history !== undefined) opts.history = history;
  const batch = str('batch');
  if (batch !== undefined) {
    const b = parseBatch(batch);
    if (!b) throw new UsageError(`--batch must be a number of hosts (1 or more) or a percentage (1% to 100%), got '${batch}'.`);
    opts.batch = b;
  }
  const rev = str('rev');
  if (rev !== undefined) {
    opts.rev = revision(rev, '--rev');
  }
  opts.check = parsed['check'] === true;
  opts.debug = parsed['debug'] === true;
  opts.dryRun = parsed['dry-run'] === true;
  opts.json = parsed['json'] === true;
  opts.quiet = parsed['quiet'] === true;
  opts.force = parsed['force'] === true;
  opts.canary = parsed['canary'] === true;
  if (parsed['list-envs'] === true) opts.listEnvs = true;
  const repo = str('repo');
  if (repo !== undefined) opts.repo = repo;
  return opts;

  function base(c: Command, r: string[]): Options {
    return { command: c, roles: [], check: false, debug: false, dryRun: false, json: false, quiet: false, canary: false, force: false, rest: r };
  }
}

/** `env` or `project:env`, whiskey_disk's --to syntax. */
export function splitTarget(target: string): { project?: string; env: string } {
  const parts = target.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    throw new UsageError(`bad environment '${target}': expected <env> or <project>:<env>.`);
  }
  return parts.length === 2 ? { project: parts[0]!, env: parts[1]! } : { env: parts[0]! };
}
