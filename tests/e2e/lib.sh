# SPDX-License-Identifier: GPL-2.0-or-later
# Variables set here are used by the tests that source this file.
# shellcheck disable=SC2034
# shellcheck shell=bash
# End-to-end test library: sourced by tests/e2e/NN-name.sh.
#
# Each test gets a private ckptd (own socket, state dir and cgroup), drives it
# with ckptctl only, and exits 0 (pass), 1 (fail) or 77 (skip). The EXIT trap
# removes every container, stops ckptd, thaws and kills whatever is left in
# the test's own cgroups, removes them and $TMP, whatever happened.
#
# Environment:
#   CKPT_BUILD   build dir holding ckptd, ckptctl, tests/workloads (default: build/)
#   CKPT_KEEP=1  keep $TMP for a post-mortem
#   CKPT_VERBOSE=1  trace the helpers

set -u -o pipefail

E2E_NAME=$(basename "$0" .sh)
TEST_NAME=$E2E_NAME
P=e2e$$
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${CKPT_BUILD:-$REPO/build}" 2>/dev/null && pwd || echo "${CKPT_BUILD:-$REPO/build}")
CKPTD=$BUILD/ckptd
CKPTCTL=$BUILD/ckptctl
WL=$BUILD/tests/workloads
PYWL=$REPO/tests/workloads/py-state.py
PYTHON=$(command -v python3 || true)
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

TMP=
SOCK=
STATE=
WORK=
CKPTD_PID=
E2E_CGROUPS=()       # the cgroups this test made for its ckptd (v2 and/or v1 freezer)
E2E_DONE=0

info() { echo "[$E2E_NAME] $*" >&2; }
skip() { echo "[$E2E_NAME] SKIP: $*" >&2; exit 77; }
fail() {
	echo "[$E2E_NAME] FAIL: $*" >&2
	e2e_post_mortem
	exit 1
}
pass() { E2E_DONE=1; echo "[$E2E_NAME] PASS" >&2; exit 0; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ckptctl against this test's ckptd, never hanging for ever.
ckctl() {
	[ "${CKPT_VERBOSE:-0}" = 1 ] && echo "+ ckptctl $*" >&2
	timeout -k 5 "${CKCTL_TIMEOUT:-180}" "$CKPTCTL" --socket "$SOCK" "$@"
}

# --- JSON (python3 is a dependency anyway: it is a workload) -----------------

# ct_field NAME FIELD: one field of a container from `ckptctl --json list`,
# empty if the container or the field is absent.
ct_field() {
	ckctl --json list | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for c in d.get("containers", []):
    if c.get("name") == sys.argv[1]:
        v = c.get(sys.argv[2], "")
        print(len(v) if isinstance(v, list) else v)
        break
' "$1" "$2"
}
host_pid_of() { ct_field "$1" host_pid; }
state_of() { ct_field "$1" state; }

# json_get KEY < json: a top-level field of a JSON object.
json_get() {
	"$PYTHON" -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1], "")
print(v)
' "$1"
}

# --- cgroups: ckptd puts containers below its own cgroup, so a private ----
# --- cgroup for ckptd keeps this test's containers apart from anyone else's.

cg2_mount() { awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo; }
cg1_freezer_mount() {
	awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
	       if ($(i+1) == "cgroup" && $(i+3) ~ /(^|,)freezer(,|$)/) { print $5; exit } }' \
		/proc/self/mountinfo
}

e2e_make_cgroups() {
	local id m
	id=ckpt-e2e.$E2E_NAME.$$
	for m in "$(cg2_mount)" "$(cg1_freezer_mount)"; do
		[ -n "$m" ] && [ -d "$m" ] || continue
		mkdir -p "$m/$id" && E2E_CGROUPS+=("$m/$id")
	done
	[ ${#E2E_CGROUPS[@]} -gt 0 ] || skip "no cgroup2 or freezer cgroup mount"
}

# Thaw, kill and remove one cgroup tree, deepest first.
cg_destroy() {
	local root=$1 d i pids
	[ -d "$root" ] || return 0
	find "$root" -depth -type d 2>/dev/null | while read -r d; do
		[ -f "$d/cgroup.freeze" ] && echo 0 > "$d/cgroup.freeze" 2>/dev/null
		[ -f "$d/freezer.state" ] && echo THAWED > "$d/freezer.state" 2>/dev/null
	done
	for i in $(seq 50); do
		pids=$(find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
		[ -z "${pids// /}" ] && break
		if [ -f "$root/cgroup.kill" ]; then
			echo 1 > "$root/cgroup.kill" 2>/dev/null
		else
			kill -9 $pids 2>/dev/null
		fi
		sleep 0.1
	done
	find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
	[ -d "$root" ] && echo "[$E2E_NAME] warning: could not remove cgroup $root" >&2
	return 0
}

# --- ckptd -----------------------------------------------------------------

# ckptd_start [--activate] [extra ckptd args...]: a private ckptd on $SOCK,
# in this test's cgroups; waits until it answers `version` (CKPTD_START_WAIT_S,
# 10 s unless a test expects a long recovery first).
ckptd_start() {
	local activate=0 i wait_s=${CKPTD_START_WAIT_S:-10}
	if [ "${1:-}" = --activate ]; then activate=1; shift; fi
	mkdir -p "$STATE"
	rm -f "$SOCK"
	# never the machine's ckptd.conf: a test's own --config comes later and wins
	[ -e "$TMP/e2e.conf" ] || { : > "$TMP/e2e.conf" && chmod 644 "$TMP/e2e.conf"; }
	(
		for cg in "${E2E_CGROUPS[@]}"; do
			echo "$BASHPID" > "$cg/cgroup.procs" || exit 99
		done
		if [ $activate = 1 ]; then
			exec systemd-socket-activate -l "$SOCK" --seqpacket \
				"$CKPTD" --config "$TMP/e2e.conf" --state-dir "$STATE" "$@"
		fi
		exec "$CKPTD" --config "$TMP/e2e.conf" --socket "$SOCK" --state-dir "$STATE" "$@"
	) >>"$TMP/ckptd.log" 2>&1 </dev/null &
	CKPTD_PID=$!
	for i in $(seq $(( wait_s * 10 ))); do
		if [ -S "$SOCK" ] && CKCTL_TIMEOUT=5 ckctl version >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$CKPTD_PID" 2>/dev/null || { CKPTD_PID=; fail "ckptd exited at start"; }
		sleep 0.1
	done
	fail "ckptd did not answer on $SOCK within $wait_s s"
}

# ckptd_stop: SIGTERM and wait (operations get their grace period), then SIGKILL.
ckptd_stop() {
	local i
	[ -n "$CKPTD_PID" ] || return 0
	kill -TERM "$CKPTD_PID" 2>/dev/null
	for i in $(seq 300); do
		kill -0 "$CKPTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CKPTD_PID" 2>/dev/null; then
		echo "[$E2E_NAME] ckptd ignored SIGTERM for 30 s: SIGKILL" >&2
		kill -KILL "$CKPTD_PID" 2>/dev/null
	fi
	wait "$CKPTD_PID" 2>/dev/null
	CKPTD_PID=
}

# comm_pids COMM: the processes of that name in the test's cgroups
comm_pids() {
	local cg pid
	for cg in "${E2E_CGROUPS[@]}"; do
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
		done
	done | sort -u
}

ckptd_alive() { [ -n "$CKPTD_PID" ] && kill -0 "$CKPTD_PID" 2>/dev/null; }

# --- set-up and tear-down ----------------------------------------------------

e2e_post_mortem() {
	local n
	[ -n "$TMP" ] || return 0
	if [ -s "$TMP/ckptd.log" ]; then
		echo "---- ckptd log (last 40 lines) ----" >&2
		tail -n 40 "$TMP/ckptd.log" >&2
	fi
	if ckptd_alive; then
		for n in $(CKCTL_TIMEOUT=10 ckctl --json list 2>/dev/null |
			   "$PYTHON" -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)["containers"]]' 2>/dev/null); do
			echo "---- log of container $n (last 20 lines) ----" >&2
			CKCTL_TIMEOUT=10 ckctl logs "$n" 2>&1 | tail -n 20 >&2
		done
	fi
}

e2e_cleanup() {
	local rc=$? n cg
	trap - EXIT INT TERM
	set +e
	if ckptd_alive; then
		for n in $(CKCTL_TIMEOUT=10 ckctl --json list 2>/dev/null |
			   "$PYTHON" -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)["containers"]]' 2>/dev/null); do
			CKCTL_TIMEOUT=20 ckctl rm "$n" >/dev/null 2>&1 ||
				echo "[$E2E_NAME] cleanup: rm $n failed" >&2
		done
	fi
	ckptd_stop
	for cg in "${E2E_CGROUPS[@]}"; do
		cg_destroy "$cg"
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		# anything a test mounted below $TMP (tmpfs for a state dir)
		awk -v t="$TMP" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m"; done
		if [ "${CKPT_KEEP:-0}" = 1 ]; then
			echo "[$E2E_NAME] kept $TMP" >&2
		else
			rm -rf --one-file-system "$TMP"
		fi
	fi
	exit $rc
}

e2e_init() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -x "$CKPTD" ] && [ -x "$CKPTCTL" ] || skip "ckptd/ckptctl not built in $BUILD"
	[ -n "$PYTHON" ] || skip "no python3"
	TMP=$(mktemp -d /tmp/ckpt-e2e.XXXXXX) || fail "mktemp"
	chmod 755 "$TMP"
	# ckptd's socket in a dir of its own: containers don't see that dir
	SOCK=$TMP/run/ckptd.sock
	STATE=$TMP/state
	WORK=$TMP/wd
	mkdir -p "$WORK"
	mkdir -m 755 "$TMP/run"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	e2e_make_cgroups
}

# --- containers ----------------------------------------------------------------

# logs NAME: the container log, as ckptctl shows it
logs() { ckctl logs "$1"; }

# count_log NAME ERE: lines of the log matching ERE
count_log() { ckctl logs "$1" 2>/dev/null | grep -cE "$2"; }

# fail_if_failed NAME: a FAIL line anywhere in the log fails the test
fail_if_failed() {
	local l
	l=$(ckctl logs "$1" 2>/dev/null | grep -m1 -E '^FAIL') && fail "$1 reported: $l"
	return 0
}

# wait_log NAME ERE [TIMEOUT_S]: until a line matches ERE
wait_log() { wait_log_count "$1" "$2" 1 "${3:-30}"; }

# wait_log_count NAME ERE COUNT [TIMEOUT_S]: until COUNT lines match ERE
wait_log_count() {
	local name=$1 re=$2 want=${3:-1} t=${4:-30} end n
	end=$(( $(now_ms) + t * 1000 ))
	while :; do
		n=$(count_log "$name" "$re")
		[ "${n:-0}" -ge "$want" ] && return 0
		fail_if_failed "$name"
		[ "$(now_ms)" -ge "$end" ] && {
			echo "---- log of $name ----" >&2
			ckctl logs "$name" 2>&1 | tail -n 20 >&2
			fail "$name: waited $t s for $want line(s) matching '$re', saw ${n:-0}"
		}
		sleep 0.1
	done
}

# wait_state NAME STATE [TIMEOUT_S]
wait_state() {
	local name=$1 want=$2 t=${3:-30} end s
	end=$(( $(now_ms) + t * 1000 ))
	while :; do
		s=$(state_of "$name")
		[ "$s" = "$want" ] && return 0
		[ "$(now_ms)" -ge "$end" ] && fail "$name: state '$s' after $t s, want '$want'"
		sleep 0.1
	done
}

expect_state() {
	local s
	s=$(state_of "$1")
	[ "$s" = "$2" ] || fail "$1: state '$s', want '$2'"
}

# run_wl NAME PROGRAM [ARGS...]: start a workload with cwd $WORK, wait for READY
run_wl() {
	local name=$1
	shift
	ckctl run "$name" --cwd "$WORK" -- "$@" >/dev/null || fail "run $name: $*"
	wait_log "$name" '^READY' 30
	expect_state "$name" running
}
# run_wl_cap CAP NAME PROG [ARGS]: run_wl with one capability beyond the
# default set, for a workload that needs it
run_wl_cap() {
	local cap=$1 name=$2
	shift 2
	ckctl run "$name" --cwd "$WORK" --cap-add "$cap" -- "$@" >/dev/null || fail "run $name (+$cap): $*"
	wait_log "$name" '^READY' 30
	expect_state "$name" running
}

# verify_pass NAME: ask the workload to verify itself (SIGUSR2), wait for PASS
verify_pass() {
	local name=$1 n
	n=$(count_log "$name" '^PASS')
	ckctl kill "$name" --signal USR2 >/dev/null || fail "kill -USR2 $name"
	wait_log_count "$name" '^PASS' $(( n + 1 )) 60
	fail_if_failed "$name"
}

last_log() { ckctl logs "$1" | grep -E "$2" | tail -n 1; }

# --- what the outside world sees of a task --------------------------------------

# snap NAME OUT [nomaps]: /proc/PID/maps, the fd list and the identity and
# signal lines of /proc/PID/status of the workload. NS* lines keep only the
# innermost pid: the host's view of the pid changes on restart by design.
snap() {
	local name=$1 out=$2 what=${3:-all} pid f
	pid=$(host_pid_of "$name")
	snapshot "$pid" "$out" "$what"
}

# same_snap A B WHAT: fail with the diff if they differ
same_snap() {
	diff -u "$1" "$2" >&2 || fail "$3: /proc view differs before/after (diff above)"
}

# cr_cycle NAME [nomaps]: checkpoint into the store, restart, and prove it:
# state transitions, same pid in its namespace, same /proc view, PASS.
cr_cycle() {
	local name=$1 what=${2:-all} pid_before pid_after i
	i=$(( ${CR_CYCLES:-0} + 1 ))
	CR_CYCLES=$i
	snap "$name" "$TMP/$name.before.$i" "$what"
	pid_before=$(ct_field "$name" pid)
	ckctl checkpoint "$name" >/dev/null || fail "checkpoint $name (cycle $i)"
	expect_state "$name" checkpointed
	[ -z "$(host_pid_of "$name")" ] || fail "$name: checkpointed but still has a host pid"
	ckctl restart "$name" >/dev/null || fail "restart $name (cycle $i)"
	expect_state "$name" running
	pid_after=$(ct_field "$name" pid)
	[ "$pid_before" = "$pid_after" ] || fail "$name: pid $pid_before became $pid_after"
	snap "$name" "$TMP/$name.after.$i" "$what"
	same_snap "$TMP/$name.before.$i" "$TMP/$name.after.$i" "$name cycle $i"
	verify_pass "$name"
}

# --- the names 01-cycles.sh uses ----------------------------------------------

log() { info "$@"; }
start_ckptd() { ckptd_start "$@"; }
host_pid() { host_pid_of "$1"; }
run_ct() { run_wl "$@"; }
# verify_ct NAME WORKLOAD: SIGUSR2, then a new "PASS WORKLOAD" line
verify_ct() {
	local name=$1 n
	n=$(count_log "$name" "^PASS ${2:-}")
	ckctl kill "$name" --signal USR2 >/dev/null || fail "kill -USR2 $name"
	wait_log_count "$name" "^PASS ${2:-}" $(( n + 1 )) 60
	fail_if_failed "$name"
}
# snapshot PID FILE [nomaps]
snapshot() {
	local pid=$1 out=$2 what=${3:-all} f
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || fail "snapshot: no such pid '$pid'"
	{
		if [ "$what" != nomaps ]; then
			echo "## maps"
			cat "/proc/$pid/maps"
		fi
		echo "## fds"
		for f in /proc/"$pid"/fd/*; do
			printf '%s %s\n' "${f##*/}" "$(readlink "$f")"
		done | sort -n
		echo "## status"
		awk '/^(Uid|Gid|Groups|SigBlk|SigIgn|SigCgt):/ { print; next }
		     /^(NSpid|NSpgid|NSsid):/ { print $1, $NF }' "/proc/$pid/status"
	} > "$out" || fail "snapshot $pid"
}
compare_snapshots() { same_snap "$@"; }
checkpoint_ct() {
	local name=$1
	shift
	ckctl checkpoint "$name" "$@" >/dev/null || fail "checkpoint $name $*"
	case " $* " in
	*" --leave-running "*) expect_state "$name" running ;;
	*) expect_state "$name" checkpointed ;;
	esac
}
restart_ct() {
	local name=$1
	shift
	ckctl restart "$name" "$@" >/dev/null || fail "restart $name $*"
	expect_state "$name" running
}

# wl_passes NAME WORKLOAD COUNT: SIGUSR2 (verify now), then COUNT more
# "PASS WORKLOAD" lines, one per process of a multi-process workload
wl_passes() {
	local n
	n=$(count_log "$1" "^PASS $2")
	ckctl kill "$1" --signal USR2 >/dev/null || fail "kill -USR2 $1"
	wait_log_count "$1" "^PASS $2" $(( n + $3 )) 60
	fail_if_failed "$1"
}

# --- more names the tests use -------------------------------------------------

ct_state() { state_of "$1"; }
ct_pid() { ct_field "$1" pid; }
log_count() { count_log "$@"; }
check_no_fail() { fail_if_failed "$1"; }
python_bin() { echo "$PYTHON"; }
images_count() {
	ckctl --json images "$1" | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin).get("images", [])))'
}

# cgroup_dir_of PID: the cgroup2 directory of a host pid (empty if none)
cgroup_dir_of() {
	local mnt rel
	mnt=$(cg2_mount)
	[ -n "$mnt" ] || return 0
	rel=$(sed -n 's/^0::\(.*\)$/\1/p' "/proc/$1/cgroup" 2>/dev/null)
	[ -n "$rel" ] && echo "$mnt${rel%/}"
	return 0
}

e2e_init

# --- process trees (issue 3): every process below the container's init --------

# ct_init_host_pid NAME: host pid of the container's init (the workload's parent)
ct_init_host_pid() {
	local p
	p=$(ct_field "$1" init_host_pid)
	[ -n "$p" ] && [ "$p" != 0 ] && { echo "$p"; return 0; }
	p=$(host_pid_of "$1")
	[ -n "$p" ] && awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null
	return 0
}

# e2e_tree_py INIT_HOST_PID MODE [OPTS...]: the /proc walk behind the helpers
# below. MODE pids: host pids of every process below init, zombies included
# (cgroup.procs leaves zombies out), one a line. MODE snap: the snapshot.
e2e_tree_py() {
	"$PYTHON" - "$@" <<'PY'
import os, re, sys

init, mode, opts = int(sys.argv[1]), sys.argv[2], set(sys.argv[3:])

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None

def status(path):
    d = {}
    for line in (read(path + "/status") or "").splitlines():
        k, _, v = line.partition(":")
        d[k] = v.strip()
    return d

def inner(v):                   # NSpid/NSpgid/NSsid: the innermost namespace's number
    return v.split()[-1] if v else "?"

kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        pp = status("/proc/" + d).get("PPid")
        if pp:
            kids.setdefault(int(pp), []).append(int(d))
tree, todo = [], [init]
while todo:
    for c in kids.get(todo.pop(), []):
        tree.append(c)
        todo.append(c)
if mode == "pids":
    for p in sorted(tree):
        print(p)
    sys.exit(0)

ns = {init: "1"}
st = {}
for p in tree:
    st[p] = status("/proc/%d" % p)
    ns[p] = inner(st[p].get("NSpid"))
names = {}                      # pipe:[ino] -> pipe#N, by first appearance

def norm(kind, ino):
    k = (kind, ino)
    if k not in names:
        names[k] = "%s#%d" % (kind, 1 + sum(1 for x in names if x[0] == kind))
    return names[k]

def norm_fd(t):
    m = re.match(r"^(pipe|socket|anon_inode):\[(\d+)\]$", t)
    return norm(m.group(1), m.group(2)) if m else t

def norm_map(line):
    f = line.split(None, 5)
    if len(f) < 6:
        return line
    path = f[5]
    # shared memory objects get new inode numbers when they are rebuilt;
    # which mappings share one is what matters
    if f[4] != "0" and (path.startswith(("/memfd:", "/dev/zero", "/SYSV", "/dev/shm/"))
                        or path.endswith("(deleted)")):
        f[4] = norm("shm", f[4])
    return " ".join(f)

out = []
for p in sorted(tree, key=lambda p: int(ns[p]) if ns[p].isdigit() else 1 << 30):
    s = st[p]
    stat = read("/proc/%d/stat" % p) or ""
    rest = stat[stat.rfind(")") + 2:].split()
    state = s.get("State", "?")[:1]
    state = "live" if state in ("R", "S", "D") else state
    ppid = ns.get(int(s.get("PPid", "0")), "outside")
    out.append("pid %s ppid %s pgid %s sid %s state %s threads %s exit_signal %s comm %s" % (
        ns[p], ppid, inner(s.get("NSpgid")), inner(s.get("NSsid")), state,
        s.get("Threads", "?"), rest[35] if len(rest) > 35 else "?", s.get("Name", "?")))
    for k in ("Uid", "Gid", "Groups", "SigIgn", "SigCgt"):
        out.append("  %s %s" % (k, s.get(k, "")))
    tasks = []
    for t in os.listdir("/proc/%d/task" % p) if os.path.isdir("/proc/%d/task" % p) else []:
        ts = status("/proc/%d/task/%s" % (p, t))
        line = "  task %s comm %s" % (inner(ts.get("NSpid")), ts.get("Name", "?"))
        if "nosigblk" not in opts:
            line += " SigBlk %s" % ts.get("SigBlk", "?")
        tasks.append((int(inner(ts.get("NSpid"))) if inner(ts.get("NSpid")).isdigit() else 0, line))
    out.extend(l for _, l in sorted(tasks))
    fdd = "/proc/%d/fd" % p
    try:
        fds = sorted(int(x) for x in os.listdir(fdd))
    except OSError:
        fds = []
    for fd in fds:
        try:
            t = os.readlink("%s/%d" % (fdd, fd))
        except OSError:
            continue
        m = re.search(r"^flags:\s*([0-7]+)", read("/proc/%d/fdinfo/%d" % (p, fd)) or "", re.M)
        flags = "%o" % (int(m.group(1), 8) & ~0o100000) if m else "?"   # O_LARGEFILE aside
        out.append("  fd %d %s flags %s" % (fd, norm_fd(t), flags))
    if "nomaps" not in opts:
        for line in (read("/proc/%d/maps" % p) or "").splitlines():
            out.append("  map " + norm_map(line))
print("\n".join(out))
PY
}

# tree_host_pids NAME: host pids of every process of the container but init
tree_host_pids() {
	local init
	init=$(ct_init_host_pid "$1")
	[ -n "$init" ] || return 0
	e2e_tree_py "$init" pids
}

# snapshot_tree NAME OUT [nomaps] [nosigblk]: every process below the
# container's init, sorted by its pid in the namespace: ns pid, ppid, pgid,
# sid, state (R/S/D read as "live"), threads, exit signal, comm, ids and
# signal dispositions, each thread (ns tid, name, SigBlk unless nosigblk),
# each fd (pipe/socket inode numbers renamed pipe#1, pipe#2, ... by first
# appearance, so sharing shows; flags from fdinfo) and the maps (unless
# nomaps; inode numbers of shared memory objects renamed the same way).
snapshot_tree() {
	local name=$1 out=$2 init
	shift 2
	init=$(ct_init_host_pid "$name")
	[ -n "$init" ] && [ -d "/proc/$init" ] || fail "snapshot_tree $name: no init"
	e2e_tree_py "$init" snap "$@" > "$out" || fail "snapshot_tree $name"
	grep -q '^pid ' "$out" || fail "snapshot_tree $name: no process below init"
}

# snap_count FILE: processes in a snapshot_tree file
snap_count() { grep -c '^pid ' "$1"; }

# pass_grew NAME WORKLOAD: the last two "PASS WORKLOAD" lines of the log, as
# tokens: KEY=N[,N...] (counters) must all have grown, every other token
# (KEY:ids, words) must be the same.
pass_grew() {
	local name=$1 wl=$2 msg
	msg=$(ckctl logs "$name" | grep -E "^PASS $wl( |$)" | tail -n 2 | "$PYTHON" -c '
import sys
lines = [l.split() for l in sys.stdin.read().splitlines()]
if len(lines) < 2:
    sys.exit("fewer than two PASS lines")
a, b = lines
if len(a) != len(b):
    sys.exit("PASS lines differ in shape: %s / %s" % (" ".join(a), " ".join(b)))
for x, y in zip(a, b):
    kx, eq, vx = x.partition("=")
    ky, _, vy = y.partition("=")
    if eq and kx == ky and all(v.isdigit() for v in vx.split(",") + vy.split(",")):
        xs, ys = [int(v) for v in vx.split(",")], [int(v) for v in vy.split(",")]
        if len(xs) != len(ys) or any(j <= i for i, j in zip(xs, ys)):
            sys.exit("%s did not grow: %s -> %s" % (kx, vx, vy))
    elif x != y:
        sys.exit("%s became %s" % (x, y))
' 2>&1) || fail "$name: $wl PASS lines: $msg"
}

# cr_tree_cycle NAME WORKLOAD [snapshot_tree opts]: checkpoint into the store
# and restart, proving it on the whole tree: same pid in the namespace, the
# same snapshot_tree before and after, a new PASS whose counters grew.
cr_tree_cycle() {
	local name=$1 wl=$2 i pid_before pid_after
	shift 2
	i=$(( ${CR_CYCLES:-0} + 1 ))
	CR_CYCLES=$i
	snapshot_tree "$name" "$TMP/$name.tree.before.$i" "$@"
	pid_before=$(ct_field "$name" pid)
	checkpoint_ct "$name"
	[ -z "$(tree_host_pids "$name")" ] || fail "$name: checkpointed, but processes are left"
	restart_ct "$name"
	pid_after=$(ct_field "$name" pid)
	[ "$pid_before" = "$pid_after" ] || fail "$name: pid $pid_before became $pid_after"
	snapshot_tree "$name" "$TMP/$name.tree.after.$i" "$@"
	same_snap "$TMP/$name.tree.before.$i" "$TMP/$name.tree.after.$i" "$name cycle $i"
	verify_ct "$name" "$wl"
	pass_grew "$name" "$wl"
}

# check_tree_running NAME [HOST_PIDS...]: the container is running, not
# frozen, and each process (all of them by default) exists and none of its
# threads is stopped or traced (zombies may be zombies).
check_tree_running() {
	local name=$1 pid cg t s f
	shift
	[ "$(state_of "$name")" = running ] || fail "$name: state '$(state_of "$name")', want running"
	# shellcheck disable=SC2046
	[ $# -gt 0 ] || set -- $(tree_host_pids "$name")
	[ $# -gt 0 ] || fail "$name: no process below init"
	cg=$(cgroup_dir_of "$1")
	if [ -n "$cg" ] && [ -f "$cg/cgroup.events" ]; then
		grep -q '^frozen 0$' "$cg/cgroup.events" || fail "$name: $cg is frozen"
	fi
	if [ -n "$cg" ] && [ -f "$cg/cgroup.freeze" ]; then
		[ "$(cat "$cg/cgroup.freeze")" = 0 ] || fail "$name: $cg/cgroup.freeze is $(cat "$cg/cgroup.freeze")"
	fi
	for pid in "$@"; do
		[ -d "/proc/$pid" ] || fail "$name: process $pid is gone"
		f=$(awk '$2 ~ /freezer/ { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)
		if [ -n "$f" ] && [ -n "$(cg1_freezer_mount)" ] && [ -f "$(cg1_freezer_mount)$f/freezer.state" ]; then
			[ "$(cat "$(cg1_freezer_mount)$f/freezer.state")" = THAWED ] ||
				fail "$name: freezer $f is $(cat "$(cg1_freezer_mount)$f/freezer.state")"
		fi
		for t in /proc/"$pid"/task/*; do
			s=$(awk '/^State:/ { print $2 }' "$t/status" 2>/dev/null)
			case $s in
			R|S|D|Z) ;;
			*) fail "$name: task ${t##*/} of $pid is in state '$s'" ;;
			esac
			grep -q '^TracerPid:[[:space:]]*0$' "$t/status" ||
				fail "$name: task ${t##*/} of $pid is traced: $(grep TracerPid "$t/status")"
		done
	done
}
