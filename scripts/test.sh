#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then runs them all:
# lint, format, types, and the pytest suite (golden site, browser, validators, fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
command -v java >/dev/null || need_apt+=(default-jre-headless)
command -v jing >/dev/null || need_apt+=(jing)
command -v xmllint >/dev/null || need_apt+=(libxml2-utils)
[ -d /usr/share/fonts/truetype/nanum ] || need_apt+=(fonts-nanum)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}"
fi

python3 -m pip install -q -e ".[test]"
[ -f node_modules/vnu-jar/build/dist/vnu.jar ] && [ -f node_modules/axe-core/axe.min.js ] \
  || npm install --no-audit --no-fund --silent

python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy digest/
python3 -m pytest -n 2 "$@"
