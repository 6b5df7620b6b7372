#!/usr/bin/env bash
# run_interop.sh --prepare STAMP   install hap-nodejs (npm ci) when node_modules is missing
# run_interop.sh TEST_BINARY       start the accessory, run the test binary against it, stop it
#
# The test runs inside tests/env/isolated (only lo, private dbus-daemon and avahi-daemon), where
# the npm registry is out of reach; meson runs --prepare before the test, outside it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
port=51827

ensure_node_modules() {
    if [ -d "$here/node_modules/hap-nodejs" ]; then
        return 0
    fi
    echo "hap-interop: installing hap-nodejs (npm ci)" >&2
    # Bounded: without a reachable registry npm would otherwise retry for minutes.
    (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error \
        --fetch-retries=1 --fetch-timeout=60000)
}

if [ "${1:-}" = "--prepare" ]; then
    # Never break the build for everybody: a failure shows up when the test runs.
    ensure_node_modules || echo "hap-interop: npm ci failed; the interop test will fail" >&2
    touch "$2"
    exit 0
fi

test_binary=$1
shift
if ! ensure_node_modules; then
    echo "hap-interop: hap-nodejs is not installed and npm ci failed" >&2
    exit 1
fi

storage=$(mktemp -d /tmp/atvd-hap-interop.XXXXXX)
node "$here/accessory.js" "$port" "$storage/persist" > "$storage/accessory.log" 2>&1 &
accessory_pid=$!

stop_accessory() {
    if [ -r "/proc/$accessory_pid/stat" ] && ! grep -q ') Z' "/proc/$accessory_pid/stat"; then
        kill "$accessory_pid" 2>/dev/null || true
        wait "$accessory_pid" 2>/dev/null || true
    fi
    rm -rf "$storage"
}
trap stop_accessory EXIT

for _ in $(seq 1 200); do
    if grep -q '^listening' "$storage/accessory.log"; then
        break
    fi
    if ! [ -r "/proc/$accessory_pid/stat" ] || grep -q ') Z' "/proc/$accessory_pid/stat"; then
        echo "hap-interop: the accessory exited early:" >&2
        cat "$storage/accessory.log" >&2
        exit 1
    fi
    sleep 0.1
done
if ! grep -q '^listening' "$storage/accessory.log"; then
    echo "hap-interop: the accessory did not start listening within 20 s:" >&2
    cat "$storage/accessory.log" >&2
    exit 1
fi

status=0
HAP_INTEROP_PORT=$port "$test_binary" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "hap-interop: accessory log:" >&2
    cat "$storage/accessory.log" >&2
fi
exit "$status"
