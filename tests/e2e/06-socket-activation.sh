#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Socket activation: systemd-socket-activate owns the listening
# SOCK_SEQPACKET socket and hands it to ckptd (sd_listen_fds; ckptd gets no
# --socket, so that fd is its only way in); run, checkpoint and restart go
# through it.
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
ckptd_start --activate
name=$P-cnt
run_ct "$name" "$WL/counter"
wait_log "$name" '^counter 100$' 10
cr_cycle "$name" nomaps
cr_cycle "$name"
# the socket ckptd got from the activator is the one we talk to
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
pid=$CKPTD_PID
find "/proc/$pid/fd" -lname 'socket:*' 2>/dev/null | grep -q . || fail "ckptd (pid $pid) holds no socket"
echo "PASS: $TEST_NAME"
