# wd 0.1.0: deploy script
set -euo pipefail
exec </dev/null
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PREFIX GIT_QUARANTINE_PATH
export GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND="${GIT_SSH_COMMAND:-ssh -o BatchMode=yes}"
export WD_ENVIRONMENT=prod
export WD_HOST=deploy@web1.example.com
export WD_ROLES=''
export WD_DEPLOY_TO=/var/www/app
WD_REPOSITORY=git@github.com:example/app.git
WD_BRANCH=main
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
cd -- "$WD_DEPLOY_TO"
if [ -f Rakefile ]; then
  if ! command -v rake >/dev/null 2>&1; then
    echo "wd: Rakefile present but rake is not installed; skipped rake deploy:post_deploy" >&2
  elif rake -P 2>/dev/null | grep -x 'rake deploy:post_deploy' >/dev/null; then
    wd_step rake
    echo "Running rake deploy:post_deploy..."
    rake deploy:post_deploy to="$WD_ENVIRONMENT"
  fi
fi
printf '::wd:: done\n'
