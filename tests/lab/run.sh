#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The lab on real packets (root): every pair of the upstream e2e truth
# tables and of the seed scenarios probed in network namespaces, with
# observed == predicted by the engine == expected; a tightened policy
# cutting an established TCP connection; lab down leaving nothing, also
# after kill -9 in the middle of lab up.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
LAB="lab probe"
untested=0
if [ "$(id -u)" != 0 ]; then
	echo "lab: needs root"
	summary lab
	exit 1
fi
# labs of this suite are named pwt-*; remove any left by an aborted run
cleanup() {
	for l in pwt-e2e pwt-case pwt-cut pwt-kill; do
		$PODWALL lab down --name $l > /dev/null 2>&1
	done
}
trap 'cleanup; rm -rf "$TMP"' EXIT INT TERM
cleanup

# compare_probe NAME EXPECTED(src dst proto/port verdict) PROBE_TSV
compare_probe() {
	out=$(awk -F'\t' -v name="$1" '
		NR == FNR { k = $1 " " $2 " " $3; want[k] = tolower($4); order[++n] = k; next }
		{ k = $1 " " $2 " " $3; obs[k] = $4; pred[k] = $5 }
		END {
			p = 0; f = 0; u = 0
			for (i = 1; i <= n; i++) {
				k = order[i]
				if (!(k in obs)) { f++; printf "FAIL: %s: %s not probed\n", name, k; continue }
				if (obs[k] == "untested") { u++; if (pred[k] == want[k]) continue; f++;
					printf "FAIL: %s: %s: engine %s, expected %s\n", name, k, pred[k], want[k]; continue }
				if (obs[k] == want[k] && pred[k] == want[k]) p++
				else { f++; printf "FAIL: %s: %s: lab %s, engine %s, expected %s\n", name, k, obs[k], pred[k], want[k] }
			}
			printf "#%d %d %d\n", p, f, u
		}' "$2" "$3")
	echo "$out" | grep -v '^#' || true
	c=$(echo "$out" | grep '^#' | tr -d '#')
	set -- $c
	PASS=$((PASS + $1))
	FAIL=$((FAIL + $2))
	untested=$((untested + $3))
}

# 1. the upstream e2e cases, every probe table
for step in "$SHARED"/conformance/k8s-e2e/E*/step*/; do
	name=e2e/$(echo "$step" | sed "s|.*/k8s-e2e/||; s|/$||")
	awk -F'\t' 'NR > 1 { print $3 "\t" $4 "\t" $1 "/" $2 "\t" $5 }' "$step/expected.tsv" > "$TMP/exp"
	ports=$(awk -F'\t' 'NR > 1 { print "--port " $1 "/" $2 }' "$step/expected.tsv" | sort -u | tr '\n' ' ')
	if ! $PODWALL lab up -f "$step/manifests.yaml" --name pwt-e2e --no-external > "$TMP/up" 2>&1; then
		fail "$name: lab up: $(tail -2 "$TMP/up")"
		$PODWALL lab down --name pwt-e2e > /dev/null 2>&1
		continue
	fi
	# shellcheck disable=SC2086
	$PODWALL lab probe --name pwt-e2e $ports -o tsv > "$TMP/got" 2> "$TMP/err"
	compare_probe "$name" "$TMP/exp" "$TMP/got"
	$PODWALL lab down --name pwt-e2e > /dev/null 2>&1 || fail "$name: lab down"
done

# 2. the seed scenarios and the other verdict cases the lab can reproduce:
# pods and addresses only (no DNS names), TCP/UDP/SCTP ports
for c in 000-seed000 013-ipblock-pod-ip-default 015-ingress-ports-protocols-ranges \
	 017-named-ports-ingress 018-named-ports-egress 100-seed004-staged-default-deny \
	 101-seed004-platform-centos-to-frontend 106-seed004-blocked-ips \
	 107-seed004-pci-isolation 110-seed001-global-default-deny-dns \
	 111-seed001-default-deny-plus-dns-ingress 112-seed001-netpol-sa-demo \
	 120-tier-and-policy-order 122-pass-log-default-action 124-networksets-and-global \
	 128-ports-ranges-notports-named 130-anp-banp-tier-positions 150-clusternetworkpolicy; do
	d="$here/cases/$c"
	[ -d "$d" ] || { fail "lab case $c missing"; continue; }
	# outside addresses must be TEST-NET ones: the lab makes them hosts
	grep -v '^[[:space:]]*#' "$d/verdicts.tsv" | awk '
		function ok(x) { return x ~ /\// || x ~ /^(192\.0\.2|198\.51\.100|203\.0\.113)\.[0-9]+$/ }
		NF >= 4 && ok($1) && ok($2) && $3 ~ /^(TCP|UDP|SCTP)\// { print $1 "\t" $2 "\t" $3 "\t" $4 }' > "$TMP/exp"
	[ -s "$TMP/exp" ] || continue
	ext=$(awk -F'\t' '{ print $1; print $2 }' "$TMP/exp" | grep -E '^[0-9.]+$' | sort -u | sed 's/^/--external /' | tr '\n' ' ')
	[ -n "$ext" ] || ext=--no-external
	ports=$(awk -F'\t' '{ print "--port " $3 }' "$TMP/exp" | sort -u | tr '\n' ' ')
	flags=$(cat "$d/flags" 2>/dev/null | sed 's/--staged//')
	# shellcheck disable=SC2086
	if ! $PODWALL lab up -f "$d" --name pwt-case $ext $flags > "$TMP/up" 2>&1; then
		fail "lab/$c: lab up: $(tail -2 "$TMP/up")"
		$PODWALL lab down --name pwt-case > /dev/null 2>&1
		continue
	fi
	# shellcheck disable=SC2086
	$PODWALL lab probe --name pwt-case $ports -o tsv > "$TMP/got" 2> "$TMP/err"
	compare_probe "lab/$c" "$TMP/exp" "$TMP/got"
	# and every other probed cell agrees with the engine
	awk -F'\t' '$4 != "untested" && $4 != $5' "$TMP/got" > "$TMP/bad"
	if [ -s "$TMP/bad" ]; then fail "lab/$c: lab differs from the engine:"; head -5 "$TMP/bad"; else pass; fi
	$PODWALL lab down --name pwt-case > /dev/null 2>&1 || fail "lab/$c: lab down"
done

# 3. a tightened policy cuts an established connection (and does not with
# --keep-established)
sh "$(dirname "$0")/cut.sh" > "$TMP/cut" 2>&1 && pass || { fail "tightened policy cutting an established connection:"; cat "$TMP/cut"; }

# 4. nothing left behind, also after kill -9 in the middle of lab up
sh "$(dirname "$0")/leftovers.sh" > "$TMP/left" 2>&1 && pass || { fail "lab down leaves nothing behind:"; cat "$TMP/left"; }

[ "$untested" -gt 0 ] && echo "lab: $untested probes untested (the kernel lacks SCTP); the engine's verdict for them matched the expected one"
summary lab
