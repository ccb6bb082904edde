#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `systemctl start ckptd` for real: systemd as pid 1 in a throwaway
# container. A minimal Debian root (mmdebstrap, cached under
# /var/cache/ckptd-tests) boots under systemd-nspawn, and inside it:
#   dpkg -i the package built from BUILD (cmake --target package): its
#   postinst creates the ckpt group and reloads systemd;
#   systemctl start ckptd.socket; ckptd.service is not running yet;
#   ckptctl run starts it by socket activation; checkpoint and restart;
#   systemctl stop ckptd with the container running: it keeps running;
#   systemctl start ckptd: the container is adopted again (same host pid,
#   still counting) and checkpoints and restarts as before;
#   journalctl -u ckptd -o json holds the checkpoint's structured fields.
# The machine is powered off and its root removed whatever happens.
# Usage: tests/check-systemd-boot.sh [BUILD]. Exit 0 pass, 1 fail, 77 skip
# (no mmdebstrap or systemd-nspawn, no package archive, no boot).
set -u -o pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${CKPT_BUILD:-$REPO/build}}" && pwd) || exit 1
NAME=ckpt-boot-$$
CACHE=${CKPT_BOOT_CACHE:-/var/cache/ckptd-tests}
MIRROR=${CKPT_BOOT_MIRROR:-}
# what the binaries need at run time besides systemd
PKGS=systemd,systemd-sysv,dbus,adduser,libevent-2.1-7,libprotobuf-c1,iproute2,nftables
TAR=$CACHE/bookworm-minbase-$(echo "$PKGS" | cksum | cut -d' ' -f1).tar

ROOT=
CGROUPS=()       # the cgroups made for nspawn (it puts the machine below them)
NSPAWN_PID=
LEADER=
LOG=

info() { echo "[systemd-boot] $*" >&2; }
skip() { echo "[systemd-boot] SKIP: $*" >&2; exit 77; }
fail() {
	echo "[systemd-boot] FAIL: $*" >&2
	if [ -n "$LEADER" ]; then
		echo "---- journalctl -u ckptd (last 30 lines) ----" >&2
		inside journalctl -u ckptd -u ckptd.socket --no-pager -n 30 >&2
	fi
	[ -n "$LOG" ] && [ -s "$LOG" ] && { echo "---- nspawn (last 20 lines) ----" >&2; tail -n 20 "$LOG" >&2; }
	exit 1
}

# inside CMD...: run CMD in every namespace of the booted machine, with an
# environment of its own (none of ours, $CKPTD_SOCKET included)
inside() {
	timeout -k 5 "${INSIDE_TIMEOUT:-120}" nsenter -t "$LEADER" -a -- \
		env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" </dev/null
}
ctl() { inside ckptctl "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		# nspawn turns SIGTERM into a clean poweroff of the machine
		kill -TERM "$NSPAWN_PID"
		for _ in $(seq 300); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			info "the machine did not power off in 30 s: SIGKILL to its pid 1"
			# the kernel then kills everything in its pid namespace, nested ones too
			[ -n "$LEADER" ] && kill -KILL "$LEADER"
			sleep 1
			kill -KILL "$NSPAWN_PID"
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	if [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
		awk -v t="$ROOT" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m"; done
		rm -rf --one-file-system "$ROOT"
	fi
	for cg in "${CGROUPS[@]}"; do
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$cg" ] && info "warning: could not remove cgroup $cg"
	done
	[ -n "$LOG" ] && rm -f "$LOG"
	exit $rc
}

# make_cgroups: one cgroup of the test's own in the unified hierarchy and
# in systemd's named one, so that nspawn's payload/supervisor cgroups and
# the machine's own land below it, not beside the caller's
make_cgroups() {
	local m
	for m in $(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
			  if ($(i+1) == "cgroup2" || ($(i+1) == "cgroup" && $(i+3) ~ /(^|,)name=systemd(,|$)/)) print $5 }' \
			/proc/self/mountinfo); do
		mkdir "$m/$NAME" || fail "mkdir $m/$NAME"
		CGROUPS+=("$m/$NAME")
	done
	[ ${#CGROUPS[@]} -gt 0 ] || skip "no cgroup2 or name=systemd hierarchy"
}

[ "$(id -u)" = 0 ] || skip "needs root"
for t in mmdebstrap systemd-nspawn nsenter; do
	command -v "$t" >/dev/null || skip "$t is not installed (Debian: mmdebstrap, systemd-container, util-linux)"
done
[ -x "$BUILD/ckptd" ] && [ -x "$BUILD/ckptctl" ] && [ -x "$BUILD/tests/workloads/counter" ] ||
	skip "ckptd, ckptctl or the counter workload not built in $BUILD"
command -v dpkg-deb >/dev/null || skip "dpkg-deb is not installed"
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- the root, built once -----------------------------------------------------
if [ ! -s "$TAR" ]; then
	mkdir -p "$CACHE" || skip "can't create $CACHE"
	info "building $TAR with mmdebstrap (cached for the next runs)"
	# shellcheck disable=SC2086
	if ! mmdebstrap --quiet --variant=minbase --include="$PKGS" --format=tar \
		bookworm "$TAR.tmp.$$" $MIRROR >"$CACHE/mmdebstrap.log" 2>&1; then
		rm -f "$TAR.tmp.$$"
		skip "mmdebstrap failed (no package archive?): $(tail -n 2 "$CACHE/mmdebstrap.log" | tr '\n' ' ')"
	fi
	mv "$TAR.tmp.$$" "$TAR"
fi
ROOT=$(mktemp -d /var/tmp/ckpt-boot.XXXXXX) || fail "mktemp"
LOG=$(mktemp /tmp/ckpt-boot-log.XXXXXX) || fail "mktemp"
tar -C "$ROOT" -xf "$TAR" || fail "extract $TAR"
# the package, as an administrator would get it
cmake --build "$BUILD" --target package >"$LOG" 2>&1 || fail "cmake --target package: $(tail -n 3 "$LOG")"
debs=("$BUILD"/ckptd_*.deb)
[ ${#debs[@]} = 1 ] && [ -s "${debs[0]}" ] || fail "no single ckptd_*.deb in $BUILD"
install -D -m 0644 "${debs[0]}" "$ROOT/var/tmp/ckptd.deb"
install -D -m 0755 "$BUILD/tests/workloads/counter" "$ROOT/opt/ckptd-test/counter"

# --- boot -------------------------------------------------------------------------
# ckptd needs what it has on a real machine: every capability, and no
# seccomp filter above it (PTRACE_O_SUSPEND_SECCOMP is refused to a tracer
# that has one; SYSTEMD_SECCOMP=0 keeps nspawn from installing its own)
: >"$LOG"
make_cgroups
(
	for cg in "${CGROUPS[@]}"; do
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 99
	done
	SYSTEMD_SECCOMP=0 exec systemd-nspawn --quiet --register=no --keep-unit --boot --console=passive \
		--capability=all -D "$ROOT" -M "$NAME"
) >>"$LOG" 2>&1 </dev/null &
NSPAWN_PID=$!
for _ in $(seq 100); do
	kill -0 "$NSPAWN_PID" 2>/dev/null || skip "systemd-nspawn exited at start: $(tail -n 3 "$LOG" | tr '\n' ' ')"
	for c in $(pgrep -P "$NSPAWN_PID") $(pgrep -P "$NSPAWN_PID" | xargs -r -n1 pgrep -P); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && LEADER=$c
	done
	[ -n "$LEADER" ] && break
	sleep 0.1
done
[ -n "$LEADER" ] || skip "no systemd inside the machine after 10 s"
# until systemd answers on its bus, then until the boot is over
st=
for _ in $(seq 300); do
	st=$(INSIDE_TIMEOUT=90 inside systemctl is-system-running --wait 2>/dev/null)
	[ -n "$st" ] && break
	kill -0 "$NSPAWN_PID" 2>/dev/null || break
	sleep 0.2
done
case $st in
running|degraded) info "systemd is pid 1 and $st" ;;
*) skip "the machine did not boot: '$st'" ;;
esac
[ "$(inside cat /proc/1/comm)" = systemd ] || fail "pid 1 inside is not systemd"

# --- the package -----------------------------------------------------------------------
inside getent group ckpt >/dev/null && fail "the fresh root already has a ckpt group"
out=$(inside dpkg -i /var/tmp/ckptd.deb 2>&1) || fail "dpkg -i ckptd.deb: $(tail -n 5 <<<"$out")"
inside dpkg-query -W -f='${Status}' ckptd | grep -q 'install ok installed' || fail "ckptd is not installed after dpkg -i"
inside getent group ckpt >/dev/null || fail "postinst made no ckpt group"
exe=$(inside systemctl show -P ExecStart ckptd.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
[ "$exe" = /usr/sbin/ckptd ] || fail "systemd starts '$exe' for ckptd.service, not the packaged /usr/sbin/ckptd"
info "package installed: $(inside dpkg-query -W ckptd), group $(inside getent group ckpt)"

# --- socket activation ---------------------------------------------------------------
inside systemctl start ckptd.socket || fail "systemctl start ckptd.socket"
# the ckpt group (sysusers.d) may connect: the socket is 0660 root:ckpt
sock_mode=$(inside stat -c '%a %U:%G' /run/ckptd/ckptd.sock)
[ "$sock_mode" = "660 root:ckpt" ] || fail "ckptd.socket made /run/ckptd/ckptd.sock $sock_mode, want 660 root:ckpt"
[ "$(inside systemctl is-active ckptd.service)" != active ] || fail "ckptd.service runs before any client"
ctl run count -- /opt/ckptd-test/counter >/dev/null || fail "ckptctl run through socket activation"
[ "$(inside systemctl is-active ckptd.service)" = active ] || fail "ckptd.service not active after the first client"
inside systemctl show -p StatusText ckptd.service | grep -q . || fail "no status from ckptd"

# field NAME FIELD: from ckptctl --json list
field() {
	ctl --json list | python3 -c '
import json, sys
for c in json.load(sys.stdin)["containers"]:
    if c["name"] == sys.argv[1]:
        print(c.get(sys.argv[2], ""))
' "$1" "$2"
}
# passes: how many "PASS counter" lines the log holds
passes() { ctl logs count | grep -c '^PASS counter'; }
verify() {
	local n
	n=$(passes)
	ctl kill count --signal USR2 >/dev/null || fail "kill -USR2 count"
	for _ in $(seq 100); do
		[ "$(passes)" -gt "$n" ] && break
		sleep 0.1
	done
	ctl logs count | grep -q '^FAIL' && fail "the counter failed: $(ctl logs count | grep '^FAIL')"
	[ "$(passes)" -gt "$n" ] || fail "the counter did not answer SIGUSR2"
	ctl logs count | grep '^PASS counter' | tail -n 1 | awk '{ print $3 }'
}
command -v python3 >/dev/null || fail "no python3 on the host"
sleep 0.5
c0=$(verify)
ctl checkpoint count >/dev/null || fail "checkpoint under systemd: $(ctl checkpoint count 2>&1)"
[ "$(field count state)" = checkpointed ] || fail "state $(field count state) after checkpoint"
ctl restart count >/dev/null || fail "restart under systemd"
c1=$(verify)
[ "$c1" -gt "$c0" ] || fail "counter $c0 before the checkpoint, $c1 after the restart"
info "run, checkpoint, restart through socket activation: counter $c0 -> $c1"

# --- stop with a container running, start again: adopted ------------------------------
hp=$(field count host_pid)
[ -n "$hp" ] || fail "no host pid for count"
inside systemctl stop ckptd.service || fail "systemctl stop ckptd"
[ "$(inside systemctl is-active ckptd.service)" != active ] || fail "ckptd still active after stop"
inside test -d "/proc/$hp" || fail "the container's workload died with ckptd"
sleep 1
inside grep -q '^State:[[:space:]]*[RS]' "/proc/$hp/status" || fail "the workload is stopped while ckptd is down"
inside systemctl start ckptd.service || fail "systemctl start ckptd"
[ "$(field count state)" = running ] || fail "after ckptd's restart the container is '$(field count state)'"
[ "$(field count host_pid)" = "$hp" ] || fail "host pid $hp became $(field count host_pid): not the same process"
c2=$(verify)
[ "$c2" -gt "$c1" ] || fail "counter did not go on while ckptd was down ($c1 -> $c2)"
ctl checkpoint count >/dev/null || fail "checkpoint after the adoption"
ctl restart count >/dev/null || fail "restart after the adoption"
c3=$(verify)
[ "$c3" -gt "$c2" ] || fail "counter $c2 -> $c3 across the last cycle"
info "stopped with the container running, started again, adopted: counter $c2 -> $c3"
ctl rm count >/dev/null || fail "rm count"
inside journalctl -u ckptd --no-pager -o cat | grep -q . || fail "nothing from ckptd in the journal"
# structured fields, and the message without a "ckptd[pid]:" of its own
# (journald adds that one)
inside journalctl -u ckptd --no-pager -o json >"$LOG.json" 2>/dev/null || fail "journalctl -o json"
python3 - "$LOG.json" <<'PY' || { rm -f "$LOG.json"; fail "the journal lacks ckptd's structured fields"; }
import json, sys
done = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    msg = e.get("MESSAGE", "")
    if isinstance(msg, str) and msg.startswith("ckptd["):
        sys.exit(f"a journal message prints its own prefix: {msg}")
    if e.get("CKPT_CONTAINER") == "count" and e.get("CKPT_RESULT") == "ok":
        op = e.get("CKPT_OPERATION")
        if not e.get("CKPT_DURATION_MS", "").isdigit() or not e.get("CKPT_BYTES", "").isdigit():
            sys.exit(f"{op}: no duration or bytes: {e}")
        done[op] = done.get(op, 0) + 1
if done.get("checkpoint", 0) < 2 or done.get("restart", 0) < 2:
    sys.exit(f"completions in the journal: {done}, expected 2 checkpoints and 2 restarts")
print(f"[systemd-boot] journal fields: {done}", file=sys.stderr)
PY
rm -f "$LOG.json"
echo "PASS: systemd as pid 1"
