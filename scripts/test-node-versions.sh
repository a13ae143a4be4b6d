#!/usr/bin/env bash
# Runs the server and client test suites on each Node major given (default
# 22 24 26), each taken from the npm registry by with-node.sh, one suite at a
# time (this machine has 2 cores), and prints the time of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
[[ ${#majors[@]} -gt 0 ]] || majors=(22 24 26)
for major in "${majors[@]}"; do
  for pkg in server client; do
    start=$(date +%s)
    scripts/with-node.sh "$major" bash -c "cd packages/$pkg && node --version && npx vitest run --reporter=dot"
    echo "node $major, @redisse/$pkg: $(( $(date +%s) - start )) s"
  done
done
