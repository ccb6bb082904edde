#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libckpt as an orchestrator gets it: `cmake --install` into a scratch root
# (DESTDIR), a C program (tests/clients/ckpt-example.c) compiled with
# nothing but what `pkg-config --cflags --libs ckpt` says there, run
# against a real ckptd: run, checkpoint into a pipe, restart from a pipe,
# the counter checking itself, list, a refused checkpoint answered in
# fields. The shared library has its soname and exports only the API; the
# same program links against the static one too.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || skip "no C compiler"
command -v pkg-config >/dev/null || skip "no pkg-config"

root=$TMP/root
DESTDIR=$root cmake --install "$BUILD" --prefix /usr/local >"$TMP/install.log" 2>&1 ||
	fail "cmake --install: $(tail -n 5 "$TMP/install.log")"
pc=$(find "$root" -name ckpt.pc -print -quit)
[ -n "$pc" ] || fail "no ckpt.pc installed under $root"
[ -f "$root/usr/local/include/ckpt/ckpt.h" ] || fail "no ckpt/ckpt.h installed"
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$root
cflags=$(pkg-config --cflags ckpt) && libs=$(pkg-config --libs ckpt) || fail "pkg-config ckpt"
# the sysroot is prefixed to libdir as to -I and -L
libdir=$(pkg-config --variable=libdir ckpt)
case $libdir in "$root"/*) ;; *) fail "libdir $libdir is outside the scratch root" ;; esac
so=$libdir/libckpt.so.2
[ -e "$so" ] || fail "no libckpt.so.2 in $libdir"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libckpt.so.2 ] || fail "soname '$soname', not libckpt.so.2"
other=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDB]$/ && $3 !~ /^ckpt_/ { print $3 }')
[ -z "$other" ] || fail "libckpt.so exports more than its API: $(echo "$other" | head -n 5 | tr '\n' ' ')"

# shellcheck disable=SC2086 # pkg-config output is a list of flags
cc -Wall -Werror -o "$TMP/example" "$REPO/tests/clients/ckpt-example.c" $cflags $libs ||
	fail "compile the example against the installed libckpt"
pblibs=$(pkg-config --libs libprotobuf-c) || fail "pkg-config libprotobuf-c"
# shellcheck disable=SC2086
cc -Wall -Werror -o "$TMP/example-static" "$REPO/tests/clients/ckpt-example.c" $cflags \
	"$libdir/libckpt.a" $pblibs ||
	fail "link the example against the static libckpt"
# ldd's whole output first: grep -q ending the pipe early would kill ldd
# with SIGPIPE, a failure under pipefail
deps=$(ldd "$TMP/example-static") || fail "ldd of the static example"
grep -q libckpt <<<"$deps" && fail "the static example needs libckpt.so"
deps=$(LD_LIBRARY_PATH=$libdir ldd "$TMP/example") || fail "ldd of the example"
grep -q "libckpt.so.2 => $root" <<<"$deps" ||
	fail "the example does not load the installed libckpt.so.2: $deps"

start_ckptd
LD_LIBRARY_PATH=$libdir "$TMP/example" "$SOCK" "$WL" "$WORK" "$P" >"$TMP/example.out" 2>&1 ||
	fail "the libckpt example failed: $(cat "$TMP/example.out")"
cat "$TMP/example.out" >&2
grep -q '^PASS libckpt example$' "$TMP/example.out" || fail "the example did not pass"
"$TMP/example-static" "$SOCK" "$WL" "$WORK" "${P}s" >"$TMP/example-static.out" 2>&1 ||
	fail "the statically linked example failed: $(cat "$TMP/example-static.out")"
grep -q '^PASS libckpt example$' "$TMP/example-static.out" || fail "the static example did not pass"
pass
