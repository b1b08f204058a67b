[ -n "${BASH_SOURCE[0]-}" ] || { eval "$(head -c 19935)"; exit; }
# wd 0.1.0: setup script, run as 'bash -s' with this text on stdin (the line above reads the rest at once). Values are only in the quoted assignments below.
{
set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
WD_MARK=::wd:6025fd150346381c::
export WD_COMMAND=setup
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com:2222
export WD_ROLES=web:db
export WD_DEPLOY_TO="$HOME"/'apps/my app'\''s "dir"'
export WD_REPOSITORY=git@github.com:example/app.git
export WD_BRANCH='release/$(id>pwned)'
WD_VERSION=0.1.0
WD_BY=deployer@laptop
WD_DEBUG=''
WD_FORCE=''
WD_TIMEOUT=0
WD_WAIT_LOCK=0
WD_POST="$WD_DEPLOY_TO"/script/setup.sh
export WD_CONFIG_TO=/etc/app-config
WD_CONFIG_REPOSITORY=git@github.com:example/config.git
WD_CONFIG_BRANCH=live
WD_CONFIG_TARGET=web
wd_with_env() {
  { set +x; } 2>/dev/null
  local rc=0
  RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' "$@" || rc=$?
  if [ -n "$WD_DEBUG" ]; then set -x; fi
  return "$rc"
}
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
# The config repository's <target>/ over the checkout. --checksum: a same-size
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
}
# The post script, then the Rakefile's task, as whiskey_disk did. Their stdin
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
}
wd_body() {
  wd_step fetch
  cd -- "$WD_DEPLOY_TO"
  if [ -z "$WD_FRESH" ]; then echo "Repository already cloned to [$WD_DEPLOY_TO].  Skipping."; fi
  wd_deployed
  wd_mark previous "$WD_PREVIOUS_REVISION"
  wd_sync "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" deploy_to "$WD_PREVIOUS_REVISION"
  WD_REVISION=$WD_SYNC_REVISION
  wd_step config
  wd_init_checkout "$WD_CONFIG_TO" deploy_config_to
  wd_sync "$WD_CONFIG_TO" "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_BRANCH" deploy_config_to
  wd_step changes
  wd_changes
  wd_overlay
  wd_step post_setup_script
  wd_post post_setup_script
  wd_rake deploy:post_setup
  wd_mark 'done'
  : >"$WD_RUN/done"
}
wd_prepare() {
  wd_step prepare
  # shellcheck disable=SC2034 # read by setup's steps
  WD_FRESH=''
  if [ "$WD_COMMAND" = setup ]; then
    wd_init_checkout "$WD_DEPLOY_TO" deploy_to
  elif [ ! -e "$WD_DEPLOY_TO/.git" ]; then
    wd_fail "no git checkout at $WD_DEPLOY_TO; run 'wd setup $WD_ENVIRONMENT' first"
  fi
  # A .git directory is the git directory; a .git file (a linked worktree, a submodule) names it.
  if [ -d "$WD_DEPLOY_TO/.git" ] && [ ! -L "$WD_DEPLOY_TO/.git" ]; then
    WD_STATE=$WD_DEPLOY_TO/.git/wd
    case $WD_STATE in /*) ;; *) WD_STATE=$PWD/$WD_STATE ;; esac
  else
    WD_STATE=$(git -C "$WD_DEPLOY_TO" rev-parse --absolute-git-dir)/wd
  fi
  wd_run_dir
}
# The stack of deployed revisions, from the history: a deploy pushes, a
# rollback pops; the target is the one below the top.
wd_rollback_target() {
  [ -f "$WD_STATE/history" ] || return 0
  awk -F '\t' 'NF >= 9 && $8 == "ok" { if ($4 == "rollback") { if (n > 0) n-- } else if (n == 0 || s[n] != $7) s[++n] = $7 } END { if (n >= 2) print s[n-1] }' "$WD_STATE/history"
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
