#!/usr/bin/env bash
# Checks that openapi.json is usable by the client generators teams actually run (issue #16):
# generates a client with @hey-api/openapi-ts and one with openapi-typescript-codegen into a
# temporary directory, compiles each with `tsc --strict --noEmit`, and lints the document with
# @redocly/cli (rules in redocly.yaml). Any error fails the script. Usage: npm run openapi:clients
# [-- path/to/openapi.json]
set -euo pipefail
# No telemetry from the linter, no update notices in CI logs.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

SPEC="$(realpath "${1:-openapi.json}")"
BIN="$PWD/node_modules/.bin"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/openapi-clients.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# A minimal strict project per client: the generated code must compile on its own, with the DOM
# library for `fetch` and no @types from this repository.
write_tsconfig() {
  cat >"$1/tsconfig.json" <<'JSON'
{
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "target": "ES2022",
    "module": "ESNext",
    "moduleResolution": "Bundler",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "types": [],
    "skipLibCheck": false
  },
  "include": ["src/**/*.ts"]
}
JSON
}

failed=0

log "redocly lint $SPEC"
"$BIN/redocly" lint "$SPEC" --config redocly.yaml --format stylish || failed=1

log "@hey-api/openapi-ts"
mkdir -p "$WORK/hey-api"
write_tsconfig "$WORK/hey-api"
"$BIN/openapi-ts" --input "$SPEC" --output "$WORK/hey-api/src" --silent \
  && "$BIN/tsc" -p "$WORK/hey-api/tsconfig.json" || failed=1

log "openapi-typescript-codegen"
mkdir -p "$WORK/codegen"
write_tsconfig "$WORK/codegen"
node node_modules/openapi-typescript-codegen/bin/index.js --input "$SPEC" --output "$WORK/codegen/src" --client fetch \
  && "$BIN/tsc" -p "$WORK/codegen/tsconfig.json" || failed=1

if [ "$failed" -ne 0 ]; then
  echo "openapi.json is not clean for client generators (see above)" >&2
  exit 1
fi
echo "openapi.json: redocly lint clean; hey-api and openapi-typescript-codegen clients compile with tsc --strict"
