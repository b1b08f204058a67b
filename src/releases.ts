// strategy: releases, the host script's parts (docs/releases.md). Under
// deploy_to:
//   repo/            a bare git cache of the repository, fetched each deploy
//   releases/NAME/   NAME = <UTC time>-<short sha>: a git worktree of the cache
//                    at one revision (the cheapest correct checkout, measured
//                    in docs/releases.md)
//   shared/          what shared_paths link to, kept across releases
//   current          a symlink to releases/NAME, replaced by rename (atomic)
//   .wd/             the state directory: history, lock, logs, the stack of
//                    releases that went live
// A deploy builds the new release beside the live one and switches current
// only when before_switch_script succeeded. The job around the steps (lock,
// watchdog, history, log) is the in-place strategy's, from script.ts.
import type { HostPlan } from './plan.js';
import { quote, quotePath } from './quote.js';
import { HOOKS, JOB, STATUS_STATE, SYNC, checkSteps } from './script.js';

/** The releases-only values, as quoted assignments (after script.ts's vars()). */
export function releaseVars(plan: HostPlan): string[] {
  const shared = `WD_SHARED=(${plan.sharedPaths.map(quote).join(' ')})`;
  if (plan.action === 'status') return [shared];
  const bss = plan.beforeSwitchScript;
  return [
    `WD_KEEP=${plan.keepReleases}`,
    shared,
    // A relative path is resolved in the new release, once it is made.
    `WD_BEFORE_SWITCH=${bss === undefined ? "''" : bss.startsWith('/') || bss.startsWith('~') ? quotePath(bss) : quote(bss)}`,
  ];
}

/** Everything after the helpers: the steps of the action, then the job (or status). */
export function releaseBody(plan: HostPlan): string[] {
  if (plan.action === 'status') return [LAYOUT, STATUS_STATE, STATUS, 'wd_status </dev/null'];
  const L = [SYNC, LAYOUT, PREPARE(plan), BUILD, plan.config ? OVERLAY : '', currentHooks(), 'wd_body() {'];
  L.push(...(plan.action === 'rollback' ? ROLLBACK_STEPS : buildSteps(plan)));
  L.push("  wd_mark 'done'", '  : >"$WD_RUN/done"', '}', JOB, 'wd_main');
  return L.filter((l) => l !== '');
}

// The in-place hooks, run in the live release: post scripts and rake see
// current as their working directory, as they see the checkout in place.
function currentHooks(): string {
  const text = HOOKS.replaceAll('$WD_DEPLOY_TO', '$WD_DEPLOY_TO/current');
  if (text === HOOKS) throw new Error('script.ts HOOKS no longer mention $WD_DEPLOY_TO: releases.ts must follow');
  return text;
}

function buildSteps(plan: HostPlan): string[] {
  const setup = plan.action === 'setup';
  const L = [
    '  local live',
    '  cd -- "$WD_DEPLOY_TO"',
    '  wd_live',
    '  live=$WD_LIVE',
    "  WD_PREVIOUS_REVISION=''",
    '  if [ -n "$live" ]; then wd_release_rev "$live"; WD_PREVIOUS_REVISION=$WD_REV; fi',
    '  wd_mark previous "$WD_PREVIOUS_REVISION"',
  ];
  if (plan.config && !setup) {
    L.push(`  [ -e "$WD_CONFIG_TO/.git" ] || wd_fail "no git checkout at $WD_CONFIG_TO (deploy_config_to); run 'wd setup $WD_ENVIRONMENT' first"`);
  }
  if (plan.run.check && !setup) L.push(...checkSteps(plan, '"$WD_DEPLOY_TO/repo"'));
  L.push('  wd_step fetch', '  wd_fetch_cache');
  if (plan.config) {
    L.push('  wd_step config');
    if (setup) L.push('  wd_init_checkout "$WD_CONFIG_TO" deploy_config_to');
    L.push('  wd_sync "$WD_CONFIG_TO" "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_BRANCH" deploy_config_to');
  }
  L.push('  wd_step release', '  wd_new_release', '  wd_step changes', '  wd_release_changes');
  if (plan.config) L.push('  wd_release_overlay "$live"');
  if (plan.sharedPaths.length > 0) L.push('  wd_step shared', '  wd_link_shared');
  if (plan.beforeSwitchScript !== undefined) L.push('  wd_step before_switch_script', '  wd_before_switch');
  L.push(
    '  wd_step switch',
    '  wd_switch "$WD_RELEASE_NAME"',
    '  wd_stack_push "$WD_RELEASE_NAME"',
    `  wd_step ${plan.postKey}`,
    `  wd_post ${plan.postKey}`,
    `  wd_rake ${plan.rakeTask}`,
    '  wd_step prune',
    '  wd_prune "$WD_RELEASE_NAME" "$live"',
  );
  return L;
}

// No git work: current goes back to a kept release, and its post script runs.
const ROLLBACK_STEPS = [
  '  local live pop=',
  '  wd_step rollback',
  '  cd -- "$WD_DEPLOY_TO"',
  '  wd_live',
  '  live=$WD_LIVE',
  `  [ -n "$live" ] || wd_fail "no live release: $WD_DEPLOY_TO/current does not point to a release; nothing to roll back from"`,
  '  wd_release_rev "$live"',
  '  WD_PREVIOUS_REVISION=$WD_REV',
  '  wd_mark previous "$WD_PREVIOUS_REVISION"',
  '  if [ -n "$WD_ROLLBACK_TO" ]; then',
  '    wd_find_release "$WD_ROLLBACK_TO"',
  '  else',
  '    wd_stack_below "$live"',
  '    if [ -n "$WD_TARGET" ] && [ -d "$WD_DEPLOY_TO/releases/$WD_TARGET" ]; then',
  '      pop=1',
  '    else',
  '      wd_older "$live"',
  `      if [ -n "$WD_TARGET" ]; then echo "wd: $WD_STATE/stack does not say which release was live before $live; going back to the newest older one, $WD_TARGET" >&2; fi`,
  '    fi',
  `    [ -n "$WD_TARGET" ] || wd_fail "nothing to roll back to: no release was live before $live, and no older release is kept in $WD_DEPLOY_TO/releases"`,
  '  fi',
  `  [ "$WD_TARGET" != "$live" ] || wd_fail "release $WD_TARGET is already live; nothing to roll back"`,
  '  export WD_RELEASE=$WD_DEPLOY_TO/releases/$WD_TARGET',
  '  wd_release_rev "$WD_TARGET"',
  '  WD_REVISION=$WD_REV',
  '  wd_step changes',
  '  wd_release_changes',
  '  wd_step switch',
  '  wd_switch "$WD_TARGET"',
  '  if [ -n "$pop" ]; then wd_stack_pop; else wd_stack_push "$WD_TARGET"; fi',
  '  export WD_ROLLBACK=1',
  '  wd_step post_deploy_script',
  '  wd_post post_deploy_script',
  '  wd_rake deploy:post_deploy',
];

/** Reading the layout: shared by status and the runs. */
const LAYOUT = `# strategy: releases. deploy_to holds repo/ (a bare cache), releases/NAME/ (a
# git worktree each, NAME = <UTC time>-<short sha>), shared/, current (a
# symlink to releases/NAME) and .wd/ (history, lock, logs, the stack).
# These helpers answer in variables, not on stdout: no subshell, and most of
# them no process at all.
# WD_LIVE: the live release's name (the release current leads to), or nothing.
wd_live() {
  local c=$WD_DEPLOY_TO/current d top=
  WD_LIVE=
  [ -L "$c" ] || return 0
  # Nearly always the release on top of the stack; else any of them.
  if [ -f "$WD_DEPLOY_TO/.wd/stack" ]; then
    wd_stack_read
    if [ \${#WD_STACK[@]} -gt 0 ]; then top=\${WD_STACK[-1]}; fi
  fi
  if [ -n "$top" ] && [ -d "$WD_DEPLOY_TO/releases/$top" ] && [ "$c" -ef "$WD_DEPLOY_TO/releases/$top" ]; then WD_LIVE=$top; return 0; fi
  for d in "$WD_DEPLOY_TO"/releases/*; do
    if [ -d "$d" ] && [ "$c" -ef "$d" ]; then WD_LIVE=\${d##*/}; return 0; fi
  done
}
# WD_STACK: the stack of releases that went live, the live one last.
wd_stack_read() {
  WD_STACK=()
  if [ -f "$WD_DEPLOY_TO/.wd/stack" ]; then mapfile -t WD_STACK <"$WD_DEPLOY_TO/.wd/stack"; fi
}
# WD_RELEASES: the releases wd made, oldest first. Anything else in releases/ is never counted or pruned.
wd_releases() {
  local d n LC_COLLATE=C
  WD_RELEASES=()
  for d in "$WD_DEPLOY_TO"/releases/*; do
    n=\${d##*/}
    if [ -d "$d" ] && [ ! -L "$d" ] && [[ $n =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{7,40}$ ]]; then WD_RELEASES+=("$n"); fi
  done
}
# WD_REV: a release's revision: its worktree's HEAD (read from the file git
# keeps it in, when it is a plain detached HEAD), else the sha in its name, as
# the cache knows it.
wd_release_rev() {
  local d=$WD_DEPLOY_TO/releases/$1 g='' r=''
  WD_REV=
  if [ -f "$d/.git" ]; then read -r g <"$d/.git" || true; fi
  case $g in "gitdir: /"*) g=\${g#gitdir: } ;; "gitdir: "?*) g=$d/\${g#gitdir: } ;; *) g= ;; esac
  if [ -n "$g" ] && [ -f "$g/HEAD" ]; then read -r r <"$g/HEAD" || true; fi
  if [[ $r =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]]; then WD_REV=$r; return 0; fi
  if [ -e "$d/.git" ] && WD_REV=$(git -C "$d" rev-parse --verify -q HEAD 2>/dev/null); then return 0; fi
  WD_REV=$(git -C "$WD_DEPLOY_TO/repo" rev-parse --verify -q "\${1##*-}^{commit}" 2>/dev/null) || WD_REV=
}`;

function PREPARE(plan: HostPlan): string {
  return `# Make deploy_to a releases layout (setup) or check that it is one. Paths are
# made absolute: the steps change directory, and links and worktrees record them.
wd_prepare() {
  wd_step prepare
  local d f bare
  case $WD_DEPLOY_TO in /*) ;; *) WD_DEPLOY_TO=$PWD/$WD_DEPLOY_TO ;; esac
${plan.config ? '  case $WD_CONFIG_TO in /*) ;; *) WD_CONFIG_TO=$PWD/$WD_CONFIG_TO ;; esac\n' : ''}  d=$WD_DEPLOY_TO
  if [ -e "$d/.git" ]; then wd_fail "$d holds a git checkout (strategy: in_place's layout); strategy: releases will not build over it. Set deploy_to to a new directory, or move the checkout away first (see docs/releases.md, Migrating)"; fi
  if [ "$WD_COMMAND" = setup ]; then
    mkdir -p -- "$d"
    for f in "$d"/* "$d"/.[!.]* "$d"/..?*; do
      if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
      case \${f##*/} in
        repo | releases | shared | current | .wd | .current.wd-new) ;;
        *) wd_fail "$d holds \${f##*/}, which is not part of a releases layout (repo, releases, shared, current, .wd); move it away or set deploy_to to a new directory" ;;
      esac
    done
    mkdir -p -- "$d/releases" "$d/shared"
    if [ ! -e "$d/repo" ]; then git init -q --bare -- "$d/repo"; fi
  elif [ ! -d "$d/releases" ] || [ ! -e "$d/repo" ]; then
    wd_fail "no releases layout at $d (strategy: releases); run 'wd setup $WD_ENVIRONMENT' first"
  fi
  # What a bare repository has and a checkout has not; anything else, git says what it is.
  if [ ! -f "$d/repo/HEAD" ] || [ ! -d "$d/repo/objects" ] || [ ! -d "$d/repo/refs" ] || [ -e "$d/repo/.git" ]; then
    bare=$(git -C "$d/repo" rev-parse --is-bare-repository 2>&1) || true
    if [ "$bare" != true ]; then wd_fail "$d/repo is not a bare git repository ($bare); wd keeps its cache of the repository there. Move it away and run 'wd setup $WD_ENVIRONMENT'"; fi
  fi
  if [ -e "$d/current" ] && [ ! -L "$d/current" ]; then wd_fail "$d/current is not a symlink; wd switches releases by replacing that link. Move it away"; fi
  WD_STATE=$d/.wd
  wd_run_dir
}`;
}

const BUILD = `# The cache holds only what was fetched: there is nothing of its own to protect.
wd_fetch_cache() {
  cd -- "$WD_DEPLOY_TO/repo"
  if ! git fetch $WD_Q -- "$WD_REPOSITORY" "+refs/heads/$WD_BRANCH:refs/remotes/origin/$WD_BRANCH" 2>"$WD_RUN/fetch.err"; then
    cat "$WD_RUN/fetch.err" >&2
    if grep -q "couldn't find remote ref" "$WD_RUN/fetch.err"; then wd_fail "branch $WD_BRANCH not found in $WD_REPOSITORY (deploy_to); push it, or set the branch in deploy.yml"; fi
    wd_fail "cannot fetch $WD_BRANCH from $WD_REPOSITORY (deploy_to): the host cannot reach the repository or may not read it (git's message is above); check the URL, the host's network and its deploy key"
  fi
  if [ -s "$WD_RUN/fetch.err" ]; then cat "$WD_RUN/fetch.err" >&2; fi
  cd -- "$WD_DEPLOY_TO"
}
wd_taken() {
  local d
  for d in "$WD_DEPLOY_TO"/releases/"$1"-*; do
    if [ -e "$d" ] || [ -L "$d" ]; then return 0; fi
  done
  return 1
}
# The new release: a worktree of the cache, detached at the fetched revision.
# Names sort by time: a second release within one second waits for the next.
wd_new_release() {
  local rev='' t ref=$WD_DEPLOY_TO/repo/refs/remotes/origin/$WD_BRANCH
  # The ref git fetch just wrote (git, when it is packed).
  if [ -f "$ref" ]; then read -r rev <"$ref" || true; fi
  if [[ ! $rev =~ ^[0-9a-f]{40,64}$ ]]; then rev=$(git -C "$WD_DEPLOY_TO/repo" rev-parse --verify "refs/remotes/origin/$WD_BRANCH^{commit}"); fi
  while :; do
    TZ=UTC0 printf -v t '%(%Y%m%dT%H%M%SZ)T' -1
    wd_taken "$t" || break
    sleep 1
  done
  WD_RELEASE_NAME=$t-\${rev:0:7}
  export WD_RELEASE=$WD_DEPLOY_TO/releases/$WD_RELEASE_NAME
  echo "New release: releases/$WD_RELEASE_NAME"
  git -C "$WD_DEPLOY_TO/repo" worktree add $WD_Q --detach -- "$WD_RELEASE" "$rev"
  WD_REVISION=$rev
}
# wd_changed's lists: what differs from the live release (everything on the first).
wd_release_changes() {
  local repo=$WD_DEPLOY_TO/repo
  export WD_REVISION WD_PREVIOUS_REVISION WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"
  wd_mark revision "$WD_REVISION"
  printf '%s' "$WD_REVISION" >"$WD_RUN/revision"
  printf '%s' "$WD_PREVIOUS_REVISION" >"$WD_RUN/previous"
  : >"$WD_RSYNC_CHANGED_FILES"
  # -z: names as they are (git quotes names with quotes, backslashes or tabs otherwise), one a line.
  if [ -z "$WD_REVISION" ] || [ "$WD_PREVIOUS_REVISION" = "$WD_REVISION" ]; then
    : >"$WD_RUN/changed"
  elif [ -z "$WD_PREVIOUS_REVISION" ] || ! git -C "$repo" diff -z --name-only --no-renames "$WD_PREVIOUS_REVISION" "$WD_REVISION" -- >"$WD_RUN/changed" 2>/dev/null; then
    git -C "$repo" ls-tree -z -r --name-only "$WD_REVISION" >"$WD_RUN/changed"
  fi
  wd_nul_lines "$WD_RUN/changed" "$WD_CHANGED_FILES"
}
# shared_paths: each becomes a link to shared/<path>. The first time, what the
# release has there moves to shared/ (a repository can ship a starting point);
# when neither has it, shared/<path> starts as an empty directory.
wd_link_shared() {
  local p c part src dst
  local -a parts
  for p in "\${WD_SHARED[@]}"; do
    src=$WD_DEPLOY_TO/shared/$p dst=$WD_RELEASE/$p part=$WD_RELEASE
    # Never through a link: one that came with the repository could point anywhere.
    IFS=/ read -r -a parts <<<"$p"
    for c in "\${parts[@]:0:\${#parts[@]}-1}"; do
      part=$part/$c
      if [ -L "$part" ]; then wd_fail "shared path $p: $part is a symlink in the release; wd will not replace anything through it. Remove that link from the repository, or change shared_paths"; fi
    done
    if [ ! -e "$src" ] && [ ! -L "$src" ]; then
      mkdir -p -- "$(dirname -- "$src")"
      if [ -e "$dst" ] || [ -L "$dst" ]; then mv -- "$dst" "$src"; else mkdir -- "$src"; fi
    fi
    mkdir -p -- "$(dirname -- "$dst")"
    rm -rf -- "$dst"
    ln -s -- "$src" "$dst"
  done
}
wd_before_switch() {
  local s=$WD_BEFORE_SWITCH x=
  case $s in /*) ;; *) s=$WD_RELEASE/$s ;; esac
  [ -f "$s" ] || wd_fail "before_switch_script not found: $s"
  if [ -n "$WD_DEBUG" ]; then x=-x; fi
  cd -- "$WD_RELEASE"
  wd_with_env bash $x "$s" </dev/null 9>&-
}
# current is never missing: a new link is renamed over it (rename is atomic).
wd_switch() {
  local tmp=$WD_DEPLOY_TO/.current.wd-new
  if [ -e "$tmp" ] || [ -L "$tmp" ]; then rm -f -- "$tmp"; fi
  ln -s -- "releases/$1" "$tmp"
  mv -T -- "$tmp" "$WD_DEPLOY_TO/current"
  echo "current -> releases/$1"
}
# The stack of releases that went live, the live one last: a deploy and
# rollback --to push, a rollback pops (walking back one step at a time).
wd_stack_push() { printf '%s\\n' "$1" >>"$WD_STATE/stack"; }
# Rewritten beside and renamed: a stack is never half written.
wd_stack_write() {
  if [ $# -gt 0 ]; then printf '%s\\n' "$@" >"$WD_STATE/stack.tmp"; else : >"$WD_STATE/stack.tmp"; fi
  mv -f -- "$WD_STATE/stack.tmp" "$WD_STATE/stack"
}
wd_stack_pop() {
  wd_stack_read
  wd_stack_write "\${WD_STACK[@]:0:\${#WD_STACK[@]}-1}"
}
# WD_TARGET: the release below the live one on the stack, when the live one is on top.
wd_stack_below() {
  local n
  WD_TARGET=
  wd_stack_read
  n=\${#WD_STACK[@]}
  if [ "$n" -ge 2 ] && [ "\${WD_STACK[n-1]}" = "$1" ]; then WD_TARGET=\${WD_STACK[n-2]}; fi
}
# Without a stack that knows, WD_TARGET: the newest release older than NAME.
wd_older() {
  local n prev=
  WD_TARGET=
  wd_releases
  for n in "\${WD_RELEASES[@]}"; do
    if [ "$n" = "$1" ]; then WD_TARGET=$prev; return 0; fi
    prev=$n
  done
}
# rollback --to: a release by its directory name, or by revision (the newest with it).
wd_find_release() {
  local want=$1 rev n list=
  WD_TARGET=
  case $want in -* | '') wd_fail "'$want' is not a release name or a revision" ;; esac
  if [[ $want != */* && $want != . && $want != .. ]] && [ -d "$WD_DEPLOY_TO/releases/$want" ]; then WD_TARGET=$want; return 0; fi
  wd_releases
  for n in "\${WD_RELEASES[@]}"; do list+="$n "; done
  if rev=$(git -C "$WD_DEPLOY_TO/repo" rev-parse --verify -q "$want^{commit}" 2>/dev/null); then
    for n in "\${WD_RELEASES[@]}"; do
      wd_release_rev "$n"
      if [ "$WD_REV" = "$rev" ]; then WD_TARGET=$n; fi
    done
  fi
  [ -n "$WD_TARGET" ] || wd_fail "$want names no kept release: no directory $WD_DEPLOY_TO/releases/$want, and no release of that revision. Kept: $list(see: wd status $WD_ENVIRONMENT)"
}
# The oldest releases beyond WD_KEEP go, never LIVE or PREVIOUS. A release that
# cannot be removed (files of another user, say) is left, and said.
# Nothing removed, nothing to tidy: git's worktree list and the stack are only
# rewritten after a release went (or when the stack outgrows 100 lines).
wd_prune() {
  local n i=0 total removed=''
  local -a kept=()
  wd_releases
  total=\${#WD_RELEASES[@]}
  for n in "\${WD_RELEASES[@]}"; do
    if [ $((total - i)) -le "$WD_KEEP" ]; then break; fi
    i=$((i + 1))
    if [ "$n" = "$1" ] || [ "$n" = "$2" ]; then continue; fi
    echo "Removing old release releases/$n"
    removed=1
    rm -rf -- "\${WD_DEPLOY_TO:?}/releases/$n" || echo "wd: could not remove all of $WD_DEPLOY_TO/releases/$n; left there" >&2
  done
  if [ -n "$removed" ]; then git -C "$WD_DEPLOY_TO/repo" worktree prune || true; fi
  if [ -f "$WD_STATE/stack" ]; then
    wd_stack_read
    if [ -n "$removed" ] || [ \${#WD_STACK[@]} -gt 100 ]; then
      for n in "\${WD_STACK[@]}"; do
        if [ -d "$WD_DEPLOY_TO/releases/$n" ]; then kept+=("$n"); fi
      done
      # (\${kept[@]: -100} would be empty below 100 entries.)
      wd_stack_write "\${kept[@]:\${#kept[@]} > 100 ? \${#kept[@]} - 100 : 0}"
    fi
  fi
}`;

const OVERLAY = `# The config repository's <target>/ over the new release. Every file is new in
# a new release: changed means different from the live release's copy.
wd_release_overlay() {
  wd_step rsync
  command -v rsync >/dev/null 2>&1 || wd_fail 'rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository'
  [ -d "$WD_CONFIG_TO/$WD_CONFIG_TARGET" ] || wd_fail "config_target directory $WD_CONFIG_TARGET not found in $WD_CONFIG_TO"
  local v='' f prev=''
  if [ -n "$WD_DEBUG" ]; then v=v; fi
  if [ -n "$1" ]; then prev=$WD_DEPLOY_TO/releases/$1; fi
  echo "Rsyncing configuration..."
  rsync -a8$v --checksum --out-format='%n' -- "$WD_CONFIG_TO/$WD_CONFIG_TARGET/" "$WD_RELEASE/" >"$WD_RUN/rsync.log"
  while IFS= read -r f; do
    case $f in */) continue ;; esac
    if [ -z "$prev" ] || ! cmp -s -- "$WD_RELEASE/$f" "$prev/$f"; then printf '%s\\n' "$f"; fi
  done <"$WD_RUN/rsync.log" >"$WD_RSYNC_CHANGED_FILES"
}`;

const STATUS = `wd_status() {
  local state live rev ts n kept='' p
  local -a ex=()
  wd_step status
  case $WD_DEPLOY_TO in /*) ;; *) WD_DEPLOY_TO=$PWD/$WD_DEPLOY_TO ;; esac
  if [ ! -d "$WD_DEPLOY_TO/releases" ] || [ ! -d "$WD_DEPLOY_TO/repo" ]; then
    wd_mark status missing "$WD_DEPLOY_TO"
    wd_mark 'done'
    return 0
  fi
  cd -- "$WD_DEPLOY_TO"
  state=$WD_DEPLOY_TO/.wd
  wd_live
  live=$WD_LIVE
  rev=
  if [ -n "$live" ]; then wd_release_rev "$live"; rev=$WD_REV; fi
  wd_mark status strategy releases
  wd_mark status release "$live"
  wd_releases
  for n in "\${WD_RELEASES[@]}"; do kept+="$n/"; done
  wd_mark status releases "\${kept%/}"
  wd_mark status revision "$rev"
  if [ -n "$rev" ]; then wd_mark status subject "$(git -C repo log -1 --format=%s "$rev" -- | tr -d '\\r')"; fi
  if [ -f "$state/history" ]; then wd_mark status branch "$(awk -F '\\t' 'NF >= 9 && $8 == "ok" { b = $5 } END { print b }' "$state/history")"; fi
  # Links to shared/ replace what the release had there: not an edit.
  for p in "\${WD_SHARED[@]}"; do ex+=(":(exclude,literal)$p"); done
  if [ -n "$live" ] && [ -e current/.git ]; then
    wd_mark status dirty "$(git -C current status --porcelain --untracked-files=no -- . "\${ex[@]}" 2>/dev/null | wc -l | tr -d ' ')"
  fi
  ts=$(cd repo && git ls-remote -- "$WD_REPOSITORY" "refs/heads/$WD_BRANCH" 2>/dev/null) || ts=unreachable
  wd_mark status origin "\${ts%%[[:space:]]*}"
  wd_status_state "$state"
  wd_mark 'done'
}`;
