#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Dataplane benchmarks in the lab (root), in one run:
#  - time from `lab apply` (a one-rule change) to enforcement with 1k and
#    10k rules loaded: p50, p99 over $CHANGES changes;
#  - TCP throughput and small-UDP packet rate between two pods with 0, 1k
#    and 10k rules loaded, with podwall's set-based ruleset and with a
#    linear ruleset of the same policies (one rule after another, the rule
#    shape of iptables-based dataplanes), as ratios to no policy.
# The client's connection is allowed by the last rule: the worst case of a
# linear ruleset.  Traffic stays between the lab's two pods.
set -u
: "${PODWALL:=./podwall}"
: "${CHANGES:=20}"
: "${SECS:=3}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench.XXXXXX")
LAB=pwb
. "$(dirname "$0")/lib.sh"
trap '$PODWALL lab down --name $LAB > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
$PODWALL lab down --name $LAB > /dev/null 2>&1

two_pods > "$T/pods.yaml"

# N ingress rules on the server: rule i allows 10.100.x.y/32 on port 10000+i
# (i < N-1); the last allows the client on the bench ports.
gen() { # N VARIANT -> policies
	awk -v n="$1" -v v="$2" 'BEGIN {
		print "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy"
		print "metadata: {name: bench-rules, namespace: bench}"
		print "spec:\n  podSelector:\n    matchLabels: {app: server}\n  ingress:"
		for (i = 0; i < n - 1; i++) {
			printf "  - from:\n    - ipBlock: {cidr: 10.100.%d.%d/32}\n", int(i / 250), i % 250 + 1
			printf "    ports:\n    - {protocol: TCP, port: %d}\n", 10000 + (i + v) % 40000
		}
		print "  - from:\n    - podSelector:\n        matchLabels: {app: client}"
		print "    ports:\n    - {protocol: TCP, port: 5201}\n    - {protocol: UDP, port: 5201}"
	}'
}

pct() { # file of numbers -> "p50 p99"
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		i50 = int(NR * 0.5); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
		printf "%.1f %.1f\n", v[i50], v[i99] }'
}


$PODWALL lab up -f "$T/pods.yaml" --name $LAB --no-external > /dev/null || exit 1
set -- $(traffic)
base_tcp=$1 base_udp=$2
echo "no policy:                    TCP $base_tcp Gbit/s, UDP 64 B $base_udp kpps"
for n in 1000 10000; do
	gen $n 0 > "$T/p.yaml"
	$PODWALL lab apply -f "$T/p.yaml" --name $LAB > /dev/null || exit 1
	: > "$T/lat"
	for i in $(seq 1 "$CHANGES"); do
		gen $n "$i" > "$T/p.yaml"
		$PODWALL lab apply -f "$T/p.yaml" --name $LAB --keep-established |
			awk '/rules in force/ { print $4 }' >> "$T/lat"
	done
	set -- $(pct "$T/lat")
	echo "apply -> enforced, $n rules:  p50 $1 ms, p99 $2 ms ($CHANGES one-rule changes)"
	for mode in sets linear; do
		lin=0; [ $mode = linear ] && lin=1
		gen $n 0 > "$T/p.yaml"
		# the lab's agent renders: a lab of its own for each rendering
		$PODWALL lab down --name $LAB > /dev/null
		PODWALL_NFT_LINEAR=$lin $PODWALL lab up -f "$T/pods.yaml" --name $LAB --no-external > /dev/null || exit 1
		$PODWALL lab apply -f "$T/p.yaml" --name $LAB > "$T/apply" || exit 1
		rules=$(awk '/rules in force/ { gsub(/\(/, "", $9); print $9 }' "$T/apply")
		set -- $(traffic)
		awk -v m=$mode -v n=$n -v r="$rules" -v t=$1 -v u=$2 -v bt=$base_tcp -v bu=$base_udp 'BEGIN {
			printf "%-6s %5d policy rules (%s nft rules): TCP %s Gbit/s (%.2fx no policy), UDP 64 B %s kpps (%.2fx)\n",
				m, n, r, t, (bt > 0 ? t / bt : 0), u, (bu > 0 ? u / bu : 0) }'
	done
	$PODWALL lab down --name $LAB > /dev/null
	$PODWALL lab up -f "$T/pods.yaml" --name $LAB --no-external > /dev/null || exit 1
done
