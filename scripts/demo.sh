#!/usr/bin/env bash
# The main job: set up what is missing, build, and run the district server with the
# embedded SQLite store and a demo district. It prints the demo users and an enrollment
# code for the first worker; enroll a device with it (the worker app, or gridwalk-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

DATA="${GRIDWALK_DEMO_DATA:-data/district}"
ADDR="${GRIDWALK_ADDR:-127.0.0.1:8080}"
mkdir -p "$DATA"
cargo build --release -p gridwalk-server -p gridwalk-client

target/release/gridwalk-server serve --data "$DATA" --addr "$ADDR" --demo &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM

# --- worker app (section owned by the app) ---
# --- end worker app ---

wait "$SERVER"
