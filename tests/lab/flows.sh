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

$PODWALL lab up -f "$C" --name $LAB --flow-interval 1s --external 198.51.100.77 \
	--external 198.51.100.78 --external 203.0.113.10 > "$TMP/up" 2>&1 ||
	fail "flows: lab up: $(tail -3 "$TMP/up")"

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
	if grep -F "\"reporter\": \"$6\"" "$TMP/rec" | grep -qF "\"policies\": [\"$7\"]"; then
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
cmp -s "$TMP/agent" "$TMP/file" && pass || fail "flows: the agent and the store file differ"
cmp -s "$TMP/all" "$TMP/file" && pass || fail "flows: --lab and the store file differ"
$PODWALL flows --lab $LAB --policy security.blockep-ips --verdict denied -o json > "$TMP/p" 2>&1
[ -s "$TMP/p" ] && ! grep -v -q 'security.blockep-ips' "$TMP/p" && pass ||
	fail "flows: --policy security.blockep-ips: $(head -c 400 "$TMP/p")"
grep -q '"source_name": "ip-address-list"' "$TMP/p" && grep -q '"source_type": "ns"' "$TMP/p" && pass ||
	fail "flows: the blocked address is not named by its network set: $(head -c 600 "$TMP/p")"

summary lab-flows
