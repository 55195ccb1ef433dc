#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# np-guard/netpol-analyzer: the plain connlist cases (NetworkPolicy only)
# compared exactly (newlines ignored, as upstream compares), and the
# bad-input directories, which must be rejected with exit status 2 and a
# FILE:LINE:COL error.
. "$(dirname "$0")/../lib.sh"
root="$SHARED/conformance/netpol-analyzer"
[ -d "$root" ] || { echo "netpol-analyzer: $root missing"; exit 1; }
awk -F'\t' '$3 == "" && $4 ~ /^plain/ && $4 !~ /ANP|BANP|Ingress|Route|UDN|NAD|Virtual/ { print $1, $2 }' \
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
