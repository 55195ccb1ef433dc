#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints one pod and one NetworkPolicy of RULES ingress rules, each with the
# same PEERS ipBlocks and PORTS port ranges, written once with YAML anchors
# (&peers, &ports) and aliased by every rule: small input (about 30 KB for
# 300 x 300 x 300), a cube of (rule, peer, port) triples.
#   sh tests/scale/cube.sh [RULES [PEERS [PORTS]]]   (default 300 300 300)
# Peer i is 198.18.0.0/15's /24 number i (198.18.0.0/24, 198.18.1.0/24, ...);
# port range j is TCP 1000+10j .. 1000+10j+4.
rules=${1:-300} peers=${2:-300} ports=${3:-300}
awk -v r="$rules" -v n="$peers" -v m="$ports" 'BEGIN {
	print "apiVersion: v1\nkind: Pod"
	print "metadata: {name: server, namespace: cube, labels: {app: server}}"
	print "status: {podIP: 10.0.0.1}"
	print "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy"
	print "metadata: {name: cube, namespace: cube}"
	print "spec:\n  podSelector: {matchLabels: {app: server}}\n  ingress:"
	printf "  - from: &peers\n"
	for (i = 0; i < n; i++)
		printf "    - ipBlock: {cidr: 198.%d.%d.0/24}\n", 18 + int(i / 256), i % 256
	printf "    ports: &ports\n"
	for (j = 0; j < m; j++)
		printf "    - {protocol: TCP, port: %d, endPort: %d}\n", 1000 + 10 * j, 1004 + 10 * j
	for (k = 1; k < r; k++)
		print "  - {from: *peers, ports: *ports}"
}'
