#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The agent on real packets (root): from a change written to the source
# until a connection's verdict flips, with 1k and 10k rules loaded; p50
# and p99 over $CHANGES changes, beside the time a full reload of the same
# ruleset takes (the agent's rebuild from its documents: parse, engine,
# render, dataplane).  Goals: p50 <= 5 ms and p99 <= 20 ms at 10k rules,
# and p50 <= 1/100 of a full reload.
# The pods are a lab's (its namespaces and servers); the agent programs the
# lab's router.  Each change rewrites one small policy (write-by-rename) so
# that TCP/80 from the client to the server is allowed, then denied.
set -u
: "${PODWALL:=./podwall}"
: "${CHANGES:=100}"
: "${FLIP:=build/rel/flip}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench-agent.XXXXXX")
LAB=pwba
agent=
trap '[ -n "$agent" ] && kill $agent 2>/dev/null; cp "$T/log" /tmp/agent-bench.log 2>/dev/null; $PODWALL lab down --name $LAB > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
$PODWALL lab down --name $LAB > /dev/null 2>&1
mkdir -p "$T/src"
cat > "$T/src/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {app: client}, annotations: {podwall.io/interface: pwr0}}
status: {podIP: 10.70.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: bench, labels: {app: server}, annotations: {podwall.io/interface: pwr1}}
status: {podIP: 10.70.0.2}
YAML
. "$(dirname "$0")/lib.sh"
api() { curl -s --max-time 60 --unix-socket "$T/sock" "http://agent$1" "$@"; }
$PODWALL lab up -f "$T/src/pods.yaml" --name $LAB --no-external > /dev/null || exit 1
allow 81 > "$T/src/allow.yaml"
$PODWALL agent --source "dir:$T/src" --netns pwl-$LAB-r --socket "$T/sock" 2> "$T/log" &
agent=$!
for _ in $(seq 1 100); do [ "$(api /readyz)" = ok ] && break; sleep 0.1; done
last_seq() { api /v1/changes | grep -o '"seq": [0-9]*' | tail -1 | awk '{ print $2 }'; }
for n in 1000 10000; do
	s0=$(last_seq)
	rules $n > "$T/rules.yaml"
	mv "$T/rules.yaml" "$T/src/rules.yaml"
	for _ in $(seq 1 300); do [ "$(last_seq)" != "$s0" ] && break; sleep 0.1; done
	# let the agent reclaim what loading left behind before measuring
	sleep 1
	: > "$T/lat"
	for i in $(seq 1 "$CHANGES"); do
		if [ $((i % 2)) = 1 ]; then port=80 want=open; else port=81 want=closed; fi
		allow $port > "$T/next.yaml"
		ip netns exec pwl-$LAB-0 "$FLIP" 10.70.0.2 80 $want 5000 "$T/next.yaml" "$T/src/allow.yaml" >> "$T/lat"
	done
	bad=$(grep -c timeout "$T/lat")
	grep -v timeout "$T/lat" > "$T/lat.ok"
	set -- $(pct "$T/lat.ok")
	reload=$(curl -s -X POST --max-time 120 --unix-socket "$T/sock" http://agent/v1/rebuild | awk '{ print $3 }')
	awk -v n=$n -v a=$1 -v b=$2 -v r="$reload" -v c="$CHANGES" -v bad=$bad 'BEGIN {
		printf "agent: change -> verdict flips, %5d rules: p50 %s ms, p99 %s ms (%d changes%s); full reload %s ms; p50 = 1/%.0f of a reload\n",
			n, a, b, c, (bad ? ", " bad " timed out" : ""), r, (a > 0 ? r / a : 0) }'
done
echo "agent: goals at 10k rules: p50 <= 5 ms, p99 <= 20 ms, p50 <= 1/100 of a full reload"
