#!/usr/bin/env bash
# Starts Gatehouse for the end-to-end suite on a fresh SQLite database, with the test
# administrator created from the environment as an operator would.
set -euo pipefail
cd "$(dirname "$0")"
data=$(mktemp -d -t gatehouse-e2e-XXXXXX)
trap 'rm -rf "$data"' EXIT
export GATEHOUSE_DATA_DIR="$data"
export GATEHOUSE_ADMIN_EMAIL="e2e-admin@example.com"
export GATEHOUSE_ADMIN_PASSWORD="e2e password that is long"
"${GATEHOUSE_E2E_BINARY:?}"
