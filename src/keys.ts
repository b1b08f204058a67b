// The one table of deploy.yml keys. It drives validation (src/config.ts: which
// keys exist, their types), `wd init`'s starter file (src/init.ts), the JSON
// Schema (src/schema.ts → schema/deploy.schema.json) and is checked against the
// key table of docs/usage.md by a test. Add a key here first.

export type KeyType =
  | 'string' // any scalar, read as Ruby's to_s
  | 'path' // a path on the host: one line, no control characters
  | 'branch' // a git branch name
  | 'boolean'
  | 'seconds' // a number > 0
  | 'integer'
  | 'batch' // N or "N%"
  | 'strategy'
  | 'domain'
  | 'vars' // VARIABLE: value
  | 'ssh_options'
  | 'paths'; // a list of relative paths

export interface KeySpec {
  name: string;
  type: KeyType;
  /** Who defines the key: whiskey_disk's own, or a wd addition. */
  origin: 'whiskey_disk' | 'wd';
  required?: true;
  /** The default as the docs and the schema say it (a value or a phrase). */
  default?: string;
  /** Another name for the same setting (env → rake_env). */
  aliasOf?: string;
  /** Smallest value of an integer key. */
  min?: number;
  /** One paragraph: the docs' table, the schema's description (markdown). */
  help: string;
  /** `wd init`: the comment above the key and its example value (YAML, may span lines). */
  starter: { comment: string; value: string; commented?: true };
}

export const STRATEGIES = ['in_place', 'releases'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** `batch` / `--batch`: a wave of N hosts, or N% of them. */
export type Batch = { size: number } | { percent: number };

export function parseBatch(text: string): Batch | undefined {
  if (/^[1-9][0-9]{0,5}$/.test(text)) return { size: Number(text) };
  const m = /^([1-9][0-9]?|100)%$/.exec(text);
  return m ? { percent: Number(m[1]) } : undefined;
}

export const KEYS: readonly KeySpec[] = [
  {
    name: 'domain',
    type: 'domain',
    origin: 'whiskey_disk',
    default: 'local',
    help: '`user@host[:port]` (`user@[v6addr]:port`), a list of them, or a list of maps `{name, roles, ssh_options}`; absent, empty or `local` = on this machine, no SSH. Duplicates are an error; empty roles are dropped; a string role becomes a list',
    starter: {
      comment:
        "Hosts: user@host[:port], a list of them, or maps with roles and ssh_options.\nLeave domain out (or write 'local') to deploy on this machine without SSH.",
      value:
        '\n  - name: deploy@staging1.example.com\n    roles: [web, db]\n    ssh_options: ["-i", "~/.ssh/deploy_key"]\n  - name: deploy@staging2.example.com:2222\n    roles: web',
    },
  },
  {
    name: 'deploy_to',
    type: 'path',
    origin: 'whiskey_disk',
    required: true,
    help: "the checkout's directory on the host. `~/x` is under the login user's home *on that host*; a relative path is relative to the login directory on a remote host and to the current directory for a local deploy. `~user/` is rejected",
    starter: { comment: "Where the checkout lives on each host (~/ is the login user's home there).", value: '/var/www/app' },
  },
  {
    name: 'repository',
    type: 'string',
    origin: 'whiskey_disk',
    required: true,
    help: 'git URL the host clones from. For a local deploy a relative path is resolved against the current directory',
    starter: { comment: 'The git URL every host clones from.', value: 'git@github.com:example/app.git' },
  },
  {
    name: 'branch',
    type: 'branch',
    origin: 'whiskey_disk',
    default: 'master',
    help: 'the branch to deploy. Must be a valid git branch name and must not start with `-`',
    starter: { comment: 'The branch to deploy (default: master).', value: 'main' },
  },
  {
    name: 'post_setup_script',
    type: 'path',
    origin: 'whiskey_disk',
    help: 'bash script run after `wd setup`, with `deploy_to` as the working directory; a relative path is under `deploy_to`. A configured script that does not exist fails the host',
    starter: {
      comment:
        'Bash scripts run after setup / deploy, in deploy_to (relative paths are inside it).\nIn them: WD_ROLES, wd_role web, wd_changed db/migrate, WD_CHANGED_FILES, WD_REVISION.',
      value: 'script/post-setup.sh',
    },
  },
  {
    name: 'post_deploy_script',
    type: 'path',
    origin: 'whiskey_disk',
    help: 'bash script run after `wd deploy`, like `post_setup_script`',
    starter: { comment: '', value: 'script/post-deploy.sh' },
  },
  {
    name: 'rake_env',
    type: 'vars',
    origin: 'whiskey_disk',
    help: 'environment variables for post scripts and rake hooks (names must be valid shell names). Values are read as whiskey_disk read them (YAML 1.1: `yes` is `true`, `0022` is `18`); quote a value to keep it as written',
    starter: { comment: 'Environment variables for the post scripts (alias: env). Quote values to keep them as written.', value: '\n  RAILS_ENV: staging' },
  },
  {
    name: 'env',
    type: 'vars',
    origin: 'whiskey_disk',
    aliasOf: 'rake_env',
    help: 'another name for `rake_env` (give only one of them)',
    starter: { comment: '', value: '', commented: true },
  },
  {
    name: 'deploy_config_to',
    type: 'path',
    origin: 'whiskey_disk',
    help: 'where the configuration repository is checked out on the host; with `config_repository`, its `<config_target>/` directory is rsynced over `deploy_to`',
    starter: {
      comment: 'Optional configuration repository, checked out beside the app and rsynced over it\nfrom its <config_target>/ directory.',
      value: '/var/www/app-config',
      commented: true,
    },
  },
  {
    name: 'config_repository',
    type: 'string',
    origin: 'whiskey_disk',
    help: 'git URL of the configuration repository (needs `deploy_config_to`)',
    starter: { comment: '', value: 'git@github.com:example/app-config.git', commented: true },
  },
  {
    name: 'config_branch',
    type: 'branch',
    origin: 'whiskey_disk',
    default: 'master',
    help: "the configuration repository's branch",
    starter: { comment: '', value: 'master', commented: true },
  },
  {
    name: 'config_target',
    type: 'path',
    origin: 'whiskey_disk',
    default: 'the environment name',
    help: 'the directory inside the configuration repository that is rsynced over `deploy_to`; no `..`',
    starter: { comment: '', value: 'staging', commented: true },
  },
  {
    name: 'project',
    type: 'string',
    origin: 'whiskey_disk',
    default: 'from `--to=project:env`',
    help: 'informational project name',
    starter: { comment: 'Informational project name (default: from --to=project:env).', value: 'app', commented: true },
  },
  {
    name: 'ssh_options',
    type: 'ssh_options',
    origin: 'wd',
    help: "OpenSSH options for every host of the environment (whiskey_disk had them only per domain entry; a host's own `ssh_options` come after these)",
    starter: { comment: 'OpenSSH options for every host of this environment (see docs/usage.md, SSH).', value: '["-o", "ConnectTimeout=10"]', commented: true },
  },
  {
    name: 'deploy_on_push',
    type: 'boolean',
    origin: 'wd',
    default: 'false',
    help: '`true`: `wd hook post-receive` deploys this environment when its branch is pushed',
    starter: { comment: "Deploy this environment from 'wd hook post-receive' when its branch is pushed.", value: 'true', commented: true },
  },
  {
    name: 'timeout',
    type: 'seconds',
    origin: 'wd',
    default: 'none',
    help: 'seconds the whole script may run on one host; the default for `--timeout`',
    starter: { comment: 'Seconds the whole script may take on one host (default: no limit); --timeout overrides.', value: '600', commented: true },
  },
  {
    name: 'connect_timeout',
    type: 'seconds',
    origin: 'wd',
    default: '20',
    help: 'seconds to connect to a host (TCP and SSH handshake); the default for `--connect-timeout`',
    starter: { comment: 'Seconds to connect to a host; --connect-timeout overrides.', value: '10', commented: true },
  },
  {
    name: 'batch',
    type: 'batch',
    origin: 'wd',
    default: 'all hosts at once',
    help: 'deploy in waves of `N` hosts or `N%` of them, no further wave after one with a failure; the default for `--batch`',
    starter: { comment: 'Deploy in waves of N hosts (or "N%" of them); --batch overrides.', value: '"25%"', commented: true },
  },
  {
    name: 'strategy',
    type: 'strategy',
    origin: 'wd',
    default: 'in_place',
    help: "`in_place` (whiskey_disk's: one checkout updated with `reset --hard`) or `releases` (a new directory per deploy, `shared/`, an atomic `current` symlink)",
    starter: {
      comment: 'in_place (one checkout, as whiskey_disk) or releases (one directory per deploy and a current symlink).',
      value: 'releases',
      commented: true,
    },
  },
  {
    name: 'keep_releases',
    type: 'integer',
    origin: 'wd',
    default: '5',
    min: 2,
    help: '`strategy: releases` only: how many releases to keep (at least 2)',
    starter: {
      comment:
        'For strategy: releases only: how many releases to keep, which paths link to shared/,\nand a script run in the new release before current switches to it.',
      value: '5',
      commented: true,
    },
  },
  {
    name: 'shared_paths',
    type: 'paths',
    origin: 'wd',
    help: '`strategy: releases` only: paths inside a release (relative, no `..`) linked to the same path under `shared/`',
    starter: { comment: '', value: '[log, tmp/pids, public/uploads]', commented: true },
  },
  {
    name: 'before_switch_script',
    type: 'path',
    origin: 'wd',
    help: '`strategy: releases` only: bash script run in the new release before `current` switches to it (build, migrate); a failure leaves `current` as it was',
    starter: { comment: '', value: 'script/build.sh', commented: true },
  },
];

export const KEY_NAMES: readonly string[] = KEYS.map((k) => k.name);

export interface DomainKeySpec {
  name: string;
  help: string;
}

/** Keys of a domain entry written as a map. */
export const DOMAIN_KEYS: readonly DomainKeySpec[] = [
  { name: 'name', help: 'the host: `user@host[:port]`, or `local`' },
  { name: 'roles', help: 'a role or a list of roles (letters, digits, `.`, `_`, `-`); `wd_role NAME` and `--roles` use them' },
  { name: 'ssh_options', help: "OpenSSH options for this host, after the environment's own" },
];
export const DOMAIN_KEY_NAMES: readonly string[] = DOMAIN_KEYS.map((k) => k.name);
