#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The agent's memory under endless changes, and its CPU when nothing
# changes (no root: the dry-run dataplane renders the nftables tables and
# sends nothing):
#  - an agent loaded with a `podwall gen` cluster (one file per object, as
#    `podwall apply` stores them) takes $CHURN random policy changes through
#    its API, each waited for; its resident memory once it has reclaimed
#    (it does when no change is waiting), against a fresh agent loaded with
#    the final state (goal: within 10 %);
#  - CPU time the agent uses over $IDLE s with nothing changing (goal: 0).
set -u
: "${PODWALL:=./podwall}"
: "${CHURN:=10000}"
: "${IDLE:=5}"
: "${PODS:=100}"
: "${POLICIES:=200}"
: "${CHURN_BIN:=build/rel/churn}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench-agent.XXXXXX")
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$T"' EXIT INT TERM
$PODWALL gen --pods "$PODS" --policies "$POLICIES" --calico --seed 7 > "$T/all.yaml"
mkdir -p "$T/src"
awk -v d="$T/src" '/^---/ { n++; next } { f = sprintf("%s/%05d.yaml", d, n); print > f }' "$T/all.yaml"
start() { # DIR SOCKET -> pid in $agent
	$PODWALL agent --source "dir:$1" --dataplane dry-run --socket "$2" 2> "$T/log" &
	agent=$!
	pids="$pids $agent"
	for _ in $(seq 1 600); do
		curl -sf --unix-socket "$2" http://agent/readyz > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "agent did not become ready: $(tail -3 "$T/log")"
	exit 1
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
start "$T/src" "$T/sock"
first=$agent
loaded=$(rss $first)
"$CHURN_BIN" "$T/sock" "$T/all.yaml" "$CHURN" 1 > "$T/churn" || { cat "$T/churn"; exit 1; }
# the agent reclaims what the changes left behind once none is waiting
sleep 3
after=$(rss $first)
c0=$(ticks $first)
sleep "$IDLE"
c1=$(ticks $first)
rebuilds=$(curl -s --unix-socket "$T/sock" http://agent/metrics | awk '/^podwall_commits_total/ { printf "%s %s ", $1, $2 }')
kill $first
start "$T/src" "$T/sock2"
fresh=$(rss $agent)
echo "agent, $PODS pods and $POLICIES policies: $(cat "$T/churn")"
echo "  $rebuilds"
awk -v l=$loaded -v a=$after -v f=$fresh -v n=$CHURN 'BEGIN {
	printf "  resident memory: %.1f MiB loaded, %.1f MiB after %d changes, %.1f MiB fresh on the final state (%.2fx fresh; goal <= 1.10x)\n",
		l / 1024, a / 1024, n, f / 1024, a / f }'
echo "  CPU while nothing changes: $((c1 - c0)) ticks in $IDLE s (goal: 0)"
