#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The flow log, in one run (the lab parts need root):
#  1. the pipeline without the kernel (build/rel/flows-bench): reports
#     named, aggregated and written to SQLite per second, on a 1,000-pod
#     cluster from podwall gen: 2,000 conversations; and the worst case
#     (every report its own record), with and without the store; memory
#  2. reports from the kernel: a pod floods a UDP port the policy denies;
#     each packet is an NFLOG report the agent reads.  Per offered rate:
#     reports read per second, lost (the kernel's count of what did not
#     fit the socket).  Goal: >= 100k reports/s with none lost
#  3. TCP throughput and small-UDP packet rate between two pods with 10k
#     rules, flow log on against off (goal: at most 5 % cost), and the
#     agent's peak memory with the flow log under that load
set -u
: "${PODWALL:=./podwall}"
: "${FLOWS_BENCH:=build/rel/flows-bench}"
: "${SECS:=3}"
T=$(mktemp -d "${TMPDIR:-/tmp}/podwall-bench.XXXXXX")
LAB=pwb-flows
trap '$PODWALL lab down --name $LAB > /dev/null 2>&1; rm -rf "$T"' EXIT INT TERM
. "$(dirname "$0")/lib.sh"

echo "== flow log: the pipeline (no kernel), 1,000 pods"
$PODWALL gen --pods 1000 --policies 200 --seed 3 > "$T/g.yaml"
"$FLOWS_BENCH" "$T/g.yaml" "$T/f.db" --reports 1000000 --pairs 2000 > "$T/c"
"$FLOWS_BENCH" "$T/g.yaml" "$T/f.db" --reports 300000 --no-store > "$T/a"
"$FLOWS_BENCH" "$T/g.yaml" "$T/f.db" --reports 300000 > "$T/b"
awk 'FNR == 1 { f++ } { v[f, $1] = $2 } END {
	printf "1M reports of 2,000 conversations, into SQLite: %d reports/s (%d records), peak RSS %.0f MiB; goal >= 100k/s: %s\n",
		v[1, "reports_per_s"], v[1, "records"], v[1, "rss_mib"],
		(v[1, "reports_per_s"] >= 100000 ? "met" : "MISSED")
	printf "worst case, every report a record of its own (300k reports):\n"
	printf "  aggregation only:  %d reports/s (%d records/s), peak RSS %.0f MiB\n",
		v[2, "reports_per_s"], v[2, "records_per_s"], v[2, "rss_mib"]
	printf "  into SQLite:       %d reports/s (%d records/s, %d ms in the store), peak RSS %.0f MiB; goal >= 100k records/s: %s\n",
		v[3, "reports_per_s"], v[3, "records_per_s"], v[3, "store_ms"], v[3, "rss_mib"],
		(v[3, "records_per_s"] >= 100000 ? "met" : "MISSED") }' "$T/c" "$T/a" "$T/b"

if [ "$(id -u)" != 0 ]; then
	echo "flow log in the lab: not run (needs root)"
	exit 0
fi
$PODWALL lab down --name $LAB > /dev/null 2>&1
two_pods > "$T/pods.yaml"
SOCK=/run/podwall/lab/$LAB/agent.sock
metric() { # NAME{LABELS} -> value
	curl -s --unix-socket "$SOCK" http://agent/metrics | awk -v m="$1" '$1 == m { print $2 }'
}
echo "== flow log: NFLOG reports of denied packets, read by the agent"
$PODWALL lab up -f "$T/pods.yaml" --name $LAB --no-external --flow-interval 1s > /dev/null || exit 1
rules 100 > "$T/p.yaml"
allow 5201 >> "$T/p.yaml.allow"
printf -- '---\n' >> "$T/p.yaml"
cat "$T/p.yaml.allow" >> "$T/p.yaml"
$PODWALL lab apply -f "$T/p.yaml" --name $LAB > /dev/null || exit 1
best=0
for rate in 50000 100000 200000 400000 0; do
	d0=$(metric 'podwall_flow_events_total{kind="denied"}')
	l0=$(metric podwall_flow_reports_lost_total)
	out=$($PODWALL lab exec bench/client --name $LAB -- "$PODWALL" lab __blast udp 10.70.0.2 9999 "$SECS" 64 $rate)
	sleep 1
	d1=$(metric 'podwall_flow_events_total{kind="denied"}')
	l1=$(metric podwall_flow_reports_lost_total)
	set -- $out
	sent=$2 secs=$4
	read_=$((d1 - d0)) lost=$((l1 - l0))
	awk -v r=$rate -v s=$sent -v t=$secs -v g=$read_ -v l=$lost 'BEGIN {
		printf "offered %-9s sent %8d in %.1f s: read %8d (%.0f reports/s), lost messages %d%s\n",
			(r > 0 ? r "/s" : "max"), s, t, g, g / t, l, (g < s ? " (reports missing)" : "") }'
	if [ "$lost" = 0 ] && [ "$read_" -ge "$sent" ]; then
		best=$(awk -v g=$read_ -v t=$secs -v b=$best 'BEGIN { r = int(g / t); print (r > b ? r : b) }')
	fi
done
awk -v b=$best 'BEGIN { printf "highest rate read with none lost: %d reports/s (goal >= 100000: %s)\n",
	b, (b >= 100000 ? "met" : "MISSED") }'
hwm=$(awk '/VmHWM/ { print $2 }' /proc/$(pgrep -f "agent --lab $LAB " | head -1)/status 2> /dev/null)
echo "agent peak memory after the flood: $((${hwm:-0} / 1024)) MiB"
$PODWALL lab down --name $LAB > /dev/null

echo "== flow log: cost on traffic, 10k rules, two pods"
rules 9998 > "$T/p.yaml"
printf -- '---\n' >> "$T/p.yaml"
cat <<YAML >> "$T/p.yaml"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: bench}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 5201}, {protocol: UDP, port: 5201}]
YAML
# alternated, three rounds each: the median
for mode in off on off on off on; do
	flag=--no-flows
	[ $mode = on ] && flag="--flow-interval 1s"
	# shellcheck disable=SC2086
	$PODWALL lab up -f "$T/pods.yaml" --name $LAB --no-external $flag > /dev/null || exit 1
	$PODWALL lab apply -f "$T/p.yaml" --name $LAB > /dev/null || exit 1
	set -- $(traffic)
	echo "$mode $1 $2" >> "$T/cost"
	if [ $mode = on ] && [ "$(wc -l < "$T/cost")" -ge 6 ]; then
		hwm=$(awk '/VmHWM/ { print $2 }' /proc/$(pgrep -f "agent --lab $LAB " | head -1)/status 2> /dev/null)
		echo "agent peak memory with the flow log, 10k rules, after the traffic: $((${hwm:-0} / 1024)) MiB"
	fi
	$PODWALL lab down --name $LAB > /dev/null
done
med() { # MODE COLUMN
	awk -v m=$1 -v c=$2 '$1 == m { print $c }' "$T/cost" | sort -n | sed -n 2p
}
printf 'off %s %s\non %s %s\n' "$(med off 2)" "$(med off 3)" "$(med on 2)" "$(med on 3)" > "$T/med"
awk '{ t[$1] = $2; u[$1] = $3 } END {
	ct = t["off"] > 0 ? (1 - t["on"] / t["off"]) * 100 : 0
	cu = u["off"] > 0 ? (1 - u["on"] / u["off"]) * 100 : 0
	printf "flow log off: TCP %s Gbit/s, UDP 64 B %s kpps\n", t["off"], u["off"]
	printf "flow log on:  TCP %s Gbit/s (cost %.1f %%), UDP 64 B %s kpps (cost %.1f %%); goal <= 5 %%: %s\n",
		t["on"], ct, u["on"], cu, ((ct <= 5 && cu <= 5) ? "met" : "MISSED") }' "$T/med"
echo "(medians of 3 alternated runs of $SECS s each)"
