#!/usr/bin/env bash
# Build the real-world manifest corpus the tests read (tests/corpus.py), for a clone that has
# no ../shared/corpus beside it. It fetches three public repositories at pinned commits and
# copies their YAML files, leaving out Helm templates (files containing '{{') and anything
# under .github/ — the same selection as the shared corpus, file for file.
#
#   bash scripts/fetch-corpus.sh [DEST]      # DEST defaults to .cache/corpus
#
# Needs git and network access to github.com (CORPUS_GIT_BASE names another host or a local
# folder of OWNER/NAME.git mirrors). Safe to re-run: DEST is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.cache/corpus}

# owner/name commit licence
SOURCES=(
  "GoogleCloudPlatform/microservices-demo 486f54467750cefc5360999c3c82450770c239fb Apache-2.0"
  "stefanprodan/podinfo eec06d1ea459af4cb4e10e806f8be7c7bd58b361 Apache-2.0"
  "fluxcd/flux2-kustomize-helm-example 4f1a5b1051b469108d1bdf0ebec6c814427e3834 Apache-2.0"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$dest/manifests"
mkdir -p "$dest/manifests"

for source in "${SOURCES[@]}"; do
  read -r repo commit licence <<<"$source"
  folder="$dest/manifests/${repo/\//+}"
  git="git -C $work/$repo -c gc.auto=0 -c maintenance.auto=false"
  git init -q "$work/$repo"
  $git remote add origin "${CORPUS_GIT_BASE:-https://github.com}/$repo.git"
  # Tree only, then the YAML blobs in one batch: the repositories' other files never come.
  $git fetch -q --depth 1 --filter=blob:none origin "$commit"
  $git ls-tree -r --name-only FETCH_HEAD | grep -E '\.ya?ml$' | grep -v '^\.github/' >"$work/paths"
  $git checkout -q FETCH_HEAD --pathspec-from-file="$work/paths"
  while IFS= read -r path; do
    $git cat-file blob "FETCH_HEAD:$path" | grep -qF '{{' && continue
    mkdir -p "$folder/$(dirname "$path")"
    $git cat-file blob "FETCH_HEAD:$path" >"$folder/$path"  # the bytes as committed
  done <"$work/paths"
  echo "$repo@$commit ($licence): $(find "$folder" -type f | wc -l) files"
done
printf "%s\n" "${SOURCES[@]}" >"$dest/SOURCES.txt"
echo "corpus built in $dest/manifests; the tests find it there"
