[ -n "${BASH_SOURCE[0]-}" ] || { eval "$(head -c 5768)"; exit; }
# wd 0.1.0: status script, run as 'bash -s' with this text on stdin (the line above reads the rest at once). Values are only in the quoted assignments below.
{
set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
WD_MARK=::wd:0382c62992fe01e1::
export WD_COMMAND=status
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com
export WD_ROLES=''
export WD_DEPLOY_TO=/var/www/app
export WD_REPOSITORY=git@github.com:example/app.git
export WD_BRANCH=main
WD_HISTORY_LINES=0
WD_SHARED=()
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
wd_lock_holder() {
  local h=
  # Held without a holder line: taken by something other than a wd run, or just now.
  if [ -f "$1/lock" ] && command -v flock >/dev/null 2>&1 && ! flock -n "$1/lock" true; then
    h=$(tr '\t' ' ' <"$1/lock")
    h=${h:-held by an unknown process}
  fi
  printf '%s' "$h"
}
wd_status_state() {
  local state=$1 line
  if [ -f "$state/deployed" ]; then wd_mark status deployed "$(<"$state/deployed")"; fi
  if [ -f "$state/history" ]; then
    wd_mark status last "$(tail -n 1 "$state/history")"
    wd_mark status last_ok "$(awk -F '\t' 'NF >= 9 && $8 == "ok"' "$state/history" | tail -n 1)"
    if [ "$WD_HISTORY_LINES" -gt 0 ]; then
      while IFS= read -r line; do wd_mark history "$line"; done < <(tail -n "$WD_HISTORY_LINES" "$state/history")
    fi
  fi
  wd_mark status lock "$(wd_lock_holder "$state")"
  # Pull mode (src/pull/script.ts): how it was installed, and its last run.
  if [ -f "$state/pull/schedule" ]; then wd_mark status pull "$(<"$state/pull/schedule")"; fi
  if [ -f "$state/pull/last" ]; then wd_mark status pull_last "$(<"$state/pull/last")"; fi
}
wd_status() {
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
  for n in "${WD_RELEASES[@]}"; do kept+="$n/"; done
  wd_mark status releases "${kept%/}"
  wd_mark status revision "$rev"
  if [ -n "$rev" ]; then wd_mark status subject "$(git -C repo log -1 --format=%s "$rev" -- | tr -d '\r')"; fi
  if [ -f "$state/history" ]; then wd_mark status branch "$(awk -F '\t' 'NF >= 9 && $8 == "ok" { b = $5 } END { print b }' "$state/history")"; fi
  # Links to shared/ replace what the release had there: not an edit.
  for p in "${WD_SHARED[@]}"; do ex+=(":(exclude,literal)$p"); done
  if [ -n "$live" ] && [ -e current/.git ]; then
    wd_mark status dirty "$(git -C current status --porcelain --untracked-files=no -- . "${ex[@]}" 2>/dev/null | wc -l | tr -d ' ')"
  fi
  ts=$(cd repo && git ls-remote -- "$WD_REPOSITORY" "refs/heads/$WD_BRANCH" 2>/dev/null) || ts=unreachable
  wd_mark status origin "${ts%%[[:space:]]*}"
  wd_status_state "$state"
  wd_mark 'done'
}
wd_status </dev/null
exit
}
