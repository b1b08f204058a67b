[ -n "${BASH_SOURCE[0]-}" ] || { eval "$(head -c 30400)"; exit; }
# wd 0.1.0: rollback script, run as 'bash -s' with this text on stdin (the line above reads the rest at once). Values are only in the quoted assignments below.
{
set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
WD_MARK=::wd:79317a937f24fd6f::
export WD_COMMAND=rollback
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com
export WD_ROLES=''
export WD_DEPLOY_TO=/var/www/app
export WD_REPOSITORY=git@github.com:example/app.git
export WD_BRANCH=main
WD_VERSION=0.1.0
WD_BY=deployer@laptop
WD_DEBUG=''
WD_FORCE=''
WD_TIMEOUT=0
WD_WAIT_LOCK=0
WD_POST=''
WD_ROLLBACK_TO=''
wd_with_env() {
  { set +x; } 2>/dev/null
  local rc=0
  "$@" || rc=$?
  if [ -n "$WD_DEBUG" ]; then set -x; fi
  return "$rc"
}
WD_KEEP=5
WD_SHARED=()
WD_BEFORE_SWITCH=''
WD_RUN=
wd_mark() { printf '%s %s\n' "$WD_MARK" "$*"; }
wd_fail() {
  printf 'wd: %s\n' "$*" >&2
  wd_mark reason "$*"
  exit 1
}
wd_step() {
  wd_mark step "$1"
  if [ -n "$WD_RUN" ]; then printf '%s' "$1" >"$WD_RUN/step"; fi
}
# For post scripts: wd_role NAME and wd_changed PATH answer by exit status.
wd_role() { case ":$WD_ROLES:" in *":$1:"*) return 0 ;; esac; return 1; }
wd_changed() {
  local want=${1%/} list f
  for list in "$WD_CHANGED_FILES" "$WD_RSYNC_CHANGED_FILES"; do
    [ -f "$list" ] || continue
    while IFS= read -r f; do
      if [ -z "$want" ] || [ "$want" = . ] || [ "$f" = "$want" ] || [[ $f == "$want"/* ]]; then return 0; fi
    done <"$list"
  done
  return 1
}
export -f wd_role wd_changed
# The revision a checkout counts as deployed (WD_PREVIOUS_REVISION): the last
# run that completed, not HEAD (a failed run has already moved HEAD). One git
# process answers for both; WD_HEAD (HEAD, empty when unborn) saves wd_sync its own.
wd_deployed() {
  local rev='' out
  if [ -f "$WD_STATE/deployed" ]; then read -r rev <"$WD_STATE/deployed" || true; fi
  out=$(git cat-file --batch-check='%(objectname)' <<<"HEAD"$'\n'"${rev:-HEAD}^{commit}" 2>/dev/null) || out=
  WD_HEAD=${out%%$'\n'*} rev=${out#*$'\n'}
  if [[ ! $WD_HEAD =~ ^[0-9a-f]{40,64}$ ]]; then WD_HEAD=; fi
  if [[ ! $rev =~ ^[0-9a-f]{40,64}$ ]]; then rev=$WD_HEAD; fi
  WD_PREVIOUS_REVISION=$rev
}
WD_Q=-q
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
  local -a edits=()
  git -c core.quotePath=false diff --name-only HEAD -- >"$WD_RUN/edits" 2>/dev/null || true
  if [ -s "$WD_RUN/edits" ]; then
    mapfile -t -n 20 edits <"$WD_RUN/edits"
    printf 'wd: discarding local edits to tracked files in %s:\n' "$PWD" >&2
    printf '%s\n' "${edits[@]}" >&2
  fi
}
# Keep what --force overwrites: a ref for commits, a directory for files.
wd_save_ref() {
  local ref
  ref="refs/wd/saved/$(date -u +%Y%m%dT%H%M%SZ)-$1"
  git update-ref "$ref" HEAD
  printf 'wd: --force: the previous HEAD is kept as %s (git log %s)\n' "$ref" "$ref" >&2
}
# wd_sync DIR URL BRANCH WHAT [DEPLOYED]: DIR's checkout to URL's BRANCH, never
# destroying what wd did not make (an unrelated repository, commits made here,
# untracked files the new revision would overwrite) unless --force. DEPLOYED:
# the revision wd_deployed found for DIR (HEAD is then WD_HEAD). Sets
# WD_SYNC_REVISION to the revision DIR is now at.
wd_sync() {
  local dir=$1 url=$2 branch=$3 what=$4 deployed=${5-} head origin local_commits='' f want head_ref new=''
  local -a in_way=()
  cd -- "$dir"
  if [ -e .git/index.lock ]; then wd_fail "$dir/.git/index.lock exists: another git command is running there, or one crashed. If none is running, remove that file and run again."; fi
  if [ -n "${5+x}" ]; then head=$WD_HEAD; else head=$(git rev-parse --verify -q HEAD) || head=; fi
  origin=$(git config --get remote.origin.url) || origin=
  # HEAD at what wd deployed last was fetched from origin: nothing was committed here since.
  if [ -n "$head" ] && [ "$head" != "$deployed" ]; then
    # Before the fetch, origin's refs are what was last fetched, so this is what was committed here.
    local_commits=$(git log --oneline -n 10 "$head" --not --remotes=origin -- 2>/dev/null) || local_commits=
  fi
  if ! git fetch $WD_Q -- "$url" "+refs/heads/$branch:refs/remotes/origin/$branch" 2>"$WD_RUN/fetch.err"; then
    cat "$WD_RUN/fetch.err" >&2
    if grep -q "couldn't find remote ref" "$WD_RUN/fetch.err"; then wd_fail "branch $branch not found in $url ($what); push it, or set the branch in deploy.yml"; fi
    wd_fail "cannot fetch $branch from $url ($what): the host cannot reach the repository or may not read it (git's message is above); check the URL, the host's network and its deploy key"
  fi
  if [ -s "$WD_RUN/fetch.err" ]; then cat "$WD_RUN/fetch.err" >&2; fi
  if [ -n "$head" ] && [ "$origin" != "$url" ] && ! git merge-base "$head" "origin/$branch" >/dev/null 2>&1; then
    if [ -z "$WD_FORCE" ]; then wd_fail "$dir holds a checkout of ${origin:-a repository without origin} that shares no history with $url; wd will not overwrite it. Move it away, fix $what or the repository in deploy.yml, or run again with --force to replace it (its HEAD is kept under refs/wd/saved/)"; fi
    wd_save_ref unrelated
    local_commits=
  fi
  if [ -n "$local_commits" ]; then
    if [ -z "$WD_FORCE" ]; then wd_fail "$dir has commits that are not on $url: $(printf '%s' "$local_commits" | tr '\n' ';' | sed 's/;$//; s/;/; /g'). Push them, or run again with --force to deploy over them (they are kept under refs/wd/saved/)"; fi
    wd_save_ref local-commits
  fi
  # The fetched revision, from the ref git fetch just wrote (git, when it is packed).
  if [ -f ".git/refs/remotes/origin/$branch" ]; then read -r new <".git/refs/remotes/origin/$branch" || true; fi
  if [[ ! $new =~ ^[0-9a-f]{40,64}$ ]]; then new=$(git rev-parse --verify -q "refs/remotes/origin/$branch^{commit}") || new=; fi
  if [ -n "$head" ] && [ "$head" != "$new" ]; then
    # Only files the new revision adds can be untracked files in its way.
    while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then
        want=$(git rev-parse "origin/$branch:$f")
        if [ "$(git hash-object -- "$f" 2>/dev/null || true)" != "$want" ]; then in_way+=("$f"); fi
      fi
    done < <(git diff -z --name-only --no-renames --diff-filter=A "$head" "origin/$branch" --)
    if [ ${#in_way[@]} -gt 0 ]; then
      if [ -z "$WD_FORCE" ]; then wd_fail "untracked files in $dir would be overwritten by $branch: ${in_way[*]:0:10}. Move them away, or run again with --force (they are kept under $WD_STATE/saved/)"; fi
      local keep
      keep="$WD_STATE/saved/$(date -u +%Y%m%dT%H%M%SZ)"
      for f in "${in_way[@]}"; do mkdir -p -- "$keep/$(dirname -- "$f")"; mv -- "$f" "$keep/$f"; done
      printf 'wd: --force: %s untracked file(s) in the way moved to %s\n' "${#in_way[@]}" "$keep" >&2
    fi
  fi
  if [ -n "$head" ]; then wd_guard_edits; fi
  if [ -z "$origin" ]; then git remote add origin "$url"; elif [ "$origin" != "$url" ]; then git remote set-url origin "$url"; fi
  head_ref=
  if [ -f .git/HEAD ]; then read -r head_ref <.git/HEAD || true; fi
  if [ "$head_ref" != "ref: refs/heads/$branch" ]; then git checkout $WD_Q -f -B "$branch" "origin/$branch" --; fi
  git reset $WD_Q --hard "origin/$branch" --
  if [ -z "$new" ]; then new=$(git rev-parse HEAD); fi
  # shellcheck disable=SC2034 # read by the in-place steps
  WD_SYNC_REVISION=$new
  cd -- "$WD_DEPLOY_TO"
}
# wd_stale DIR URL BRANCH DEPLOYED: true when origin's branch head differs from what is deployed.
wd_stale() {
  local remote
  remote=$(cd -- "$1" && git ls-remote -- "$2" "refs/heads/$3") || wd_fail "cannot ask $2 for branch $3 (git's message is above)"
  remote=${remote%%[[:space:]]*}
  [ -n "$remote" ] || wd_fail "branch $3 not found in $2"
  [ "$remote" != "$4" ]
}
# The changed-file lists wd_changed reads: since the last completed deploy, every
# file on the first. WD_REVISION: the revision now checked out (HEAD, when unset).
wd_changes() {
  cd -- "$WD_DEPLOY_TO"
  export WD_REVISION
  if [ -z "${WD_REVISION-}" ]; then WD_REVISION=$(git rev-parse HEAD); fi
  wd_mark revision "$WD_REVISION"
  printf '%s' "$WD_REVISION" >"$WD_RUN/revision"
  printf '%s' "$WD_PREVIOUS_REVISION" >"$WD_RUN/previous"
  export WD_PREVIOUS_REVISION WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"
  : >"$WD_RSYNC_CHANGED_FILES"
  # -z: names as they are (git quotes names with quotes, backslashes or tabs otherwise), one a line.
  if [ "$WD_PREVIOUS_REVISION" = "$WD_REVISION" ]; then
    : >"$WD_RUN/changed"
  elif [ -z "$WD_PREVIOUS_REVISION" ] || ! git diff -z --name-only --no-renames "$WD_PREVIOUS_REVISION" "$WD_REVISION" -- >"$WD_RUN/changed" 2>/dev/null; then
    git ls-files -z >"$WD_RUN/changed"
  fi
  wd_nul_lines "$WD_RUN/changed" "$WD_CHANGED_FILES"
}
# NUL-separated names in FROM, one a line in TO.
wd_nul_lines() {
  local -a names=()
  mapfile -t -d '' names <"$1"
  if [ ${#names[@]} -gt 0 ]; then printf '%s\n' "${names[@]}" >"$2"; else : >"$2"; fi
}
# strategy: releases. deploy_to holds repo/ (a bare cache), releases/NAME/ (a
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
    if [ ${#WD_STACK[@]} -gt 0 ]; then top=${WD_STACK[-1]}; fi
  fi
  if [ -n "$top" ] && [ -d "$WD_DEPLOY_TO/releases/$top" ] && [ "$c" -ef "$WD_DEPLOY_TO/releases/$top" ]; then WD_LIVE=$top; return 0; fi
  for d in "$WD_DEPLOY_TO"/releases/*; do
    if [ -d "$d" ] && [ "$c" -ef "$d" ]; then WD_LIVE=${d##*/}; return 0; fi
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
    n=${d##*/}
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
  case $g in "gitdir: /"*) g=${g#gitdir: } ;; "gitdir: "?*) g=$d/${g#gitdir: } ;; *) g= ;; esac
  if [ -n "$g" ] && [ -f "$g/HEAD" ]; then read -r r <"$g/HEAD" || true; fi
  if [[ $r =~ ^[0-9a-f]{40}([0-9a-f]{24})?$ ]]; then WD_REV=$r; return 0; fi
  if [ -e "$d/.git" ] && WD_REV=$(git -C "$d" rev-parse --verify -q HEAD 2>/dev/null); then return 0; fi
  WD_REV=$(git -C "$WD_DEPLOY_TO/repo" rev-parse --verify -q "${1##*-}^{commit}" 2>/dev/null) || WD_REV=
}
# Make deploy_to a releases layout (setup) or check that it is one. Paths are
# made absolute: the steps change directory, and links and worktrees record them.
wd_prepare() {
  wd_step prepare
  local d f bare
  case $WD_DEPLOY_TO in /*) ;; *) WD_DEPLOY_TO=$PWD/$WD_DEPLOY_TO ;; esac
  d=$WD_DEPLOY_TO
  if [ -e "$d/.git" ]; then wd_fail "$d holds a git checkout (strategy: in_place's layout); strategy: releases will not build over it. Set deploy_to to a new directory, or move the checkout away first (see docs/releases.md, Migrating)"; fi
  if [ "$WD_COMMAND" = setup ]; then
    mkdir -p -- "$d"
    for f in "$d"/* "$d"/.[!.]* "$d"/..?*; do
      if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
      case ${f##*/} in
        repo | releases | shared | current | .wd | .current.wd-new) ;;
        *) wd_fail "$d holds ${f##*/}, which is not part of a releases layout (repo, releases, shared, current, .wd); move it away or set deploy_to to a new directory" ;;
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
}
# The cache holds only what was fetched: there is nothing of its own to protect.
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
  WD_RELEASE_NAME=$t-${rev:0:7}
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
  for p in "${WD_SHARED[@]}"; do
    src=$WD_DEPLOY_TO/shared/$p dst=$WD_RELEASE/$p part=$WD_RELEASE
    # Never through a link: one that came with the repository could point anywhere.
    IFS=/ read -r -a parts <<<"$p"
    for c in "${parts[@]:0:${#parts[@]}-1}"; do
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
wd_stack_push() { printf '%s\n' "$1" >>"$WD_STATE/stack"; }
# Rewritten beside and renamed: a stack is never half written.
wd_stack_write() {
  if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$WD_STATE/stack.tmp"; else : >"$WD_STATE/stack.tmp"; fi
  mv -f -- "$WD_STATE/stack.tmp" "$WD_STATE/stack"
}
wd_stack_pop() {
  wd_stack_read
  wd_stack_write "${WD_STACK[@]:0:${#WD_STACK[@]}-1}"
}
# WD_TARGET: the release below the live one on the stack, when the live one is on top.
wd_stack_below() {
  local n
  WD_TARGET=
  wd_stack_read
  n=${#WD_STACK[@]}
  if [ "$n" -ge 2 ] && [ "${WD_STACK[n-1]}" = "$1" ]; then WD_TARGET=${WD_STACK[n-2]}; fi
}
# Without a stack that knows, WD_TARGET: the newest release older than NAME.
wd_older() {
  local n prev=
  WD_TARGET=
  wd_releases
  for n in "${WD_RELEASES[@]}"; do
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
  for n in "${WD_RELEASES[@]}"; do list+="$n "; done
  if rev=$(git -C "$WD_DEPLOY_TO/repo" rev-parse --verify -q "$want^{commit}" 2>/dev/null); then
    for n in "${WD_RELEASES[@]}"; do
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
  total=${#WD_RELEASES[@]}
  for n in "${WD_RELEASES[@]}"; do
    if [ $((total - i)) -le "$WD_KEEP" ]; then break; fi
    i=$((i + 1))
    if [ "$n" = "$1" ] || [ "$n" = "$2" ]; then continue; fi
    echo "Removing old release releases/$n"
    removed=1
    rm -rf -- "${WD_DEPLOY_TO:?}/releases/$n" || echo "wd: could not remove all of $WD_DEPLOY_TO/releases/$n; left there" >&2
  done
  if [ -n "$removed" ]; then git -C "$WD_DEPLOY_TO/repo" worktree prune || true; fi
  if [ -f "$WD_STATE/stack" ]; then
    wd_stack_read
    if [ -n "$removed" ] || [ ${#WD_STACK[@]} -gt 100 ]; then
      for n in "${WD_STACK[@]}"; do
        if [ -d "$WD_DEPLOY_TO/releases/$n" ]; then kept+=("$n"); fi
      done
      # (${kept[@]: -100} would be empty below 100 entries.)
      wd_stack_write "${kept[@]:${#kept[@]} > 100 ? ${#kept[@]} - 100 : 0}"
    fi
  fi
}
# The post script, then the Rakefile's task, as whiskey_disk did. Their stdin
# is empty and the lock's descriptor is not theirs to keep.
wd_post() {
  cd -- "$WD_DEPLOY_TO/current"
  if [ -z "$WD_POST" ]; then return 0; fi
  [ -f "$WD_POST" ] || wd_fail "$1 not found: $WD_POST"
  local x=
  if [ -n "$WD_DEBUG" ]; then x=-x; fi
  echo "Running post script..."
  wd_with_env bash $x "$WD_POST" </dev/null 9>&-
}
wd_rake() {
  cd -- "$WD_DEPLOY_TO/current"
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
    wd_fail "rake could not load the Rakefile in $WD_DEPLOY_TO/current (rake's message is above)"
  fi
  if grep -qx "rake $1" <<<"$tasks"; then
    wd_step rake
    echo "Running rake $1..."
    local t=
    if [ -n "$WD_DEBUG" ]; then t=--trace; fi
    wd_with_env rake $t "$1" to="$WD_ENVIRONMENT" </dev/null 9>&-
  fi
}
wd_body() {
  local live pop=
  wd_step rollback
  cd -- "$WD_DEPLOY_TO"
  wd_live
  live=$WD_LIVE
  [ -n "$live" ] || wd_fail "no live release: $WD_DEPLOY_TO/current does not point to a release; nothing to roll back from"
  wd_release_rev "$live"
  WD_PREVIOUS_REVISION=$WD_REV
  wd_mark previous "$WD_PREVIOUS_REVISION"
  if [ -n "$WD_ROLLBACK_TO" ]; then
    wd_find_release "$WD_ROLLBACK_TO"
  else
    wd_stack_below "$live"
    if [ -n "$WD_TARGET" ] && [ -d "$WD_DEPLOY_TO/releases/$WD_TARGET" ]; then
      pop=1
    else
      wd_older "$live"
      if [ -n "$WD_TARGET" ]; then echo "wd: $WD_STATE/stack does not say which release was live before $live; going back to the newest older one, $WD_TARGET" >&2; fi
    fi
    [ -n "$WD_TARGET" ] || wd_fail "nothing to roll back to: no release was live before $live, and no older release is kept in $WD_DEPLOY_TO/releases"
  fi
  [ "$WD_TARGET" != "$live" ] || wd_fail "release $WD_TARGET is already live; nothing to roll back"
  export WD_RELEASE=$WD_DEPLOY_TO/releases/$WD_TARGET
  wd_release_rev "$WD_TARGET"
  WD_REVISION=$WD_REV
  wd_step changes
  wd_release_changes
  wd_step switch
  wd_switch "$WD_TARGET"
  if [ -n "$pop" ]; then wd_stack_pop; else wd_stack_push "$WD_TARGET"; fi
  export WD_ROLLBACK=1
  wd_step post_deploy_script
  wd_post post_deploy_script
  wd_rake deploy:post_deploy
  wd_mark 'done'
  : >"$WD_RUN/done"
}
# The state directory (private) and this run's directory in it (mktemp -d: 0700).
wd_run_dir() {
  if [ ! -d "$WD_STATE" ]; then (umask 077 && mkdir -p -- "$WD_STATE"); fi
  WD_RUN=$(mktemp -d "$WD_STATE/run.XXXXXX")
}
wd_busy() {
  local holder=
  if [ -f "$WD_STATE/lock" ]; then holder=$(tr '\t' ' ' <"$WD_STATE/lock"); fi
  printf 'wd: %s is locked by another run: %s\n' "$WD_DEPLOY_TO" "${holder:-unknown holder}" >&2
  wd_mark result busy "${holder:-unknown holder}"
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
  local -a lines
  TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  wd_step lock
  exec 9>>"$WD_STATE/lock"
  if command -v flock >/dev/null 2>&1; then
    # A second's grace: a lock held for an instant (wd status probes it) must not refuse a run.
    if [ "$WD_WAIT_LOCK" = 0 ]; then flock -n 9 || flock -w 1 9 || wd_busy
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
  printf '%s\t%s\t%s\tpid %s\n' "$WD_BY" "$WD_COMMAND" "$t" "$BASHPID" >"$WD_STATE/lock"
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
  if [ -f "$WD_RUN/why" ]; then read -r why <"$WD_RUN/why" || true; fi
  if [ -f "$WD_RUN/step" ]; then read -r step <"$WD_RUN/step" || true; fi
  if [ -f "$WD_RUN/previous" ]; then read -r prev <"$WD_RUN/previous" || true; fi
  if [ -f "$WD_RUN/revision" ]; then read -r rev <"$WD_RUN/revision" || true; fi
  if [ -n "$why" ]; then result=$why
  elif [ "$rc" = 0 ] && [ -f "$WD_RUN/unchanged" ]; then result=unchanged
  elif [ "$rc" = 0 ] && [ -f "$WD_RUN/done" ]; then result=ok
  else result="failed $step"; [ "$rc" != 0 ] || rc=1
  fi
  if [ "$result" != unchanged ]; then
    if [ "$result" = ok ]; then printf '%s\n' "$rev" >"$WD_STATE/deployed"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%ss\n' "$t" "$WD_BY" "$WD_VERSION" "$WD_COMMAND" "$WD_BRANCH" "${prev:--}" "${rev:--}" "$result" "$((SECONDS - started))" >>"$WD_STATE/history"
    # Bounded: the last 1000 lines. mapfile finds a 1001st line without a process; rewritten only then.
    mapfile -t -s 1000 -n 1 lines <"$WD_STATE/history"
    if [ ${#lines[@]} -gt 0 ]; then
      mapfile -t lines <"$WD_STATE/history"
      printf '%s\n' "${lines[@]: -1000}" >"$WD_STATE/history.tmp" && mv -f -- "$WD_STATE/history.tmp" "$WD_STATE/history"
    fi
    if [ ! -d "$WD_STATE/logs" ]; then mkdir -p -- "$WD_STATE/logs"; fi
    # The run's own suffix: two runs within one second keep two logs.
    log="$WD_STATE/logs/${t//:/}-$WD_COMMAND-${WD_RUN##*.}.log"
    ln -f -- "$WD_RUN/log" "$log" 2>/dev/null || cp -- "$WD_RUN/log" "$log"
    wd_prune_logs
  fi
  : >"$WD_STATE/lock"
  wd_mark result "$result"
  return "$rc"
}
# Bounded: the newest 20 logs. Their names begin with the run's start time, so
# they sort by it; only when there are more than 20 does a process run.
wd_prune_logs() {
  local LC_COLLATE=C
  local -a logs=("$WD_STATE"/logs/*)
  if [ ${#logs[@]} -gt 20 ]; then rm -f -- "${logs[@]:0:${#logs[@]}-20}"; fi
}
wd_main() {
  local rc=0 job tee_out tee_err ctl i d
  wd_prepare
  # A run killed before its cleanup leaves its directory; those older than a day go (rarely any).
  for d in "$WD_STATE"/run.*; do
    if [ "$d" != "$WD_RUN" ] && [ -d "$d" ]; then
      find "$WD_STATE" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf -- {} + 2>/dev/null || true
      break
    fi
  done
  : >"$WD_RUN/log"
  mkfifo -- "$WD_RUN/out" "$WD_RUN/err" "$WD_RUN/tick"
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
  # Read as fd 0 itself: bash 5.2 crashes on exec N<&0 in text the loader line evals.
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
  ) <&0 >/dev/null 2>&1 &
  ctl=$!
  wait "$job" || rc=$?
  # A daemon started by a post script may keep the output open: the tees get
  # 2 s to finish (a read with a timeout on a FIFO nobody writes to is the wait).
  for ((i = 0; i < 1000; i++)); do
    kill -0 "$tee_out" 2>/dev/null || kill -0 "$tee_err" 2>/dev/null || break
    read -r -t 0.002 _ <>"$WD_RUN/tick" || true
  done
  if [ "$i" = 1000 ]; then kill "$tee_out" "$tee_err" 2>/dev/null || true; fi
  kill "$ctl" 2>/dev/null || true
  wait "$tee_out" "$tee_err" 2>/dev/null || true
  rm -rf -- "$WD_RUN"
  return "$rc"
}
wd_main
exit
}
