#!/bin/sh
# Installs the Debian packages mempool needs, or prints the command that
# would. usage: scripts/deps.sh [extra packages...]
# The CUDA toolkit is optional (looked for in /usr/local/cuda); without it
# the GPU functions answer MP_ERR_UNSUPPORTED.
set -eu
need="cmake make gcc g++ libc6-dev pkg-config binutils check lua5.4 liblua5.4-dev luarocks swig default-jdk-headless junit5 golang-go clang libclang-rt-14-dev valgrind abigail-tools libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev libboost-dev libsqlite3-dev gnuplot-nox $*"
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "mempool: installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null && exit 0
fi
echo "mempool: could not install them; please run:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
