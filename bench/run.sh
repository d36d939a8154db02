#!/usr/bin/env bash
# `npm run bench [-- scenario… | --cpu-prof]`. 10,000 SSE sockets need more descriptors than the
# default soft limit, so raise it to the hard limit first; then run on the project's own Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
exec ./node_modules/.bin/node bench/run.ts "$@"
