#!/usr/bin/env bash
# Property-based tests of the HTTP API against its own OpenAPI document, with schemathesis:
# starts `journey run` on the shipped journeys (a fresh data folder, loopback, a free port),
# waits for /healthz, runs every check of schemathesis on every operation (examples, coverage,
# fuzzing and stateful phases) with a fixed seed and a bounded number of examples, stops the
# server and fails if schemathesis found anything or the server died.
#
# Two passes: with a bearer token (the auth checks see refusals), then without one (the document
# must then ask for none). About a minute with a release build on 2 cores.
#
#   tests/schemathesis.sh target/release/journey
#
# Environment: ST_SEED (default 20261202), ST_EXAMPLES (examples per operation, default 40).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/journey   (built by cargo, e.g. target/release/journey)" >&2
  exit 2
fi
binary="$1"
if [ ! -x "$binary" ]; then
  echo "error: $binary is not an executable: build it first (cargo build --release -p journey)" >&2
  exit 2
fi

installed="$(python3 -c 'import schemathesis.cli, importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null || true)"
if [ -z "$installed" ]; then
  echo "error: schemathesis is missing: python3 -m pip install schemathesis==${SCHEMATHESIS_VERSION} is needed" >&2
  exit 2
fi
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
  echo "warning: schemathesis ${installed} is installed; this script is pinned to ${SCHEMATHESIS_VERSION} (python3 -m pip install schemathesis==${SCHEMATHESIS_VERSION})" >&2
fi

# The command line of schemathesis, through python3 (the `schemathesis` script may not be on PATH).
schemathesis() {
  python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; schemathesis()' "$@"
}

seed="${ST_SEED:-20261202}"
examples="${ST_EXAMPLES:-40}"
work="$(mktemp -d)"
server_pid=""

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start NAME TOKEN: starts `journey run` with a fresh data folder; sets $base.
start() {
  local name="$1" token="$2" port
  port="$(free_port)"
  mkdir -p "$work/$name"
  {
    echo "data = \"$work/$name/data\""
    echo '[shop]'
    echo 'secret = "schemathesis"'
    echo '[ingest]'
    echo "listen = \"127.0.0.1:${port}\""
    if [ -n "$token" ]; then echo "token = \"${token}\""; fi
  } >"$work/$name/journey.toml"
  "$binary" run "$root/journeys" --config "$work/$name/journey.toml" >"$work/$name/server.log" 2>&1 &
  server_pid=$!
  base="http://127.0.0.1:${port}"
  for _ in $(seq 1 300); do
    if python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/healthz" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "error: journey run stopped before answering /healthz; its log:" >&2
      cat "$work/$name/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "error: journey run did not answer $base/healthz within 30 s; its log:" >&2
  cat "$work/$name/server.log" >&2
  exit 1
}

# The configuration: the checked-in one, plus a valid one-click unsubscribe link (the token is
# the first 12 bytes of SHA-256(shop secret, "unsubscribe", 0, customer), in hex), so that the
# success path of `POST /v1/unsubscribe/{customer}/{token}` is tested too.
config="$work/schemathesis.toml"
{
  cat "$root/tests/schemathesis.toml"
  python3 - <<'EOF'
import hashlib
token = hashlib.sha256(b"schemathesis" + b"unsubscribe\0" + b"giulia").hexdigest()[:24]
print()
print("[[operations]]")
print('include-name = "POST /v1/unsubscribe/{customer}/{token}"')
print(f'parameters = {{ customer = "giulia", token = "{token}" }}')
EOF
} >"$config"

failed=()

# run NAME TOKEN EXAMPLES: one pass against a fresh server.
run() {
  local name="$1" token="$2" count="$3" status=0
  local headers=()
  if [ -n "$token" ]; then headers=(-H "Authorization: Bearer ${token}"); fi
  echo "== schemathesis (${name}): seed ${seed}, ${count} examples per operation"
  start "$name" "$token"
  # From the scratch folder: schemathesis keeps a `.schemathesis/` cache in the current one.
  # One worker: with two, Python 3.11's `ast.parse` in threads (hypothesis describing lambdas)
  # fails now and then with "AST constructor recursion depth mismatch", a flaky run error.
  (cd "$work" && schemathesis --config-file "$config" run "$base/openapi.json" \
    "${headers[@]}" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$count" \
    --seed "$seed" \
    --generation-database none \
    --workers 1 \
    --request-timeout 10 \
    --no-color) || status=$?
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "error: journey run died during the schemathesis run (${name}); its log:" >&2
    tail -n 50 "$work/$name/server.log" >&2
    failed+=("${name}: the server died")
  elif grep -q "panicked" "$work/$name/server.log"; then
    echo "error: journey run panicked during the schemathesis run (${name}):" >&2
    grep -A5 "panicked" "$work/$name/server.log" | head -n 40 >&2
    failed+=("${name}: the server panicked")
  fi
  stop_server
  if [ "$status" -ne 0 ]; then
    failed+=("${name}: schemathesis exited with ${status}")
  fi
}

run "with a token" "schemathesis-token" "$examples"
run "without a token" "" "$(( (examples + 1) / 2 ))"

if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED: the API does not match its OpenAPI document:" >&2
  for failure in "${failed[@]}"; do echo "  - ${failure}" >&2; done
  echo "Each failure above has a curl command to reproduce it; run this script again with the same ST_SEED to see it again." >&2
  exit 1
fi
echo "schemathesis: the API matches its OpenAPI document (seed ${seed})"
