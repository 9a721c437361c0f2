#!/usr/bin/env bash
# Sets up what the tests need (system packages from scripts/system-packages.txt), then runs them.
#   ./test.sh                 all tests
#   ./test.sh --filter Name   any extra arguments go to dotnet test
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-system-packages.sh
dotnet test R1Sharp.slnx -c Release "$@"
