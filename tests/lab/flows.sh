#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Flow logs on real packets (root).  Seed 004's blocked-IPs scenario in the
# lab, with its GlobalAlert, probed between every pod and external host:
#  1. every probed connection (TCP) has a flow record at the reporter(s)
#     that decided it, naming the step the engine's explanation names
#     (podwall eval on the agent's state: decided_by): denied at the
#     direction that denied, allowed at each governed direction; and no
#     record is unattributed;
#  2. the records read the same from the agent (/v1/flows), from the lab
#     and from the store file, and the filters select what they say;
#  3. the alert blocked-ips fires for traffic from 198.51.100.77 and does
#     not for traffic from 198.51.100.78 alone;
#  4. a staged policy: pending_policies names its step, policies still the
#     enforced one; lab exec traffic shows up.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=pwt-flows
if [ "$(id -u)" != 0 ]; then
	echo "flows: needs root"
	summary lab-flows
	exit 1
fi
cleanup() { $PODWALL lab down --name $LAB > /dev/null 2>&1; }
trap 'cleanup; rm -rf "$TMP"' EXIT INT TERM
cleanup
C=$here/cases/106-seed004-blocked-ips
STATE=/run/podwall/lab/$LAB
SOCK=$STATE/agent.sock

$PODWALL lab up -f "$C" -f "$here/lab/flows/alert.yaml" --name $LAB --flow-interval 1s \
	--external 198.51.100.77 --external 198.51.100.78 --external 203.0.113.10 > "$TMP/up" 2>&1 ||
	fail "flows: lab up: $(tail -3 "$TMP/up")"

# 3. seed 004's alert: traffic from elsewhere raises nothing, traffic from
#    the blocked address raises it (lab exec traffic shows up too)
connect() { # FROM: a TCP connection to default/frontend:8080
	$PODWALL lab exec --name $LAB "$1" -- curl -s -m 2 -o /dev/null http://10.100.2.10:8080/ \
		> /dev/null 2>&1
}
connect 198.51.100.78
sleep 3
$PODWALL flows --lab $LAB --from 198.51.100.78 --to default/frontend -o json > "$TMP/f78" 2>&1
grep -q '"action":"allow"' "$TMP/f78" && pass || fail "flows: lab exec from .78 has no record: $(head -c 300 "$TMP/f78")"
$PODWALL alerts --lab $LAB -o json > "$TMP/alerts" 2>&1 || fail "flows: alerts --lab: $(head -2 "$TMP/alerts")"
[ ! -s "$TMP/alerts" ] && pass || fail "flows: an alert without traffic from the blocked address: $(head -c 400 "$TMP/alerts")"
connect 198.51.100.77
i=0
until $PODWALL alerts --lab $LAB -o json 2> /dev/null | grep -q blocked-ips || [ $i -ge 20 ]; do
	sleep 0.5
	i=$((i + 1))
done
$PODWALL alerts --lab $LAB -o json > "$TMP/alerts" 2>&1
grep -q '"name":"blocked-ips"' "$TMP/alerts" && pass || fail "flows: blocked-ips not raised: $(head -c 400 "$TMP/alerts")"
grep -q '\[blocked-ip\] 198.51.100.77 from ip-address-list networkset attempted to access default/frontend' "$TMP/alerts" &&
	pass || fail "flows: the alert's summary: $(head -c 600 "$TMP/alerts")"
grep -q '198.51.100.78' "$TMP/alerts" && fail "flows: an alert names .78: $(head -c 400 "$TMP/alerts")" || pass
$PODWALL alerts --lab $LAB > "$TMP/alerts-table" 2>&1
grep -q 'blocked-ips' "$TMP/alerts-table" && pass || fail "flows: alerts table: $(head -3 "$TMP/alerts-table")"

# 1. every connection probed has its records
$PODWALL lab probe --name $LAB --port TCP/8080 --port TCP/80 -o tsv > "$TMP/probe" 2> "$TMP/err"
probe_agrees "flows: probe" "$TMP/probe"
sleep 2
$PODWALL flows --lab $LAB -o json > "$TMP/all" 2> "$TMP/err" ||
	fail "flows: flows --lab: $(head -3 "$TMP/err")"
[ -s "$TMP/all" ] && pass || fail "flows: no records at all"
grep -q 'unattributed' "$TMP/all" && fail "flows: unattributed records: $(grep -m1 unattributed "$TMP/all")" || pass
# decided_by of each direction, as the engine explains it on the agent's state
decided() { # SRC DST PORT -> "egress-entry ingress-entry" (- when not governed)
	$PODWALL eval --agent "$SOCK" --src "$1" --dst "$2" --port "$3" -o json 2> /dev/null |
		awk '/"egress": \{/ { d = "e" } /"ingress": \{/ { d = "i" }
		     /"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); v[d] = $0 }
		     END { printf "%s\t%s\n", ("e" in v ? v["e"] : "-"), ("i" in v ? v["i"] : "-") }'
}
has_record() { # NAME SRC DST PORT VERDICT REPORTER ENTRY
	$PODWALL flows --lab $LAB --from "$2" --to "$3" --port "${4#*/}" --verdict "$5" -o json \
		> "$TMP/rec" 2> "$TMP/err"
	if grep -F "\"reporter\":\"$6\"" "$TMP/rec" | grep -qF "\"policies\":[\"$7\"]"; then
		pass
	else
		fail "$1: no $5 record at $6 naming $7: $(head -c 600 "$TMP/rec") $(head -2 "$TMP/err")"
	fi
}
n=0
while IFS='	' read -r src dst port seen pred; do
	case "$src$dst" in */*) ;; *) continue ;; esac # between outside hosts: no policy
	[ "$seen" = untested ] && continue
	set -- $(decided "$src" "$dst" "$port")
	eg=$1 in=$2
	name="flows: $src -> $dst $port"
	if [ "$seen" = deny ]; then
		# dropped where it was denied: at egress when the source's side denies
		case "$eg" in
		*"|deny") has_record "$name" "$src" "$dst" "$port" denied src "$eg" ;;
		*) has_record "$name" "$src" "$dst" "$port" denied dst "$in" ;;
		esac
	else
		[ "$eg" != - ] && has_record "$name" "$src" "$dst" "$port" allowed src "$eg"
		[ "$in" != - ] && has_record "$name" "$src" "$dst" "$port" allowed dst "$in"
	fi
	n=$((n + 1))
done < "$TMP/probe"
[ $n -gt 100 ] && pass || fail "flows: only $n connections checked"

# 2. one story from the agent, the lab and the file
$PODWALL flows --agent "$SOCK" -o json > "$TMP/agent" 2>&1 || fail "flows: --agent: $(head -2 "$TMP/agent")"
$PODWALL flows --store "sqlite:$STATE/flows.db" -o json > "$TMP/file" 2>&1 || fail "flows: --store"
# (connections that end meanwhile add records: what was read first is in
# what is read after)
included() { sort "$1" > "$TMP/s1"; sort "$2" > "$TMP/s2"; [ -s "$TMP/s1" ] && [ -z "$(comm -23 "$TMP/s1" "$TMP/s2")" ]; }
included "$TMP/agent" "$TMP/file" && pass || fail "flows: records of the agent missing in its store file"
included "$TMP/all" "$TMP/file" && pass || fail "flows: records of --lab missing in the store file"
$PODWALL flows --lab $LAB --policy security.blockep-ips --verdict denied -o json > "$TMP/p" 2>&1
[ -s "$TMP/p" ] && ! grep -v -q 'security.blockep-ips' "$TMP/p" && pass ||
	fail "flows: --policy security.blockep-ips: $(head -c 400 "$TMP/p")"
grep -q '"source_name":"ip-address-list"' "$TMP/p" && grep -q '"source_type":"ns"' "$TMP/p" && pass ||
	fail "flows: the blocked address is not named by its network set: $(head -c 600 "$TMP/p")"

# 4. a staged policy: the records name it in pending_policies, as eval
#    --staged explains it, while policies stay the enforced step
$PODWALL lab apply --name $LAB -f "$here/cases/100-seed004-staged-default-deny/staged.yaml" \
	> "$TMP/apply" 2>&1 || fail "flows: apply the staged policy: $(tail -2 "$TMP/apply")"
$PODWALL lab exec --name $LAB dev/centos -- curl -s -m 2 -o /dev/null http://10.100.1.20:80/ \
	> /dev/null 2>&1
# (the agent answers eval without --staged: the engine on the lab's copy of
# the manifests, whose pods have these addresses, explains it)
$PODWALL eval -f "$STATE/source" --src dev/centos --dst dev/nginx --port TCP/80 --staged -o json \
	> "$TMP/ev" 2>&1
want=$(awk '/"staged": \{/ { st = 1 } st && /"egress": \{/ { e = 1 } st && /"ingress": \{/ { e = 0 }
	st && e && /"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); print; exit }' "$TMP/ev")
now=$(awk '/"staged": \{/ { exit } /"egress": \{/ { e = 1 } /"ingress": \{/ { e = 0 }
	e && /"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); print; exit }' "$TMP/ev")
case "$want" in *"|deny") pass ;; *) fail "flows: the staged policy does not deny: $want" ;; esac
sleep 2
$PODWALL flows --lab $LAB --from dev/centos --to dev/nginx --port 80 --verdict allowed -o json \
	> "$TMP/st" 2>&1
grep '"reporter":"src"' "$TMP/st" | grep -F "\"policies\":[\"$now\"]" |
	grep -qF "\"pending_policies\":[\"$want\"]" && pass ||
	fail "flows: pending_policies is not $want (policies $now): $(head -c 700 "$TMP/st")"
$PODWALL flows --lab $LAB --policy default.default-deny -o json > "$TMP/st2" 2>&1
grep -q 'dev/nginx\|"dest_name":"nginx"' "$TMP/st2" && pass ||
	fail "flows: --policy finds no pending record of the staged policy: $(head -c 300 "$TMP/st2")"

summary lab-flows
