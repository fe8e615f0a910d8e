#!/usr/bin/env bash
# Starts the test SAML identity provider (npm saml-idp, signing with node's xml-crypto: a
# different implementation from Gatehouse's xmlsec) on loopback for the sign-in tests.
# Its key pair in test-idp/ exists only for tests. Audience and ACS are set per test through
# its /settings form, since each authentication profile has its own.
set -euo pipefail
cd "$(dirname "$0")"
exec node node_modules/saml-idp/bin/run.js \
  --host 127.0.0.1 --port "${GATEHOUSE_E2E_IDP_PORT:-3402}" \
  --issuer urn:gatehouse:test-idp \
  --cert test-idp/idp-public-cert.pem --key test-idp/idp-private-key.pem \
  --acsUrl http://127.0.0.1:3400/saml/unset/acs \
  --audience http://127.0.0.1:3400/saml/unset/metadata
