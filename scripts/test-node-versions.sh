#!/usr/bin/env bash
# Runs the server and client test suites on each Node major given (default
# 22 24 26), each taken from the npm registry by with-node.sh, one suite at a
# time (this machine has 2 cores), and prints the time of each run.
#
# The client suite runs whole on every major. The server suite is five
# minutes on 2 cores: it runs whole on the last (newest) major, and the
# others share it, each a shard of its files (vitest --shard), so every
# server file runs on at least two supported majors and the whole of CI
# stays under its 40-minute budget. `pnpm test` runs it all on this
# machine's Node as well.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[[ ${#majors[@]} -gt 0 ]] || majors=(22 24 26)
last=$(( ${#majors[@]} - 1 ))
for index in "${!majors[@]}"; do
  major=${majors[$index]}
  for pkg in server client; do
    start=$(date +%s)
    args=()
    if [[ $pkg == server && $index -lt $last ]]; then
      args=(--shard "$(( index + 1 ))/$last")
    fi
    scripts/with-node.sh "$major" bash -c 'cd "packages/$0" && node --version && npx vitest run --reporter=dot "$@"' "$pkg" "${args[@]}"
    echo "node $major, @redisse/$pkg${args[*]:+ (${args[*]})}: $(( $(date +%s) - start )) s"
  done
done
