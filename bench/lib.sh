# SPDX-License-Identifier: Apache-2.0
# Shared by the agent benchmarks (sourced).

rules() { # N: ingress rules on the servers (app=server) from other addresses
	awk -v n="$1" 'BEGIN {
		print "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy"
		print "metadata: {name: bench-rules, namespace: bench}"
		print "spec:\n  podSelector:\n    matchLabels: {app: server}\n  ingress:"
		for (i = 0; i < n; i++) {
			printf "  - from:\n    - ipBlock: {cidr: 10.100.%d.%d/32}\n", int(i / 250), i % 250 + 1
			printf "    ports:\n    - {protocol: TCP, port: %d}\n", 10000 + i % 40000
		}
	}'
}
allow() { # PORT: the client may reach the servers on PORT
	cat <<YAML
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: bench}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: $1}]
YAML
}
pct() { # file of numbers -> "p50 p99"
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (!NR) { print "- -"; exit }
		i50 = int(NR * 0.5); if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99 + 0.999); if (i99 > NR) i99 = NR
		printf "%.2f %.2f\n", v[i50], v[i99] }'
}
two_pods() { # the lab of the traffic benchmarks: bench/client and bench/server
	cat <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {app: client}}
status: {podIP: 10.70.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: bench, labels: {app: server}}
status: {podIP: 10.70.0.2}
YAML
}
# TCP throughput and 64-byte UDP packet rate from bench/client to
# bench/server (10.70.0.2) port 5201 for $SECS seconds, in lab $LAB ($T:
# scratch)
traffic() { # -> "gbps kpps"
	$PODWALL lab exec bench/server --name $LAB -- "$PODWALL" lab __sink tcp 5201 "$SECS" > "$T/sink" &
	sp=$!
	sleep 0.3
	$PODWALL lab exec bench/client --name $LAB -- "$PODWALL" lab __blast tcp 10.70.0.2 5201 "$SECS" 65000 > /dev/null
	wait $sp
	tcp=$(awk '{ if ($6 > 0) printf "%.2f", $2 * 8 / $6 / 1e9; else print 0 }' "$T/sink")
	$PODWALL lab exec bench/server --name $LAB -- "$PODWALL" lab __sink udp 5201 "$SECS" > "$T/sink" &
	sp=$!
	sleep 0.3
	$PODWALL lab exec bench/client --name $LAB -- "$PODWALL" lab __blast udp 10.70.0.2 5201 "$SECS" 64 > /dev/null
	wait $sp
	udp=$(awk '{ if ($6 > 0) printf "%.1f", $4 / $6 / 1e3; else print 0 }' "$T/sink")
	echo "$tcp $udp"
}
