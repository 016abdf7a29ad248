#!/usr/bin/env bash
# System packages the project uses where apt is available: Fashion-MNIST (Debian's
# dataset-fashion-mnist) and Chromium for the browser tests. Skips quietly what it cannot do.
set -u
want=()
[ -d /usr/share/datasets/fashion-mnist ] || want+=(dataset-fashion-mnist)
[ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1 && want+=(chromium)
[ ${#want[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: no apt-get here; install ${want[*]} yourself (see README: Data)." >&2; exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
    echo "note: not root; run: apt-get install ${want[*]}" >&2; exit 0; fi
fi
echo "==> installing system packages with apt-get: ${want[*]} (once; Fashion-MNIST is ~30 MB)"
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${want[@]}" >/dev/null \
  || echo "note: apt-get install ${want[*]} failed; the tests that need them will be skipped." >&2
