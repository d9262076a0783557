#!/usr/bin/env bash
# Installs everything sqakd-bench needs on a fresh machine: libtorch (with apt on Debian/Ubuntu), the npm packages
# and the native libtorch addon. A libtorch given by $LIBTORCH (a standalone libtorch, or the torch/ folder of a
# PyTorch installation, CPU or CUDA) is used instead of the system one.
set -euo pipefail
cd "$(dirname "$0")/.."

have_system_libtorch() { [ -f /usr/include/ATen/ATen.h ] && ls /usr/lib/*/libtorch_cpu.so >/dev/null 2>&1; }

apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else return 1; fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "$@" || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "$@"; }
}

if [ -n "${LIBTORCH:-}" ]; then
  echo "setup: using the libtorch at LIBTORCH=$LIBTORCH"
elif have_system_libtorch; then
  echo "setup: libtorch-dev is already installed"
elif command -v apt-get >/dev/null 2>&1 && apt_install libtorch-dev; then
  echo "setup: installed libtorch-dev"
else
  echo "setup: could not install libtorch. Install it yourself, then run this script again:" >&2
  echo "  - Debian/Ubuntu: sudo apt-get install libtorch-dev" >&2
  echo "  - elsewhere: download libtorch from pytorch.org (or use a PyTorch installation) and" >&2
  echo "    export LIBTORCH=/path/to/libtorch   (the folder holding include/ and lib/)" >&2
  exit 1
fi

# Debian's libtorch does its matrix products with the system BLAS, by default the unoptimised reference one (14x
# slower than OpenBLAS at RKD's batched products). The OpenMP build of OpenBLAS follows libtorch's thread setting.
if [ -z "${LIBTORCH:-}" ] && ! ls /usr/lib/*/openblas*/libblas.so.3 >/dev/null 2>&1; then
  apt_install libopenblas0-openmp || echo "setup: could not install libopenblas0-openmp; matrix products will use the slow reference BLAS" >&2
fi

# The C++ toolchain node-gyp needs (present on most machines already).
if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
  apt_install g++ make || { echo "setup: install g++ and make for the native addon" >&2; exit 1; }
fi

# Redis: only for the matrix's scale-out queue (--queue redis) and its test, which starts its own server.
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server || echo "setup: redis-server is not installed; install it for 'sqakd matrix --queue redis' and its test" >&2
fi

# Reports: DejaVu Sans draws the charts' text (SVG and PNG alike); Debian's chromium runs the test that opens the
# HTML report in a headless browser (playwright-core drives it; nothing downloads a browser).
if ! fc-list 2>/dev/null | grep -q "DejaVu Sans"; then
  apt_install fonts-dejavu-core || echo "setup: could not install fonts-dejavu-core; chart PNGs may have no text" >&2
fi
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium || echo "setup: chromium is not installed; install it for the HTML report's browser test" >&2
fi

# npm ci runs the package's install script, which builds the addon against the libtorch found above.
npm ci --no-audit --no-fund
[ -f engine/libtorch/native/build/Release/sqakd_libtorch.node ] || npm run --silent build:native
echo "setup: done. Backend check:"
node bin/sqakd.js backend
