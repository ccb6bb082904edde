#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package: `cmake --build BUILD --target package` builds it; its
# control fields are those of a real package (dependencies from
# dpkg-shlibdeps, the maintainer scripts); it holds exactly what the
# install rules install (under /usr), every /etc file of it is a conffile;
# unpacked into a scratch root, its ckptctl and ckptd run and its unit
# starts the packaged ckptd; its maintainer scripts pass shellcheck and,
# run against stand-in commands, create the ckpt group only when it is
# missing and reload or stop systemd only when systemd runs.
# Usage: tests/check-package.sh [BUILD]. Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${CKPT_BUILD:-$REPO/build}}" && pwd) || exit 1
failed=0

info() { echo "[package] $*" >&2; }
bad() { echo "[package] FAIL: $*" >&2; failed=1; }
skip() { echo "[package] SKIP: $*" >&2; exit 77; }

for t in dpkg-deb dpkg-shlibdeps; do
	command -v "$t" >/dev/null || skip "$t is not installed (Debian: dpkg-dev)"
done
TMP=$(mktemp -d /tmp/ckpt-package.XXXXXX) || exit 1
trap 'rm -rf "$TMP"' EXIT

# --- build ------------------------------------------------------------------------
rm -f "$BUILD"/ckptd_*.deb
cmake --build "$BUILD" --target package >"$TMP/build.log" 2>&1 ||
	{ tail -n 20 "$TMP/build.log" >&2; bad "cmake --build --target package failed"; exit 1; }
debs=("$BUILD"/ckptd_*.deb)
[ ${#debs[@]} = 1 ] && [ -s "${debs[0]}" ] || { bad "no single ckptd_*.deb in $BUILD: ${debs[*]}"; exit 1; }
DEB=${debs[0]}
info "built ${DEB##*/}"

# --- control fields ---------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = ckptd ] || bad "Package: $(field Package)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || bad "Architecture: $(field Architecture)"
version=$(sed -n 's/^project(ckptd VERSION \([0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt")
[ "$(field Version)" = "$version" ] || bad "Version $(field Version), the project says $version"
[ -n "$(field Maintainer)" ] && [ -n "$(field Description)" ] || bad "no Maintainer or Description"
deps=$(field Depends)
# what the binaries link, found by dpkg-shlibdeps, and what postinst runs
for d in libc6 libevent-2.1-7 libprotobuf-c1 libsystemd0 adduser; do
	grep -Eq "(^|, )$d( |,|$)" <<<"$deps" || bad "Depends lacks $d: $deps"
done
dpkg-deb -I "$DEB" >"$TMP/info" || bad "dpkg-deb -I"
for s in postinst prerm postrm conffiles; do
	grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\*? +$s( |$)" "$TMP/info" || bad "no $s in the control archive"
done
mkdir "$TMP/control"
dpkg-deb -e "$DEB" "$TMP/control" || bad "dpkg-deb -e"
for s in postinst prerm postrm; do
	[ -x "$TMP/control/$s" ] || bad "$s is not executable"
done

# --- file list: exactly what the install rules install -----------------------------
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub(/^\.\//, "/", $6); print $6 }' | sort >"$TMP/deb.list"
DESTDIR=$TMP/inst cmake --install "$BUILD" --prefix /usr >"$TMP/install.log" 2>&1 ||
	bad "cmake --install: $(tail -n 3 "$TMP/install.log")"
(cd "$TMP/inst" && find . ! -type d | sed 's/^\.//' | sort) >"$TMP/inst.list"
if ! diff -u "$TMP/inst.list" "$TMP/deb.list" >"$TMP/list.diff"; then
	bad "the package and the install rules disagree:"
	cat "$TMP/list.diff" >&2
fi
for f in /usr/sbin/ckptd /usr/bin/ckptctl /usr/lib/systemd/system/ckptd.service \
	/usr/lib/systemd/system/ckptd.socket /usr/share/bash-completion/completions/ckptctl \
	/usr/share/zsh/vendor-completions/_ckptctl /usr/share/ckptd/proto/rpc.proto \
	/usr/share/ckptd/proto/image.proto; do
	grep -qxF "$f" "$TMP/deb.list" || bad "the package has no $f"
done
if command -v scdoc >/dev/null; then
	for f in /usr/share/man/man8/ckptd.8 /usr/share/man/man1/ckptctl.1; do
		grep -qxF "$f" "$TMP/deb.list" || bad "the package has no $f"
	done
fi
# a prefix computed at configure time (/usr/local/...) has no place in a package
grep -Ev '^/(usr|etc)/' "$TMP/deb.list" | sed 's/^/outside \/usr and \/etc: /' >"$TMP/stray"
grep '^/usr/local/' "$TMP/deb.list" | sed 's/^/under \/usr\/local: /' >>"$TMP/stray"
# the configuration file, when there is one, where ckptd reads it
grep '/ckptd\.conf$' "$TMP/deb.list" | grep -vx -e /etc/ckptd/ckptd.conf -e /usr/lib/sysusers.d/ckptd.conf | sed 's/^/a ckptd.conf not at \/etc\/ckptd: /' >>"$TMP/stray"
[ -s "$TMP/stray" ] && bad "$(cat "$TMP/stray")"
# conffiles: every file under /etc, nothing else
grep '^/etc/' "$TMP/deb.list" >"$TMP/etc.list"
sort "$TMP/control/conffiles" | diff -u "$TMP/etc.list" - >"$TMP/conf.diff" ||
	{ bad "conffiles is not the list of /etc files:"; cat "$TMP/conf.diff" >&2; }

# --- unpacked into a scratch root -------------------------------------------------------
R=$TMP/root
dpkg-deb -x "$DEB" "$R" || bad "dpkg-deb -x"
"$R/usr/bin/ckptctl" --version >"$TMP/ver" 2>&1 || bad "the packaged ckptctl does not run: $(cat "$TMP/ver")"
grep -qF "$version" "$TMP/ver" || bad "ckptctl --version says $(cat "$TMP/ver"), not $version"
"$R/usr/sbin/ckptd" --help >"$TMP/help" 2>&1 || bad "the packaged ckptd does not run: $(head -n 3 "$TMP/help")"
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$R/usr/lib/systemd/system/ckptd.service")
[ "$exe" = /usr/sbin/ckptd ] || bad "ckptd.service starts '$exe', not the packaged /usr/sbin/ckptd"

# --- maintainer scripts ------------------------------------------------------------------
if command -v shellcheck >/dev/null; then
	shellcheck -s sh "$TMP/control/postinst" "$TMP/control/prerm" "$TMP/control/postrm" >&2 ||
		bad "shellcheck of the maintainer scripts"
else
	info "shellcheck is not installed: maintainer scripts not linted"
fi
# Stand-ins for the commands the scripts run: each logs its arguments;
# getent finds the ckpt group when $HAVE_GROUP is 1. /run/systemd/system
# is tested as the scripts test it, so the scripts are run on a copy whose
# test points into the scratch tree instead.
S=$TMP/stubs
mkdir -p "$S" "$TMP/sd/run/systemd/system"
for c in addgroup systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$TMP/calls" >"$S/$c"
done
printf '#!/bin/sh\n[ "$1 $2" = "group ckpt" ] && [ "$HAVE_GROUP" = 1 ] && echo ckpt:x:999:\n[ "$HAVE_GROUP" = 1 ]\n' >"$S/getent"
chmod +x "$S"/*
# run SCRIPT SYSTEMD(0|1) HAVE_GROUP(0|1) ARGS...: the calls the script made
run() {
	local s=$1 sd=$2 grp=$3 dir=/nonexistent
	shift 3
	[ "$sd" = 1 ] && dir=$TMP/sd/run/systemd/system
	sed "s|/run/systemd/system|$dir|g" "$TMP/control/$s" >"$TMP/$s.run"
	: >"$TMP/calls"
	PATH=$S:/usr/bin:/bin HAVE_GROUP=$grp sh -e "$TMP/$s.run" "$@" || bad "$s $* exited $?"
	tr '\n' ';' <"$TMP/calls"
}
expect() {
	local want=$1 got
	shift
	got=$(run "$@")
	[ "$got" = "$want" ] || bad "$*: ran '$got', expected '$want'"
}
expect "addgroup --quiet --system ckpt;systemctl --system daemon-reload;" postinst 1 0 configure
expect "systemctl --system daemon-reload;" postinst 1 1 configure
expect "addgroup --quiet --system ckpt;" postinst 0 0 configure
expect "" postinst 1 0 abort-upgrade
expect "systemctl stop ckptd.socket ckptd.service;" prerm 1 1 remove
expect "" prerm 0 1 remove
expect "" prerm 1 1 upgrade 0.1.0
expect "systemctl stop ckptd.socket ckptd.service;systemctl --system daemon-reload;" postrm 1 1 remove
expect "" postrm 0 1 purge

[ $failed = 0 ] || exit 1
echo "PASS: package ${DEB##*/} ($(wc -l <"$TMP/deb.list") files)"
