#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart --lazy from a forged stream: a page a filler brings in is copied
# into the program only once the MAC that ends its page-MAC segment has
# verified it. imgforge inverts one page of lazymem's big mapping in the
# image and recomputes every checksum after it, so that only the page MAC
# (under ckptd's key) is wrong. The stream is held back just past that
# page's record, before its MAC, until the program (lazymem watch, a
# thread reading each 2 MiB over and over) says it waits on that page;
# then the rest comes, the MAC fails, and the container is killed by name
# (fill-failed, the page MAC named), the program never having read a
# forged byte. The same page flipped without the checksums recomputed is
# refused by the record's checksum instead. The image as written restarts
# from the same pipe and passes, so what is refused is the forgery.
. "$(dirname "$0")/lib.sh"

FORGE=$BUILD/tests/tools/imgforge
[ -x "$FORGE" ] || skip "imgforge not built in $BUILD"
MIB=64
name=$P-f

fills_done() { grep -c "container $name: lazy restart: every page is in" "$TMP/ckptd.log"; }
fills_failed() { grep -c "container $name: its lazily restored memory can't be filled" "$TMP/ckptd.log"; }
fillers() { comm_pids ckptd-filler; }

# killed N WHY: the Nth fill of $name failed, for WHY (an ERE of its
# reason); the container stopped, no filler and no lazymem left
killed() {
	local i why
	for i in $(seq 300); do
		[ "$(fills_failed)" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$(fills_failed)" -ge "$1" ] || fail "$name: no fill-failed in ckptd's log"
	why=$(grep "container $name: its lazily restored memory can't be filled" "$TMP/ckptd.log" | sed -n "$1p")
	echo "$why" | grep -qE "$2" || fail "$name: the fill failed, but not for '$2': $why"
	wait_state "$name" stopped 30
	for i in $(seq 50); do [ -z "$(fillers)" ] && break; sleep 0.1; done
	[ -z "$(fillers)" ] || fail "a filler outlived $name"
	[ -z "$(comm_pids lazymem)" ] || fail "lazymem runs after its fill failed"
	ckptd_alive || fail "ckptd died"
	why=${why#*can\'t be filled (}
	info "killed: ${why%): killing it}"
}

# never_read: lazymem never read a page other than the image's
never_read() {
	local bad
	bad=$(ckctl logs "$name" | grep -m1 '^FAIL') && fail "$name read a page that is not the image's: $bad"
	return 0
}

ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB" watch
base=$(ckctl logs "$name" | sed -n 's/^MAP main \(0x[0-9a-f]*\)$/\1/p' | head -n 1)
[ -n "$base" ] || fail "$name did not say where its mapping is"
verify_ct "$name" 'lazymem [0-9]'
checkpoint_ct "$name" -o "$TMP/w.img"
# a page five eighths into the mapping: its record is one of the filler's
target=$(printf '%#x' $(( base + (MIB << 20) * 5 / 8 )))

# flipped, the checksums as they were: the record's checksum refuses it
"$FORGE" --no-fix "$target" "$TMP/w.img" "$TMP/flip.img" 2>"$TMP/flip.out" ||
	fail "imgforge --no-fix: $(cat "$TMP/flip.out")"
ckctl restart "$name" -i - --lazy < <(cat "$TMP/flip.img") >"$TMP/rs.out" 2>&1 ||
	fail "restart of a stream with a flipped page failed before the tasks ran: $(cat "$TMP/rs.out")"
killed 1 'checksum mismatch in pages record'
never_read

# forged, every checksum recomputed: only the page MAC is wrong
"$FORGE" "$target" "$TMP/w.img" "$TMP/forged.img" 2>"$TMP/forge.out" || fail "imgforge: $(cat "$TMP/forge.out")"
cmp -s "$TMP/w.img" "$TMP/forged.img" && fail "imgforge changed nothing"
read -r first npages end < <(sed -n 's/^forged pages \(0x[0-9a-f]*\) \([0-9]*\) end \([0-9]*\)$/\1 \2 \3/p' "$TMP/forge.out")
[ -n "${end:-}" ] || fail "imgforge said: $(cat "$TMP/forge.out")"
idx=$(( (first - base) / 4096 ))
info "forged: pages $idx-$(( idx + npages - 1 )) of the mapping, the stream held at byte $end of $(stat -c %s "$TMP/forged.img")"
{
	head -c "$end" "$TMP/forged.img"
	# once the pipe is empty the filler has read the forged record whole
	"$PYTHON" -c '
import array, fcntl, sys, termios, time
n = array.array("i", [0])
for _ in range(1200):
    fcntl.ioctl(1, termios.FIONREAD, n, True)
    if n[0] == 0:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)' && touch "$TMP/held"
	for _ in $(seq 1200); do [ -e "$TMP/go" ] && break; sleep 0.1; done
	touch "$TMP/sent"
	# the filler stops reading where the MAC fails: the rest may not go
	tail -c +$(( end + 1 )) "$TMP/forged.img" 2>/dev/null || :
} | ckctl restart "$name" -i - --lazy >"$TMP/rs.out" 2>&1 &
feeder=$!
for _ in $(seq 1200); do [ -e "$TMP/held" ] && break; never_read; sleep 0.1; done
[ -e "$TMP/held" ] || fail "the stream up to the forged record was not read in 120 s"
# from then on, with the record in the filler and the MAC after it not
# come, the program must still wait on a forged page, and never read one
from=$(ckctl logs "$name" | wc -l)
seen=
for _ in $(seq 600); do
	never_read
	seen=$(ckctl logs "$name" | tail -n +$(( from + 1 )) | sed -n 's/^WAITING page \([0-9]*\)$/\1/p' |
		awk -v lo="$idx" -v hi=$(( idx + npages )) '$1 >= lo && $1 < hi { print; exit }')
	[ -n "$seen" ] && break
	sleep 0.1
done
[ -n "$seen" ] || fail "$name did not wait on a forged page in 60 s: $(ckctl logs "$name" | tail -n +$(( from + 1 )) | tr '\n' ' ')"
[ -e "$TMP/sent" ] && fail "the stream went on before $name waited on a forged page"
info "$name waits on page $seen, the forged record read, its MAC held back"
never_read
touch "$TMP/go"
wait "$feeder" || fail "restart of a forged stream failed before the tasks ran: $(cat "$TMP/rs.out")"
killed 2 'the page MAC \(AES-256-GMAC\) does not match'
never_read

# the image as written, through the same pipe: filled, and every page right
ckctl restart "$name" -i - --lazy < <(cat "$TMP/w.img") >"$TMP/rs.out" 2>&1 ||
	fail "restart -i - --lazy of the image as written: $(cat "$TMP/rs.out")"
expect_state "$name" running
for _ in $(seq 1800); do [ "$(fills_done)" -ge 1 ] && break; sleep 0.1; done
[ "$(fills_done)" -ge 1 ] || fail "the fill of the image as written did not end within 180 s"
[ "$(fills_failed)" = 2 ] || fail "the fill of the image as written failed"
verify_ct "$name" 'lazymem [0-9]'
never_read
pass
