# wd 0.1.0: setup script
set -euo pipefail
exec </dev/null
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com:2222
export WD_ROLES=web:db
export WD_DEPLOY_TO="$HOME"/'apps/my app'\''s "dir"'
WD_REPOSITORY=git@github.com:example/app.git
WD_BRANCH='release/$(id>pwned)'
export WD_CONFIG_TO=/etc/app-config
WD_CONFIG_REPOSITORY=git@github.com:example/config.git
WD_CONFIG_BRANCH=live
WD_CONFIG_TARGET=web
wd_step() { WD_STEP=$1; printf '::wd:: step %s\n' "$1"; }
wd_fail() { printf 'wd: %s\n' "$*" >&2; exit 1; }
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
wd_step clone
mkdir -p -- "$(dirname -- "$WD_DEPLOY_TO")"
if [ -d "$WD_DEPLOY_TO/.git" ]; then
  echo "Repository already cloned to [$WD_DEPLOY_TO].  Skipping."
elif [ -e "$WD_DEPLOY_TO" ] && [ -n "$(ls -A -- "$WD_DEPLOY_TO")" ]; then
  wd_fail "$WD_DEPLOY_TO exists and is not a git checkout; move it away or point deploy_to elsewhere"
else
  git clone -q --branch="$WD_BRANCH" -- "$WD_REPOSITORY" "$WD_DEPLOY_TO"
fi
cd -- "$WD_DEPLOY_TO"
if [ -d .git ]; then WD_STATE=$PWD/.git/wd; else WD_STATE=$(git rev-parse --absolute-git-dir)/wd; fi
[ -d "$WD_STATE" ] || mkdir -p -- "$WD_STATE"
export WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"
: >"$WD_RSYNC_CHANGED_FILES"
git ls-files >"$WD_CHANGED_FILES"
wd_step config_clone
mkdir -p -- "$(dirname -- "$WD_CONFIG_TO")"
if [ -d "$WD_CONFIG_TO/.git" ]; then
  echo "Repository already cloned to [$WD_CONFIG_TO].  Skipping."
elif [ -e "$WD_CONFIG_TO" ] && [ -n "$(ls -A -- "$WD_CONFIG_TO")" ]; then
  wd_fail "$WD_CONFIG_TO exists and is not a git checkout; move it away or point deploy_config_to elsewhere"
else
  git clone -q --branch="$WD_CONFIG_BRANCH" -- "$WD_CONFIG_REPOSITORY" "$WD_CONFIG_TO"
fi
cd -- "$WD_DEPLOY_TO"
wd_step rsync
command -v rsync >/dev/null 2>&1 || wd_fail 'rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository'
[ -d "$WD_CONFIG_TO/$WD_CONFIG_TARGET" ] || wd_fail "config_target directory $WD_CONFIG_TARGET not found in $WD_CONFIG_TO"
rsync -a --checksum --out-format='%n' -- "$WD_CONFIG_TO/$WD_CONFIG_TARGET/" "$WD_DEPLOY_TO/" >"$WD_STATE/rsync.log"
grep -v '/$' "$WD_STATE/rsync.log" >"$WD_RSYNC_CHANGED_FILES" || true
export WD_REVISION=$(git rev-parse HEAD)
printf '::wd:: revision %s\n' "$WD_REVISION"
wd_step post_setup_script
cd -- "$WD_DEPLOY_TO"
WD_POST="$WD_DEPLOY_TO"/script/setup.sh
[ -f "$WD_POST" ] || wd_fail "post_setup_script not found: $WD_POST"
RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' bash "$WD_POST"
cd -- "$WD_DEPLOY_TO"
if [ -f Rakefile ]; then
  if ! command -v rake >/dev/null 2>&1; then
    echo "wd: Rakefile present but rake is not installed; skipped rake deploy:post_setup" >&2
  elif RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' rake -P 2>/dev/null | grep -x 'rake deploy:post_setup' >/dev/null; then
    wd_step rake
    echo "Running rake deploy:post_setup..."
    RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' rake deploy:post_setup to="$WD_ENVIRONMENT"
  fi
fi
printf '::wd:: done\n'
