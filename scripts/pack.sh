#!/usr/bin/env bash
# Packs R1Sharp: the libraries as NuGet packages (with .snupkg symbols) and the `r1sharp` dotnet tool, into one folder.
#
#   scripts/pack.sh                                   # artifacts/packages; the tool for linux-x64, win-x64 and osx-arm64
#   scripts/pack.sh --output DIR --rid linux-x64      # another folder; the tool for these platforms only (--rid repeats)
#   scripts/pack.sh --build DIR                       # build under DIR instead of artifacts/build
#   scripts/pack.sh -p:R1SharpTorchBackend=cuda       # other arguments go to dotnet pack (here: the tool with CUDA)
#
# Then: dotnet tool install -g r1sharp --add-source artifacts/packages   (docs/packaging.md)
#
# The tool is one small package `r1sharp` that points to one package per platform (`r1sharp.linux-x64`, …), each with
# only that platform's TorchSharp natives. Everything is built under the --build folder (its own obj/ and bin/), so the
# build folders of the repository are left as they are. The version is <Version> in Directory.Build.props
# (-p:Version=1.2.3-preview.1 packs another).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/artifacts/packages"
build="$root/artifacts/build"
rids=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --output|-o) out="$2"; shift 2 ;;
    --rid|-r) rids+=("$2"); shift 2 ;;
    --build|-b) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 win-x64 osx-arm64)
mkdir -p "$out"
out="$(cd "$out" && pwd)"
mkdir -p "$build"
build="$(cd "$build" && pwd)"

# The packable projects (every project under src/), as a solution of their own: tests and benchmarks are not built.
{
  echo '<Solution>'
  for project in "$root"/src/*/*.csproj; do echo "  <Project Path=\"$project\" />"; done
  echo '</Solution>'
} > "$build/pack.slnx"

rid_list="$(IFS=,; echo "${rids[*]}")"
echo "packing R1Sharp into $out (the tool for $rid_list)"
dotnet pack "$build/pack.slnx" -c Release --artifacts-path "$build" -o "$out" -p:R1SharpToolRuntimes="$rid_list" -nologo ${extra[@]+"${extra[@]}"}
ls -1 "$out"
