[ -n "${BASH_SOURCE[0]-}" ] || { eval "$(head -c 2868)"; exit; }
# wd 0.1.0: status script, run as 'bash -s' with this text on stdin (the line above reads the rest at once). Values are only in the quoted assignments below.
{
set -euo pipefail
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
WD_MARK=::wd:9ef021ac78c3c8e6::
export WD_COMMAND=status
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com:2222
export WD_ROLES=web:db
export WD_DEPLOY_TO="$HOME"/'apps/my app'\''s "dir"'
export WD_REPOSITORY=git@github.com:example/app.git
export WD_BRANCH='release/$(id>pwned)'
WD_HISTORY_LINES=0
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
  local head state ts
  wd_step status
  if [ ! -e "$WD_DEPLOY_TO/.git" ]; then wd_mark status missing "$WD_DEPLOY_TO"; wd_mark 'done'; return 0; fi
  cd -- "$WD_DEPLOY_TO"
  state=$(git rev-parse --absolute-git-dir)/wd
  head=$(git rev-parse --verify -q HEAD || true)
  wd_mark status revision "$head"
  if [ -n "$head" ]; then wd_mark status subject "$(git log -1 --format=%s "$head" -- | tr -d '\r')"; fi
  wd_mark status branch "$(git symbolic-ref -q --short HEAD || echo '(detached)')"
  wd_mark status dirty "$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' ')"
  ts=$(git ls-remote -- "$WD_REPOSITORY" "refs/heads/$WD_BRANCH" 2>/dev/null) || ts=unreachable
  wd_mark status origin "${ts%%[[:space:]]*}"
  wd_status_state "$state"
  wd_mark 'done'
}
wd_status </dev/null
exit
}
