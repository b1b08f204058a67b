# wd 0.1.0: deploy script
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
wd_step cd
[ -d "$WD_DEPLOY_TO/.git" ] || wd_fail "no git checkout at $WD_DEPLOY_TO; run 'wd setup $WD_ENVIRONMENT' first"
cd -- "$WD_DEPLOY_TO"
export WD_PREVIOUS_REVISION=$(git rev-parse --verify -q HEAD || true)
printf '::wd:: previous %s\n' "$WD_PREVIOUS_REVISION"
[ "$(git config --get remote.origin.url)" = "$WD_REPOSITORY" ] || git remote set-url origin "$WD_REPOSITORY"
[ -d "$WD_CONFIG_TO/.git" ] || wd_fail "no git checkout at $WD_CONFIG_TO (deploy_config_to); run 'wd setup $WD_ENVIRONMENT' first"
(cd -- "$WD_CONFIG_TO" && { [ "$(git config --get remote.origin.url)" = "$WD_CONFIG_REPOSITORY" ] || git remote set-url origin "$WD_CONFIG_REPOSITORY"; })
wd_step check
WD_REMOTE=$(git ls-remote origin "refs/heads/$WD_BRANCH")
WD_REMOTE=${WD_REMOTE%%[[:space:]]*}
[ -n "$WD_REMOTE" ] || wd_fail "branch $WD_BRANCH not found in $WD_REPOSITORY"
WD_STALE=yes
if [ "$WD_REMOTE" = "$WD_PREVIOUS_REVISION" ]; then WD_STALE=; fi
WD_CONFIG_REMOTE=$(cd -- "$WD_CONFIG_TO" && git ls-remote origin "refs/heads/$WD_CONFIG_BRANCH")
WD_CONFIG_REMOTE=${WD_CONFIG_REMOTE%%[[:space:]]*}
if [ "$WD_CONFIG_REMOTE" != "$(cd -- "$WD_CONFIG_TO" && git rev-parse --verify -q HEAD)" ]; then WD_STALE=yes; fi
if [ -z "$WD_STALE" ]; then
  echo "No changes to deploy."
  printf '::wd:: unchanged\n'
  exit 0
fi
wd_step fetch
cd -- "$WD_DEPLOY_TO"
git fetch -q origin "+refs/heads/$WD_BRANCH:refs/remotes/origin/$WD_BRANCH"
WD_HEAD=; [ ! -f .git/HEAD ] || read -r WD_HEAD <.git/HEAD
if [ "$WD_HEAD" != "ref: refs/heads/$WD_BRANCH" ]; then
  if git show-ref --verify -q "refs/heads/$WD_BRANCH"; then git checkout -q -f "$WD_BRANCH" --; else git checkout -q -f -b "$WD_BRANCH" "origin/$WD_BRANCH" --; fi
fi
git reset -q --hard "origin/$WD_BRANCH"
export WD_REVISION=$(git rev-parse HEAD)
printf '::wd:: revision %s\n' "$WD_REVISION"
wd_step changes
cd -- "$WD_DEPLOY_TO"
if [ -d .git ]; then WD_STATE=$PWD/.git/wd; else WD_STATE=$(git rev-parse --absolute-git-dir)/wd; fi
[ -d "$WD_STATE" ] || mkdir -p -- "$WD_STATE"
export WD_CHANGED_FILES="$WD_STATE/changed-git" WD_RSYNC_CHANGED_FILES="$WD_STATE/changed-rsync"
: >"$WD_RSYNC_CHANGED_FILES"
if [ -z "$WD_PREVIOUS_REVISION" ] || ! git diff --name-only --no-renames "$WD_PREVIOUS_REVISION" "$WD_REVISION" -- >"$WD_CHANGED_FILES" 2>/dev/null; then
  git ls-files >"$WD_CHANGED_FILES"
fi
TZ=UTC0 printf -v WD_NOW '%(%Y-%m-%dT%H:%M:%SZ)T' -1
printf '%s %s %s %s\n' "$WD_NOW" "${WD_PREVIOUS_REVISION:--}" "$WD_REVISION" "$WD_BRANCH" >>"$WD_STATE/history"
wd_step config
cd -- "$WD_CONFIG_TO"
git fetch -q origin "+refs/heads/$WD_CONFIG_BRANCH:refs/remotes/origin/$WD_CONFIG_BRANCH"
WD_HEAD=; [ ! -f .git/HEAD ] || read -r WD_HEAD <.git/HEAD
if [ "$WD_HEAD" != "ref: refs/heads/$WD_CONFIG_BRANCH" ]; then
  if git show-ref --verify -q "refs/heads/$WD_CONFIG_BRANCH"; then git checkout -q -f "$WD_CONFIG_BRANCH" --; else git checkout -q -f -b "$WD_CONFIG_BRANCH" "origin/$WD_CONFIG_BRANCH" --; fi
fi
git reset -q --hard "origin/$WD_CONFIG_BRANCH"
cd -- "$WD_DEPLOY_TO"
wd_step rsync
command -v rsync >/dev/null 2>&1 || wd_fail 'rsync is not installed on this host; install it (e.g. apt-get install rsync) to use config_repository'
[ -d "$WD_CONFIG_TO/$WD_CONFIG_TARGET" ] || wd_fail "config_target directory $WD_CONFIG_TARGET not found in $WD_CONFIG_TO"
rsync -a --checksum --out-format='%n' -- "$WD_CONFIG_TO/$WD_CONFIG_TARGET/" "$WD_DEPLOY_TO/" >"$WD_STATE/rsync.log"
grep -v '/$' "$WD_STATE/rsync.log" >"$WD_RSYNC_CHANGED_FILES" || true
wd_step post_deploy_script
cd -- "$WD_DEPLOY_TO"
WD_POST='/opt/hooks/after deploy.sh'
[ -f "$WD_POST" ] || wd_fail "post_deploy_script not found: $WD_POST"
RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' bash "$WD_POST"
cd -- "$WD_DEPLOY_TO"
if [ -f Rakefile ]; then
  if ! command -v rake >/dev/null 2>&1; then
    echo "wd: Rakefile present but rake is not installed; skipped rake deploy:post_deploy" >&2
  elif RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' rake -P 2>/dev/null | grep -x 'rake deploy:post_deploy' >/dev/null; then
    wd_step rake
    echo "Running rake deploy:post_deploy..."
    RAILS_ENV=production MESSAGE='it'\''s $(not) `run`' rake deploy:post_deploy to="$WD_ENVIRONMENT"
  fi
fi
printf '::wd:: done\n'
