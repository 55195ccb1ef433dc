#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Flow records and their stores (lib/flow/record.c, store.c) through
# `podwall flows` and `podwall alerts`; no root.
#  - records.jsonl (a dozen records) round-trips: imported, printed as
#    JSON, that imported again and printed again: the same bytes;
#  - it is imported (`podwall flows --import FILE --store SPEC`) into a
#    SQLite store and a JSON lines store; every filter case of `filters`
#    (NAME<TAB>ARGUMENTS) must print expect/NAME.txt from both stores;
#  - both stores at once (--store twice): every record twice, by time;
#  - retention by age (--max-age, --now) and by size (--max-bytes) in both,
#    and the JSON lines rotation (--rotate-bytes, --keep-files);
#  - --follow sees a record imported while it runs, in both;
#  - bad input: a malformed line is FILE:LINE:COL: error: and exit 2 with
#    nothing written; a bad --since, --verdict, store: exit 2;
#  - podwall alerts on a JSON lines store.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac
recs=$here/records.jsonl

# check NAME CMD...: the command exits 0
check() {
	name=$1
	shift
	if "$@" > "$TMP/out" 2> "$TMP/err"; then pass; else
		fail "$name: exit $?: $(head -3 "$TMP/err")"
	fi
}

# same NAME WANT GOT: files equal
same() {
	if cmp -s "$2" "$3"; then pass; else
		fail "$1: differs"
		diff "$2" "$3" | head -10
	fi
}

# ---- import, and the JSON round trip ----------------------------------------------
check "import sqlite" "$PODWALL" flows --import "$recs" --store "$TMP/flows.db"
check "import jsonl" "$PODWALL" flows --import "$recs" --store "jsonl:$TMP/jl"
"$PODWALL" flows --store "$TMP/jl" -o json > "$TMP/rt1.json"
[ "$(wc -l < "$TMP/rt1.json")" -eq "$(grep -c . "$recs")" ] && pass ||
	fail "round trip: $(wc -l < "$TMP/rt1.json") records printed, want $(grep -c . "$recs")"
check "import the output" "$PODWALL" flows --import "$TMP/rt1.json" --store "$TMP/rt.jsonl"
"$PODWALL" flows --store "$TMP/rt.jsonl" -o json > "$TMP/rt2.json"
same "round trip: write, parse, write" "$TMP/rt1.json" "$TMP/rt2.json"
"$PODWALL" flows --store "$TMP/flows.db" -o json > "$TMP/rt3.json"
same "round trip through SQLite" "$TMP/rt1.json" "$TMP/rt3.json"
# each line is JSON to another reader, field for field the input's
if command -v jq > /dev/null; then
	jq -cS . "$recs" > "$TMP/in.sorted" 2> "$TMP/err"
	jq -cS . "$TMP/rt1.json" > "$TMP/rt1.sorted" 2>> "$TMP/err"
	same "round trip: the input's fields and values (jq)" "$TMP/in.sorted" "$TMP/rt1.sorted"
fi

# ---- the filters ----------------------------------------------------------------------
while IFS='	' read -r name args; do
	case $name in '#'* | '') continue ;; esac
	for store in "$TMP/flows.db" "jsonl:$TMP/jl"; do
		eval "set -- $args"
		if ! "$PODWALL" flows --store "$store" "$@" > "$TMP/got" 2> "$TMP/err"; then
			fail "filter $name ($store): exit $?: $(head -1 "$TMP/err")"
			continue
		fi
		if [ -n "$REGEN" ]; then
			cp "$TMP/got" "$here/expect/$name.txt"
		fi
		same "filter $name (${store%%:*})" "$here/expect/$name.txt" "$TMP/got"
	done
done < "$here/filters"

# both stores: every record twice, by end_time; of those at one end_time,
# the first store's first
"$PODWALL" flows --store "$TMP/flows.db" --store "$TMP/jl" -o json > "$TMP/both"
jq -r .end_time "$TMP/rt1.json" | paste -d ' ' - "$TMP/rt1.json" | awk '
	function flush() { for (r = 0; r < 2; r++) for (i = 0; i < n; i++) print g[i]; n = 0 }
	$1 != t { flush(); t = $1 }
	{ sub(/^[0-9]+ /, ""); g[n++] = $0 }
	END { flush() }' > "$TMP/twice"
same "two stores merged by time" "$TMP/twice" "$TMP/both"
"$PODWALL" flows --store "$TMP/flows.db" --store "$TMP/jl" --last 3 -o json > "$TMP/both"
tail -n 3 "$TMP/twice" > "$TMP/want"
same "two stores, --last 3" "$TMP/want" "$TMP/both"

# ---- retention by age: as of T0+700, records that ended 300 s before go ---------------
for s in sqlite:"$TMP/age.db" jsonl:"$TMP/age"; do
	check "retain by age ($s)" "$PODWALL" flows --import "$recs" --store "$s" \
		--max-age 5m --now 1780000700
	"$PODWALL" flows --store "$s" -o json > "$TMP/got"
	jq -c 'select(.end_time >= 1780000400)' "$TMP/rt1.json" > "$TMP/want"
	same "retain by age ($s)" "$TMP/want" "$TMP/got"
done

# ---- retention by size: 100 copies of the records, 64 KiB kept ------------------------
: > "$TMP/many.jsonl"
k=0
while [ $k -lt 100 ]; do
	sed -e "s/\"start_time\":178000/\"start_time\":$((178000 + k))/" \
		-e "s/\"end_time\":178000/\"end_time\":$((178000 + k))/" "$TMP/rt1.json" >> "$TMP/many.jsonl"
	k=$((k + 1))
done
for s in sqlite:"$TMP/size.db" jsonl:"$TMP/size"; do
	check "retain by size ($s)" "$PODWALL" flows --import "$TMP/many.jsonl" --store "$s" \
		--max-bytes 64k
	"$PODWALL" flows --store "$s" -o json > "$TMP/got"
	n=$(wc -l < "$TMP/got")
	[ "$n" -gt 10 ] && [ "$n" -lt 1200 ] && pass ||
		fail "retain by size ($s): $n records kept of 1200"
	# the newest ones are kept
	tail -n "$n" "$TMP/many.jsonl" > "$TMP/want"
	same "retain by size: the newest kept ($s)" "$TMP/want" "$TMP/got"
	case $s in
	sqlite:*) bytes=$(wc -c < "$TMP/size.db") ;;
	*) bytes=$(cat "$TMP"/size/* | wc -c) ;;
	esac
	[ "$bytes" -le 65536 ] && pass || fail "retain by size ($s): $bytes bytes, want <= 65536"
done

# ---- rotation: past 2 KiB, three rotated files kept ------------------------------------
check "rotation" "$PODWALL" flows --import "$recs" --store "$TMP/rot/" --rotate-bytes 2k \
	--keep-files 3
ls "$TMP/rot" > "$TMP/got"
printf 'flows.jsonl\nflows.jsonl.1\nflows.jsonl.2\nflows.jsonl.3\n' > "$TMP/want"
same "rotation: the files" "$TMP/want" "$TMP/got"
for f in "$TMP"/rot/*; do
	[ "$(wc -c < "$f")" -le 2048 ] && pass || fail "rotation: $f is over 2 KiB"
done
"$PODWALL" flows --store "$TMP/rot" -o json > "$TMP/got"
n=$(cat "$TMP"/rot/* | wc -l)
tail -n "$n" "$TMP/rt1.json" > "$TMP/want"
same "rotation: the newest records, in order" "$TMP/want" "$TMP/got"
[ "$n" -lt 12 ] && pass || fail "rotation: nothing was dropped"

# ---- --follow sees a record added while it runs -----------------------------------------
tail -n 1 "$TMP/rt1.json" | sed -e 's/"start_time":[0-9]*/"start_time":1780009000/' \
	-e 's/"end_time":[0-9]*/"end_time":1780009060/' -e 's/"dest_port":8080/"dest_port":9090/' \
	> "$TMP/new.jsonl"
for s in "$TMP/flows.db" "jsonl:$TMP/jl"; do
	"$PODWALL" flows --store "$s" --follow --follow-for 3s --port 9090 -o json > "$TMP/follow" 2> "$TMP/err" &
	pid=$!
	sleep 1
	"$PODWALL" flows --import "$TMP/new.jsonl" --store "$s" 2>> "$TMP/err"
	wait $pid
	rc=$?
	[ $rc -eq 0 ] && pass || fail "follow ($s): exit $rc: $(head -1 "$TMP/err")"
	same "follow ($s): the record added" "$TMP/new.jsonl" "$TMP/follow"
done
# and SIGTERM ends it, exit 0
"$PODWALL" flows --store "$TMP/flows.db" --follow --last 1 -o json > "$TMP/follow" 2> "$TMP/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && pass || fail "follow: SIGTERM: exit $rc"
same "follow: --last 1 first" "$TMP/new.jsonl" "$TMP/follow"

# ---- bad input -------------------------------------------------------------------------
# expect_fail NAME WANT_STDERR_REGEX CMD...: exit 2, that on stderr
expect_fail() {
	name=$1 want=$2
	shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	[ $rc -eq 2 ] && pass || fail "$name: exit $rc, want 2"
	grep -qE -- "$want" "$TMP/err" && pass || fail "$name: stderr: $(head -2 "$TMP/err"), want /$want/"
}
head -n 2 "$recs" > "$TMP/bad.jsonl"
echo '{"start_time": 1780000000, "end_time": 1780000010, "action": "allow",, "reporter": "src"}' >> "$TMP/bad.jsonl"
before=$("$PODWALL" flows --store "$TMP/flows.db" -o json | wc -l)
expect_fail "malformed JSON line" "^$TMP/bad.jsonl:3:[0-9]+: error: " \
	"$PODWALL" flows --import "$TMP/bad.jsonl" --store "$TMP/flows.db"
after=$("$PODWALL" flows --store "$TMP/flows.db" -o json | wc -l)
[ "$before" = "$after" ] && pass || fail "malformed JSON line: $((after - before)) records written"
echo '{"start_time": 1780000000, "end_time": 1780000010, "action": "maybe", "reporter": "src"}' > "$TMP/bad.jsonl"
expect_fail "bad action" "^$TMP/bad.jsonl:1:62: error: action: want \"allow\" or \"deny\"" \
	"$PODWALL" flows --import "$TMP/bad.jsonl" --store "$TMP/x.db"
echo '{"start_time": 1780000000, "action": "allow", "reporter": "src"}' > "$TMP/bad.jsonl"
expect_fail "a field missing" "^$TMP/bad.jsonl:1:1: error: no end_time" \
	"$PODWALL" flows --import "$TMP/bad.jsonl" --store "$TMP/x.db"
echo '[1, 2]' > "$TMP/bad.jsonl"
expect_fail "not an object" "^$TMP/bad.jsonl:1:1: error: want a JSON object" \
	"$PODWALL" flows --import "$TMP/bad.jsonl" --store "$TMP/x.db"
sed -n 1p "$recs" | sed 's/"source_port": 41000/"source_port": 70000/' > "$TMP/bad.jsonl"
expect_fail "a port out of range" ":1:[0-9]+: error: source_port: want a number from 0 to 65535" \
	"$PODWALL" flows --import "$TMP/bad.jsonl" --store "$TMP/x.db"
expect_fail "bad --since" "^podwall: flows: --since \"yesterday\": want" \
	"$PODWALL" flows --store "$TMP/flows.db" --since yesterday
expect_fail "bad --since date" "^podwall: flows: --since" \
	"$PODWALL" flows --store "$TMP/flows.db" --since 2026-13-01T00:00:00Z
expect_fail "bad --verdict" "^podwall: flows: --verdict" \
	"$PODWALL" flows --store "$TMP/flows.db" --verdict maybe
expect_fail "bad -o" "^podwall: flows: -o" "$PODWALL" flows --store "$TMP/flows.db" -o yaml
expect_fail "no store" "^podwall: --store .*: No such file" "$PODWALL" flows --store "$TMP/none.db"
expect_fail "not a store" "not a flow store" "$PODWALL" flows --store "sqlite:$here/filters"
expect_fail "no --store" "^podwall: flows: give" "$PODWALL" flows
expect_fail "a corrupt jsonl store" "flows.jsonl:1:[0-9]+: error: " sh -c \
	"mkdir $TMP/corrupt && echo '{oops' > $TMP/corrupt/flows.jsonl && \"$PODWALL\" flows --store $TMP/corrupt"

# ---- alerts ------------------------------------------------------------------------------
mkdir -p "$TMP/al"
cat > "$TMP/al/alerts.jsonl" << 'EOF'
{"time":1780000100,"name":"denied-egress","severity":100,"description":"denied egress from dev","summary":"dev/frontend-7d4b9c6f5-* denied 3 times","record":"{\"source_namespace\":\"dev\",\"count\":3}","value":3}
{"time":1780000700,"name":"ssh-scan","severity":80,"description":"a scan","summary":"kube-system/metrics-server-5d9f8c-* tried 12 ports","record":"{}","value":12}
EOF
check "alerts" "$PODWALL" alerts --store "$TMP/al"
cat > "$TMP/want" << 'EOF'
TIME                  NAME                            SEVERITY  VALUE         SUMMARY
2026-05-28T20:28:20Z  denied-egress                   100       3             dev/frontend-7d4b9c6f5-* denied 3 times
2026-05-28T20:38:20Z  ssh-scan                        80        12            kube-system/metrics-server-5d9f8c-* tried 12 ports
EOF
same "alerts: table" "$TMP/want" "$TMP/out"
check "alerts --since" "$PODWALL" alerts --store "jsonl:$TMP/al" --since 1780000500 -o json
tail -n 1 "$TMP/al/alerts.jsonl" > "$TMP/want"
same "alerts --since, json" "$TMP/want" "$TMP/out"
expect_fail "alerts: bad --since" "^podwall: alerts: --since" \
	"$PODWALL" alerts --store "$TMP/al" --since soon

summary flows
