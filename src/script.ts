// host plan → the one bash script that host runs. Pure and deterministic, so
// --dry-run prints exactly what runs and golden files pin it down.
// Every interpolated value goes through quote()/quotePath(); the script then
// only ever refers to the WD_* variables it defines at the top.
import type { EnvConfig } from './config.js';
import type { HostPlan } from './plan.js';
import { quote, quotePath } from './quote.js';
import { VERSION } from './version.js';

export interface ScriptFlags {
  debug: boolean;
  check: boolean;
}

/** Lines starting with this are wd's own progress markers, hidden from output. */
export const MARK = '::wd::';

export function buildScript(env: EnvConfig, plan: HostPlan, flags: ScriptFlags): string {
  const q = flags.debug ? '' : ' -q';
  const L: string[] = [];
  const add = (...lines: string[]): void => {
    L.push(...lines);
  };
  const postVar = (p: string): string => (p.startsWith('/') || p.startsWith('~') ? quotePath(p) : `"$WD_DEPLOY_TO"/${quote(p)}`);
  const envPrefix = Object.entries(env.rakeEnv)
    .map(([k, v]) => `${k}=${quote(v)} `)
    .join('');

  add(
    // No value in a comment: a newline in it would end the comment. They are all in the quoted assignments below.
    `# wd ${VERSION}: ${plan.action} script`,
    'set -euo pipefail',
    // Nothing may read the rest of the job from stdin, and nothing may prompt.
    'exec </dev/null',
    'unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH',
    'export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"',
    `export WD_ENVIRONMENT=${quote(env.environment)}`,
    `export WD_HOST=${quote(plan.host.name)}`,
    `export WD_ROLES=${quote(plan.host.roles.join(':'))}`,
    `export WD_DEPLOY_TO=${quotePath(plan.deployTo)}`,
    `WD_REPOSITORY=${quote(plan.repository)}`,
    `WD_BRANCH=${quote(env.branch)}`,
  );
  const cfg = env.configRepo;
  if (cfg && plan.configTo !== undefined) {
    add(
      `export WD_CONFIG_TO=${quotePath(plan.configTo)}`,
      `WD_CONFIG_REPOSITORY=${quote(plan.configRepository ?? cfg.repository)}`,
      `WD_CONFIG_BRANCH=${quote(cfg.branch)}`,
      `WD_CONFIG_TARGET=${quote(cfg.target)}`,
    );
  }
  add(
    `wd_step() { WD_STEP=$1; printf '${MARK} step %s\\n' "$1"; }`,
    `wd_fail() { printf 'wd: %s\\n' "$*" >&2; exit 1; }`,
    '# For post scripts: wd_role NAME and wd_changed PATH answer by exit status.',
    'wd_role() { case ":$WD_ROLES:" in *":$1:"*) return 0 ;; esac; return 1; }',
    'wd_changed() {',
    '  local want=${1%/} list f',
    '  for list in "$WD_CHANGED_FILES" "$WD_RSYNC_CHANGED_FILES"; do',
    '    [ -f "$list" ] || continue',
    '    while IFS= read -r f; do',
    '      if [ -z "$want" ] || [ "$want" = . ] || [ "$f" = "$want" ] || [[ $f == "$want"/* ]]; then return 0; fi',
    '    done <"$list"',
    '  done',
    '  return 1',
    '}',
    'export -f wd_role wd_changed',
  );
  if (flags.debug) add('set -x');

  const checkout = (dir: string, branch: string): void => {
    add(
      `cd -- "${dir}"`,
      `git fetch${q} origin "+refs/heads/$${branch}:refs/remotes/origin/$${branch}"`,
      // Already on the branch (every deploy after the first): reset --hard alone does it, two git runs fewer.
      'WD_HEAD=; [ ! -f .git/HEAD ] || read -r WD_HEAD <.git/HEAD',
      `if [ "$WD_HEAD" != "ref: refs/heads/$${branch}" ]; then`,
      `  if git show-ref --verify -q "refs/heads/$${branch}"; then git checkout${q} -f "$${branch}" --; else git checkout${q} -f -b "$${branch}" "origin/$${branch}" --; fi`,
      'fi',
      `git reset${q} --hard "origin/$${branch}"`,
    );
  };
  const clone = (dir: string, repo: string, branch: string, what: string): void => {
    add(
      `mkdir -p -- "$(dirname -- "$${dir}")"`,
      `if [ -d "$${dir}/.git" ]; then`,
      `  echo "Repository already cloned to [$${dir}].  Skipping."`,
      `elif [ -e "$${dir}" ] && [ -n "$(ls -A -- "$${dir}")" ]; then`,
      `  wd_fail "$${dir} exists and is not a git checkout; move it away or point ${what} elsewhere"`,
      'else',
      `  git clone${q} --branch="$${branch}" -- "$${repo}" "$${dir}"`,
      'fi',
    );
  };
  const stateDir = (): void => {
    add(
      'cd -- "$WD_DEPLOY_TO"',
      'if [ -d .git ]; then WD_STATE=$PWD/.git/wd; else WD_STATE=$(git rev-parse --absolute-git-dir)/wd; fi',
      '[ -d "$WD_STATE" ] || mkdir -p -- "$WD_STATE"',
      'export WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"',
      ': >"$WD_RSYNC_CHANGED_FILES"',
    );
  };
  const overlay = (): void => {
    if (!cfg) return;
    // --checksum: a config edit of the same size within the same second as the
    // last copy would pass rsync's size+mtime check and be skipped.
    add(
      'wd_step rsync',
      "command -v rsync >/dev/null 2>&1 || wd_fail 'rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository'",
      '[ -d "$WD_CONFIG_TO/$WD_CONFIG_TARGET" ] || wd_fail "config_target directory $WD_CONFIG_TARGET not found in $WD_CONFIG_TO"',
      `rsync -a${flags.debug ? 'v' : ''} --checksum --out-format='%n' -- "$WD_CONFIG_TO/$WD_CONFIG_TARGET/" "$WD_DEPLOY_TO/" >"$WD_STATE/rsync.log"`,
      "grep -v '/$' \"$WD_STATE/rsync.log\" >\"$WD_RSYNC_CHANGED_FILES\" || true",
    );
  };
  const hooks = (key: 'post_setup_script' | 'post_deploy_script', script: string | undefined, task: string): void => {
    if (script !== undefined) {
      add(
        `wd_step ${key}`,
        'cd -- "$WD_DEPLOY_TO"',
        `WD_POST=${postVar(script)}`,
        `[ -f "$WD_POST" ] || wd_fail "${key} not found: $WD_POST"`,
        `${envPrefix}bash${flags.debug ? ' -x' : ''} "$WD_POST"`,
      );
    }
    // whiskey_disk runs the Rakefile's deploy hook too, so Ruby projects keep working.
    add(
      'cd -- "$WD_DEPLOY_TO"',
      'if [ -f Rakefile ]; then',
      '  if ! command -v rake >/dev/null 2>&1; then',
      `    echo "wd: Rakefile present but rake is not installed; skipped rake ${task}" >&2`,
      `  elif ${envPrefix}rake -P 2>/dev/null | grep -x 'rake ${task}' >/dev/null; then`,
      `    wd_step rake`,
      `    echo "Running rake ${task}..."`,
      `    ${envPrefix}rake${flags.debug ? ' --trace' : ''} ${task} to="$WD_ENVIRONMENT"`,
      '  fi',
      'fi',
    );
  };

  if (plan.action === 'setup') {
    add('wd_step clone');
    clone('WD_DEPLOY_TO', 'WD_REPOSITORY', 'WD_BRANCH', 'deploy_to');
    stateDir();
    add('git ls-files >"$WD_CHANGED_FILES"');
    if (cfg) {
      add('wd_step config_clone');
      clone('WD_CONFIG_TO', 'WD_CONFIG_REPOSITORY', 'WD_CONFIG_BRANCH', 'deploy_config_to');
      add('cd -- "$WD_DEPLOY_TO"');
    }
    overlay();
    add('export WD_REVISION=$(git rev-parse HEAD)', `printf '${MARK} revision %s\\n' "$WD_REVISION"`);
    hooks('post_setup_script', env.postSetupScript, 'deploy:post_setup');
  } else {
    add(
      'wd_step cd',
      `[ -d "$WD_DEPLOY_TO/.git" ] || wd_fail "no git checkout at $WD_DEPLOY_TO; run 'wd setup $WD_ENVIRONMENT' first"`,
      'cd -- "$WD_DEPLOY_TO"',
      'export WD_PREVIOUS_REVISION=$(git rev-parse --verify -q HEAD || true)',
      `printf '${MARK} previous %s\\n' "$WD_PREVIOUS_REVISION"`,
      '[ "$(git config --get remote.origin.url)" = "$WD_REPOSITORY" ] || git remote set-url origin "$WD_REPOSITORY"',
    );
    if (cfg) {
      add(
        `[ -d "$WD_CONFIG_TO/.git" ] || wd_fail "no git checkout at $WD_CONFIG_TO (deploy_config_to); run 'wd setup $WD_ENVIRONMENT' first"`,
        '(cd -- "$WD_CONFIG_TO" && { [ "$(git config --get remote.origin.url)" = "$WD_CONFIG_REPOSITORY" ] || git remote set-url origin "$WD_CONFIG_REPOSITORY"; })',
      );
    }
    if (flags.check) {
      add(
        'wd_step check',
        'WD_REMOTE=$(git ls-remote origin "refs/heads/$WD_BRANCH")',
        'WD_REMOTE=${WD_REMOTE%%[[:space:]]*}',
        '[ -n "$WD_REMOTE" ] || wd_fail "branch $WD_BRANCH not found in $WD_REPOSITORY"',
        'WD_STALE=yes',
        'if [ "$WD_REMOTE" = "$WD_PREVIOUS_REVISION" ]; then WD_STALE=; fi',
      );
      if (cfg) {
        add(
          'WD_CONFIG_REMOTE=$(cd -- "$WD_CONFIG_TO" && git ls-remote origin "refs/heads/$WD_CONFIG_BRANCH")',
          'WD_CONFIG_REMOTE=${WD_CONFIG_REMOTE%%[[:space:]]*}',
          'if [ "$WD_CONFIG_REMOTE" != "$(cd -- "$WD_CONFIG_TO" && git rev-parse --verify -q HEAD)" ]; then WD_STALE=yes; fi',
        );
      }
      add(
        'if [ -z "$WD_STALE" ]; then',
        '  echo "No changes to deploy."',
        `  printf '${MARK} unchanged\\n'`,
        '  exit 0',
        'fi',
      );
    }
    add('wd_step fetch');
    checkout('$WD_DEPLOY_TO', 'WD_BRANCH');
    add(
      'export WD_REVISION=$(git rev-parse HEAD)',
      `printf '${MARK} revision %s\\n' "$WD_REVISION"`,
      'wd_step changes',
    );
    stateDir();
    add(
      // No previous revision (or one git no longer has): every file counts as changed.
      'if [ -z "$WD_PREVIOUS_REVISION" ] || ! git diff --name-only --no-renames "$WD_PREVIOUS_REVISION" "$WD_REVISION" -- >"$WD_CHANGED_FILES" 2>/dev/null; then',
      '  git ls-files >"$WD_CHANGED_FILES"',
      'fi',
      "TZ=UTC0 printf -v WD_NOW '%(%Y-%m-%dT%H:%M:%SZ)T' -1",
      `printf '%s %s %s %s\\n' "$WD_NOW" "\${WD_PREVIOUS_REVISION:--}" "$WD_REVISION" "$WD_BRANCH" >>"$WD_STATE/history"`,
    );
    if (cfg) {
      add('wd_step config');
      checkout('$WD_CONFIG_TO', 'WD_CONFIG_BRANCH');
      add('cd -- "$WD_DEPLOY_TO"');
    }
    overlay();
    hooks('post_deploy_script', env.postDeployScript, 'deploy:post_deploy');
  }
  add(`printf '${MARK} done\\n'`);
  return L.join('\n') + '\n';
}
