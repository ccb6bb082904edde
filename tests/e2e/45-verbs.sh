#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The operators' verbs against a real ckptd: ps (the container's processes
# as /proc sees them), wait (blocks until the workload ends, across a
# checkpoint and restart, and exits with its status), logs -f (follows
# until the container stops), images rm, run --env-file, stats.
. "$(dirname "$0")/lib.sh"

start_ckptd

# py FIELD-EXPR < json: evaluate a Python expression over the object d
py() { "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# --- ps ---------------------------------------------------------------------
ps=$P-ps
# sh's last argument holds a newline, a tab and an escape character
ckctl run "$ps" --cwd "$WORK" -- sh -c 'sleep 301 & sleep 302 & echo READY; wait' sh "$(printf 'ps-arg\nline two\tx\033end')" >/dev/null ||
	fail "run $ps"
wait_log "$ps" '^READY' 30
ckctl --json ps "$ps" >"$TMP/ps.json" || fail "ps --json"
for cmd in 'sleep 301' 'sleep 302'; do
	py "[p for p in d['processes'] if p['command'] == '$cmd']" <"$TMP/ps.json" | grep -q "'pid'" ||
		fail "ps: no '$cmd' in $(cat "$TMP/ps.json")"
done
# every row is what /proc of the host says of that task
py "'\n'.join('%d %d %d %s' % (p['pid'], p['host_pid'], p['ppid'], p['state']) for p in d['processes'])" \
	<"$TMP/ps.json" >"$TMP/ps.rows"
[ "$(wc -l <"$TMP/ps.rows")" -ge 4 ] || fail "ps: fewer than 4 processes (init, sh, 2 sleeps): $(cat "$TMP/ps.rows")"
sh_pid=$(py "[p['pid'] for p in d['processes'] if p['command'].startswith('sh -c')][0]" <"$TMP/ps.json") ||
	fail "ps: no sh"
while read -r pid hpid ppid state; do
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$hpid/status") || fail "ps: host pid $hpid is not a live task"
	[ "$nspid" = "$pid" ] || fail "ps: host pid $hpid is pid $nspid inside, ps says $pid"
	[ -n "$state" ] && [ "$state" != "?" ] || fail "ps: pid $pid has no state"
	case $(tr '\0' ' ' <"/proc/$hpid/cmdline") in
	"sleep 30"*) [ "$ppid" = "$sh_pid" ] || fail "ps: sleep $pid has ppid $ppid, not sh ($sh_pid)" ;;
	esac
done <"$TMP/ps.rows"
ckctl ps "$ps" >"$TMP/ps.txt" || fail "ps"
head -n 1 "$TMP/ps.txt" | grep -q 'PID.*HOSTPID.*PPID.*STATE.*COMMAND' || fail "ps: no header: $(head -n 1 "$TMP/ps.txt")"
grep -q 'sleep 302$' "$TMP/ps.txt" || fail "ps table lacks sleep 302"
# control characters are escaped in the table (one row a process), raw in --json
[ "$(wc -l <"$TMP/ps.txt")" = $(( $(py "len(d['processes'])" <"$TMP/ps.json") + 1 )) ] ||
	fail "ps table: not one line a process: $(cat "$TMP/ps.txt")"
grep -qF ' sh ps-arg\nline two\tx\x1bend' "$TMP/ps.txt" || fail "ps table: sh's argument not escaped: $(cat "$TMP/ps.txt")"
[ "$(py "any(p['command'].endswith(' sh ps-arg\\nline two\\tx\\x1bend') for p in d['processes'])" <"$TMP/ps.json")" = True ] ||
	fail "ps --json: sh's argument not kept raw: $(cat "$TMP/ps.json")"

# --- stats --------------------------------------------------------------------
ckctl --json stats "$ps" >"$TMP/stats.json" || fail "stats --json"
procs=$(py "len(d['processes'])" <"$TMP/ps.json")
[ "$(py "d['processes']" <"$TMP/stats.json")" = "$procs" ] || fail "stats: processes differ from ps ($procs): $(cat "$TMP/stats.json")"
[ "$(py "d['memory_bytes'] > 0" <"$TMP/stats.json")" = True ] || fail "stats: no memory: $(cat "$TMP/stats.json")"
src=$(py "d['memory_source']" <"$TMP/stats.json")
if [ "$src" = memory.current ]; then
	cg=$(cgroup_dir_of "$(host_pid_of "$ps")")
	[ -n "$cg" ] && [ -f "$cg/memory.current" ] || fail "stats: memory.current claimed, none in '$cg'"
fi
checkpoint_ct "$ps" --leave-running
checkpoint_ct "$ps" --leave-running
ckctl --json images "$ps" >"$TMP/images.json" || fail "images"
ckctl --json stats "$ps" >"$TMP/stats.json" || fail "stats --json after checkpoints"
[ "$(py "d['images']" <"$TMP/stats.json")" = 2 ] || fail "stats: images != 2: $(cat "$TMP/stats.json")"
[ "$(py "d['image_bytes']" <"$TMP/stats.json")" = "$(py "sum(i['size'] for i in d['images'])" <"$TMP/images.json")" ] ||
	fail "stats: image_bytes is not the sum of the images' sizes"
ckctl stats "$ps" | grep '^running .* 2 ' >/dev/null || fail "stats table: $(ckctl stats "$ps")"

# --- images rm ------------------------------------------------------------------
ids=$(py "' '.join(i['id'] for i in d['images'])" <"$TMP/images.json")
first=${ids%% *}
last=${ids##* }
[ "$first" != "$last" ] || fail "two checkpoints gave one image id: $ids"
ckctl --json images rm "$ps" "$first" | py "d['removed']" | grep -qx True || fail "images rm $first"
[ "$(ckctl --json images "$ps" | py "' '.join(i['id'] for i in d['images'])")" = "$last" ] ||
	fail "after images rm $first: $(ckctl images "$ps")"
ckctl --json images rm "$ps" "$first" >"$TMP/rm2.json" 2>/dev/null && fail "images rm of a removed image succeeded"
[ "$(py "d['error']['code']" <"$TMP/rm2.json")" = ERR_NOT_FOUND ] || fail "images rm twice: $(cat "$TMP/rm2.json")"
ckctl images rm "$ps" ../log >/dev/null 2>&1 && fail "images rm accepted a path as id"
[ -n "$(ckctl logs "$ps")" ] || fail "the log went away with images rm ../log"
ckctl images rm "$P-none" 1 >/dev/null 2>&1 && fail "images rm of an unknown container succeeded"
# the image left still restarts the container
ckctl kill "$ps" >/dev/null || fail "kill $ps"
wait_state "$ps" stopped 10
restart_ct "$ps" --image "$last"
ckctl ps "$ps" | grep 'sleep 301$' >/dev/null || fail "ps after restart from image $last"
ckctl rm "$ps" >/dev/null || fail "rm $ps"
ckctl ps "$ps" >/dev/null 2>&1 && fail "ps of a removed container succeeded"

# --- wait -----------------------------------------------------------------------
w=$P-wait
ckctl run "$w" --cwd "$WORK" -- sh -c 'echo READY; while [ ! -e go ]; do sleep 0.05; done; exit 7' >/dev/null ||
	fail "run $w"
wait_log "$w" '^READY' 30
ckctl wait "$w" >"$TMP/wait.out" 2>&1 &
wpid=$!
sleep 1
kill -0 $wpid 2>/dev/null || fail "wait returned while the workload runs: $(cat "$TMP/wait.out")"
# ckptd stays responsive while a client waits
ckctl list >/dev/null || fail "list while a client waits"
touch "$WORK/go"
st=0
wait $wpid || st=$?
[ "$st" = 7 ] || fail "wait exited $st, want the workload's 7: $(cat "$TMP/wait.out")"
grep -q "exited with status 7" "$TMP/wait.out" || fail "wait said: $(cat "$TMP/wait.out")"
st=0
ckctl --json wait "$w" >"$TMP/wait.json" || st=$?
[ "$st" = 7 ] || fail "wait on a stopped container exited $st"
[ "$(py "d['container']['exit_status']" <"$TMP/wait.json")" = 7 ] || fail "wait --json: $(cat "$TMP/wait.json")"
ckctl rm "$w" >/dev/null || fail "rm $w"
rm -f "$WORK/go"

# a checkpoint does not end the workload: wait goes on until it does
cw=$P-cw
run_ct "$cw" "$WL/counter"
ckctl wait "$cw" >"$TMP/wait2.out" 2>&1 &
wpid=$!
checkpoint_ct "$cw"
sleep 0.5
kill -0 $wpid 2>/dev/null || fail "wait returned at a checkpoint: $(cat "$TMP/wait2.out")"
restart_ct "$cw"
verify_pass "$cw"
kill -0 $wpid 2>/dev/null || fail "wait returned at a restart: $(cat "$TMP/wait2.out")"
ckctl kill "$cw" --signal TERM >/dev/null || fail "kill -TERM $cw"
st=0
wait $wpid || st=$?
[ "$st" = $((128 + 15)) ] || fail "wait exited $st after SIGTERM, want 143: $(cat "$TMP/wait2.out")"
# a wait ends (with an error) when its container is removed
run_ct "$cw-2" "$WL/counter"
ckctl wait "$cw-2" >"$TMP/wait3.out" 2>&1 &
wpid=$!
sleep 0.3
ckctl rm "$cw-2" >/dev/null || fail "rm $cw-2"
st=0
wait $wpid || st=$?
[ "$st" != 0 ] || fail "wait on a removed container succeeded"

# --- logs -f ---------------------------------------------------------------------
lf=$P-logs
ckctl run "$lf" --cwd "$WORK" -- sh -c 'echo READY; while [ ! -e go2 ]; do sleep 0.05; done;
	i=0; while [ $i -lt 20 ]; do echo "line $i"; i=$((i + 1)); sleep 0.05; done; echo END' >/dev/null || fail "run $lf"
wait_log "$lf" '^READY' 30
CKCTL_TIMEOUT=30 ckctl logs -f "$lf" >"$TMP/follow.out" &
lpid=$!
sleep 0.5
kill -0 $lpid 2>/dev/null || fail "logs -f returned while the container runs"
grep -q '^READY$' "$TMP/follow.out" || fail "logs -f did not copy what was there"
touch "$WORK/go2"
st=0
wait $lpid || st=$?
[ "$st" = 0 ] || fail "logs -f exited $st"
for i in $(seq 0 19); do
	grep -qx "line $i" "$TMP/follow.out" || fail "logs -f missed 'line $i'"
done
[ "$(tail -n 1 "$TMP/follow.out")" = END ] || fail "logs -f did not end with the last line: $(tail -n 2 "$TMP/follow.out")"
ckctl logs "$lf" | cmp -s - "$TMP/follow.out" || fail "logs -f differs from logs"
ckctl rm "$lf" >/dev/null || fail "rm $lf"

# --- run --env-file -------------------------------------------------------------
cat >"$TMP/env" <<'ENV'
# a comment

  # an indented comment
FOO=bar baz
EQ=a=b
EMPTY=
PATH=/usr/bin:/bin
ENV
ef=$P-env
ckctl run "$ef" --cwd "$WORK" --env-file "$TMP/env" --env LAST=1 -- sh -c \
	'echo "FOO=[$FOO] EQ=[$EQ] EMPTY=[${EMPTY-unset}] LAST=[$LAST] HOME=[${HOME-unset}]"; echo READY; sleep 300' >/dev/null ||
	fail "run --env-file"
wait_log "$ef" '^READY' 30
ckctl logs "$ef" | grep -xF 'FOO=[bar baz] EQ=[a=b] EMPTY=[] LAST=[1] HOME=[unset]' >/dev/null ||
	fail "environment from --env-file: $(ckctl logs "$ef" | head -n 1)"
printf 'GOOD=1\nnot a pair\n' >"$TMP/bad.env"
st=0
ckctl run "$ef-bad" --env-file "$TMP/bad.env" -- true >"$TMP/bad.out" 2>&1 || st=$?
[ "$st" = 2 ] || fail "a bad --env-file line exited $st, not 2 (usage)"
grep -q "bad.env:2:" "$TMP/bad.out" || fail "a bad --env-file line: $(cat "$TMP/bad.out")"
ckctl run "$ef-bad" --env-file "$TMP/none.env" -- true >/dev/null 2>&1 && fail "a missing --env-file was accepted"
[ -z "$(ct_field "$ef-bad" name)" ] || fail "a refused run left a container"
ckctl rm "$ef" >/dev/null || fail "rm $ef"

echo "PASS: $TEST_NAME"
