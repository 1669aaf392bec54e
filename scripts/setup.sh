#!/usr/bin/env bash
# Install what a fresh Debian machine lacks to build, run and test Gridwalk.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# perl and make (build-essential): rusqlite's SQLCipher builds OpenSSL from source.
for pkg in build-essential pkg-config curl ca-certificates perl; do
  have_pkg "$pkg" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install rustup (https://rustup.rs) and run this again." >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt

# ==== PostgreSQL (district-postgres/): the district behaviour suite runs on it too ====
# Debian's package; the cluster is started if it is not running (no systemd in CI), and
# the tests' server is postgres@127.0.0.1 with database `test` (each run makes its own
# database there and drops it). Trust on loopback is the test machine's setting only.
pg_apt=()
for pkg in postgresql; do
  have_pkg "$pkg" || pg_apt+=("$pkg")
done
if [ ${#pg_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${pg_apt[@]}"
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  pg_version="$(ls /etc/postgresql | sort -V | tail -1)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'SELECT 1' >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Local trust for the tests' user over loopback, then the test database.
  pg_version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$pg_version/main/pg_hba.conf"
  if ! $SUDO grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
    $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$pg_version" main reload
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test'
fi

# ==== The grid worker's app (src-tauri/, ui/, tests/e2e-app/) ==========================
# WebKitGTK and friends to build the Tauri app; WebKitWebDriver, Xvfb and CJK fonts to
# run it under test (without fonts-noto-cjk Chinese renders as boxes).
app_apt=()
# dbus and gnome-keyring: a Secret Service for the device key's test against a real OS
# secret store (scripts/with-secret-service.sh); xdotool: the e2e test hides the app's
# window (the app in the background) and shows it again.
for pkg in libwebkit2gtk-4.1-dev libsoup-3.0-dev librsvg2-dev libxdo-dev \
           webkit2gtk-driver xvfb xauth fonts-noto-cjk dbus gnome-keyring xdotool; do
  have_pkg "$pkg" || app_apt+=("$pkg")
done
if [ ${#app_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${app_apt[@]}"
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js (20+) and npm are needed for the app's UI (ui/)." >&2
  exit 1
fi
# Node modules of the UI, exactly as package-lock.json says; again only when the lock changed.
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
# tauri-driver: the WebDriver server in front of WebKitWebDriver for the e2e test.
if ! command -v tauri-driver >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  cargo install tauri-driver --locked
fi

# ==== The supervisor's console (console/, tests/e2e-console/) ==========================
# Debian's chromium for the console's browser test (never `npx playwright install`: the
# download is refused here) and CJK fonts so that Chinese renders in its screenshots.
console_apt=()
for pkg in chromium fonts-noto-cjk; do
  have_pkg "$pkg" || console_apt+=("$pkg")
done
if [ ${#console_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${console_apt[@]}"
fi
# Node modules of the console (Vue, ECharts, Vite, Vitest, playwright-core), as locked.
if [ ! -f console/node_modules/.package-lock.json ] || [ console/package-lock.json -nt console/node_modules/.package-lock.json ]; then
  (cd console && npm ci --no-audit --no-fund)
fi
