#!/usr/bin/env bash
# THE test command: every test of the workspace.
#
#   bash scripts/test.sh
#
# 1. scripts/setup.sh --postgres   (anvil via npm ci; PostgreSQL from Debian's packages)
# 2. cargo nextest run --workspace --all-targets --no-fail-fast --profile ci (full: --profile full)
#    (profile in .config/nextest.toml; falls back to cargo test when nextest is missing)
# 3. forge snapshot --check in contracts/ (Foundry tests; gas compared with .gas-snapshot)
# 4. cargo test --workspace --doc  (nextest does not run doctests)
#
# Runs every step even after a failure, prints a summary line, and exits non-zero if any
# step failed. Extra arguments are passed to the nextest run, e.g. a filterset:
# `bash scripts/test.sh -E 'package(annals-indexer)'`.
#
# Two tiers. By default (and in CI) the tests marked `#[ignore = "full tier: ..."]` are left
# out: each is a longer form (every fixture, full-depth proofs, the EVM chain proven afresh)
# of checks the default tier makes more cheaply; README.md lists them. `bash scripts/test.sh
# --full` (first argument) runs them too (`--run-ignored all`); it takes hours on 2 cores.
set -euo pipefail

# The full tier's flags: for nextest, and for the cargo test fallback's test harness.
profile=ci ignored=() include_ignored=()
if [[ "${1:-}" == "--full" ]]; then
    shift
    profile=full ignored=(--run-ignored all) include_ignored=(--include-ignored)
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

start=$SECONDS
failed=()

step() { echo; echo "==> test: $*"; }

step "bash scripts/setup.sh --postgres"
bash scripts/setup.sh --postgres

if cargo nextest --version >/dev/null 2>&1; then
    step "cargo nextest run --workspace --all-targets --no-fail-fast --profile $profile ${ignored[*]} $*"
    if ! cargo nextest run --workspace --all-targets --no-fail-fast --profile "$profile" "${ignored[@]}" "$@"; then
        failed+=("nextest")
    fi
else
    step "cargo-nextest not found: cargo test --workspace --all-targets --no-fail-fast $* -- --test-threads=2 ${include_ignored[*]}"
    if ! cargo test --workspace --all-targets --no-fail-fast "$@" -- --test-threads=2 "${include_ignored[@]}"; then
        failed+=("cargo test")
    fi
fi

step "forge snapshot --check (contracts/: Foundry tests, gas against .gas-snapshot)"
if ! (cd contracts && ../node_modules/.bin/forge snapshot --check); then
    failed+=("forge")
fi

step "cargo test --workspace --doc"
if ! cargo test --workspace --doc; then
    failed+=("doctests")
fi

elapsed=$((SECONDS - start))
echo
if ((${#failed[@]} == 0)); then
    echo "==> test: PASSED (tests + doctests) in ${elapsed}s"
else
    echo "==> test: FAILED: ${failed[*]} (after ${elapsed}s)"
    exit 1
fi
