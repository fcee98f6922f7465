#!/usr/bin/env bash
# Systematic concurrency tests of TaskDispatch with Microsoft.Coyote.
#
# Builds tests/TaskDispatch.CoyoteTests (and TaskDispatch with -p:CoyoteBuild=true, which drops the pooling async
# builder that Coyote 1.7.11 cannot rewrite) into artifacts/coyote, rewrites TaskDispatch.dll and the test assembly
# with `coyote rewrite`, and runs every test for COYOTE_ITERATIONS iterations (default 1000, about 25 s on 2 cores).
# Exits non-zero when Coyote finds a bug; the reproducible traces are written to artifacts/coyote/traces.
#
# Usage: eng/coyote-test.sh [iterations] [test-name-filter]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

iterations="${1:-${COYOTE_ITERATIONS:-1000}}"
filter="${2:-}"
artifacts="$root/artifacts/coyote"
out="$artifacts/bin/TaskDispatch.CoyoteTests/debug"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export COYOTE_CLI_TELEMETRY_OPT_OUT=1
export DOTNET_NOLOGO=1

start=$(date +%s)

# The coyote tool (Microsoft.Coyote.CLI 1.7.11) targets net6.0/net8.0; the manifest lets it roll forward to net10.
dotnet tool restore >/dev/null

dotnet build tests/TaskDispatch.CoyoteTests -c Debug -p:CoyoteBuild=true --artifacts-path "$artifacts" -nologo -v:q

cat >"$out/rewrite.coyote.json" <<'JSON'
{
  "AssembliesPath": ".",
  "Assemblies": [ "TaskDispatch.dll", "TaskDispatch.CoyoteTests.dll" ]
}
JSON
# Rewriting an already rewritten assembly is refused by the test runner's check, and the build above only copies
# fresh assemblies when they changed: rewrite into a separate folder every time.
rewritten="$artifacts/rewritten"
rm -rf "$rewritten"
cp -r "$out" "$rewritten"
dotnet coyote rewrite "$rewritten/rewrite.coyote.json"

set +e
COYOTE_TRACE_DIR="$artifacts/traces" dotnet "$rewritten/TaskDispatch.CoyoteTests.dll" "$iterations" $filter \
    | grep -v -E '^\.\.\.|^\.\.\.\.\.|^\[coyote::'
status=${PIPESTATUS[0]}
set -e

echo "coyote-test: $(( $(date +%s) - start ))s in all (build, rewrite and run), exit code $status"
exit "$status"
