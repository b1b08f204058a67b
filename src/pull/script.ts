// Pull mode's host scripts, pure like src/script.ts: the installer, the
// uninstaller and the status probe that `wd pull` sends over SSH, and the two
// files the installer leaves on the host under <state dir>/pull/:
//   deploy.sh   the deploy script wd generates for that host (src/script.ts),
//               with the staleness check on: its lock, history and log are a
//               pushed deploy's
//   run.sh      what the timer or crontab entry runs: a minimal environment
//               made usable (HOME, PATH), then deploy.sh with no stdin, and the
//               outcome written to `last` (skipped runs too, so a quiet fleet
//               still shows it is alive)
// Nothing else goes on the host: no node, no wd.
import { createHash } from 'node:crypto';
import { TOKEN_PLACEHOLDER, withToken } from '../marks.js';
import type { HostPlan } from '../plan.js';
import { quote, quotePath } from '../quote.js';
import { buildScript, LOCK_HOLDER, MARK_HELPERS, type BuiltScript } from '../script.js';
import { VERSION } from '../version.js';
import { cronTimes, everyText, onCalendar, pullSlug } from './schedule.js';

export type PullAction = 'install' | 'uninstall' | 'status';

/** The history's "by" for a pulled run: the host as the config names it, without user or port. */
export function pullBy(hostName: string): string {
  const at = hostName.lastIndexOf('@');
  const host = (at >= 0 ? hostName.slice(at + 1) : hostName).replace(/:[0-9]+$/, '');
  return `pull@${host}`.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** The deploy a pull runs: the plan's, with the staleness check, failing fast on a held lock, by pull@host. */
export function pulledDeploy(plan: HostPlan): BuiltScript {
  return buildScript({ ...plan, action: 'deploy', run: { ...plan.run, check: true, debug: false, waitLock: 0, by: pullBy(plan.host.name) } });
}

/** run.sh: the schedule's entry point. `mark` is deploy.sh's marker prefix, read back from its output. */
export function runnerScript(plan: HostPlan, mark: string): string {
  return `#!/bin/bash
# wd ${VERSION}: pull mode's entry point for environment ${quote(plan.environment).replace(/\n/g, '?')}, run by its
# systemd timer or crontab entry ('wd pull install' writes it, 'wd pull uninstall'
# removes it). It runs deploy.sh beside it, which deploys only when the branch
# has moved, and writes the outcome to 'last' beside it (and the whole output
# to last.log). Usage: bash run.sh [MAX_DELAY_SECONDS]: cron passes the
# interval, so each host waits a random part of it and a fleet does not fetch
# at the same second (systemd's timer does that itself: RandomizedDelaySec).
set -u
WD_PULL_MARK=${quote(mark)}
case $0 in */*) WD_PULL_DIR=\${0%/*} ;; *) WD_PULL_DIR=. ;; esac
WD_PULL_DIR=$(cd -- "$WD_PULL_DIR" && pwd -P) || exit 1
# cron and systemd start this with next to no environment: the login's HOME,
# and the PATH the SSH session that installed it had (where git was found).
if [ -z "\${HOME-}" ]; then HOME=~; fi
export HOME
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ -s "$WD_PULL_DIR/path" ]; then PATH=$(<"$WD_PULL_DIR/path"):$PATH; fi
export PATH
# A relative deploy_to is relative to the login directory, as over SSH.
cd -- "$HOME" || exit 1
# One pull at a time: a run still going when the next is due lets it pass.
exec 7>>"$WD_PULL_DIR/run.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 7; then exit 0; fi
if [ -n "\${1-}" ] && [ "$1" -gt 1 ] 2>/dev/null; then sleep "$(((RANDOM * 32768 + RANDOM) % $1))"; fi
TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
started=$SECONDS rc=0 result='' rev='' reason=''
# The lock is deploy.sh's, the same as a pushed deploy's: a push and a pull never run at once.
bash "$WD_PULL_DIR/deploy.sh" </dev/null >"$WD_PULL_DIR/last.log" 2>&1 7>&- || rc=$?
while IFS= read -r line; do
  case $line in
    *"$WD_PULL_MARK "*)
      line=\${line#*"$WD_PULL_MARK "}
      case $line in
        "result "*) result=\${line#result } ;;
        "revision "*) rev=\${line#revision } ;;
        "reason "*) reason=\${line#reason } ;;
      esac
      ;;
  esac
done <"$WD_PULL_DIR/last.log"
# Failed before its job started (e.g. deploy_to is gone): no result line, only a reason.
if [ -z "$result" ]; then result=failed; fi
reason=\${reason//$'\\t'/ }
printf '%s\\t%s\\t%s\\t%s\\t%ss\\t%s\\n' "$t" "$result" "\${rev:--}" "$rc" "$((SECONDS - started))" "$reason" >"$WD_PULL_DIR/last.tmp"
mv -f -- "$WD_PULL_DIR/last.tmp" "$WD_PULL_DIR/last"
exit "$rc"
`;
}

// A heredoc delimiter the text cannot contain: a hash of the text itself.
function heredoc(path: string, text: string): string {
  const end = `WD_PULL_EOF_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
  return `  cat >"${path}.tmp" <<'${end}'\n${text.endsWith('\n') ? text : `${text}\n`}${end}\n  mv -f -- "${path}.tmp" "${path}"`;
}

export interface PullScriptOptions {
  /** install: seconds between runs (src/pull/schedule.ts). */
  every?: number;
}

/** The script `wd pull install|uninstall|status` runs on one host. */
export function pullScript(plan: HostPlan, action: PullAction, o: PullScriptOptions = {}): BuiltScript {
  const L = [
    `# wd ${VERSION}: pull ${action} script, run as 'bash -s' with this text on stdin. Values are only in the quoted assignments below.`,
    '{',
    'set -euo pipefail',
    `WD_MARK=::wd:${TOKEN_PLACEHOLDER}::`,
    `WD_DEPLOY_TO=${quotePath(plan.deployTo)}`,
    `WD_STRATEGY=${quote(plan.strategy)}`,
    `WD_ENVIRONMENT=${quote(plan.environment)}`,
    `WD_PULL_SLUG=${quote(pullSlug(plan.environment))}`,
  ];
  if (action === 'install') {
    const every = o.every ?? 300;
    const deploy = pulledDeploy(plan);
    L.push(
      `WD_PULL_EVERY=${every}`,
      `WD_PULL_EVERY_TEXT=${quote(everyText(every))}`,
      `WD_PULL_CRON=${quote(cronTimes(every))}`,
      `WD_PULL_CALENDAR=${quote(onCalendar(every))}`,
      `WD_PULL_BY=${quote(plan.run.by)}`,
      COMMON,
      INSTALL,
      'wd_pull_files() {',
      heredoc('$1/deploy.sh', deploy.text),
      heredoc('$1/run.sh', runnerScript(plan, deploy.mark)),
      '}',
      'wd_pull_install </dev/null',
    );
  } else if (action === 'uninstall') {
    L.push(COMMON, UNINSTALL, 'wd_pull_uninstall </dev/null');
  } else {
    L.push(COMMON, STATUS, 'wd_pull_status </dev/null');
  }
  L.push('exit', '}');
  const { script, mark } = withToken(L.join('\n') + '\n');
  return { text: script, mark };
}

/** What install, uninstall and status share: finding the state directory and the schedules. */
const COMMON = `${MARK_HELPERS}
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
  h=$(printf '%s\\0%s' "$WD_ENVIRONMENT" "$(wd_pull_abs)" | sha256sum)
  printf 'wd-pull-%s%s' "$WD_PULL_SLUG" "\${h:0:12}"
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
  if [ -n "\${WD_PULL_TEST_SYSTEMD-}" ]; then printf '%s' "$WD_PULL_TEST_SYSTEMD"
  elif [ "$(id -u)" = 0 ]; then printf /etc/systemd/system
  else printf '%s/systemd/user' "\${XDG_CONFIG_HOME:-$HOME/.config}"
  fi
}
wd_systemctl() {
  if [ -n "\${WD_PULL_TEST_SYSTEMD-}" ]; then return 0; fi
  if [ "$(id -u)" = 0 ]; then systemctl "$@"; else systemctl --user "$@"; fi
}
# systemd when it is running here (and answers this login), cron otherwise.
wd_pull_scheduler() {
  if [ -n "\${WD_PULL_TEST_SYSTEMD-}" ]; then printf systemd
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
      kept=$(printf '%s\\n' "$kept" | grep -v -F -e "wd:$id" || true)
      gone+=("$id")
    fi
  done
  if [ \${#gone[@]} -gt 0 ]; then
    if [ -z "$kept" ]; then crontab -r; else printf '%s\\n' "$kept" | crontab -; fi
    echo "Removed the crontab entry \${gone[*]}."
  fi
}
# The id an earlier install recorded in pull/schedule (scheduler, every, id, time, by).
wd_pull_recorded_id() {
  local f=$1/pull/schedule line
  [ -f "$f" ] || return 0
  IFS= read -r line <"$f" || true
  IFS=$'\\t' read -r _ _ line _ <<<"$line" || true
  case $line in wd-pull-*) printf '%s' "$line" ;; esac
}
WD_PULL_ID=$(wd_pull_id)`;

const INSTALL = `# A word for a unit's ExecStart=: double-quoted, backslashes and quotes
# escaped, systemd's specifier (%) and variable ($) signs doubled.
wd_sd_word() {
  local s=$1 b='\\' q='"' p='%' d='$'
  s=\${s//"$b"/"$b$b"}
  s=\${s//"$q"/"$b$q"}
  s=\${s//"$p"/"$p$p"}
  s=\${s//"$d"/"$d$d"}
  printf '"%s"' "$s"
}
# A word for a crontab command: single-quoted for sh, and % escaped (cron
# would make it a newline).
wd_cron_word() {
  local s=$1 q="'" p='%'
  s="'\${s//"$q"/"$q\\\\$q$q"}'"
  printf '%s' "\${s//"$p"/"\\\\$p"}"
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
  wd_pull_unschedule "$WD_PULL_ID" \${old:+"$old"} >/dev/null
  (umask 077 && mkdir -p -- "$dir")
  wd_pull_files "$dir"
  chmod 700 -- "$dir/deploy.sh" "$dir/run.sh"
  printf '%s\\n' "$PATH" >"$dir/path"
  TZ=UTC0 printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' -1
  if [ "$sched" = systemd ]; then
    unit_dir=$(wd_pull_unit_dir)
    mkdir -p -- "$unit_dir"
    # KillMode=process: a daemon a post script starts (nohup ... &) outlives the run, as under cron or SSH.
    printf '%s\\n' '[Unit]' "Description=wd pull mode: $WD_PULL_ID" '' '[Service]' 'Type=oneshot' 'KillMode=process' \\
      "ExecStart=$(wd_sd_word "$bash_path") $(wd_sd_word "$dir/run.sh")" >"$unit_dir/$WD_PULL_ID.service.tmp"
    printf '%s\\n' '[Unit]' "Description=wd pull mode: $WD_PULL_ID, every $WD_PULL_EVERY_TEXT" '' '[Timer]' "OnCalendar=$WD_PULL_CALENDAR" \\
      "RandomizedDelaySec=$WD_PULL_EVERY" 'AccuracySec=1s' '' '[Install]' 'WantedBy=timers.target' >"$unit_dir/$WD_PULL_ID.timer.tmp"
    mv -f -- "$unit_dir/$WD_PULL_ID.service.tmp" "$unit_dir/$WD_PULL_ID.service"
    mv -f -- "$unit_dir/$WD_PULL_ID.timer.tmp" "$unit_dir/$WD_PULL_ID.timer"
    wd_systemctl daemon-reload || wd_fail "systemctl daemon-reload failed (its message is above); the units are in $unit_dir"
    wd_systemctl enable "$WD_PULL_ID.timer" >/dev/null 2>&1 || wd_fail "could not enable $unit_dir/$WD_PULL_ID.timer (systemctl enable failed)"
    wd_systemctl restart "$WD_PULL_ID.timer" || wd_fail "could not start $unit_dir/$WD_PULL_ID.timer (systemctl's message is above)"
    if [ "$(id -u)" = 0 ]; then sched=systemd-system; else sched=systemd-user; fi
    echo "Installed the systemd timer $unit_dir/$WD_PULL_ID.timer: every $WD_PULL_EVERY_TEXT, each run a random 0-\${WD_PULL_EVERY}s late."
    if [ "$sched" = systemd-user ] && [ ! -e "/var/lib/systemd/linger/$user" ]; then
      echo "Note: a user timer runs only while $user is logged in; to run it always: loginctl enable-linger $user"
    fi
  else
    { wd_crontab; printf '%s\\n' "# wd:$WD_PULL_ID pull mode, every $WD_PULL_EVERY_TEXT: written by 'wd pull install', removed by 'wd pull uninstall'" \\
      "$WD_PULL_CRON $(wd_cron_word "$bash_path") $(wd_cron_word "$dir/run.sh") $WD_PULL_EVERY # wd:$WD_PULL_ID"; } | crontab -
    echo "Installed a crontab entry for $user: every $WD_PULL_EVERY_TEXT, each run a random 0-\${WD_PULL_EVERY}s late."
  fi
  printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$sched" "$WD_PULL_EVERY" "$WD_PULL_ID" "$t" "$WD_PULL_BY" >"$dir/schedule"
  echo "Pull mode is on: $dir/run.sh deploys $WD_DEPLOY_TO when its branch moves."
  wd_mark status scheduler "$sched"
  wd_mark status every "$WD_PULL_EVERY"
  wd_mark status id "$WD_PULL_ID"
  wd_mark status dir "$dir"
  wd_mark 'done'
}`;

const UNINSTALL = `wd_pull_uninstall() {
  local state old said
  state=$(wd_pull_state)
  old=
  if [ -n "$state" ]; then old=$(wd_pull_recorded_id "$state"); fi
  if [ "$old" = "$WD_PULL_ID" ]; then old=; fi
  wd_crontab_lock
  said=$(wd_pull_unschedule "$WD_PULL_ID" \${old:+"$old"})
  if [ -n "$said" ]; then printf '%s\\n' "$said"; fi
  if [ -n "$state" ] && [ -e "$state/pull" ]; then
    rm -rf -- "$state/pull"
    echo "Removed $state/pull (the pull script and its state)."
    said=x
  fi
  if [ -z "$said" ]; then echo "Pull mode was not installed here: nothing to remove."; wd_mark status removed no
  else wd_mark status removed yes
  fi
  wd_mark 'done'
}`;

const STATUS = `${LOCK_HOLDER}
wd_pull_status() {
  local state dir id sched=''
  state=$(wd_pull_state)
  if [ -z "$state" ]; then wd_mark status missing "$WD_DEPLOY_TO"; wd_mark 'done'; return 0; fi
  dir=$state/pull
  id=$(wd_pull_recorded_id "$state")
  id=\${id:-$WD_PULL_ID}
  if [ -e "$(wd_pull_unit_dir)/$id.timer" ]; then
    sched=systemd
    if [ -z "\${WD_PULL_TEST_SYSTEMD-}" ] && ! wd_systemctl is-active --quiet "$id.timer" 2>/dev/null; then sched='systemd (timer not active)'; fi
  elif command -v crontab >/dev/null 2>&1 && wd_crontab | grep -q -F -e "wd:$id"; then sched=cron
  fi
  wd_mark status scheduled "$sched"
  if [ -f "$dir/schedule" ]; then wd_mark status schedule "$(<"$dir/schedule")"; fi
  if [ -f "$dir/last" ]; then wd_mark status last "$(<"$dir/last")"; fi
  if [ -f "$state/history" ]; then wd_mark status last_pull "$(awk -F '\\t' 'NF >= 9 && $2 ~ /^pull@/' "$state/history" | tail -n 1)"; fi
  wd_mark status lock "$(wd_lock_holder "$state")"
  wd_mark 'done'
}`;
