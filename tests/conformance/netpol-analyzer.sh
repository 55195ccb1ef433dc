#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# np-guard/netpol-analyzer: the plain connlist cases (NetworkPolicy,
# AdminNetworkPolicy, BaselineAdminNetworkPolicy) compared exactly (newlines
# ignored, as upstream compares), the single-connection eval points, and the
# bad-input directories, which must be rejected with exit status 2 and a
# FILE:LINE:COL error.
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/netpol-analyzer"
[ -d "$root" ] || { echo "netpol-analyzer: $root missing"; exit 1; }
awk -F'\t' '$3 == "" && $4 ~ /^plain/ && $4 !~ /UDN|NAD|Virtual/ { print $1, $2 }' \
	"$root/cases.tsv" > "$TMP/cases"
while read -r dir exp; do
	if ! $PODWALL connlist -f "$root/$dir" --ipblock-excludes-pods --hostnetwork-as-pods > "$TMP/out" 2> "$TMP/err"; then
		fail "connlist $dir: podwall exited non-zero: $(head -3 "$TMP/err")"
		continue
	fi
	if [ "$(tr -d '\r\n' < "$TMP/out")" = "$(tr -d '\r\n' < "$root/$exp")" ]; then
		pass
	else
		fail "connlist $dir: output differs from $exp"
		diff "$root/$exp" "$TMP/out" | head -${DIFFLINES:-6}
	fi
done < "$TMP/cases"
# eval points: case_dir src_ns src_workload dst_ns dst_workload proto port expected
tail -n +2 "$root/eval_points.tsv" | while IFS='	' read -r dir sns sw dns dw proto port want; do
	out=$(echo "$sns/$sw $dns/$dw $proto/$port" |
		$PODWALL eval -f "$root/$dir" --ipblock-excludes-pods --hostnetwork-as-pods --batch - 2>&1)
	got=$(echo "$out" | awk '{ print $4 }')
	exp=DENY
	[ "$want" = true ] && exp=ALLOW
	if [ "$got" = "$exp" ]; then echo PASS; else echo "FAIL: eval point $dir $sns/$sw -> $dns/$dw $proto/$port: expected $exp, got $out"; fi
done > "$TMP/points"
grep -v '^PASS$' "$TMP/points" || true
PASS=$((PASS + $(grep -c '^PASS$' "$TMP/points")))
FAIL=$((FAIL + $(grep -c '^FAIL' "$TMP/points")))
for dir in $(cat "$(dirname "$0")/netpol-analyzer-bad.txt"); do
	$PODWALL connlist -f "$root/tests/$dir" --ipblock-excludes-pods > /dev/null 2> "$TMP/err"
	rc=$?
	if [ $rc -eq 2 ] && grep -q ':[0-9]*:[0-9]*: error: ' "$TMP/err"; then
		pass
	else
		fail "bad input $dir: expected exit 2 with FILE:LINE:COL error, got exit $rc: $(head -2 "$TMP/err")"
	fi
done
summary netpol-analyzer
