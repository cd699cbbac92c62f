#!/usr/bin/env bash
# The README's test command (`npm run test:all`): on a fresh Debian machine (root, Node and
# npm, nothing else) it installs what the tests need when it is missing — Chromium for the
# browser onboarding test, redis-server for the Redis tests (they start their own on
# loopback), promtool (Debian's prometheus package) for the alert-rule tests, and the npm
# packages — then runs `npm test`. Not root and no password-less sudo: it stops and prints
# the exact command to run. TEST_ALL_DRY_RUN=1 says what it would do and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "test:all: $*" >&2; }

# What each missing command needs from Debian; prometheus without its recommends (promtool only).
with_recommends=()
without_recommends=()
command -v chromium >/dev/null || with_recommends+=(chromium)
command -v redis-server >/dev/null || with_recommends+=(redis-server)
command -v promtool >/dev/null || without_recommends+=(prometheus)

if ((${#with_recommends[@]} + ${#without_recommends[@]})); then
  install="apt-get update -qq"
  ((${#with_recommends[@]})) && install+=" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${with_recommends[*]}"
  ((${#without_recommends[@]})) && install+=" && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${without_recommends[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo"
    else
      say "the tests need Debian packages that are missing: ${with_recommends[*]} ${without_recommends[*]}"
      say "install them as root, then run this again:"
      say "  sudo sh -c '$install'"
      exit 1
    fi
  fi
  say "installing from Debian: ${with_recommends[*]} ${without_recommends[*]}"
  if [ "${TEST_ALL_DRY_RUN:-}" = 1 ]; then say "dry run: would run: ${sudo:+$sudo }sh -c '$install'"; exit 0; fi
  $sudo sh -c "$install" >/dev/null
fi

# node_modules as package-lock.json pins it, unless it is already (npm writes its own copy).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the npm packages (npm ci)"
  if [ "${TEST_ALL_DRY_RUN:-}" = 1 ]; then say "dry run: would run: npm ci"; exit 0; fi
  npm ci --no-audit --no-fund
fi
if [ "${TEST_ALL_DRY_RUN:-}" = 1 ]; then say "dry run: nothing to install; would run: npm test"; exit 0; fi
say "running npm test"
exec npm test
