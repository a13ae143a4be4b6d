#!/usr/bin/env bash
# Runs the server and client test suites on each Node major given (default
# 22 24 26), each taken from the npm registry by with-node.sh, one suite at a
# time (this machine has 2 cores), and prints the time of each run.
#
# The server's Redis-topology fault suites (chaos, failover, cluster) test
# what Redis does under faults far more than what Node does, and they are a
# third of the suite's time. Each runs on one of the majors in turn, not on
# all of them, so every file still runs on a supported Node and the whole of
# CI stays under its 40-minute budget on 2 cores. `pnpm test` runs them all
# on this machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[[ ${#majors[@]} -gt 0 ]] || majors=(22 24 26)
rotating=(
  test/chaos.test.ts
  test/chaos-cluster.test.ts
  test/chaos-failover.test.ts
  test/issue-14-lagging-failover.test.ts
  test/issue-14-lagging-unchecked.test.ts
  test/issue-18-cluster-streams.test.ts
  test/issue-18-cluster-broker.test.ts
)
for file in "${rotating[@]}"; do
  [[ -f packages/server/$file ]] || { echo "test-node-versions.sh: $file is gone; update the list" >&2; exit 2; }
done
for index in "${!majors[@]}"; do
  major=${majors[$index]}
  excluded=()
  for file_index in "${!rotating[@]}"; do
    (( file_index % ${#majors[@]} == index )) || excluded+=(--exclude "${rotating[$file_index]}")
  done
  for pkg in server client; do
    start=$(date +%s)
    args=()
    [[ $pkg == server ]] && args=("${excluded[@]}")
    scripts/with-node.sh "$major" bash -c 'cd "packages/$0" && node --version && npx vitest run --reporter=dot "$@"' "$pkg" "${args[@]}"
    echo "node $major, @redisse/$pkg: $(( $(date +%s) - start )) s"
  done
done
