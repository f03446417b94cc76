#!/bin/sh
# The Go module from outside, against an installed mempool, offline.
# Installs the build into a temporary prefix, then runs README.md's
# "## Install" / "### Go" commands as written (HOME is a temporary folder,
# `build` is BUILD_DIR), in a module of their own (~/hello, with the README's Go
# example as main.go): `go get` fetches this module from a file:// GOPROXY made
# from the checkout as a module proxy serves it (no network here, so GOSUMDB is
# off). Then the same program once more through a `replace` to the checkout.
# cgo sees PKG_CONFIG_PATH and nothing else: CGO_CFLAGS/CGO_LDFLAGS are unset.
# usage: check_installed.sh SOURCE_DIR BUILD_DIR GO LIBDIR
set -eu
src=$1 build=$2 go=$3 libdir=$4
modpath=github.com/mempool-project/mempool/bindings/go
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
unset CGO_CFLAGS CGO_LDFLAGS CGO_CPPFLAGS PKG_CONFIG_PATH LD_LIBRARY_PATH GOFLAGS GOPATH GOCACHE GOROOT
gobin=$(dirname "$(command -v "$go")")
export PATH="$gobin:$PATH" HOME="$tmp/home" GOTOOLCHAIN=local GOSUMDB=off GOPROXY="file://$tmp/proxy"
mkdir -p "$HOME"

# The module proxy: what `go get $modpath@vX.Y.Z` downloads from a tag.
version=v$(sed -n 's/^Version: //p' "$build/mempool.pc")
at="$tmp/proxy/$modpath/@v"
mkdir -p "$at" "$tmp/zip/$modpath@$version"
cp -R "$src/bindings/go/." "$tmp/zip/$modpath@$version/"
(cd "$tmp/zip" && zip -qrD "$at/$version.zip" .)
cp "$src/bindings/go/go.mod" "$at/$version.mod"
echo "$version" >"$at/list"
echo "{\"Version\":\"$version\",\"Time\":\"2026-01-01T00:00:00Z\"}" >"$at/$version.info"

# The user's module: go mod init and the README's Go example.
mkdir "$HOME/hello"
(cd "$HOME/hello" && "$go" mod init example.com/hello >/dev/null 2>&1)
"$src/tests/readme/extract.sh" "$src/README.md" '^## Examples$' go >"$HOME/hello/main.go"
grep -q "\"$modpath\"" "$HOME/hello/main.go" || { echo "FAIL: the README's Go example does not import $modpath"; exit 1; }

# README.md's commands, as written, but for the build folder's name.
awk '/^## / { inst = ($0 == "## Install") } inst && $0 == "### Go" { on = 1; next }
     on && /^##/ { exit } on && $0 == "```sh" { grab = 1; next } grab && $0 == "```" { exit } grab { print }' \
  "$src/README.md" >"$tmp/install.sh"
grep -q 'go get' "$tmp/install.sh" || { echo "FAIL: README.md has no sh block under ## Install / ### Go"; cat "$tmp/install.sh"; exit 1; }
sed -i "s|cmake --install build |cmake --install \"$build\" |" "$tmp/install.sh"
echo "--- README.md, ## Install, ### Go:"; cat "$tmp/install.sh"; echo "---"
out=$(cd "$src" && sh -eu "$tmp/install.sh" 2>&1) || { echo "$out"; echo "FAIL: the README's Go install commands"; exit 1; }
echo "$out" | grep -v -e '^-- Installing: ' -e '^-- Up-to-date: ' -e '^-- Set runtime path'
[ "$(echo "$out" | tail -n 1)" = "48 bytes in use" ] || { echo "FAIL: expected '48 bytes in use'"; exit 1; }
grep -q "$modpath $version" "$HOME/hello/go.mod" || { echo "FAIL: go.mod does not require $modpath $version"; exit 1; }
ls "$HOME"/.local/"$libdir"/pkgconfig/mempool.pc >/dev/null

# The same program from a checkout, through a replace; the binary loads the installed library.
prefix="$HOME/.local"
mkdir "$tmp/hello2" && cp "$HOME/hello/main.go" "$tmp/hello2/"
cd "$tmp/hello2"
"$go" mod init example.com/hello2 >/dev/null 2>&1
"$go" mod edit -require="$modpath@$version" -replace="$modpath=$src/bindings/go"
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" GOPROXY=off GOFLAGS=-mod=mod "$go" build -o hello2 .
lib=$(LD_LIBRARY_PATH="$prefix/$libdir" ldd ./hello2 | awk '/libmempool/ {print $3}')
case $lib in "$prefix/$libdir/"*) ;; *) echo "FAIL: hello2 loads libmempool from '$lib', not $prefix/$libdir"; exit 1 ;; esac
out=$(LD_LIBRARY_PATH="$prefix/$libdir" ./hello2)
[ "$out" = "48 bytes in use" ] || { echo "FAIL: hello2 printed '$out'"; exit 1; }
echo "ok: the installed mempool's Go module builds with PKG_CONFIG_PATH alone (go get from a module proxy, and a replace)"
