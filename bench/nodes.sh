#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Many nodes on etcd (root): from a write to etcd until a connection's
# verdict flips on every node, for 1 (the baseline: a single agent), 3 and
# 8 nodes, with 1k and 10k rules loaded; p50 and p99 over $CHANGES changes.
# The lab (--datastore etcd: 3 members) has a client on the first node and
# a server on every node; each change writes one small policy to etcd so
# that TCP/80 from the client to every server is allowed, then denied:
# the verdict flips at each server's node (ingress is enforced there).
set -u
: "${PODWALL:=./podwall}"
: "${CHANGES:=40}"
: "${FLIP:=build/rel/flip}"
: "${NODES:=1 3 8}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench-nodes.XXXXXX")
LAB=pwbn
trap '$PODWALL lab down --name $LAB > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
$PODWALL lab down --name $LAB > /dev/null 2>&1
EPS=http://169.254.2.101:2379,http://169.254.2.102:2379,http://169.254.2.103:2379
KEY=/calico/resources/v3/networking.k8s.io/networkpolicies/bench/allow-client
pods() { # N: the client on n0, a server on each node
	awk -v n="$1" 'BEGIN {
		print "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n---"
		print "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: bench, labels: {app: client}}"
		print "spec: {nodeName: n0}\nstatus: {podIP: 10.71.0.1}"
		for (i = 0; i < n; i++) {
			print "---\napiVersion: v1\nkind: Pod"
			printf "metadata: {name: server-%d, namespace: bench, labels: {app: server}}\n", i
			printf "spec: {nodeName: n%d}\nstatus: {podIP: 10.71.1.%d}\n", i, i + 1
		}
	}'
}
. "$(dirname "$0")/lib.sh"
for n in $NODES; do
	pods "$n" > "$T/pods.yaml"
	allow 81 > "$T/allow.yaml"
	if ! $PODWALL lab up --name $LAB --nodes "$n" --datastore etcd --no-external \
		-f "$T/pods.yaml" -f "$T/allow.yaml" > "$T/up" 2>&1; then
		echo "nodes: lab up of $n nodes failed: $(tail -3 "$T/up")"
		continue
	fi
	client=$($PODWALL lab status --name $LAB | awk '$1 == "bench/client" { print $3 }')
	servers=$(seq 0 $((n - 1)) | sed 's/.*/10.71.1.&/' | awk '{ split($1, a, "."); printf "10.71.1.%d ", a[4] + 1 }')
	for r in 1000 10000; do
		rules $r > "$T/rules.yaml"
		$PODWALL lab apply --name $LAB -f "$T/rules.yaml" > "$T/apply" 2>&1 ||
			{ echo "nodes: apply of $r rules: $(tail -2 "$T/apply")"; continue; }
		sleep 1 # the agents reclaim what loading left behind
		: > "$T/lat"
		for i in $(seq 1 "$CHANGES"); do
			if [ $((i % 2)) = 1 ]; then port=80 want=open; else port=81 want=closed; fi
			allow $port > "$T/next.yaml"
			# shellcheck disable=SC2086
			ip netns exec "$client" "$FLIP" --etcd "$EPS" "$KEY" "$T/next.yaml" 80 $want 10000 $servers >> "$T/lat"
		done
		bad=$(grep -c timeout "$T/lat")
		grep -v timeout "$T/lat" | awk '{ print $1 }' > "$T/lat.ok"
		grep -v timeout "$T/lat" | awk '{ print $2 }' > "$T/write.ok"
		set -- $(pct "$T/lat.ok") $(pct "$T/write.ok")
		awk -v n="$n" -v r=$r -v a="$1" -v b="$2" -v w="$3" -v c="$CHANGES" -v bad="$bad" 'BEGIN {
			printf "nodes: etcd write -> verdict flips on every node, %d node%s, %5d rules: p50 %s ms, p99 %s ms (the write: p50 %s ms; %d changes%s)\n",
				n, (n == 1 ? " " : "s"), r, a, b, w, c, (bad ? ", " bad " timed out" : "") }'
	done
	$PODWALL lab down --name $LAB > /dev/null 2>&1
done
echo "nodes: 1 node is the baseline (a single agent); each figure includes the write to etcd (3 members, one transaction)"
