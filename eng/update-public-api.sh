#!/usr/bin/env bash
# Brings PublicAPI.Unshipped.txt in line with the code: appends every public symbol the PublicApiAnalyzers report as
# undeclared (RS0016) and removes every declared one they no longer find (RS0017).
set -euo pipefail
project_dir="${1:-src/TaskDispatch}"
unshipped="$project_dir/PublicAPI.Unshipped.txt"
log="$(mktemp)"
dotnet build "$project_dir" -p:TreatWarningsAsErrors=false --no-incremental 2>&1 > "$log" || true
grep -oP "RS0016: Symbol '\K.*?(?=' is not part of the declared public API)" "$log" \
  | sed "s/&lt;/</g; s/&gt;/>/g" | sort -u >> "$unshipped" || true
grep -oP "RS0017: Symbol '\K.*?(?=' is part of the declared API)" "$log" \
  | sed "s/&lt;/</g; s/&gt;/>/g" | sort -u > "$log.removed" || true
{ head -1 "$unshipped"; tail -n +2 "$unshipped" | grep -vxF -f "$log.removed" | sort -u; } > "$project_dir/PublicAPI.tmp"
mv "$project_dir/PublicAPI.tmp" "$unshipped"
rm -f "$log" "$log.removed"
