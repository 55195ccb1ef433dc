#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# GlobalAlerts (lib/flow/alert.c) through the command line: `podwall
# alerts eval` over records in JSON lines (records/), and loading by `podwall
# lint`.  Seed 004's blocked-ips alert fires for the ip-address-list network
# set's address and for no other source; every operator of the query
# language, each metric and condition, the lookback window's edges, the
# period's form, and bad alerts refused with FILE:LINE:COL and exit 2.
# PODWALL_UPDATE=1 rewrites expected/ from the current outputs (review them).
. "$(dirname "$0")/../lib.sh"
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac
cd "$(dirname "$0")" || exit 2

# check NAME WANT_EXIT ARGS...: the exit status, and stdout against
# expected/NAME.out when there is one
check() {
	name=$1 want=$2
	shift 2
	"$PODWALL" "$@" > "$TMP/out" 2> "$TMP/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then pass; else
		fail "$name: exit $rc, want $want: $(head -1 "$TMP/err")"
	fi
	if [ -n "$PODWALL_UPDATE" ] && [ "$want" -ne 2 ]; then
		cp "$TMP/out" "expected/$name.out"
	fi
	[ -f "expected/$name.out" ] || return 0
	if cmp -s "expected/$name.out" "$TMP/out"; then pass; else
		fail "$name: output differs from expected/$name.out"
		diff "expected/$name.out" "$TMP/out" | head -20
	fi
}

# seed 004: the alert on the blocked addresses' network set
check seed004 1 alerts eval -f blocked-ips.yaml --records records/seed004.jsonl --at 1000
check seed004-json 1 alerts eval -f blocked-ips.yaml --records records/seed004.jsonl --at 1000 -o json
check seed004-others 0 alerts eval -f blocked-ips.yaml --records records/seed004-others.jsonl --at 1000
grep -q '198.51.100.77 from ip-address-list networkset attempted to access hipstershop/frontend-\*' \
	expected/seed004.out && pass || fail "seed004: the expected summary is not the seed's"
# the lookback window (1m): end_time in (at - 60, at]
check window-end 1 alerts eval -f blocked-ips.yaml --records records/seed004.jsonl --at 1059
check window-past 0 alerts eval -f blocked-ips.yaml --records records/seed004.jsonl --at 1060
check window-before 0 alerts eval -f blocked-ips.yaml --records records/seed004.jsonl --at 999
# from stdin
"$PODWALL" alerts eval -f blocked-ips.yaml --records - --at 1000 < records/seed004.jsonl > "$TMP/out" 2>&1
[ $? -eq 1 ] && cmp -s "$TMP/out" expected/seed004.out && pass || fail "records from stdin"

# every operator; each metric and condition
check ops 1 alerts eval -f ops.yaml --records records/ops.jsonl --at 1000
check metrics 1 alerts eval -f metrics.yaml --records records/ops.jsonl --at 1000
# an older window holds only old-1
check ops-old 1 alerts eval -f ops.yaml --records records/ops.jsonl --at 200

# loading: no "skipped" line for GlobalAlerts of either API group
for f in blocked-ips.yaml ops.yaml metrics.yaml; do
	"$PODWALL" lint -f "$f" > /dev/null 2> "$TMP/err"
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$TMP/err" ] && pass || fail "lint $f: exit $rc: $(head -1 "$TMP/err")"
done

# the period: down to 1s here (Calico's minimum is 1m)
printf 'apiVersion: projectcalico.org/v3\nkind: GlobalAlert\nmetadata: {name: p}\nspec:\n  description: d\n  severity: 1\n  dataSet: flows\n  period: %s\n' 1s > "$TMP/p1.yaml"
"$PODWALL" lint -f "$TMP/p1.yaml" > /dev/null 2>&1 && pass || fail "period 1s refused"
printf 'apiVersion: projectcalico.org/v3\nkind: GlobalAlert\nmetadata: {name: p}\nspec:\n  description: d\n  severity: 1\n  dataSet: flows\n  period: %s\n' 0s > "$TMP/p0.yaml"
"$PODWALL" lint -f "$TMP/p0.yaml" > /dev/null 2> "$TMP/err"
[ $? -eq 2 ] && grep -q "p0.yaml:8:11: error: period must be at least 1s" "$TMP/err" && pass ||
	fail "period 0s: $(head -1 "$TMP/err")"

# bad alerts: FILE:LINE:COL and exit 2, from lint and from alerts eval
for f in bad/*.yaml; do
	n=$(basename "$f" .yaml)
	for cmd in lint eval; do
		if [ $cmd = lint ]; then
			"$PODWALL" lint -f "$f" > /dev/null 2> "$TMP/err"
		else
			"$PODWALL" alerts eval -f "$f" --records records/ops.jsonl > /dev/null 2> "$TMP/err"
		fi
		rc=$?
		[ $rc -eq 2 ] && pass || fail "$f: $cmd: exit $rc, want 2"
		if [ -n "$PODWALL_UPDATE" ] && [ $cmd = lint ]; then head -1 "$TMP/err" > "expected/bad-$n.err"; fi
		if [ "$(head -1 "$TMP/err")" = "$(cat "expected/bad-$n.err")" ]; then pass; else
			fail "$f: $cmd: got $(head -1 "$TMP/err"), want $(cat "expected/bad-$n.err")"
		fi
	done
done

# usage and input errors
check no-records 2 alerts eval -f blocked-ips.yaml
check bad-at 2 alerts eval -f blocked-ips.yaml --records records/ops.jsonl --at soon
check bad-output 2 alerts eval -f blocked-ips.yaml --records records/ops.jsonl -o csv
check no-alert 2 alerts eval -f "$TMP/p0.yaml" --records records/ops.jsonl
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n' > "$TMP/ns.yaml"
check no-globalalert 2 alerts eval -f "$TMP/ns.yaml" --records records/ops.jsonl
check no-such-records 2 alerts eval -f blocked-ips.yaml --records records/nope.jsonl
{ head -1 records/seed004.jsonl; echo '{"end_time": "soon"'; } > "$TMP/bad.jsonl"
"$PODWALL" alerts eval -f blocked-ips.yaml --records "$TMP/bad.jsonl" --at 1000 > /dev/null 2> "$TMP/err"
[ $? -eq 2 ] && grep -q "^$TMP/bad.jsonl:2:[0-9]*: error: " "$TMP/err" && pass ||
	fail "a bad record line: $(head -1 "$TMP/err")"
# its --help names its options; `podwall alerts --help` names it
"$PODWALL" alerts eval --help > "$TMP/out" 2>&1 && head -1 "$TMP/out" | grep -q '^usage: podwall alerts eval' &&
	pass || fail "alerts eval --help"
for o in --filename --records --at --output; do
	grep -q -- "$o" "$TMP/out" && pass || fail "alerts eval --help does not name $o"
done
"$PODWALL" alerts --help | grep -q 'podwall alerts eval' && pass || fail "alerts --help does not name eval"
summary alerts
