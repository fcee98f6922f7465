#!/usr/bin/env bash
# Appends every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to PublicAPI.Unshipped.txt.
set -euo pipefail
project_dir="${1:-src/TaskDispatch}"
dotnet build "$project_dir" -p:TreatWarningsAsErrors=false 2>&1 \
  | grep -oP "RS0016: Symbol '\K.*?(?=' is not part of the declared public API)" \
  | sed "s/&lt;/</g; s/&gt;/>/g" | sort -u >> "$project_dir/PublicAPI.Unshipped.txt" || true
{ head -1 "$project_dir/PublicAPI.Unshipped.txt"; tail -n +2 "$project_dir/PublicAPI.Unshipped.txt" | sort -u; } > "$project_dir/PublicAPI.tmp"
mv "$project_dir/PublicAPI.tmp" "$project_dir/PublicAPI.Unshipped.txt"
