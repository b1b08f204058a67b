// host plan → the one bash script that host runs. Pure and deterministic, so
// --dry-run prints exactly what runs and golden files pin it down.
//
// The script is sent on bash's stdin (never in argv, where `ps` would show
// rake_env values), wrapped in one { } group so bash has read all of it
// before the first command runs; what follows it on stdin is the control
// channel (a line "abort"). Values enter only as quoted assignments at the
// top (vars()); everything else is fixed text that refers to WD_* variables.
//
// Shape of a setup/deploy/rollback run on the host:
//   wd_prepare   make sure deploy_to is a git directory wd may use; state dir
//   wd_job       detached (own process group, output to the log through tee,
//                so a client that dies cannot stop it half-way): lock, the
//                body under a watchdog, history line, log kept
//   wd_body      the steps of the command (its own process group, so a
//                timeout or abort kills everything it started)
import type { HostPlan } from './plan.js';
import { TOKEN_PLACEHOLDER, withToken } from './marks.js';
import { quote, quotePath } from './quote.js';
import { releaseBody, releaseVars } from './releases.js';
import { VERSION } from './version.js';

export interface BuiltScript {
  text: string;
  /** The marker prefix this script prints (see marks.ts). */
  mark: string;
}

export function buildScript(plan: HostPlan): BuiltScript {
  // strategy: releases has its own steps (src/releases.ts) around the same job.
  const releases = plan.strategy === 'releases';
  const parts = [
    [`# wd ${VERSION}: ${plan.action} script, run as 'bash -s' with this text on stdin. Values are only in the quoted assignments below.`, '{'],
    [PREAMBLE],
    vars(plan),
    releases ? releaseVars(plan) : [],
    [HELPERS],
    plan.action === 'status' ? [] : [POST_HELPERS],
    plan.run.debug ? ['set -x'] : [],
    releases ? releaseBody(plan) : plan.action === 'status' ? statusBody() : [...body(plan), PREPARE, JOB, 'wd_main'],
    ['exit', '}'],
  ];
  const { script, mark } = withToken(parts.flat().join('\n') + '\n');
  return { text: script, mark };
}

const PREAMBLE = `set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="\${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"`;

/** A path as the script should use it: relative post scripts live under deploy_to (releases: in current). */
const scriptPath = (p: string, base = ''): string => (p.startsWith('/') || p.startsWith('~') ? quotePath(p) : `"$WD_DEPLOY_TO"/${base}${quote(p)}`);

function vars(plan: HostPlan): string[] {
  const r = plan.run;
  const L = [
    `WD_MARK=::wd:${TOKEN_PLACEHOLDER}::`,
    `export WD_COMMAND=${quote(plan.action === 'rollback' && r.rollbackTo !== undefined ? 'rollback-to' : plan.action)}`,
    `export WD_ENVIRONMENT=${quote(plan.environment)}`,
    `export WD_HOST=${quote(plan.host.name)}`,
    `export WD_ROLES=${quote(plan.host.roles.join(':'))}`,
    `export WD_DEPLOY_TO=${quotePath(plan.deployTo)}`,
    `export WD_REPOSITORY=${quote(plan.repository)}`,
    `export WD_BRANCH=${quote(plan.branch)}`,
  ];
  if (plan.action === 'status') return [...L, `WD_HISTORY_LINES=${r.history}`];
  L.push(
    `WD_VERSION=${quote(VERSION)}`,
    `WD_BY=${quote(r.by)}`,
    `WD_DEBUG=${r.debug ? 1 : "''"}`,
    `WD_FORCE=${r.force ? 1 : "''"}`,
    `WD_TIMEOUT=${r.timeout}`,
    `WD_WAIT_LOCK=${r.waitLock}`,
    `WD_POST=${plan.postScript !== undefined ? scriptPath(plan.postScript, plan.strategy === 'releases' ? 'current/' : '') : "''"}`,
  );
  if (plan.action === 'rollback') L.push(`WD_ROLLBACK_TO=${quote(r.rollbackTo ?? '')}`);
  if (plan.config) {
    L.push(
      `export WD_CONFIG_TO=${quotePath(plan.config.to)}`,
      `WD_CONFIG_REPOSITORY=${quote(plan.config.repository)}`,
      `WD_CONFIG_BRANCH=${quote(plan.config.branch)}`,
      `WD_CONFIG_TARGET=${quote(plan.config.target)}`,
    );
  }
  // rake_env reaches post scripts and rake only, through this function, and
  // never through xtrace: --debug must not print secrets.
  const assigns = Object.entries(plan.env)
    .map(([k, v]) => `${k}=${quote(v)} `)
    .join('');
  L.push(
    'wd_with_env() {',
    '  { set +x; } 2>/dev/null',
    '  local rc=0',
    `  ${assigns}"$@" || rc=$?`,
    '  if [ -n "$WD_DEBUG" ]; then set -x; fi',
    '  return "$rc"',
    '}',
  );
  return L;
}

const HELPERS = `WD_RUN=
wd_mark() { printf '%s %s\\n' "$WD_MARK" "$*"; }
wd_step() {
  wd_mark step "$1"
  if [ -n "$WD_RUN" ]; then printf '%s' "$1" >"$WD_RUN/step"; fi
}
wd_fail() {
  printf 'wd: %s\\n' "$*" >&2
  wd_mark reason "$*"
  exit 1
}`;

const POST_HELPERS = `# For post scripts: wd_role NAME and wd_changed PATH answer by exit status.
wd_role() { case ":$WD_ROLES:" in *":$1:"*) return 0 ;; esac; return 1; }
wd_changed() {
  local want=\${1%/} list f
  for list in "$WD_CHANGED_FILES" "$WD_RSYNC_CHANGED_FILES"; do
    [ -f "$list" ] || continue
    while IFS= read -r f; do
      if [ -z "$want" ] || [ "$want" = . ] || [ "$f" = "$want" ] || [[ $f == "$want"/* ]]; then return 0; fi
    done <"$list"
  done
  return 1
}
export -f wd_role wd_changed
# The revision a checkout counts as deployed: the last run that completed, not
# HEAD (a failed run has already moved HEAD).
wd_deployed() {
  local rev=
  if [ -f "$WD_STATE/deployed" ]; then read -r rev <"$WD_STATE/deployed" || true; fi
  if [ -n "$rev" ] && git cat-file -e "$rev^{commit}" 2>/dev/null; then printf '%s' "$rev"; else git rev-parse --verify -q HEAD || true; fi
}`;

// ---------------------------------------------------------------- setup/deploy/rollback

function body(plan: HostPlan): string[] {
  const L = [SYNC, plan.config ? OVERLAY : '', HOOKS, 'wd_body() {'];
  if (plan.action === 'rollback') L.push(...ROLLBACK_STEPS);
  else L.push(...(plan.action === 'setup' ? SETUP_STEPS : DEPLOY_STEPS)(plan));
  L.push('  wd_step changes', '  wd_changes');
  if (plan.config) {
    L.push('  wd_overlay');
  }
  L.push(`  wd_step ${plan.postKey}`, `  wd_post ${plan.postKey}`, `  wd_rake ${plan.rakeTask}`, "  wd_mark 'done'", '  : >"$WD_RUN/done"', '}');
  return L.filter((l) => l !== '');
}

function SETUP_STEPS(plan: HostPlan): string[] {
  const L = [
    '  wd_step fetch',
    '  cd -- "$WD_DEPLOY_TO"',
    '  if [ -z "$WD_FRESH" ]; then echo "Repository already cloned to [$WD_DEPLOY_TO].  Skipping."; fi',
    '  WD_PREVIOUS_REVISION=$(wd_deployed)',
    '  wd_mark previous "$WD_PREVIOUS_REVISION"',
    '  wd_sync "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" deploy_to',
  ];
  if (plan.config) {
    L.push(
      '  wd_step config',
      '  wd_init_checkout "$WD_CONFIG_TO" deploy_config_to',
      '  wd_sync "$WD_CONFIG_TO" "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_BRANCH" deploy_config_to',
    );
  }
  return L;
}

function DEPLOY_STEPS(plan: HostPlan): string[] {
  const L = ['  cd -- "$WD_DEPLOY_TO"', '  WD_PREVIOUS_REVISION=$(wd_deployed)', '  wd_mark previous "$WD_PREVIOUS_REVISION"'];
  if (plan.config) {
    L.push(`  [ -e "$WD_CONFIG_TO/.git" ] || wd_fail "no git checkout at $WD_CONFIG_TO (deploy_config_to); run 'wd setup $WD_ENVIRONMENT' first"`);
  }
  if (plan.run.check) {
    L.push(
      '  wd_step check',
      '  if ! wd_stale "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" "$WD_PREVIOUS_REVISION"' +
        (plan.config
          ? ' && ! wd_stale "$WD_CONFIG_TO" "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_BRANCH" "$(git -C "$WD_CONFIG_TO" rev-parse --verify -q HEAD || true)"'
          : '') +
        '; then',
      '    echo "No changes to deploy."',
      '    wd_mark revision "$WD_PREVIOUS_REVISION"',
      '    wd_mark unchanged',
      '    : >"$WD_RUN/unchanged"',
      '    exit 0',
      '  fi',
    );
  }
  L.push('  wd_step fetch', '  wd_sync "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" deploy_to');
  if (plan.config) L.push('  wd_step config', '  wd_sync "$WD_CONFIG_TO" "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_BRANCH" deploy_config_to');
  return L;
}

const ROLLBACK_STEPS = [
  '  wd_step rollback',
  '  cd -- "$WD_DEPLOY_TO"',
  '  WD_PREVIOUS_REVISION=$(wd_deployed)',
  '  wd_mark previous "$WD_PREVIOUS_REVISION"',
  '  local target',
  '  if [ -n "$WD_ROLLBACK_TO" ]; then',
  `    target=$(git rev-parse --verify -q "$WD_ROLLBACK_TO^{commit}") || wd_fail "revision $WD_ROLLBACK_TO is not known in $WD_DEPLOY_TO; name a commit that was deployed here (see: wd status $WD_ENVIRONMENT --history 20)"`,
  '  else',
  '    target=$(wd_rollback_target)',
  `    [ -n "$target" ] || wd_fail "nothing to roll back to: the history in $WD_STATE/history has no earlier successful deploy"`,
  `    git cat-file -e "$target^{commit}" 2>/dev/null || wd_fail "revision $target (from the history) is no longer in $WD_DEPLOY_TO"`,
  '  fi',
  '  wd_guard_edits',
  '  git reset $WD_Q --hard "$target" --',
  '  export WD_ROLLBACK=1',
];

/** The checkout steps, shared by the app and the config repository. */
export const SYNC = `WD_Q=-q
if [ -n "$WD_DEBUG" ]; then WD_Q=; fi
# Make DIR a git directory to fetch into: empty or absent is fine, anything else is refused.
wd_init_checkout() {
  local dir=$1 what=$2
  mkdir -p -- "$dir"
  if [ -e "$dir/.git" ]; then return 0; fi
  if [ -n "$(ls -A -- "$dir")" ]; then wd_fail "$dir exists and is not a git checkout; move it away or point $what elsewhere"; fi
  git init -q -- "$dir"
  git -C "$dir" symbolic-ref HEAD "refs/heads/$WD_BRANCH"
  # shellcheck disable=SC2034 # read by setup's steps
  WD_FRESH=1
}
# Uncommitted edits to tracked files are discarded, as whiskey_disk did, but said.
wd_guard_edits() {
  local edits
  edits=$(git -c core.quotePath=false diff --name-only HEAD -- 2>/dev/null | head -n 20 || true)
  if [ -n "$edits" ]; then printf 'wd: discarding local edits to tracked files in %s:\\n%s\\n' "$PWD" "$edits" >&2; fi
}
# Keep what --force overwrites: a ref for commits, a directory for files.
wd_save_ref() {
  local ref
  ref="refs/wd/saved/$(date -u +%Y%m%dT%H%M%SZ)-$1"
  git update-ref "$ref" HEAD
  printf 'wd: --force: the previous HEAD is kept as %s (git log %s)\\n' "$ref" "$ref" >&2
}
# wd_sync DIR URL BRANCH WHAT: DIR's checkout to URL's BRANCH, never destroying
# what wd did not make (an unrelated repository, commits made here, untracked
# files the new revision would overwrite) unless --force.
wd_sync() {
  local dir=$1 url=$2 branch=$3 what=$4 head origin local_commits='' f want head_ref
  local -a in_way=()
  cd -- "$dir"
  if [ -e .git/index.lock ]; then wd_fail "$dir/.git/index.lock exists: another git command is running there, or one crashed. If none is running, remove that file and run again."; fi
  head=$(git rev-parse --verify -q HEAD || true)
  origin=$(git config --get remote.origin.url || true)
  if [ -n "$head" ]; then
    # Before the fetch, origin's refs are what was last fetched, so this is what was committed here.
    local_commits=$(git log --oneline -n 10 "$head" --not --remotes=origin -- 2>/dev/null || true)
  fi
  if ! git fetch $WD_Q -- "$url" "+refs/heads/$branch:refs/remotes/origin/$branch" 2>"$WD_RUN/fetch.err"; then
    cat "$WD_RUN/fetch.err" >&2
    if grep -q "couldn't find remote ref" "$WD_RUN/fetch.err"; then wd_fail "branch $branch not found in $url ($what); push it, or set the branch in deploy.yml"; fi
    wd_fail "cannot fetch $branch from $url ($what): the host cannot reach the repository or may not read it (git's message is above); check the URL, the host's network and its deploy key"
  fi
  if [ -s "$WD_RUN/fetch.err" ]; then cat "$WD_RUN/fetch.err" >&2; fi
  if [ -n "$head" ] && [ "$origin" != "$url" ] && ! git merge-base "$head" "origin/$branch" >/dev/null 2>&1; then
    if [ -z "$WD_FORCE" ]; then wd_fail "$dir holds a checkout of \${origin:-a repository without origin} that shares no history with $url; wd will not overwrite it. Move it away, fix $what or the repository in deploy.yml, or run again with --force to replace it (its HEAD is kept under refs/wd/saved/)"; fi
    wd_save_ref unrelated
    local_commits=
  fi
  if [ -n "$local_commits" ]; then
    if [ -z "$WD_FORCE" ]; then wd_fail "$dir has commits that are not on $url: $(printf '%s' "$local_commits" | tr '\\n' ';' | sed 's/;$//; s/;/; /g'). Push them, or run again with --force to deploy over them (they are kept under refs/wd/saved/)"; fi
    wd_save_ref local-commits
  fi
  if [ -n "$head" ]; then
    # Only files the new revision adds can be untracked files in its way.
    while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then
        want=$(git rev-parse "origin/$branch:$f")
        if [ "$(git hash-object -- "$f" 2>/dev/null || true)" != "$want" ]; then in_way+=("$f"); fi
      fi
    done < <(git diff -z --name-only --no-renames --diff-filter=A "$head" "origin/$branch" --)
    if [ \${#in_way[@]} -gt 0 ]; then
      if [ -z "$WD_FORCE" ]; then wd_fail "untracked files in $dir would be overwritten by $branch: \${in_way[*]:0:10}. Move them away, or run again with --force (they are kept under $WD_STATE/saved/)"; fi
      local keep
      keep="$WD_STATE/saved/$(date -u +%Y%m%dT%H%M%SZ)"
      for f in "\${in_way[@]}"; do mkdir -p -- "$keep/$(dirname -- "$f")"; mv -- "$f" "$keep/$f"; done
      printf 'wd: --force: %s untracked file(s) in the way moved to %s\\n' "\${#in_way[@]}" "$keep" >&2
    fi
    wd_guard_edits
  fi
  if [ -z "$origin" ]; then git remote add origin "$url"; elif [ "$origin" != "$url" ]; then git remote set-url origin "$url"; fi
  head_ref=
  if [ -f .git/HEAD ]; then read -r head_ref <.git/HEAD || true; fi
  if [ "$head_ref" != "ref: refs/heads/$branch" ]; then git checkout $WD_Q -f -B "$branch" "origin/$branch" --; fi
  git reset $WD_Q --hard "origin/$branch" --
  cd -- "$WD_DEPLOY_TO"
}
# wd_stale DIR URL BRANCH DEPLOYED: true when origin's branch head differs from what is deployed.
wd_stale() {
  local remote
  remote=$(cd -- "$1" && git ls-remote -- "$2" "refs/heads/$3") || wd_fail "cannot ask $2 for branch $3 (git's message is above)"
  remote=\${remote%%[[:space:]]*}
  [ -n "$remote" ] || wd_fail "branch $3 not found in $2"
  [ "$remote" != "$4" ]
}
# The changed-file lists wd_changed reads: since the last completed deploy, every file on the first.
wd_changes() {
  cd -- "$WD_DEPLOY_TO"
  export WD_REVISION
  WD_REVISION=$(git rev-parse HEAD)
  wd_mark revision "$WD_REVISION"
  printf '%s' "$WD_REVISION" >"$WD_RUN/revision"
  printf '%s' "$WD_PREVIOUS_REVISION" >"$WD_RUN/previous"
  export WD_PREVIOUS_REVISION WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"
  : >"$WD_RSYNC_CHANGED_FILES"
  # -z: names as they are (git quotes names with quotes, backslashes or tabs otherwise), one a line.
  if [ -z "$WD_PREVIOUS_REVISION" ] || ! git diff -z --name-only --no-renames "$WD_PREVIOUS_REVISION" "$WD_REVISION" -- >"$WD_RUN/changed" 2>/dev/null; then
    git ls-files -z >"$WD_RUN/changed"
  fi
  tr '\\0' '\\n' <"$WD_RUN/changed" >"$WD_CHANGED_FILES"
}`;

const OVERLAY = `# The config repository's <target>/ over the checkout. --checksum: a same-size
# edit made within the same second as the last copy would pass size+mtime.
wd_overlay() {
  wd_step rsync
  command -v rsync >/dev/null 2>&1 || wd_fail 'rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository'
  [ -d "$WD_CONFIG_TO/$WD_CONFIG_TARGET" ] || wd_fail "config_target directory $WD_CONFIG_TARGET not found in $WD_CONFIG_TO"
  local v=
  if [ -n "$WD_DEBUG" ]; then v=v; fi
  echo "Rsyncing configuration..."
  rsync -a8$v --checksum --out-format='%n' -- "$WD_CONFIG_TO/$WD_CONFIG_TARGET/" "$WD_DEPLOY_TO/" >"$WD_RUN/rsync.log"
  grep -v '/$' "$WD_RUN/rsync.log" >"$WD_RSYNC_CHANGED_FILES" || true
}`;

export const HOOKS = `# The post script, then the Rakefile's task, as whiskey_disk did. Their stdin
# is empty and the lock's descriptor is not theirs to keep.
wd_post() {
  cd -- "$WD_DEPLOY_TO"
  if [ -z "$WD_POST" ]; then return 0; fi
  [ -f "$WD_POST" ] || wd_fail "$1 not found: $WD_POST"
  local x=
  if [ -n "$WD_DEBUG" ]; then x=-x; fi
  echo "Running post script..."
  wd_with_env bash $x "$WD_POST" </dev/null 9>&-
}
wd_rake() {
  cd -- "$WD_DEPLOY_TO"
  [ -f Rakefile ] || return 0
  if ! command -v rake >/dev/null 2>&1; then
    echo "wd: Rakefile present but rake is not installed; skipped rake $1" >&2
    return 0
  fi
  local tasks
  # Only "no such task" skips; a Rakefile that does not load fails the host, as in whiskey_disk.
  if ! tasks=$(wd_with_env rake -P </dev/null 2>"$WD_RUN/rake.err"); then
    cat "$WD_RUN/rake.err" >&2
    wd_step rake
    wd_fail "rake could not load the Rakefile in $WD_DEPLOY_TO (rake's message is above)"
  fi
  if grep -qx "rake $1" <<<"$tasks"; then
    wd_step rake
    echo "Running rake $1..."
    local t=
    if [ -n "$WD_DEBUG" ]; then t=--trace; fi
    wd_with_env rake $t "$1" to="$WD_ENVIRONMENT" </dev/null 9>&-
  fi
}`;

/** In place: deploy_to is the checkout, the state directory is in its .git, and rollback's target comes from the history. */
const PREPARE = `wd_prepare() {
  wd_step prepare
  # shellcheck disable=SC2034 # read by setup's steps
  WD_FRESH=''
  if [ "$WD_COMMAND" = setup ]; then
    wd_init_checkout "$WD_DEPLOY_TO" deploy_to
  elif [ ! -e "$WD_DEPLOY_TO/.git" ]; then
    wd_fail "no git checkout at $WD_DEPLOY_TO; run 'wd setup $WD_ENVIRONMENT' first"
  fi
  WD_STATE=$(git -C "$WD_DEPLOY_TO" rev-parse --absolute-git-dir)/wd
  (umask 077 && mkdir -p -- "$WD_STATE")
  WD_RUN=$(umask 077 && mktemp -d "$WD_STATE/run.XXXXXX")
}
# The stack of deployed revisions, from the history: a deploy pushes, a
# rollback pops; the target is the one below the top.
wd_rollback_target() {
  [ -f "$WD_STATE/history" ] || return 0
  awk -F '\\t' 'NF >= 9 && $8 == "ok" { if ($4 == "rollback") { if (n > 0) n-- } else if (n == 0 || s[n] != $7) s[++n] = $7 } END { if (n >= 2) print s[n-1] }' "$WD_STATE/history"
}`;

/** Fixed: lock, detach, watchdog, history, log. */
export const JOB = `wd_busy() {
  local holder=
  if [ -f "$WD_STATE/lock" ]; then holder=$(tr '\\t' ' ' <"$WD_STATE/lock"); fi
  printf 'wd: %s is locked by another run: %s\\n' "$WD_DEPLOY_TO" "\${holder:-unknown holder}" >&2
  wd_mark result busy "\${holder:-unknown holder}"
  exit 75
}
# After a timeout or an abort the body's leader is gone, but what it started
# may not be (a post script deaf to TERM): up to 5 s, then KILL the group.
wd_reap() {
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}
# Aborted before the body started (while queued for the lock): run nothing.
wd_called_off() {
  [ -f "$WD_RUN/why" ] || return 0
  echo "wd: called off before it started; nothing was changed" >&2
  wd_mark result "$(<"$WD_RUN/why")"
  exit 130
}
# Detached from the connection: its own process group, stdin empty, output
# through tee into the log. Holds the lock until the history is written.
wd_job() {
  local rc=0 started=$SECONDS t why result step prev rev log watchdog=
  TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  wd_step lock
  exec 9>>"$WD_STATE/lock"
  if command -v flock >/dev/null 2>&1; then
    if [ "$WD_WAIT_LOCK" = 0 ]; then flock -n 9 || wd_busy
    else
      # Queued in the background, so an abort can end the wait (the lock belongs
      # to the open file, so it is this job's once flock has it).
      flock -w "$WD_WAIT_LOCK" 9 &
      printf '%s' "$!" >"$WD_RUN/lock.pid"
      wait "$!" || { wd_called_off; wd_busy; }
      rm -f -- "$WD_RUN/lock.pid"
    fi
  else
    echo "wd: flock is not installed on this host, so this run is not locked against others (install util-linux)" >&2
  fi
  wd_called_off
  printf '%s\\t%s\\t%s\\tpid %s\\n' "$WD_BY" "$WD_COMMAND" "$t" "$BASHPID" >"$WD_STATE/lock"
  set -m
  wd_body 9>&- &
  WD_BODY=$!
  if [ "$WD_TIMEOUT" != 0 ]; then
    (sleep "$WD_TIMEOUT"; printf timeout >"$WD_RUN/why"; kill -TERM -- "-$WD_BODY" 2>/dev/null; sleep 10; kill -KILL -- "-$WD_BODY" 2>/dev/null) 9>&- &
    watchdog=$!
  fi
  set +m
  printf '%s' "$WD_BODY" >"$WD_RUN/body.pid"
  wait "$WD_BODY" || rc=$?
  if [ -f "$WD_RUN/why" ]; then wd_reap "$WD_BODY"; fi
  if [ -n "$watchdog" ]; then kill -- "-$watchdog" 2>/dev/null || true; fi
  why='' step='' prev='' rev=''
  if [ -f "$WD_RUN/why" ]; then why=$(<"$WD_RUN/why"); fi
  if [ -f "$WD_RUN/step" ]; then step=$(<"$WD_RUN/step"); fi
  if [ -f "$WD_RUN/previous" ]; then prev=$(<"$WD_RUN/previous"); fi
  if [ -f "$WD_RUN/revision" ]; then rev=$(<"$WD_RUN/revision"); fi
  if [ -n "$why" ]; then result=$why
  elif [ "$rc" = 0 ] && [ -f "$WD_RUN/unchanged" ]; then result=unchanged
  elif [ "$rc" = 0 ] && [ -f "$WD_RUN/done" ]; then result=ok
  else result="failed $step"; [ "$rc" != 0 ] || rc=1
  fi
  if [ "$result" != unchanged ]; then
    if [ "$result" = ok ]; then printf '%s\\n' "$rev" >"$WD_STATE/deployed"; fi
    printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%ss\\n' "$t" "$WD_BY" "$WD_VERSION" "$WD_COMMAND" "$WD_BRANCH" "\${prev:--}" "\${rev:--}" "$result" "$((SECONDS - started))" >>"$WD_STATE/history"
    if [ "$(wc -l <"$WD_STATE/history")" -gt 1000 ]; then tail -n 1000 "$WD_STATE/history" >"$WD_STATE/history.tmp" && mv -f -- "$WD_STATE/history.tmp" "$WD_STATE/history"; fi
    mkdir -p -- "$WD_STATE/logs"
    # The run's own suffix: two runs within one second keep two logs.
    log="$WD_STATE/logs/\${t//:/}-$WD_COMMAND-\${WD_RUN##*.}.log"
    ln -f -- "$WD_RUN/log" "$log" 2>/dev/null || cp -- "$WD_RUN/log" "$log"
    # Bounded: the newest 20 logs.
    ls -1t -- "$WD_STATE/logs" | tail -n +21 | while IFS= read -r f; do rm -f -- "$WD_STATE/logs/$f"; done
  fi
  : >"$WD_STATE/lock"
  wd_mark result "$result"
  return "$rc"
}
wd_main() {
  local rc=0 job tee_out tee_err ctl killer
  exec 8<&0
  wd_prepare
  find "$WD_STATE" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf -- {} + 2>/dev/null || true
  : >"$WD_RUN/log"
  mkfifo -- "$WD_RUN/out" "$WD_RUN/err"
  # The tees outlive a lost connection: SIGPIPE ignored, they keep writing the log.
  (trap '' PIPE; exec tee -a -- "$WD_RUN/log" <"$WD_RUN/out") &
  tee_out=$!
  (trap '' PIPE; exec tee -a -- "$WD_RUN/log" <"$WD_RUN/err" >&2) &
  tee_err=$!
  set -m
  wd_job </dev/null >"$WD_RUN/out" 2>"$WD_RUN/err" &
  job=$!
  set +m
  # The control channel: the rest of stdin. EOF (the client went away) changes nothing.
  (
    while IFS= read -r line; do
      [ "$line" = abort ] || continue
      printf interrupted >"$WD_RUN/why"
      if [ -f "$WD_RUN/body.pid" ]; then
        kill -TERM -- "-$(<"$WD_RUN/body.pid")" 2>/dev/null || true
        sleep 5
        kill -KILL -- "-$(<"$WD_RUN/body.pid")" 2>/dev/null || true
      elif [ -f "$WD_RUN/lock.pid" ]; then
        kill -- "$(<"$WD_RUN/lock.pid")" 2>/dev/null || true
      fi
    done
  ) <&8 >/dev/null 2>&1 &
  ctl=$!
  wait "$job" || rc=$?
  # A daemon started by a post script may keep the output open: do not wait for it forever.
  (sleep 2; kill "$tee_out" "$tee_err" 2>/dev/null) >/dev/null 2>&1 &
  killer=$!
  wait "$tee_out" "$tee_err" 2>/dev/null || true
  kill "$killer" "$ctl" 2>/dev/null || true
  rm -rf -- "$WD_RUN"
  return "$rc"
}`;

// ---------------------------------------------------------------- status

/** What the state directory says, for both strategies: deployed revision, history, lock. */
export const STATUS_STATE = `wd_status_state() {
  local state=$1 lock line
  if [ -f "$state/deployed" ]; then wd_mark status deployed "$(<"$state/deployed")"; fi
  if [ -f "$state/history" ]; then
    wd_mark status last "$(tail -n 1 "$state/history")"
    wd_mark status last_ok "$(awk -F '\\t' 'NF >= 9 && $8 == "ok"' "$state/history" | tail -n 1)"
    if [ "$WD_HISTORY_LINES" -gt 0 ]; then
      while IFS= read -r line; do wd_mark history "$line"; done < <(tail -n "$WD_HISTORY_LINES" "$state/history")
    fi
  fi
  lock=
  if [ -f "$state/lock" ]; then
    # Held without a holder line: taken by something other than a wd run, or just now.
    if command -v flock >/dev/null 2>&1 && ! flock -n "$state/lock" true; then
      lock=$(tr '\\t' ' ' <"$state/lock")
      lock=\${lock:-held by an unknown process}
    fi
  fi
  wd_mark status lock "$lock"
  # Pull mode (src/pull/script.ts): how it was installed, and its last run.
  if [ -f "$state/pull/schedule" ]; then wd_mark status pull "$(<"$state/pull/schedule")"; fi
  if [ -f "$state/pull/last" ]; then wd_mark status pull_last "$(<"$state/pull/last")"; fi
}`;

function statusBody(): string[] {
  return [
    STATUS_STATE,
    `wd_status() {
  local head state ts
  wd_step status
  if [ ! -e "$WD_DEPLOY_TO/.git" ]; then wd_mark status missing "$WD_DEPLOY_TO"; wd_mark 'done'; return 0; fi
  cd -- "$WD_DEPLOY_TO"
  state=$(git rev-parse --absolute-git-dir)/wd
  head=$(git rev-parse --verify -q HEAD || true)
  wd_mark status revision "$head"
  if [ -n "$head" ]; then wd_mark status subject "$(git log -1 --format=%s "$head" -- | tr -d '\\r')"; fi
  wd_mark status branch "$(git symbolic-ref -q --short HEAD || echo '(detached)')"
  wd_mark status dirty "$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' ')"
  ts=$(git ls-remote -- "$WD_REPOSITORY" "refs/heads/$WD_BRANCH" 2>/dev/null) || ts=unreachable
  wd_mark status origin "\${ts%%[[:space:]]*}"
  wd_status_state "$state"
  wd_mark 'done'
}`,
    'wd_status </dev/null',
  ];
}
