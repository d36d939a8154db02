#!/usr/bin/env bash
# `npm run bench [-- scenario… | --cpu-prof | --quick]`. 10,000 SSE sockets need more descriptors than the
# default soft limit, so raise it to the hard limit first; then run on the project's own Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
# 50,000 streams (sse-50k) need more still: raise the hard limit too where that is allowed (as root,
# outside a container that forbids it); sse-50k says how many streams the limit left room for.
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 60000 ]; then ulimit -Hn 60000 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)"
exec ./node_modules/.bin/node bench/run.ts "$@"
