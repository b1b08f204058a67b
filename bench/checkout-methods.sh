#!/usr/bin/env bash
# How long a release checkout takes, three ways, from a bare repository:
#   bash bench/checkout-methods.sh REPO.git [RUNS]
# git worktree add --detach; git clone --shared + checkout; git archive | tar -x.
# Interleaved, RUNS times each (default 7); prints the median wall and CPU
# (user + system of every process) of making and of removing one release.
# Works in a temporary directory beside REPO (same file system), removed at the end.
set -euo pipefail
cache=$(cd -- "${1:?usage: checkout-methods.sh REPO.git [RUNS]}" && pwd)
runs=${2:-7}
[ "$(git -C "$cache" rev-parse --is-bare-repository)" = true ] || { echo "$cache is not a bare repository" >&2; exit 2; }
sha=$(git -C "$cache" rev-parse HEAD)
work=$(mktemp -d "$(dirname -- "$cache")/checkout-methods.XXXXXX")
trap 'rm -rf -- "$work"; git -C "$cache" worktree prune' EXIT
TIMEFORMAT='%R %U %S'
methods=(worktree shared archive)
for i in $(seq "$runs"); do
  for m in "${methods[@]}"; do
    d=$work/$m-$i
    { time {
      case $m in
        worktree) git -C "$cache" worktree add -q --detach "$d" "$sha" ;;
        shared) git clone -q --shared --no-checkout "$cache" "$d" && git -C "$d" checkout -q --detach "$sha" ;;
        archive) mkdir "$d" && git -C "$cache" archive "$sha" | tar -x -C "$d" ;;
      esac
    }; } 2>>"$work/$m.make"
    { time {
      rm -rf -- "$d"
      if [ "$m" = worktree ]; then git -C "$cache" worktree prune; fi
    }; } 2>>"$work/$m.rm"
  done
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf 'files: %s, runs: %s\n' "$(git -C "$cache" ls-tree -r --name-only "$sha" | wc -l)" "$runs"
for m in "${methods[@]}"; do
  for k in make rm; do
    printf '%-9s %-4s wall %ss  cpu %ss\n' "$m" "$k" "$(awk '{ print $1 }' "$work/$m.$k" | median)" "$(awk '{ print $2 + $3 }' "$work/$m.$k" | median)"
  done
done
