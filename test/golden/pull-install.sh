# wd 0.1.0: pull install script, run as 'bash -s' with this text on stdin. Values are only in the quoted assignments below.
{
set -euo pipefail
WD_MARK=::wd:7487f811023c0288::
WD_DEPLOY_TO=/srv/app
WD_STRATEGY=in_place
WD_ENVIRONMENT=prod
WD_PULL_SLUG=prod-
WD_PULL_EVERY=600
WD_PULL_EVERY_TEXT=10m
WD_PULL_CRON='*/10 * * * *'
WD_PULL_CALENDAR='*-*-* *:00/10:00'
WD_PULL_BY=deployer@laptop
wd_mark() { printf '%s %s\n' "$WD_MARK" "$*"; }
wd_fail() {
  printf 'wd: %s\n' "$*" >&2
  wd_mark reason "$*"
  exit 1
}
# deploy_to as an absolute path: relative is under the login directory.
wd_pull_abs() {
  case $WD_DEPLOY_TO in /*) printf '%s' "$WD_DEPLOY_TO" ;; *) printf '%s/%s' "$PWD" "$WD_DEPLOY_TO" ;; esac
}
# The name of the units and the crontab entry: wd-pull-<env>-<hash>, the hash
# of the environment and deploy_to, so one per checkout, and no user text in it
# but the environment's letters and digits.
wd_pull_id() {
  local h
  command -v sha256sum >/dev/null 2>&1 || wd_fail "sha256sum is not installed on this host (it names pull mode's schedule); install coreutils"
  h=$(printf '%s\0%s' "$WD_ENVIRONMENT" "$(wd_pull_abs)" | sha256sum)
  printf 'wd-pull-%s%s' "$WD_PULL_SLUG" "${h:0:12}"
}
# deploy_to's state directory, where its deploys keep history, lock and logs
# (in place: <git dir>/wd; releases: deploy_to/.wd); empty when not set up.
wd_pull_state() {
  local d
  d=$(wd_pull_abs)
  if [ "$WD_STRATEGY" = releases ]; then
    if [ -d "$d/releases" ] && [ -e "$d/repo" ]; then printf '%s/.wd' "$d"; fi
  elif [ -e "$d/.git" ]; then
    printf '%s/wd' "$(git -C "$d" rev-parse --absolute-git-dir)"
  fi
}
# Where systemd looks for this login's units: the system's for root, the
# user's otherwise. WD_PULL_TEST_SYSTEMD=DIR is for wd's own tests only: units
# go to DIR and systemctl is not called (containers run no systemd).
wd_pull_unit_dir() {
  if [ -n "${WD_PULL_TEST_SYSTEMD-}" ]; then printf '%s' "$WD_PULL_TEST_SYSTEMD"
  elif [ "$(id -u)" = 0 ]; then printf /etc/systemd/system
  else printf '%s/systemd/user' "${XDG_CONFIG_HOME:-$HOME/.config}"
  fi
}
wd_systemctl() {
  if [ -n "${WD_PULL_TEST_SYSTEMD-}" ]; then return 0; fi
  if [ "$(id -u)" = 0 ]; then systemctl "$@"; else systemctl --user "$@"; fi
}
# systemd when it is running here (and answers this login), cron otherwise.
wd_pull_scheduler() {
  if [ -n "${WD_PULL_TEST_SYSTEMD-}" ]; then printf systemd
  elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1 && wd_systemctl show-environment >/dev/null 2>&1; then printf systemd
  elif command -v crontab >/dev/null 2>&1; then printf cron
  fi
}
wd_crontab() { crontab -l 2>/dev/null || true; }
# Edits of a crontab read, change and write it back: two at once (two deploys
# of one login on one machine) would lose one. There is no per-user file to
# lock that every login may open, so the lock is on the crontab program itself.
wd_crontab_lock() {
  local c
  c=$(command -v crontab) || return 0
  exec 6<"$c"
  if command -v flock >/dev/null 2>&1; then flock -w 30 6 || true; fi
}
# Take out the schedules of these ids (the configured one, and one an earlier
# install recorded); say what went.
wd_pull_unschedule() {
  local id dir cur kept gone=()
  dir=$(wd_pull_unit_dir)
  for id in "$@"; do
    if [ -e "$dir/$id.timer" ] || [ -e "$dir/$id.service" ]; then
      wd_systemctl disable --now "$id.timer" >/dev/null 2>&1 || true
      rm -f -- "$dir/$id.timer" "$dir/$id.service"
      wd_systemctl daemon-reload || true
      echo "Removed the systemd timer $dir/$id.timer and its service."
    fi
  done
  command -v crontab >/dev/null 2>&1 || return 0
  cur=$(wd_crontab)
  kept=$cur
  for id in "$@"; do
    if [[ $kept == *"wd:$id"* ]]; then
      kept=$(printf '%s\n' "$kept" | grep -v -F -e "wd:$id" || true)
      gone+=("$id")
    fi
  done
  if [ ${#gone[@]} -gt 0 ]; then
    if [ -z "$kept" ]; then crontab -r; else printf '%s\n' "$kept" | crontab -; fi
    echo "Removed the crontab entry ${gone[*]}."
  fi
}
# The id an earlier install recorded in pull/schedule (scheduler, every, id, time, by).
wd_pull_recorded_id() {
  local f=$1/pull/schedule line
  [ -f "$f" ] || return 0
  IFS= read -r line <"$f" || true
  IFS=$'\t' read -r _ _ line _ <<<"$line" || true
  case $line in wd-pull-*) printf '%s' "$line" ;; esac
}
WD_PULL_ID=$(wd_pull_id)
# A word for a unit's ExecStart=: double-quoted, backslashes and quotes
# escaped, systemd's specifier (%) and variable ($) signs doubled.
wd_sd_word() {
  local s=$1 b='\' q='"' p='%' d='$'
  s=${s//"$b"/"$b$b"}
  s=${s//"$q"/"$b$q"}
  s=${s//"$p"/"$p$p"}
  s=${s//"$d"/"$d$d"}
  printf '"%s"' "$s"
}
# A word for a crontab command: single-quoted for sh, and % escaped (cron
# would make it a newline).
wd_cron_word() {
  local s=$1 q="'" p='%'
  s="'${s//"$q"/"$q\\$q$q"}'"
  printf '%s' "${s//"$p"/"\\$p"}"
}
wd_pull_install() {
  local state dir sched old bash_path user t unit_dir
  umask 077
  state=$(wd_pull_state)
  [ -n "$state" ] || wd_fail "no deploy at $WD_DEPLOY_TO (strategy $WD_STRATEGY); run 'wd setup $WD_ENVIRONMENT' first, then 'wd pull install $WD_ENVIRONMENT'"
  dir=$state/pull
  case $dir in *[[:cntrl:]]*) wd_fail "the state directory $dir has a control character (a newline?) in its name, which a crontab line or a systemd unit cannot hold; set deploy_to to a plainer path" ;; esac
  sched=$(wd_pull_scheduler)
  [ -n "$sched" ] || wd_fail "neither systemd nor crontab is available on this host, so nothing can start the pulls; install cron (e.g. apt-get install cron) and run 'wd pull install $WD_ENVIRONMENT' again"
  bash_path=$(command -v bash)
  user=$(id -un)
  old=$(wd_pull_recorded_id "$state")
  # A re-install replaces everything: the old schedule goes first (also one an
  # earlier install made under another id, or with the other scheduler).
  if [ "$old" = "$WD_PULL_ID" ]; then old=; fi
  wd_crontab_lock
  wd_pull_unschedule "$WD_PULL_ID" ${old:+"$old"} >/dev/null
  (umask 077 && mkdir -p -- "$dir")
  wd_pull_files "$dir"
  chmod 700 -- "$dir/deploy.sh" "$dir/run.sh"
  printf '%s\n' "$PATH" >"$dir/path"
  TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  if [ "$sched" = systemd ]; then
    unit_dir=$(wd_pull_unit_dir)
    mkdir -p -- "$unit_dir"
    # KillMode=process: a daemon a post script starts (nohup ... &) outlives the run, as under cron or SSH.
    printf '%s\n' '[Unit]' "Description=wd pull mode: $WD_PULL_ID" '' '[Service]' 'Type=oneshot' 'KillMode=process' \
      "ExecStart=$(wd_sd_word "$bash_path") $(wd_sd_word "$dir/run.sh")" >"$unit_dir/$WD_PULL_ID.service.tmp"
    printf '%s\n' '[Unit]' "Description=wd pull mode: $WD_PULL_ID, every $WD_PULL_EVERY_TEXT" '' '[Timer]' "OnCalendar=$WD_PULL_CALENDAR" \
      "RandomizedDelaySec=$WD_PULL_EVERY" 'AccuracySec=1s' '' '[Install]' 'WantedBy=timers.target' >"$unit_dir/$WD_PULL_ID.timer.tmp"
    mv -f -- "$unit_dir/$WD_PULL_ID.service.tmp" "$unit_dir/$WD_PULL_ID.service"
    mv -f -- "$unit_dir/$WD_PULL_ID.timer.tmp" "$unit_dir/$WD_PULL_ID.timer"
    wd_systemctl daemon-reload || wd_fail "systemctl daemon-reload failed (its message is above); the units are in $unit_dir"
    wd_systemctl enable "$WD_PULL_ID.timer" >/dev/null 2>&1 || wd_fail "could not enable $unit_dir/$WD_PULL_ID.timer (systemctl enable failed)"
    wd_systemctl restart "$WD_PULL_ID.timer" || wd_fail "could not start $unit_dir/$WD_PULL_ID.timer (systemctl's message is above)"
    if [ "$(id -u)" = 0 ]; then sched=systemd-system; else sched=systemd-user; fi
    echo "Installed the systemd timer $unit_dir/$WD_PULL_ID.timer: every $WD_PULL_EVERY_TEXT, each run a random 0-${WD_PULL_EVERY}s late."
    if [ "$sched" = systemd-user ] && [ ! -e "/var/lib/systemd/linger/$user" ]; then
      echo "Note: a user timer runs only while $user is logged in; to run it always: loginctl enable-linger $user"
    fi
  else
    { wd_crontab; printf '%s\n' "# wd:$WD_PULL_ID pull mode, every $WD_PULL_EVERY_TEXT: written by 'wd pull install', removed by 'wd pull uninstall'" \
      "$WD_PULL_CRON $(wd_cron_word "$bash_path") $(wd_cron_word "$dir/run.sh") $WD_PULL_EVERY # wd:$WD_PULL_ID"; } | crontab -
    echo "Installed a crontab entry for $user: every $WD_PULL_EVERY_TEXT, each run a random 0-${WD_PULL_EVERY}s late."
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$sched" "$WD_PULL_EVERY" "$WD_PULL_ID" "$t" "$WD_PULL_BY" >"$dir/schedule"
  echo "Pull mode is on: $dir/run.sh deploys $WD_DEPLOY_TO when its branch moves."
  wd_mark status scheduler "$sched"
  wd_mark status every "$WD_PULL_EVERY"
  wd_mark status id "$WD_PULL_ID"
  wd_mark status dir "$dir"
  wd_mark 'done'
}
wd_pull_files() {
  cat >"$1/deploy.sh.tmp" <<'WD_PULL_EOF_43d2dba6d2005318'
[ -n "${BASH_SOURCE[0]-}" ] || { eval "$(head -c 18983)"; exit; }
# wd 0.1.0: deploy script, run as 'bash -s' with this text on stdin (the line above reads the rest at once). Values are only in the quoted assignments below.
{
set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
WD_MARK=::wd:a8d11416b0cf5ac5::
export WD_COMMAND=deploy
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com:2222
export WD_ROLES=web
export WD_DEPLOY_TO=/srv/app
export WD_REPOSITORY=git@github.com:acme/app.git
export WD_BRANCH=main
WD_VERSION=0.1.0
WD_BY=pull@web1.example.com
WD_DEBUG=''
WD_FORCE=''
WD_TIMEOUT=600
WD_WAIT_LOCK=0
WD_POST="$WD_DEPLOY_TO"/deploy/post.sh
wd_with_env() {
  { set +x; } 2>/dev/null
  local rc=0
  SECRET='s3cr'\''et' "$@" || rc=$?
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
  cd -- "$WD_DEPLOY_TO"
  wd_deployed
  wd_mark previous "$WD_PREVIOUS_REVISION"
  wd_step check
  if ! wd_stale "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" "$WD_PREVIOUS_REVISION"; then
    echo "No changes to deploy."
    wd_mark revision "$WD_PREVIOUS_REVISION"
    wd_mark unchanged
    : >"$WD_RUN/unchanged"
    exit 0
  fi
  wd_step fetch
  wd_sync "$WD_DEPLOY_TO" "$WD_REPOSITORY" "$WD_BRANCH" deploy_to "$WD_PREVIOUS_REVISION"
  WD_REVISION=$WD_SYNC_REVISION
  wd_step changes
  wd_changes
  wd_step post_deploy_script
  wd_post post_deploy_script
  wd_rake deploy:post_deploy
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
WD_PULL_EOF_43d2dba6d2005318
  mv -f -- "$1/deploy.sh.tmp" "$1/deploy.sh"
  cat >"$1/run.sh.tmp" <<'WD_PULL_EOF_9af8fc9e269aaf6c'
#!/bin/bash
# wd 0.1.0: pull mode's entry point for environment prod, run by its
# systemd timer or crontab entry ('wd pull install' writes it, 'wd pull uninstall'
# removes it). It runs deploy.sh beside it, which deploys only when the branch
# has moved, and writes the outcome to 'last' beside it (and the whole output
# to last.log). Usage: bash run.sh [MAX_DELAY_SECONDS]: cron passes the
# interval, so each host waits a random part of it and a fleet does not fetch
# at the same second (systemd's timer does that itself: RandomizedDelaySec).
set -u
WD_PULL_MARK=::wd:a8d11416b0cf5ac5::
case $0 in */*) WD_PULL_DIR=${0%/*} ;; *) WD_PULL_DIR=. ;; esac
WD_PULL_DIR=$(cd -- "$WD_PULL_DIR" && pwd -P) || exit 1
# cron and systemd start this with next to no environment: the login's HOME,
# and the PATH the SSH session that installed it had (where git was found).
if [ -z "${HOME-}" ]; then HOME=~; fi
export HOME
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ -s "$WD_PULL_DIR/path" ]; then PATH=$(<"$WD_PULL_DIR/path"):$PATH; fi
export PATH
# A relative deploy_to is relative to the login directory, as over SSH.
cd -- "$HOME" || exit 1
# One pull at a time: a run still going when the next is due lets it pass.
exec 7>>"$WD_PULL_DIR/run.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 7; then exit 0; fi
if [ -n "${1-}" ] && [ "$1" -gt 1 ] 2>/dev/null; then sleep "$(((RANDOM * 32768 + RANDOM) % $1))"; fi
TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
started=$SECONDS rc=0 result='' rev='' reason=''
# The lock is deploy.sh's, the same as a pushed deploy's: a push and a pull never run at once.
bash "$WD_PULL_DIR/deploy.sh" </dev/null >"$WD_PULL_DIR/last.log" 2>&1 7>&- || rc=$?
while IFS= read -r line; do
  case $line in
    *"$WD_PULL_MARK "*)
      line=${line#*"$WD_PULL_MARK "}
      case $line in
        "result "*) result=${line#result } ;;
        "revision "*) rev=${line#revision } ;;
        "reason "*) reason=${line#reason } ;;
      esac
      ;;
  esac
done <"$WD_PULL_DIR/last.log"
# Failed before its job started (e.g. deploy_to is gone): no result line, only a reason.
if [ -z "$result" ]; then result=failed; fi
reason=${reason//$'\t'/ }
printf '%s\t%s\t%s\t%s\t%ss\t%s\n' "$t" "$result" "${rev:--}" "$rc" "$((SECONDS - started))" "$reason" >"$WD_PULL_DIR/last.tmp"
mv -f -- "$WD_PULL_DIR/last.tmp" "$WD_PULL_DIR/last"
exit "$rc"
WD_PULL_EOF_9af8fc9e269aaf6c
  mv -f -- "$1/run.sh.tmp" "$1/run.sh"
}
wd_pull_install </dev/null
exit
}
