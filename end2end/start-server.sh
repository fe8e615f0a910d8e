#!/usr/bin/env bash
# Starts Gatehouse for the end-to-end suite on a fresh SQLite database.
#   start-server.sh           with the test administrator, created from the environment
#   start-server.sh fresh     with no administrator: Gatehouse prints a one-time setup link,
#                             which is also written to .state/setup-link for the tests
set -euo pipefail
cd "$(dirname "$0")"
data=$(mktemp -d -t gatehouse-e2e-XXXXXX)
trap 'rm -rf "$data"' EXIT
export GATEHOUSE_DATA_DIR="$data"
if [ "${1:-}" = fresh ]; then
  mkdir -p .state
  rm -f .state/setup-link
  "${GATEHOUSE_E2E_BINARY:?}" 2> >(tee >(grep --line-buffered -o 'http://[^ ]*/console/setup?token=[A-Za-z0-9_-]*' | head -n1 > .state/setup-link) >&2)
else
  export GATEHOUSE_ADMIN_EMAIL="e2e-admin@example.com"
  export GATEHOUSE_ADMIN_PASSWORD="e2e password that is long"
  # The test IdP (start-idp.sh) serves its metadata over plain http on loopback.
  export GATEHOUSE_METADATA_ALLOW_PRIVATE=true
  "${GATEHOUSE_E2E_BINARY:?}"
fi
