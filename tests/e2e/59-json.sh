#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `ckptctl --json` keeps to its documented schema (docs/json.md): every
# verb is run against a real ckptd, and every key it prints must be listed
# in that page's table for the verb (or for the object it nests), with the
# documented type, and every key the page calls required must be there.
# Error objects are checked the same way. A key added to the output without
# its row in docs/json.md fails this test.
. "$(dirname "$0")/lib.sh"

DOC=$REPO/docs/json.md
[ -r "$DOC" ] || fail "no $DOC"
[ -n "$PYTHON" ] || skip "no python3"

# The checker: schema.py DOC SECTION FILE checks each JSON line of FILE
# against the table of SECTION ("ps", "checkpoint --check", "error", ...).
cat >"$TMP/schema.py" <<'EOF'
import json, re, sys

def parse(path):
    verbs, objects, part, table, cur = {}, {}, None, None, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^(#{2,3}) (.*?)\s*$", line)
        if m and m.group(1) == "##":
            part, table = m.group(2), None
            continue
        if m:
            cur = {}
            name = m.group(2)
            if part in ("Errors", "Verbs"):
                table = verbs[name] = cur
            elif part == "Objects":
                table = objects[name] = cur
            continue
        if table is None or not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key, typ, req = cells[0].strip("`"), cells[1], cells[2]
        if req not in ("yes", "no"):
            sys.exit("%s: key %s: required is '%s', not yes or no" % (path, key, req))
        table[key] = (typ, req == "yes")
    return verbs, objects

def check(obj, table, where, objects, errs):
    if not isinstance(obj, dict):
        errs.append("%s: not an object: %r" % (where, obj))
        return
    for key, val in obj.items():
        if key not in table:
            errs.append("%s: key '%s' is not documented in docs/json.md" % (where, key))
            continue
        check_type(val, table[key][0], "%s.%s" % (where, key), objects, errs)
    for key, (_, req) in table.items():
        if req and key not in obj:
            errs.append("%s: required key '%s' is missing" % (where, key))

def check_type(val, typ, where, objects, errs):
    scalar = {"string": lambda v: isinstance(v, str),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "boolean": lambda v: isinstance(v, bool)}
    if typ.startswith("array of "):
        if not isinstance(val, list):
            errs.append("%s: not an array" % where)
            return
        for i, v in enumerate(val):
            check_type(v, typ[len("array of "):], "%s[%d]" % (where, i), objects, errs)
    elif typ in scalar:
        if not scalar[typ](val):
            errs.append("%s: %r is not of type %s" % (where, val, typ))
    elif typ in objects:
        check(val, objects[typ], where, objects, errs)
    else:
        errs.append("%s: docs/json.md gives it the unknown type '%s'" % (where, typ))

verbs, objects = parse(sys.argv[1])
section = sys.argv[2]
if section not in verbs:
    sys.exit("docs/json.md has no table for '%s'" % section)
errs, n = [], 0
for line in open(sys.argv[3], encoding="utf-8"):
    if not line.strip():
        continue
    n += 1
    try:
        obj = json.loads(line)
    except ValueError as e:
        sys.exit("%s: not JSON (%s): %s" % (section, e, line.strip()))
    check(obj, verbs[section], section, objects, errs)
if n == 0:
    errs.append("%s: printed nothing" % section)
for e in errs:
    print(e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF

# json SECTION FILE: FILE holds what ckptctl --json printed for SECTION
json() {
	"$PYTHON" "$TMP/schema.py" "$DOC" "$1" "$2" 2>"$TMP/schema.err" ||
		fail "$1: $(cat "$TMP/schema.err") in: $(cat "$2")"
	info "$1: keys as documented"
}

# jctl SECTION ARGS...: run ckptctl --json ARGS (it must succeed), check it
jctl() {
	local section=$1
	shift
	ckctl --json "$@" >"$TMP/out.json" 2>"$TMP/out.err" || fail "ckptctl --json $*: $(cat "$TMP/out.json" "$TMP/out.err")"
	json "$section" "$TMP/out.json"
}

# jerr ARGS...: ckptctl --json ARGS must fail with a documented error object
jerr() {
	ckctl --json "$@" >"$TMP/err.json" 2>/dev/null && fail "ckptctl --json $* succeeded"
	json error "$TMP/err.json"
}

# py EXPR FILE: a Python expression over the object d read from FILE
py() { "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$2" "$1"; }

start_ckptd

# events: a subscriber for the whole test, its lines checked at the end
"$CKPTCTL" --socket "$SOCK" --json events >"$TMP/events.json" 2>"$TMP/events.err" &
EVENTS=$!
eval "e2e_cleanup_base() $(declare -f e2e_cleanup | tail -n +2)"
e2e_cleanup() {
	local rc=$?
	kill "$EVENTS" 2>/dev/null
	(exit $rc)
	e2e_cleanup_base
}
for _ in $(seq 100); do
	grep -q '"type":"subscribed"' "$TMP/events.json" 2>/dev/null && break
	sleep 0.1
done
grep -q '"type":"subscribed"' "$TMP/events.json" || fail "events: not subscribed in 10 s: $(cat "$TMP/events.err")"

name=$P-json
jctl version version
jctl check check
ckctl --json run "$name" --cwd "$WORK" -- "$WL/counter" >"$TMP/run.json" || fail "run: $(cat "$TMP/run.json")"
json run "$TMP/run.json"
wait_log "$name" '^READY' 30
jctl list list
jctl ps ps "$name"
jctl stats stats "$name"
jctl "checkpoint --check" checkpoint "$name" --check
jctl checkpoint checkpoint "$name" --leave-running
jctl checkpoint checkpoint "$name" -o "$TMP/file.img" --leave-running
jctl images images "$name"
id=$(py "d['images'][-1]['id']" "$TMP/out.json") || fail "no image id"
jctl export export "$name" "$id" -o "$TMP/exp.img"
ckctl --json export "$name" "$id" -o - >/dev/null 2>"$TMP/exp-stdout.json" || fail "export -o -"
json export "$TMP/exp-stdout.json"
jctl import import "$P-imported" -i "$TMP/exp.img"
jctl "images rm" images rm "$P-imported" "$(py "d['image_id']" "$TMP/out.json")"
jctl rm rm "$P-imported"
jctl kill kill "$name" --signal USR2
wait_log "$name" '^PASS' 30
jctl checkpoint checkpoint "$name"
jctl restart restart "$name"
jerr cancel "$name"
jerr ps "$P-none"
jerr images rm "$name" no-such-image
jerr checkpoint "$name" --timeout nonsense

# a checkpoint --check that finds refusals: the refusal objects too
ref=$P-refused
run_ct "$ref" "$WL/refuse" socket
ckctl --json checkpoint "$ref" --check >"$TMP/check.json" 2>/dev/null && fail "checkpoint --check of a vsock holder succeeded"
[ "$(py "len(d['errors']) > 0" "$TMP/check.json")" = True ] || fail "checkpoint --check: no refusal: $(cat "$TMP/check.json")"
json "checkpoint --check" "$TMP/check.json"
jerr checkpoint "$ref"

# wait: the workload's end, with its exit status
waitc=$P-wait
ckctl run "$waitc" --cwd "$WORK" -- sh -c 'sleep 1; exit 3' >/dev/null || fail "run $waitc"
ckctl --json wait "$waitc" >"$TMP/wait.json"
[ $? = 3 ] || fail "wait: exit status is not the workload's 3: $(cat "$TMP/wait.json")"
json wait "$TMP/wait.json"
[ "$(py "d['container']['exit_status']" "$TMP/wait.json")" = 3 ] || fail "wait: exit_status: $(cat "$TMP/wait.json")"
jctl list list

jctl rm rm "$waitc"
for _ in $(seq 50); do
	grep -q '"type":"removed"' "$TMP/events.json" && break
	sleep 0.1
done
grep -q '"type":"removed"' "$TMP/events.json" || fail "events: no removed event: $(cat "$TMP/events.json")"
json events "$TMP/events.json"
pass
