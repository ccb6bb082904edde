#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The end of a background snapshot, while the program writes: once the
# copy is done, the write-protection is lifted and the userfaultfd
# unregistered with the program running. Programs that write all through
# it keep exact memory, and so does the image: snapwriter (512 MiB,
# writes without pause, checks each page against the write before it)
# passes in the original and in its restarted snapshots, and a second
# snapshot taken at once after the first is exact too. dirtymem in its
# stall mode (rewrites old pages, maps and unmaps new ones) reports the
# longest stall it saw, and neither keeps anything of the snapshot.
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/snap-lib.sh
. "$(dirname "$0")/snap-lib.sh"

start_ckptd

# writes without pause, through the copy and the lifting of the protection
name=$P-writer
run_wl "$name" "$WL/snapwriter" 512
pid=$(host_pid "$name")
checkpoint_bg "$name" "$TMP/writer1.img"
no_uffd "$pid"
# the next snapshot at once: it protects what the first just let go
checkpoint_bg "$name" "$TMP/writer2.img"
no_uffd "$pid"
runs_on "$name" snapwriter 4
restored "$P-writer1" "$TMP/writer1.img" snapwriter
restored "$P-writer2" "$TMP/writer2.img" snapwriter
info "snapwriter: the original and both restarted snapshots pass"
ckctl rm "$name" >/dev/null || fail "rm $name"

# old pages written again and new ones mapped and unmapped all through it:
# the stall it sees is reported and no userfaultfd may be left in it. Its
# writes put back the values the pages hold, so its restart shows only
# that the image restarts whole; exactness is snapwriter's part above
stall=$P-stall
run_wl "$stall" "$WL/dirtymem" 512 stall
pid=$(host_pid "$stall")
checkpoint_bg "$stall" "$TMP/stall.img"
no_uffd "$pid"
n=$(count_log "$stall" '^STALL')
ckctl kill "$stall" --signal USR1 >/dev/null || fail "kill -USR1 $stall"
wait_log_count "$stall" '^STALL' $(( n + 1 )) 30
info "dirtymem: $(last_log "$stall" '^STALL' | awk '{ printf "longest gap %d us in %d iterations", $2, $3 }')"
verify_ct "$stall" dirtymem
restored "$P-stall2" "$TMP/stall.img" dirtymem
info "dirtymem: the original and its restarted snapshot pass (a restart check, not an exactness one)"
ckctl rm "$stall" >/dev/null || fail "rm $stall"
pass
