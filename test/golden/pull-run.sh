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
