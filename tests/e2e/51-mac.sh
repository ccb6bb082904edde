#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Images are authenticated with ckptd's own key. A page changed in an image
# whose unkeyed checksums were recomputed (tests/tools/imgmutate --replace)
# is refused for its page MAC (AES-256-GMAC, its tag under the HMAC);
# root's --trust-image restores it anyway, changed page included. An image from another ckptd (its own state dir and key)
# is refused until that ckptd's key file is in --trusted-keys. `images`
# says which stored images verify. A non-root peer can't --trust-image.
. "$(dirname "$0")/lib.sh"

MUT=$BUILD/tests/tools/imgmutate
[ -x "$MUT" ] || fail "no $MUT"
MARK=MACMARK-AAAAAAAAAAAA
TAMPERED=MACMARK-BBBBBBBBBBBB
# prints the marker every 0.2 s and answers SIGUSR2 with PASS
marker_py='
import signal, sys, time
usr2 = []
signal.signal(signal.SIGUSR2, lambda *a: usr2.append(1))
m = bytearray(b"MACMARK-") + bytearray(b"A" * 12)
print("READY", flush=True)
while True:
    print("marker " + m.decode(), flush=True)
    if usr2:
        usr2.clear()
        print("PASS marker " + m.decode(), flush=True)
    time.sleep(0.2)
'

# --- another ckptd, its own state dir and key, makes an image ----------------
STATE=$TMP/state-b
start_ckptd --trusted-keys "$TMP/none"
KEY_B=$("$CKPTD" --state-dir "$STATE" --key-id 2>/dev/null) || fail "ckptd --key-id"
[[ $KEY_B =~ ^[0-9a-f]{16}$ ]] || fail "key id of ckptd B: '$KEY_B'"
[ "$(stat -c %a "$STATE/keys")" = 700 ] || fail "keys dir mode $(stat -c %a "$STATE/keys")"
[ "$(stat -c '%a %s' "$STATE/keys/image.key")" = "600 32" ] || fail "key file: $(stat -c '%a %s' "$STATE/keys/image.key")"
run_ct "$P-b" "$WL/counter"
checkpoint_ct "$P-b" -o "$TMP/b.img"
ckctl rm "$P-b" >/dev/null || fail "rm $P-b"
ckptd_stop

# --- this ckptd ------------------------------------------------------------
STATE=$TMP/state
mkdir -p "$TMP/trusted"
start_ckptd --trusted-keys "$TMP/trusted"
KEY_A=$("$CKPTD" --state-dir "$STATE" --key-id 2>/dev/null) || fail "ckptd --key-id"
[ "$KEY_A" != "$KEY_B" ] || fail "two state dirs got the same key $KEY_A"
grep -q "image key id $KEY_A" "$TMP/ckptd.log" || fail "ckptd did not log its key id $KEY_A"

# its own images restore
run_ct "$P-m" "$PYTHON" -c "$marker_py"
wait_log "$P-m" "^marker $MARK" 10
checkpoint_ct "$P-m"
restart_ct "$P-m"
verify_ct "$P-m" "marker $MARK"
checkpoint_ct "$P-m" -o "$TMP/good.img"

# a page changed and the checksums fixed up: refused for the MAC
n=$("$MUT" --replace "$MARK" "$TAMPERED" "$TMP/good.img" "$TMP/tampered.img") || fail "imgmutate --replace: $n"
log "marker replaced $n times"
cmp -s "$TMP/good.img" "$TMP/tampered.img" && fail "the tampered image is the good one"
out=$(ckctl restart "$P-m" -i "$TMP/tampered.img" 2>&1) && fail "a tampered image restored: $out"
case $out in "ckptctl: restart: "*"image not signed by this ckptd or a trusted key (key id $KEY_A: the page MAC (AES-256-GMAC) does not match"*) ;;
*) fail "tampered image: not refused for its page MAC: $out" ;; esac
log "tampered: $out"
[ "$(ct_state "$P-m")" != running ] || fail "$P-m runs after a refused image"
# the same image through a stream
out=$(ckctl restart "$P-m" -i - <"$TMP/tampered.img" 2>&1) && fail "a tampered stream restored: $out"
case $out in *"image not signed by this ckptd or a trusted key (key id $KEY_A: the page MAC"*) ;; *) fail "tampered stream: $out" ;; esac
# a byte flipped without fixing the checksums is corrupt, not untrusted
cp "$TMP/good.img" "$TMP/flip.img"
off=$(( $(stat -c %s "$TMP/good.img") / 2 ))
printf '\x5a' | dd of="$TMP/flip.img" bs=1 seek="$off" count=1 conv=notrunc status=none
out=$(ckctl restart "$P-m" -i "$TMP/flip.img" 2>&1) && fail "a flipped image restored: $out"
case $out in *"checksum mismatch"*) ;; *) fail "flipped byte: not refused as corrupt: $out" ;; esac

# root vouches for it: restored, changed page and all
restart_ct "$P-m" --trust-image -i "$TMP/tampered.img"
wait_log "$P-m" "^marker $TAMPERED" 10
verify_ct "$P-m" "marker $TAMPERED"
grep -q "trust-image" "$TMP/ckptd.log" || fail "ckptd did not log the --trust-image restart"

# `images`: stored images verify; one that does not is shown so
checkpoint_ct "$P-m"
id=$(ckctl --json images "$P-m" | "$PYTHON" -c '
import json, sys
imgs = json.load(sys.stdin)["images"]
print(imgs[-1]["id"]) if imgs[-1].get("trusted") is True and imgs[-1].get("key_id") == sys.argv[1] else print("")
' "$KEY_A")
[ -n "$id" ] || fail "the newest stored image is not shown trusted under $KEY_A: $(ckctl --json images "$P-m")"
cp "$TMP/tampered.img" "$STATE/containers/$P-m/images/$((id + 1)).img"
ckctl images "$P-m" | grep -Eq "^$P-m +$((id + 1)) .* NO +$KEY_A\$" ||
	fail "a tampered stored image is not shown untrusted: $(ckctl images "$P-m")"
ckctl images "$P-m" | grep -Eq "^$P-m +$id .* yes +$KEY_A\$" || fail "images: $(ckctl images "$P-m")"
out=$(ckctl restart "$P-m" 2>&1) && fail "the tampered stored image restored: $out"
case $out in *"not signed by this ckptd"*) ;; *) fail "tampered stored image: $out" ;; esac
restart_ct "$P-m" --image "$id"
verify_ct "$P-m" "marker $TAMPERED"

# --- the other ckptd's image: refused, then trusted through its key ---------
out=$(ckctl restart "$P-b2" -i "$TMP/b.img" 2>&1) && fail "an image of another ckptd restored: $out"
case $out in *"image not signed by this ckptd or a trusted key (key id $KEY_B)"*) ;;
*) fail "another ckptd's image: not refused for its key: $out" ;; esac
ckctl rm "$P-b2" >/dev/null 2>&1
cp "$TMP/state-b/keys/image.key" "$TMP/trusted/b.key"
ckptd_stop
start_ckptd --trusted-keys "$TMP/trusted"
grep -q "trusted image key id $KEY_B" "$TMP/ckptd.log" || fail "ckptd did not log the trusted key $KEY_B"
restart_ct "$P-b2" -i "$TMP/b.img"
verify_ct "$P-b2" counter
# a key file others may read is refused loudly, at start
chmod 0644 "$TMP/trusted/b.key"
ckptd_stop
out=$("$CKPTD" --socket "$TMP/sock2" --state-dir "$STATE" --trusted-keys "$TMP/trusted" 2>&1) &&
	fail "ckptd started with a world-readable trusted key"
case $out in *"b.key"*"private"*) ;; *) fail "world-readable key: $out" ;; esac
chmod 0600 "$TMP/trusted/b.key"
start_ckptd --trusted-keys "$TMP/trusted"

# --- a non-root peer may not --trust-image ---------------------------------
user=ckmac$$
useradd -M -N -s /usr/sbin/nologin "$user" 2>/dev/null || skip "useradd failed"
trap 'rc=$?; userdel "$user" 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
cp "$CKPTCTL" "$TMP/ckptctl" && chmod 755 "$TMP/ckptctl"
chmod 0644 "$TMP/tampered.img"
chmod 0777 "$SOCK"
out=$(setpriv --reuid "$user" --regid "$(id -g "$user")" --clear-groups \
	"$TMP/ckptctl" --socket "$SOCK" restart "$P-u" --trust-image -i "$TMP/tampered.img" 2>&1) &&
	fail "uid $(id -u "$user") restarted with --trust-image: $out"
case $out in *[Pp]ermission*|*denied*|*"only root"*) ;; *) fail "non-root --trust-image: unclear refusal: $out" ;; esac
log "non-root: $out"
[ -z "$(ct_state "$P-u")" ] || fail "a container was made for uid $(id -u "$user")"
chmod 0600 "$SOCK"
pass
