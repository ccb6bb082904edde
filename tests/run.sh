#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The one test command, as root: tests/run.sh
#
# On a fresh Debian 12 machine, as root: installs what is missing, builds
# build/ (RelWithDebInfo), build-asan/ (ASan+UBSan) and build-fuzz/ (the
# libFuzzer harnesses, clang), runs the unit tests in the first two,
# verifies the systemd units, builds and checks the Debian package
# (tests/check-package.sh), boots systemd as pid 1 with that package
# installed (tests/check-systemd-boot.sh), checks the shell scripts (shellcheck), then
# runs every end-to-end test in tests/e2e/ against build/ with a timeout
# each, and prints a summary.
# Exit status: 0 when nothing failed.
#
# Options:
#   --no-install   do not apt-get anything
#   --no-asan      skip the sanitizer build
#   --e2e-only     no builds from scratch, no unit tests (build/ must exist)
#   PATTERN...     run only the e2e tests whose file name contains a PATTERN
# Environment: E2E_TIMEOUT (seconds per e2e test, default 600), JOBS,
#   CKPT_BUILD / CKPT_BUILD_ASAN / CKPT_BUILD_FUZZ (build dirs, default build/,
#   build-asan/ and build-fuzz/), FUZZ_SECONDS (per harness in 27-fuzz).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)

install=1 asan=1 unit=1
patterns=()
for a in "$@"; do
	case $a in
	--no-install) install=0 ;;
	--no-asan) asan=0 ;;
	--e2e-only) unit=0 asan=0 install=0 ;;
	-h|--help) sed -n '3,21p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $a" >&2; exit 2 ;;
	*) patterns+=("$a") ;;
	esac
done

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
BUILD=${CKPT_BUILD:-$REPO/build}
BUILD_ASAN=${CKPT_BUILD_ASAN:-$REPO/build-asan}
BUILD_FUZZ=${CKPT_BUILD_FUZZ:-$REPO/build-fuzz}
E2E_TIMEOUT=${E2E_TIMEOUT:-600}
PACKAGES=(build-essential cmake pkg-config libevent-dev libprotobuf-c-dev protobuf-c-compiler
	  libsystemd-dev libcmocka-dev python3 systemd util-linux procps clang shellcheck
	  python3-protobuf protobuf-compiler scdoc man-db mmdebstrap systemd-container
	  nftables iproute2 make coreutils libssl-dev libzstd-dev dpkg-dev file
	  redis-server tmux nodejs nginx-light conntrack)

passed=0 failed=0 skipped=0
failures=()
start_s=$(date +%s)

step() { printf '\n==== %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf 'PASS  %s\n' "$1"; }
ko() { failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %s\n' "$1"; }
sk() { skipped=$((skipped + 1)); printf 'SKIP  %s\n' "$1"; }

summary() {
	step "summary ($(( $(date +%s) - start_s )) s)"
	for f in "${failures[@]}"; do
		echo "failed: $f"
	done
	echo "tests: $passed passed, $failed failed, $skipped skipped"
}

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: must run as root: ckptd needs ptrace, namespaces and cgroups" >&2
	exit 1
fi

# --- packages ------------------------------------------------------------------
if [ $install = 1 ]; then
	step "packages"
	missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q </dev/null &&
			apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null || {
			echo "run.sh: apt-get install failed" >&2
			exit 1
		}
	else
		echo "all present"
	fi
fi

# --- builds and unit tests -------------------------------------------------------
# build DIR [--target T...] [CMAKE ARGS...]
build() {
	local dir=$1 log targets=()
	shift
	while [ "${1:-}" = --target ]; do targets+=(--target "$2"); shift 2; done
	step "build $dir"
	log=$(mktemp)
	cmake -S "$REPO" -B "$dir" "$@" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; return 1; }
	rm -f "$log"
	cmake --build "$dir" -j "$JOBS" "${targets[@]}"
}

unit_tests() {
	local dir=$1
	step "unit tests ($dir)"
	if ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 300; then
		ok "unit tests (${dir##*/})"
	else
		ko "unit tests (${dir##*/})"
	fi
}

if [ $unit = 1 ]; then
	if build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
		ok "build"
		unit_tests "$BUILD"
	else
		ko "build"
		summary
		exit 1
	fi
	if [ $asan = 1 ]; then
		if build "$BUILD_ASAN" -DCMAKE_BUILD_TYPE=Debug -DCKPT_SANITIZE=ON; then
			ok "build (asan)"
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
				unit_tests "$BUILD_ASAN"
		else
			ko "build (asan)"
		fi
	fi

	# libFuzzer harnesses, run by e2e 27-fuzz
	if command -v clang >/dev/null; then
		if CC=clang build "$BUILD_FUZZ" --target fuzz-image --target fuzz-proc --target fuzz-rpc --target fuzz-spawn \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCKPT_FUZZ=ON; then
			ok "build (fuzz)"
		else
			ko "build (fuzz)"
		fi
	fi

	step "systemd units"
	# verify checks that ExecStart exists: point it at the fresh build
	units=$(mktemp -d)
	sed "s|^ExecStart=[^ ]*|ExecStart=$BUILD/ckptd|" "$BUILD/systemd/ckptd.service" \
		>"$units/ckptd.service" && cp "$REPO/systemd/ckptd.socket" "$units/" &&
		if systemd-analyze verify --man=no "$units/ckptd.service" "$units/ckptd.socket"; then
			ok "systemd-analyze verify"
		else
			ko "systemd-analyze verify"
		fi
	rm -rf "$units"

	step "debian package"
	bash "$REPO/tests/check-package.sh" "$BUILD" >"$BUILD/package.log" 2>&1
	case $? in
	0) ok "debian package" ;;
	77) sk "debian package: $(grep -m1 SKIP "$BUILD/package.log" | sed 's/.*SKIP: //')" ;;
	*) tail -n 40 "$BUILD/package.log"; ko "debian package" ;;
	esac

	step "systemd as pid 1"
	# the installed units, socket activation and re-adoption in a booted machine
	bash "$REPO/tests/check-systemd-boot.sh" "$BUILD" >"$BUILD/systemd-boot.log" 2>&1
	case $? in
	0) ok "systemd as pid 1" ;;
	77) sk "systemd as pid 1: $(grep -m1 SKIP "$BUILD/systemd-boot.log" | sed 's/.*SKIP: //')" ;;
	*) tail -n 40 "$BUILD/systemd-boot.log"; ko "systemd as pid 1" ;;
	esac

	step "shellcheck"
	if ! command -v shellcheck >/dev/null; then
		sk "shellcheck: not installed"
	elif (cd "$REPO" && shellcheck -S warning tests/*.sh tests/e2e/*.sh bench/*.sh .ci/run completion/ckptctl.bash); then
		ok "shellcheck"
	else
		ko "shellcheck"
	fi
elif [ ! -x "$BUILD/ckptd" ]; then
	echo "run.sh: --e2e-only needs $BUILD/ckptd" >&2
	exit 1
fi

# --- end-to-end tests ---------------------------------------------------------------
step "end-to-end tests (timeout ${E2E_TIMEOUT} s each)"
logdir=$(mktemp -d /tmp/ckpt-e2e-logs.XXXXXX)
for t in "$REPO"/tests/e2e/[0-9]*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ ${#patterns[@]} -gt 0 ]; then
		sel=0
		for p in "${patterns[@]}"; do
			[[ $name == *"$p"* ]] && sel=1
		done
		[ $sel = 1 ] || continue
	fi
	t0=$(date +%s)
	CKPT_BUILD="$BUILD" CKPT_BUILD_FUZZ="$BUILD_FUZZ" timeout -k 30 "$E2E_TIMEOUT" bash "$t" </dev/null >"$logdir/$name.log" 2>&1
	rc=$?
	dt=$(( $(date +%s) - t0 ))
	case $rc in
	0) ok "e2e $name (${dt} s)" ;;
	77) sk "e2e $name: $(grep -m1 SKIP "$logdir/$name.log" | sed 's/.*SKIP: //')" ;;
	*)
		[ $rc = 124 ] && echo "(timed out after ${E2E_TIMEOUT} s)"
		echo "---- $name output (last 80 lines) ----"
		tail -n 80 "$logdir/$name.log"
		echo "----"
		ko "e2e $name (exit $rc, ${dt} s)"
		;;
	esac
done
rm -rf "$logdir"

summary
[ $failed = 0 ]
