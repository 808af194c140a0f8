#!/usr/bin/env bash
# Installs what the local stack needs, and nothing that is already there.
# Shared by `npm start` and `npm test`; safe to run again and again (a few
# seconds when everything is present).
#
#   - Debian packages: PostgreSQL 15 with pg_cron, pgTAP, pg_prove and plpgsql_check.
#   - npm packages from package-lock.json: Deno and the Supabase CLI.
#   - Deno's npm imports pinned in deno.json / deno.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[2m[bootstrap]\033[0m %s\n' "$*" >&2; }

# --- Debian packages ----------------------------------------------------------
apt_packages=(
  postgresql-15
  postgresql-15-cron
  postgresql-15-pgtap
  postgresql-15-plpgsql-check
  libtap-parser-sourcehandler-pgtap-perl
  # The dashboard's browser test drives Debian's Chromium with playwright-core.
  chromium
)
missing=()
for pkg in "${apt_packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them once as root, then run this again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image has empty package lists; an old list may name versions that are gone.
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- npm packages ---------------------------------------------------------------
# Only when package.json or the lockfile changed since the last install. Not `npm ci`:
# npm 11 leaves other platforms' optional binaries (Deno's, the CLI's) out of the
# lockfile and then `npm ci` calls it out of sync. Versions are pinned exactly in
# package.json, and --no-save keeps the lockfile as committed.
if [[ ! -f node_modules/.package-lock.json || package.json -nt node_modules/.package-lock.json ||
      package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm install"
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
# The deno npm package resolves its native binary on first use.
node node_modules/deno/bin.cjs --version >/dev/null

# --- Deno imports ---------------------------------------------------------------
# `deno cache` over every module we run fills Deno's cache from the pinned deno.lock.
# (Not `deno install`: it also resolves package.json's dependencies for every platform,
# and this registry only carries the Linux builds of Deno and the CLI.)
stamp=node_modules/.deno-cache-stamp
if [[ ! -f $stamp || deno.json -nt $stamp || deno.lock -nt $stamp ]]; then
  say "deno cache"
  mapfile -t modules < <(find local-stack functions client cli dashboard chaos tests bench -name '*.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
  node_modules/.bin/deno cache --frozen --quiet "${modules[@]}"
  touch "$stamp"
fi
