#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /metrics scraped by a real Prometheus (Debian's prometheus, root): the
# server runs inside the lab's router namespace and scrapes the agent's
# API there every second; through Prometheus' query API, the flow counters
# equal what the probes sent:
#  - denied flows per deciding step: the probes the engine denies there;
#  - allowed connections per reporter: the probes allowed, once per
#    governed direction;
#  - the blocked address's flows at security.blockep-ips rule 0.
# Prometheus is started and stopped here; a run killed with -9 leaves one
# that the next run stops (found by its storage path, which is ours).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=pwt-prom
NS=pwl-$LAB-r
DATA=/run/podwall-test/$LAB
if [ "$(id -u)" != 0 ]; then
	echo "prometheus: needs root"
	summary prometheus
	exit 1
fi
if ! command -v prometheus > /dev/null; then
	fail "prometheus: not installed (make deps installs Debian's prometheus)"
	summary prometheus
	exit 1
fi
cleanup() {
	pkill -f "storage.tsdb.path=$DATA" 2> /dev/null
	$PODWALL lab down --name $LAB > /dev/null 2>&1
	rm -rf "$DATA"
}
trap 'cleanup; rm -rf "$TMP"' EXIT INT TERM
cleanup
C=$here/cases/106-seed004-blocked-ips
SOCK=/run/podwall/lab/$LAB/agent.sock

$PODWALL lab up -f "$C" --name $LAB --flow-interval 1s --external 198.51.100.77 \
	--external 198.51.100.78 > "$TMP/up" 2>&1 || fail "prometheus: lab up: $(tail -3 "$TMP/up")"
mkdir -p "$DATA"
cat > "$DATA/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: podwall
  static_configs:
  - targets: ['127.0.0.1:9466']
YAML
ip netns exec $NS prometheus --config.file="$DATA/prometheus.yml" \
	--storage.tsdb.path="$DATA/tsdb" --web.listen-address=127.0.0.1:9090 \
	> "$TMP/prom.log" 2>&1 &
query() { # PROMQL -> the value of a one-element vector ("" when empty)
	ip netns exec $NS curl -s --max-time 5 http://127.0.0.1:9090/api/v1/query \
		--data-urlencode "query=$1" |
		sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p'
}
# Prometheus up and scraping
i=0
until [ "$(query 'up{job="podwall"}')" = 1 ] || [ $i -ge 60 ]; do sleep 0.5; i=$((i + 1)); done
[ "$(query 'up{job="podwall"}')" = 1 ] && pass || fail "prometheus: the agent is not scraped: $(tail -5 "$TMP/prom.log")"

$PODWALL lab probe --name $LAB --port TCP/8080 -o tsv > "$TMP/probe" 2> "$TMP/err"
probe_agrees "prometheus: probe" "$TMP/probe"
# what the engine says decided each probe, per (reporter, action) and for
# the blocked address's rule
: > "$TMP/steps"
while IFS='	' read -r src dst port seen pred; do
	case "$src$dst" in */*) ;; *) continue ;; esac
	[ "$seen" = untested ] && continue
	$PODWALL eval --agent "$SOCK" --src "$src" --dst "$dst" --port "$port" -o json 2> /dev/null |
		awk -v seen="$seen" '
		/"egress": \{/ { d = "e" } /"ingress": \{/ { d = "i" }
		/"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); v[d] = $0 }
		END {
			if (seen == "deny") {
				if (v["e"] ~ /\|deny$/) print "src\tdeny\t" v["e"]; else print "dst\tdeny\t" v["i"]
			} else {
				if ("e" in v) print "src\tallow\t" v["e"]
				if ("i" in v) print "dst\tallow\t" v["i"]
			}
		}' >> "$TMP/steps"
done < "$TMP/probe"
want_deny=$(awk -F'\t' '$2 == "deny"' "$TMP/steps" | wc -l)
want_src=$(awk -F'\t' '$1 == "src" && $2 == "allow"' "$TMP/steps" | wc -l)
want_dst=$(awk -F'\t' '$1 == "dst" && $2 == "allow"' "$TMP/steps" | wc -l)
want_block=$(grep -c 'security.blockep-ips|0|deny' "$TMP/steps")
[ "$want_deny" -gt 0 ] && [ "$want_src" -gt 0 ] && [ "$want_block" -gt 0 ] && pass ||
	fail "prometheus: the scenario has nothing to count ($want_deny $want_src $want_block)"
settle() { # PROMQL WANT: until Prometheus has scraped it
	i=0
	until [ "$(query "$1")" = "$2" ] || [ $i -ge 40 ]; do sleep 0.5; i=$((i + 1)); done
	got=$(query "$1")
	[ "$got" = "$2" ] && pass || fail "prometheus: $1 = $got, the probes sent $2"
}
settle 'sum(podwall_policy_flows_total{action="deny"})' "$want_deny"
settle 'sum(podwall_policy_flows_total{action="allow",reporter="src"})' "$want_src"
settle 'sum(podwall_policy_flows_total{action="allow",reporter="dst"})' "$want_dst"
settle 'sum(podwall_policy_flows_total{policy="security.blockep-ips",rule="0",action="deny"})' "$want_block"
settle 'podwall_flows_started_total' "$(awk -F'\t' '$4 == "allow" && ($1 ~ /\// || $2 ~ /\//)' "$TMP/probe" | wc -l)"
settle 'sum(podwall_flow_reports_lost_total)' 0
# per step: every step the engine named has the count of its probes
sort "$TMP/steps" | uniq -c > "$TMP/counts"
while read -r cnt rep act entry; do
	tier=${entry%%|*}; rest=${entry#*|}; pol=${rest%%|*}; rest=${rest#*|}; rule=${rest%%|*}
	settle "sum(podwall_policy_flows_total{reporter=\"$rep\",tier=\"$tier\",policy=\"$pol\",rule=\"$rule\",action=\"$act\"})" "$cnt"
done < "$TMP/counts"
summary prometheus
