# wd 0.1.0: pull status script, run as 'bash -s' with this text on stdin. Values are only in the quoted assignments below.
{
set -euo pipefail
WD_MARK=::wd:f6254e6ff6bc61db::
WD_DEPLOY_TO=/srv/app
WD_STRATEGY=in_place
WD_ENVIRONMENT=prod
WD_PULL_SLUG=prod-
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
wd_lock_holder() {
  local h=
  # Held without a holder line: taken by something other than a wd run, or just now.
  if [ -f "$1/lock" ] && command -v flock >/dev/null 2>&1 && ! flock -n "$1/lock" true; then
    h=$(tr '\t' ' ' <"$1/lock")
    h=${h:-held by an unknown process}
  fi
  printf '%s' "$h"
}
wd_pull_status() {
  local state dir id sched=''
  state=$(wd_pull_state)
  if [ -z "$state" ]; then wd_mark status missing "$WD_DEPLOY_TO"; wd_mark 'done'; return 0; fi
  dir=$state/pull
  id=$(wd_pull_recorded_id "$state")
  id=${id:-$WD_PULL_ID}
  if [ -e "$(wd_pull_unit_dir)/$id.timer" ]; then
    sched=systemd
    if [ -z "${WD_PULL_TEST_SYSTEMD-}" ] && ! wd_systemctl is-active --quiet "$id.timer" 2>/dev/null; then sched='systemd (timer not active)'; fi
  elif command -v crontab >/dev/null 2>&1 && wd_crontab | grep -q -F -e "wd:$id"; then sched=cron
  fi
  wd_mark status scheduled "$sched"
  if [ -f "$dir/schedule" ]; then wd_mark status schedule "$(<"$dir/schedule")"; fi
  if [ -f "$dir/last" ]; then wd_mark status last "$(<"$dir/last")"; fi
  if [ -f "$state/history" ]; then wd_mark status last_pull "$(awk -F '\t' 'NF >= 9 && $2 ~ /^pull@/' "$state/history" | tail -n 1)"; fi
  wd_mark status lock "$(wd_lock_holder "$state")"
  wd_mark 'done'
}
wd_pull_status </dev/null
exit
}
