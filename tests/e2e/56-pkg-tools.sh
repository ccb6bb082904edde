#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The operator's tools:
#   inspect --json / --encode: an image decoded to JSON and encoded again is
#   the same bytes, its MACs included; a field changed in the JSON is in the
#   new image (inspect shows it); its MAC no longer matches, so restart
#   refuses it, and restarts from it with --trust-image; a broken JSON is
#   refused.
#   export / import: a stored image leaves one store and enters another
#   container's byte for byte, and restarts there; a corrupt or truncated
#   import is refused and leaves no image behind, not even a temporary one.
#   checkpoint --check: every object a checkpoint would refuse, listed at
#   once (two processes: one with a vsock socket, one with a fanotify fd
#   and a vsock socket), no image written, the workload still running; a
#   container with nothing to refuse passes.
. "$(dirname "$0")/lib.sh"
start_ckptd

# pyfield FILE EXPR: evaluate EXPR over the JSON document d in FILE
pyfield() {
	"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# --- inspect --json round trip -------------------------------------------------------
name=$P-mem
run_ct "$name" "$WL/memory"
verify_ct "$name" memory
checkpoint_ct "$name" -o "$TMP/a.img"
ckctl --json inspect "$TMP/a.img" >"$TMP/a.json" || fail "inspect --json: $(tail -n 3 "$TMP/a.json")"
[ "$(pyfield "$TMP/a.json" 'd["valid"]')" = True ] || fail "inspect --json: not valid: $(pyfield "$TMP/a.json" 'd["error"]')"
[ "$(pyfield "$TMP/a.json" 'd["records"][0]["type"]')" = header ] || fail "the first record is not the header"
[ "$(pyfield "$TMP/a.json" 'd["records"][0]["msg"]["container"]')" = "$name" ] ||
	fail "header.container is not $name in the JSON"
[ "$(pyfield "$TMP/a.json" 'sum(1 for r in d["records"] if r["type"] == "pages" and r.get("data"))')" -gt 0 ] ||
	fail "no pages record with base64 data"
[ "$(pyfield "$TMP/a.json" 'sum(1 for r in d["records"] if r["type"] == "mac")')" -ge 1 ] ||
	fail "the JSON does not show the image's mac records"
# each page record is its own page-MAC segment: a MAC or the tail follows it
[ "$(pyfield "$TMP/a.json" 'all(d["records"][i + 1]["type"] in ("mac", "tail") for i, r in enumerate(d["records"]) if r["type"] in ("pages", "zpages"))')" = True ] ||
	fail "a page record is not followed by a mac record"
[ "$(pyfield "$TMP/a.json" 'len(d["records"][-1]["msg"]["mac"]["mac"]) > 0')" = True ] ||
	fail "the JSON's tail carries no MAC"
ckctl inspect --encode "$TMP/a.json" >"$TMP/b.img" || fail "inspect --encode failed"
cmp "$TMP/a.img" "$TMP/b.img" || fail "decode + encode changed the image"
ckctl inspect --encode - <"$TMP/a.json" >"$TMP/c.img" || fail "inspect --encode - failed"
cmp "$TMP/a.img" "$TMP/c.img" || fail "decode + encode from stdin changed the image"
info "inspect --json | inspect --encode: byte-identical ($(stat -c %s "$TMP/a.img") bytes)"

# a changed field: the hostname the container restarts with
"$PYTHON" - "$TMP/a.json" "$TMP/m.json" <<'PY' || fail "editing the JSON"
import json, sys
d = json.load(open(sys.argv[1]))
d["records"][0]["msg"]["hostname"] = "edited-host"
json.dump(d, open(sys.argv[2], "w"))
PY
ckctl inspect --encode "$TMP/m.json" >"$TMP/m.img" || fail "encoding the edited JSON"
cmp -s "$TMP/a.img" "$TMP/m.img" && fail "the edited image is the same as the original"
ckctl inspect "$TMP/m.img" >"$TMP/m.txt" || fail "inspect of the edited image: $(tail -n 2 "$TMP/m.txt")"
grep -q ' hostname=edited-host' "$TMP/m.txt" || fail "inspect does not show the edited hostname"
ckctl --json inspect "$TMP/m.img" >"$TMP/m2.json" || fail "inspect --json of the edited image"
[ "$(pyfield "$TMP/m2.json" 'd["records"][0]["msg"]["hostname"]')" = edited-host ] || fail "the edit did not survive"
ckctl restart "$name" -i "$TMP/m.img" >"$TMP/m.out" 2>&1 && fail "the edited image restarted without --trust-image"
grep -q 'not signed' "$TMP/m.out" || fail "the edited image's refusal: $(cat "$TMP/m.out")"
[ "$(ct_state "$name")" = checkpointed ] || fail "$name is $(ct_state "$name") after a refused restart"
restart_ct "$name" --trust-image -i "$TMP/m.img"
verify_ct "$name" memory
info "an edited hostname: inspect shows it, its MAC refuses it, it restarts with --trust-image"

# refusals name what is wrong
printf '{"records": [' >"$TMP/bad.json"
ckctl inspect --encode "$TMP/bad.json" >"$TMP/bad.img" 2>"$TMP/bad.err" && fail "a truncated JSON was encoded"
grep -q 'JSON offset' "$TMP/bad.err" || fail "truncated JSON: $(cat "$TMP/bad.err")"
"$PYTHON" - "$TMP/a.json" "$TMP/u.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["records"][0]["msg"]["no_such_field"] = 1
json.dump(d, open(sys.argv[2], "w"))
PY
ckctl inspect --encode "$TMP/u.json" >"$TMP/u.img" 2>"$TMP/u.err" && fail "an unknown field was encoded"
grep -q 'records\[0\].msg.no_such_field' "$TMP/u.err" || fail "unknown field: $(cat "$TMP/u.err")"
info "bad JSON refused: $(cat "$TMP/u.err")"

# --- export / import -----------------------------------------------------------------
# images_files NAME: what the store directory of NAME holds
images_files() { ls -A "$STATE/containers/$1/images" 2>/dev/null | tr '\n' ' '; }
checkpoint_ct "$name"
id=$(ckctl --json images "$name" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["images"][-1]["id"])')
[ -n "$id" ] || fail "no stored image after a checkpoint"
ckctl export "$name" "$id" -o "$TMP/exp.img" >"$TMP/exp.out" || fail "export: $(cat "$TMP/exp.out")"
cmp "$TMP/exp.img" "$STATE/containers/$name/images/$id.img" || fail "export -o FILE is not the stored image"
ckctl export "$name" -o - >"$TMP/exp2.img" 2>"$TMP/exp2.err" || fail "export -o -: $(cat "$TMP/exp2.err")"
cmp "$TMP/exp.img" "$TMP/exp2.img" || fail "export -o - (the newest) is not the stored image"
ckctl export "$name" 999 -o "$TMP/none.img" 2>"$TMP/none.err" && fail "export of a missing image succeeded"
[ -e "$TMP/none.img" ] && fail "a failed export left $TMP/none.img"
info "exported image $id: $(cat "$TMP/exp.out")"

# into a container that does not exist yet: created, checkpointed, restartable
other=$P-moved
ckctl --json import "$other" -i "$TMP/exp.img" >"$TMP/imp.json" || fail "import: $(cat "$TMP/imp.json")"
[ "$(pyfield "$TMP/imp.json" 'd["created"]')" = True ] || fail "import did not create $other: $(cat "$TMP/imp.json")"
iid=$(pyfield "$TMP/imp.json" 'd["image_id"]')
cmp "$TMP/exp.img" "$STATE/containers/$other/images/$iid.img" || fail "the imported image differs from the exported one"
[ "$(ct_state "$other")" = checkpointed ] || fail "$other is $(ct_state "$other") after the import"
restart_ct "$other"
verify_ct "$other" memory
info "imported into a new container $other as image $iid; it restarts and verifies"
ckctl rm "$other" >/dev/null || fail "rm $other"

# from stdin into an existing container: the newest image
before=$(images_count "$name")
ckctl import "$name" -i - <"$TMP/exp.img" >"$TMP/imp2.out" || fail "import -i -: $(cat "$TMP/imp2.out")"
[ "$(images_count "$name")" = $((before + 1)) ] || fail "import -i - did not add an image to $name"

# refused: a corrupt image, a truncated one, something that is no image;
# none leaves an image or a temporary file, and no container is created
cp "$TMP/exp.img" "$TMP/corrupt.img"
size=$(stat -c %s "$TMP/corrupt.img")
printf 'XXXX' | dd of="$TMP/corrupt.img" bs=1 seek=$((size / 2)) conv=notrunc status=none
head -c $((size / 3)) "$TMP/exp.img" >"$TMP/trunc.img"
echo "not an image" >"$TMP/text.img"
files=$(images_files "$name")
for bad in corrupt trunc text; do
	ckctl import "$name" -i "$TMP/$bad.img" >"$TMP/$bad.out" 2>&1 && fail "a $bad image was imported"
	grep -q 'refused' "$TMP/$bad.out" || fail "$bad import: $(cat "$TMP/$bad.out")"
	[ "$(images_files "$name")" = "$files" ] || fail "a $bad import left: $(images_files "$name") (was: $files)"
	ckctl import "$P-new-$bad" -i "$TMP/$bad.img" >/dev/null 2>&1 && fail "a $bad image was imported into a new container"
	[ -z "$(ct_state "$P-new-$bad")" ] || fail "a refused import left container $P-new-$bad"
	info "$bad image refused: $(head -n 1 "$TMP/$bad.out")"
done
ckctl rm "$name" >/dev/null || fail "rm $name"

# --- checkpoint --check ----------------------------------------------------------------
bad=$P-refuse
ckctl run "$bad" --cwd "$WORK" --cap-add SYS_ADMIN -- /bin/sh -c "$WL/refuse socket & exec $WL/refuse fanotify socket" >/dev/null ||
	fail "run $bad"
wait_log_count "$bad" '^READY' 2 30
rc=0
ckctl --json checkpoint "$bad" --check >"$TMP/check.json" 2>"$TMP/check.err" || rc=$?
[ "$rc" = 1 ] || fail "checkpoint --check of a refusable container exited $rc: $(cat "$TMP/check.json" "$TMP/check.err")"
"$PYTHON" - "$TMP/check.json" <<'PY' || fail "checkpoint --check: $(cat "$TMP/check.json")"
import json, sys
d = json.load(open(sys.argv[1]))
errs = d["errors"]
assert not d["ok"], "ok with refusals"
assert all(e["code"] == "ERR_UNSUPPORTED" for e in errs), f"not all refusals: {errs}"
text = [e["message"].lower() for e in errs]
assert any("vsock" in t for t in text), f"no AF_VSOCK refusal: {text}"
assert any("fanotify" in t for t in text), f"no fanotify refusal: {text}"
pids = [e.get("task_pid") for e in errs]
assert len(errs) == 3, f"{len(errs)} refusals, expected 3: {text}"
assert sum("vsock" in t for t in text) == 2, f"not one AF_VSOCK refusal per task: {text}"
assert sum("fanotify" in t for t in text) == 1, f"not one fanotify refusal: {text}"
assert len(set(pids)) == 2 and None not in pids, f"refusals do not name two tasks: {errs}"
for e in errs:
    print("[56-pkg-tools] refused:", e["message"], file=sys.stderr)
PY
[ "$(images_count "$bad")" = 0 ] || fail "checkpoint --check stored an image"
[ -z "$(ls -A "$STATE/containers/$bad/images" 2>/dev/null)" ] || fail "checkpoint --check left files in the store"
[ "$(ct_state "$bad")" = running ] || fail "$bad is $(ct_state "$bad") after --check"
n=$(log_count "$bad" '^tick')
sleep 0.5
[ "$(log_count "$bad" '^tick')" -gt "$n" ] || fail "$bad stopped ticking after --check"
ckctl checkpoint "$bad" --check >"$TMP/check.txt" 2>&1 && fail "checkpoint --check (human) exited 0"
grep -q 'would refuse 3 objects' "$TMP/check.txt" || fail "checkpoint --check says: $(cat "$TMP/check.txt")"
# without --check: the first refusal only, as always, and it still runs
ckctl checkpoint "$bad" >"$TMP/real.txt" 2>&1 && fail "a checkpoint of $bad succeeded"
[ "$(ct_state "$bad")" = running ] || fail "$bad is $(ct_state "$bad") after a refused checkpoint"
info "checkpoint --check listed all three refusals; $bad runs on"

good=$P-count
run_ct "$good" "$WL/counter"
ckctl checkpoint "$good" --check >"$TMP/good.txt" 2>&1 || fail "checkpoint --check of $good: $(cat "$TMP/good.txt")"
grep -q 'would refuse nothing' "$TMP/good.txt" || fail "checkpoint --check of $good says: $(cat "$TMP/good.txt")"
[ "$(images_count "$good")" = 0 ] || fail "checkpoint --check of $good stored an image"
verify_ct "$good" counter
cr_cycle "$good"

echo "PASS: $TEST_NAME"
