#!/usr/bin/env bash
# The reviewer's one command: everything a review checks, in order, stopping at the first
# failure.
#
#   bash scripts/check.sh
#
# 1. cargo fmt --all --check
# 2. cargo clippy --workspace --all-targets -- -D warnings
# 3. RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# 4. forge fmt --check in contracts/ (the SDK's checks come with sdk/)
# 5. bash scripts/test.sh (setup, every test, doctests)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

start=$SECONDS
step() { echo; echo "==> check: $*"; }

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# --- Contracts and SDK ------------------------------------------------------------------
step "forge fmt --check (contracts/; generated files excluded in foundry.toml)"
(cd contracts && ../node_modules/.bin/forge fmt --check)
# TODO(sdk): the SDK's type check and tests (in sdk/typescript/).
# -----------------------------------------------------------------------------------------

step "bash scripts/test.sh"
bash scripts/test.sh

echo
echo "==> check: PASSED (fmt, clippy, doc, forge fmt, tests) in $((SECONDS - start))s"
