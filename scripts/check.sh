#!/usr/bin/env bash
# The reviewer's one command: everything a review checks, in order, stopping at the first
# failure.
#
#   bash scripts/check.sh
#
# 1. cargo fmt --all --check
# 2. cargo clippy --workspace --all-targets -- -D warnings
# 3. RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
# 4. contracts and SDK checks (added with contracts/ and sdk/)
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
# TODO(contracts): forge fmt --check; forge build; forge test (in contracts/).
# TODO(sdk): the SDK's type check and tests (in sdk/typescript/).
# -----------------------------------------------------------------------------------------

step "bash scripts/test.sh"
bash scripts/test.sh

echo
echo "==> check: PASSED (fmt, clippy, doc, tests) in $((SECONDS - start))s"
