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
. "$(dirname "$0")/common.sh"
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
	case_expect "$d" "$TMP/exp"
	[ -s "$TMP/exp" ] || continue
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
	probe_agrees "lab/$c" "$TMP/got"
	$PODWALL lab down --name pwt-case > /dev/null 2>&1 || fail "lab/$c: lab down"
done

# 3. a tightened policy cuts an established connection (and does not with
# --keep-established)
sh "$(dirname "$0")/cut.sh" > "$TMP/cut" 2>&1 && pass || { fail "tightened policy cutting an established connection:"; cat "$TMP/cut"; }

# 4. nothing left behind, also after kill -9 in the middle of lab up
sh "$(dirname "$0")/leftovers.sh" > "$TMP/left" 2>&1 && pass || { fail "lab down leaves nothing behind:"; cat "$TMP/left"; }

[ "$untested" -gt 0 ] && echo "lab: $untested probes untested (the kernel lacks SCTP); the engine's verdict for them matched the expected one"
summary lab
