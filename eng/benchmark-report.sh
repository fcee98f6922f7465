#!/usr/bin/env bash
# Runs the whole benchmark suite and regenerates what docs/benchmarks.md shows: the result tables
# (docs/benchmark-results/*.md, BenchmarkDotNet's GitHub-flavoured reports) and the charts (docs/images/*.png).
#
# Usage: eng/benchmark-report.sh [job] [filter...]   e.g. eng/benchmark-report.sh Short '*Throughput*'
# The job defaults to Short (3 warm-ups, 3 iterations). Benchmarks run in-process (no child process per class), which
# keeps the whole suite to about 15 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

job="${1:-Short}"
shift || true
filters=("$@")
if [ "${#filters[@]}" -eq 0 ]; then
  filters=('*')
fi

artifacts="$root/artifacts/benchmarks"
mkdir -p "$artifacts"
started="$artifacts/.started"
touch "$started"
dotnet build -c Release benchmarks/TaskDispatch.Benchmarks -nologo -v:q
dotnet build -c Release eng/BenchmarkCharts -nologo -v:q
dotnet run -c Release --no-build --project benchmarks/TaskDispatch.Benchmarks -- \
  --filter "${filters[@]}" --job "$job" --inProcess --exporters csv github --artifacts "$artifacts"

mkdir -p docs/benchmark-results
# Only the reports of this run: older ones in the artifacts folder describe other code.
find "$artifacts/results" -name '*-report-github.md' -newer "$started" -exec cp {} docs/benchmark-results/ \;
dotnet run -c Release --no-build --project eng/BenchmarkCharts -- "$artifacts/results" docs/images
echo "benchmark-report: tables in docs/benchmark-results, charts in docs/images"
