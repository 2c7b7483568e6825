#!/usr/bin/env bash
# The whole suite: type check, lint, unit tests (against a real redis-server), the production build, then
# the browser tests against it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-tools.sh
npm run typecheck
npm run lint
npm run test:unit
npm run build
npm run test:e2e
