#!/usr/bin/env bash
# Installs what Annals needs on a fresh machine. Safe to run again.
#
#   bash scripts/setup.sh              # npm ci: the pinned anvil, forge, solc and OpenZeppelin contracts
#   bash scripts/setup.sh --postgres   # also PostgreSQL from Debian's packages
#   ANNALS_WITH_POSTGRES=1 bash scripts/setup.sh   # same as --postgres
#
# The Rust toolchain (stable, with cargo-nextest), Node.js and npm come with the machine;
# this script does not install them.
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

with_postgres="${ANNALS_WITH_POSTGRES:-0}"
for arg in "$@"; do
    case "$arg" in
        --postgres) with_postgres=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "setup: unknown argument: $arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

say() { echo "==> setup: $*"; }

# --- Rust toolchain (checked, not installed) --------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; this project needs the machine's stable Rust toolchain" >&2
    exit 1
fi
say "$(cargo --version)"
if cargo nextest --version >/dev/null 2>&1; then
    say "$(cargo nextest --version | head -n 1)"
else
    say "cargo-nextest not found; scripts/test.sh will fall back to cargo test"
fi

# --- anvil (pinned in package.json / package-lock.json) ---------------------------------
if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm not found; it is needed to install the pinned anvil" >&2
    exit 1
fi
# npm ci deletes node_modules first; where every package of the lock is already installed
# at its locked version, it is skipped so a re-run never pulls anvil from under a running
# test. CI (CI=true) and ANNALS_FORCE_NPM_CI=1 always run it.
lock_satisfied() {
    node -e '
        const fs = require("fs");
        const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8"));
        for (const [path, meta] of Object.entries(lock.packages || {})) {
            if (!path) continue;
            let installed;
            try { installed = JSON.parse(fs.readFileSync(path + "/package.json", "utf8")); }
            catch { process.exit(1); }
            if (installed.version !== meta.version) process.exit(1);
        }
    ' 2>/dev/null
}
if [[ "${CI:-}" != "true" && "${ANNALS_FORCE_NPM_CI:-0}" != "1" ]] && lock_satisfied; then
    say "node_modules matches package-lock.json; npm ci skipped (ANNALS_FORCE_NPM_CI=1 forces it)"
else
    say "npm ci (node $(node --version), npm $(npm --version)) in $repo_root"
    npm ci --no-audit --no-fund
fi
if [[ -x node_modules/.bin/anvil ]]; then
    say "anvil: $(node_modules/.bin/anvil --version | head -n 1) at node_modules/.bin/anvil"
else
    echo "setup: npm ci finished but node_modules/.bin/anvil is missing" >&2
    exit 1
fi
if [[ -x node_modules/.bin/forge ]]; then
    say "forge: $(node_modules/.bin/forge --version | head -n 1) at node_modules/.bin/forge"
else
    echo "setup: npm ci finished but node_modules/.bin/forge is missing" >&2
    exit 1
fi
if solc_version="$(scripts/solc --version 2>/dev/null)"; then
    say "solc: ${solc_version} through scripts/solc (npm package solc, no download)"
else
    echo "setup: npm ci finished but scripts/solc --version fails" >&2
    exit 1
fi

# --- PostgreSQL (only on request) -------------------------------------------------------
if [[ "$with_postgres" == "1" ]]; then
    if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        say "PostgreSQL already installed: $(ls /usr/lib/postgresql/*/bin/initdb | tr '\n' ' ')"
    else
        sudo_cmd=()
        if [[ "$(id -u)" != "0" ]]; then
            if command -v sudo >/dev/null 2>&1; then
                sudo_cmd=(sudo -n)
            else
                echo "setup: installing PostgreSQL needs root (or sudo)" >&2
                exit 1
            fi
        fi
        say "apt-get update"
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
        say "apt-get install -y postgresql"
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
        say "PostgreSQL installed: $(ls /usr/lib/postgresql/*/bin/initdb | tr '\n' ' ')"
    fi
else
    say "PostgreSQL skipped (pass --postgres or set ANNALS_WITH_POSTGRES=1)"
fi

say "done"
