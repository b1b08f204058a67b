// argv → Options. Pure: no filesystem, no environment, so every flag rule is
// testable without spawning anything.
import minimist from 'minimist';
import { UsageError, closest, didYouMean } from './errors.js';

export const COMMANDS = ['setup', 'deploy', 'status', 'rollback', 'init', 'hook', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

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
  /** init: overwrite; hook install: replace wd's own hook. */
  force: boolean;
  /** hook install: the bare repository. */
  repo?: string;
  /** `wd help deploy`, `wd deploy --help`: the command whose help to show. */
  helpFor?: Command;
  /** Positional words after the command (hook subcommands, init target). */
  rest: string[];
}

const STRINGS = ['to', 'path', 'only', 'roles', 'concurrency', 'repo'] as const;
const BOOLEANS = ['check', 'debug', 'dry-run', 'json', 'quiet', 'help', 'version', 'force'] as const;
const ALIASES: Record<string, string> = {
  t: 'to', p: 'path', o: 'only', r: 'roles', c: 'check', d: 'debug',
  n: 'dry-run', j: 'concurrency', q: 'quiet', h: 'help', V: 'version',
};
const KNOWN_FLAGS = [...STRINGS, ...BOOLEANS];

export function parseArgs(argv: readonly string[]): Options {
  const unknown: string[] = [];
  const parsed = minimist([...argv], {
    string: [...STRINGS],
    boolean: [...BOOLEANS],
    alias: ALIASES,
    unknown: (arg) => {
      if (arg.startsWith('-')) unknown.push(arg);
      return true;
    },
  });
  if (unknown.length > 0) {
    const flag = unknown[0]!;
    const c = closest(flag.replace(/^-+/, '').split('=')[0]!, KNOWN_FLAGS);
    throw new UsageError(`unknown option '${flag}'${c ? ` (did you mean '--${c}'?)` : ''}. Run 'wd --help' for the list of options.`);
  }

  const words = parsed._.map(String);
  const first = words[0];
  let command: Command;
  let rest: string[];
  if (parsed['version']) return base('version', []);
  if (first === undefined) {
    if (parsed['help']) return base('help', []);
    if (typeof parsed['to'] === 'string' && parsed['to'] !== '') {
      // whiskey_disk's `wd --to=env` with no command deploys, as `wd deploy` did.
      command = 'deploy';
      rest = [];
    } else {
      throw new UsageError("no command given. Usage: wd <setup|deploy|status|rollback|init|hook> [env] [options]; run 'wd --help' for details.");
    }
  } else if ((COMMANDS as readonly string[]).includes(first)) {
    command = first as Command;
    rest = words.slice(1);
  } else {
    throw new UsageError(`unknown command '${first}'${didYouMean(first, COMMANDS)}. Commands: ${COMMANDS.filter((c) => c !== 'help' && c !== 'version').join(', ')}.`);
  }

  if (command === 'help') {
    const about = rest[0];
    if (about !== undefined && !(COMMANDS as readonly string[]).includes(about)) {
      throw new UsageError(`no help for '${about}'${didYouMean(about, COMMANDS)}.`);
    }
    return { ...base('help', []), ...(about ? { helpFor: about as Command } : {}) };
  }
  if (parsed['help']) return { ...base('help', []), helpFor: command };

  const opts = base(command, rest);
  const takesEnv = command === 'setup' || command === 'deploy' || command === 'status' || command === 'rollback';
  if (takesEnv) {
    const to = typeof parsed['to'] === 'string' ? parsed['to'] : undefined;
    const positional = rest[0];
    if (rest.length > 1) throw new UsageError(`too many arguments: '${rest.slice(1).join(' ')}'. Usage: wd ${command} <env> [options].`);
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

  const str = (k: string): string | undefined => {
    const v: unknown = parsed[k];
    if (Array.isArray(v)) throw new UsageError(`--${k} given more than once.`);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new UsageError(`--${k} needs a value.`);
    return v;
  };
  const path = str('path');
  if (path !== undefined) opts.path = path;
  const only = str('only');
  if (only !== undefined) opts.only = only;
  const roles = str('roles');
  if (roles !== undefined) {
    opts.roles = roles.split(',').map((r) => r.trim()).filter((r) => r !== '');
    if (opts.roles.length === 0) throw new UsageError(`--roles needs at least one role name, e.g. --roles web,db.`);
  }
  const conc = str('concurrency');
  if (conc !== undefined) {
    if (!/^[1-9][0-9]*$/.test(conc)) throw new UsageError(`--concurrency must be a whole number of hosts >= 1, got '${conc}'.`);
    opts.concurrency = Number(conc);
  }
  opts.check = parsed['check'] === true;
  opts.debug = parsed['debug'] === true;
  opts.dryRun = parsed['dry-run'] === true;
  opts.json = parsed['json'] === true;
  opts.quiet = parsed['quiet'] === true;
  opts.force = parsed['force'] === true;
  const repo = str('repo');
  if (repo !== undefined) opts.repo = repo;
  return opts;

  function base(c: Command, r: string[]): Options {
    return { command: c, roles: [], check: false, debug: false, dryRun: false, json: false, quiet: false, force: false, rest: r };
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
