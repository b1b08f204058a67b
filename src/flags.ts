// The one table of commands and flags. It drives minimist's configuration and
// the unknown-flag suggestions (src/args.ts), every help text (src/help.ts)
// and shell completion (src/completion.ts), and is checked against the flag
// table of docs/usage.md by a test. Add a flag here first.

export const COMMANDS = ['setup', 'deploy', 'status', 'rollback', 'pull', 'init', 'hook', 'completion', 'help', 'version'] as const;
export type Command = (typeof COMMANDS)[number];

/** Commands that act on the hosts of an environment. */
export const HOST_COMMANDS = ['setup', 'deploy', 'status', 'rollback'] as const;

export interface CommandSpec {
  name: Command;
  /** What follows the command name in a usage line. */
  args: string;
  summary: string;
  hidden?: true;
}

export const COMMAND_SPECS: readonly CommandSpec[] = [
  { name: 'setup', args: '<env>', summary: 'make deploy_to a checkout of the repository on every host (or refresh it), run post_setup_script' },
  { name: 'deploy', args: '<env>', summary: 'fetch, check out, reset --hard origin/<branch>, run post_deploy_script' },
  { name: 'status', args: '<env>', summary: 'per host: revision, branch, last deploy and its result, lock holder' },
  { name: 'rollback', args: '<env>', summary: 'every host back one successful deploy (or to --rev REV)' },
  { name: 'pull', args: 'install|uninstall|status <env>', summary: 'pull mode: every host deploys itself on a timer (systemd or cron), no wd needed there' },
  { name: 'init', args: '[FILE]', summary: 'write a commented starter deploy.yml' },
  { name: 'hook', args: 'install|uninstall|post-receive', summary: 'git hook integration: push to deploy' },
  { name: 'completion', args: 'bash|zsh|fish', summary: 'print a shell completion script' },
  { name: 'help', args: '[command]', summary: 'help on one command' },
  { name: 'version', args: '', summary: 'the version', hidden: true },
];

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'boolean' | 'string';
  /** The value's name in help texts (string flags). */
  value?: string;
  /** The commands that accept it; any other command refuses it. */
  commands: readonly Command[];
  /** One line of help. */
  help: string;
  /** Not shown in help, docs or completion (wd's own plumbing). */
  hidden?: true;
}

const HOSTS = HOST_COMMANDS;
const ALL = COMMANDS;
// The flags of the deploys `wd hook post-receive` runs; it passes them on.
const RUN: readonly Command[] = [...HOSTS, 'hook'];
// `wd pull` acts on the hosts of an environment like the host commands.
const PULL: readonly Command[] = [...HOSTS, 'pull'];

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'to',
    short: 't',
    type: 'string',
    value: 'ENV|PROJECT:ENV',
    commands: PULL,
    help: 'the environment, whiskey_disk style (rollback: the revision, when <env> is given)',
  },
  {
    name: 'path',
    short: 'p',
    type: 'string',
    value: 'FILE|DIR|URL',
    commands: [...PULL, 'hook', 'completion'],
    help: 'config file, directory to search, or http(s) URL',
  },
  { name: 'only', short: 'o', type: 'string', value: 'HOST', commands: PULL, help: 'act on this one host (as written in domain, or without user@)' },
  { name: 'roles', short: 'r', type: 'string', value: 'a,b', commands: PULL, help: 'act on hosts having any of these roles' },
  { name: 'check', short: 'c', type: 'boolean', commands: ['deploy'], help: 'skip hosts already at the remote branch head ("No changes to deploy.")' },
  { name: 'debug', short: 'd', type: 'boolean', commands: RUN, help: "trace the remote script (set -x) and show git's own output" },
  { name: 'dry-run', short: 'n', type: 'boolean', commands: PULL, help: 'print the exact script each host would run; contact nothing' },
  { name: 'concurrency', short: 'j', type: 'string', value: 'N', commands: [...RUN, 'pull'], help: 'at most N hosts at once (default: all, up to 512)' },
  {
    name: 'timeout',
    type: 'string',
    value: 'S',
    commands: [...RUN, 'pull'],
    help: "seconds the whole script may run on a host (default: the config's timeout, else none; pull install: each pulled deploy's)",
  },
  {
    name: 'connect-timeout',
    type: 'string',
    value: 'S',
    commands: [...RUN, 'pull'],
    help: "seconds to connect to a host (default: the config's connect_timeout, else 20)",
  },
  {
    name: 'batch',
    type: 'string',
    value: 'N|N%',
    commands: ['setup', 'deploy', 'rollback', 'hook'],
    help: 'deploy in waves of N hosts (or N% of them); no further wave after a failure',
  },
  { name: 'canary', type: 'boolean', commands: ['deploy', 'rollback', 'hook'], help: 'one host first, the rest only if it succeeds' },
  {
    name: 'wait-lock',
    type: 'string',
    value: 'S',
    commands: ['setup', 'deploy', 'rollback', 'hook'],
    help: "wait up to S seconds for another run's lock on a host instead of failing",
  },
  { name: 'history', type: 'string', value: 'N', commands: ['status'], help: 'also show the last N history lines of each host' },
  { name: 'rev', type: 'string', value: 'REV', commands: ['rollback'], help: 'roll back to this revision instead of the previous successful deploy' },
  {
    name: 'every',
    type: 'string',
    value: 'INTERVAL',
    commands: ['pull'],
    help: 'pull install: how often each host pulls, e.g. 5m or 1h (default 5m), each run a random part of it late',
  },
  { name: 'json', type: 'boolean', commands: PULL, help: 'machine-readable result on stdout; host output goes to stderr' },
  { name: 'quiet', short: 'q', type: 'boolean', commands: [...RUN, 'pull'], help: 'only failures and the summary' },
  {
    name: 'force',
    type: 'boolean',
    commands: ['setup', 'deploy', 'rollback', 'init', 'hook'],
    help: "go ahead where wd would refuse: overwrite a file (init), wd's own hook (hook), local changes on a host",
  },
  { name: 'repo', type: 'string', value: 'PATH', commands: ['hook'], help: 'the bare repository whose hook to install (default: the current one)' },
  { name: 'list-envs', type: 'boolean', commands: ['completion'], help: 'print the environments of the discovered config, one a line', hidden: true },
  { name: 'help', short: 'h', type: 'boolean', commands: ALL, help: 'this help' },
  { name: 'version', short: 'V', type: 'boolean', commands: ALL, help: 'the version' },
];

export function flagsFor(command: Command): FlagSpec[] {
  return FLAGS.filter((f) => f.commands.includes(command));
}

/** `-p, --path FILE|DIR|URL`, as help texts and the docs write a flag. */
export function flagUsage(f: FlagSpec): string {
  return `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.value ? ` ${f.value}` : ''}`;
}
