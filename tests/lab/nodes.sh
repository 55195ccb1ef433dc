#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A lab of many nodes (root): each node a namespace with its pods behind
# it and its own agent, enforcing egress for its pods and ingress to them.
# (The seed scenarios on many nodes run on an etcd datastore: etcd.sh.)
#  2. pods placed by spec.nodeName (and spread where it is unset); each
#     node's table holds only its own pods' interfaces
#  3. a change applied through one node's agent is in force on every node;
#     probed == engine after it and after its removal; through Services
#     whose backends run on other nodes too
#  4. kill -9 one node's agent with probes running: its node keeps
#     enforcing, the restarted agent converges, no probe differs
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=pwt-nodes
if [ "$(id -u)" != 0 ]; then
	echo "nodes: needs root"
	summary nodes
	exit 1
fi
cleanup() { $PODWALL lab down --name $LAB > /dev/null 2>&1; }
trap 'cleanup; rm -rf "$TMP"' EXIT INT TERM
cleanup

# 2. placement
C=$here/lab/nodes
$PODWALL lab up -f "$C/cluster.yaml" --name $LAB --nodes 3 --no-external > "$TMP/up" 2>&1 ||
	fail "nodes: lab up: $(cat "$TMP/up")"
grep -q "3 nodes, 5 pods" "$TMP/up" && pass || fail "nodes: up says: $(cat "$TMP/up")"
$PODWALL lab status --name $LAB > "$TMP/status"
for p in "shop/web-0 ip-10-0-1-10.ec2.internal" "shop/web-1 ip-10-0-2-20.ec2.internal" \
	 "shop/api ip-10-0-3-30.ec2.internal"; do
	set -- $p
	grep -q "^  $1 .* on $2\$" "$TMP/status" && pass || fail "nodes: $1 not on $2: $(grep " $1 " "$TMP/status")"
done
grep -q "^node ip-10-0-1-10.ec2.internal: namespace pwl-$LAB-n0$" "$TMP/status" && pass ||
	fail "nodes: named by spec.nodeName: $(grep ^node "$TMP/status")"
# pods without spec.nodeName: spread
n=$(grep -E '^  other/client2? ' "$TMP/status" | awk '{ print $NF }' | sort -u | wc -l)
[ "$n" = 2 ] && pass || fail "nodes: the two clients share a node: $(grep other/ "$TMP/status")"
# each node's table: the interfaces of its own pods only
i=0
enforcing=0
for node in ip-10-0-1-10.ec2.internal ip-10-0-2-20.ec2.internal ip-10-0-3-30.ec2.internal; do
	mine=$(grep " on $node\$" "$TMP/status" | sed -E 's/.* pwl-'$LAB'-([0-9]+) on .*/pwr\1/' | sort)
	ifs=$(ip netns exec pwl-$LAB-n$i nft list chain inet podwall forward 2>/dev/null |
		grep -o '"pwr[0-9]*"' | tr -d '"' | sort -u)
	[ -n "$ifs" ] && enforcing=$((enforcing + 1))
	for f in $ifs; do
		echo "$mine" | grep -qx "$f" && pass || fail "nodes: node $node has $f of another node"
	done
	i=$((i + 1))
done
[ $enforcing -ge 2 ] && pass || fail "nodes: $enforcing nodes enforce for pods"

probe_all() { # NAME: pods and Services, probed == engine
	$PODWALL lab probe --name $LAB --port TCP/80 --port TCP/81 -o tsv > "$TMP/got" 2>&1
	probe_agrees "$1" "$TMP/got"
	[ "$(awk -F'\t' '$4 == "allow"' "$TMP/got" | wc -l)" -gt 0 ] &&
		[ "$(awk -F'\t' '$4 == "deny"' "$TMP/got" | wc -l)" -gt 0 ] && pass ||
		fail "$1: probes saw one verdict only"
	$PODWALL lab probe --name $LAB --services -o tsv > "$TMP/svc" 2>&1
	probe_agrees "$1 (services)" "$TMP/svc"
}
probe_all "nodes: placement"
# across nodes: other/client reaches both web pods (two other nodes, at
# least one not its own)
grep -E '^other/client	shop/web-[01]	TCP/80	allow	allow$' "$TMP/got" | wc -l | grep -q 2 && pass ||
	fail "nodes: client -> web: $(grep -E '^other/client	shop/web' "$TMP/got")"

# the flow log across nodes: client -> web-0 and web-1 are reported by the
# client's node (egress) and by each web pod's node (ingress), each naming
# the step the engine's explanation names; nothing unattributed
SOCK=/run/podwall/lab/$LAB/agent.sock
for web in shop/web-0 shop/web-1; do
	ev=$($PODWALL eval --agent "$SOCK" --src other/client --dst $web --port TCP/80 -o json 2> /dev/null)
	in=$(echo "$ev" | awk '/"ingress": \{/ { i = 1 } i && /"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); print; exit }')
	eg=$(echo "$ev" | awk '/"egress": \{/ { e = 1 } /"ingress": \{/ { e = 0 } e && /"decided_by":/ { sub(/.*"decided_by": "/, ""); sub(/",?$/, ""); print; exit }')
	$PODWALL flows --lab $LAB --from other/client --to $web --port 80 --verdict allowed -o json \
		> "$TMP/fl" 2>&1
	grep '"reporter":"dst"' "$TMP/fl" | grep -qF "\"policies\":[\"$in\"]" && pass ||
		fail "nodes: no ingress record of client -> $web naming $in: $(head -c 400 "$TMP/fl")"
	grep '"reporter":"src"' "$TMP/fl" | grep -qF "\"policies\":[\"$eg\"]" && pass ||
		fail "nodes: no egress record of client -> $web naming $eg: $(head -c 400 "$TMP/fl")"
done
$PODWALL flows --lab $LAB -o json 2>&1 | grep -q unattributed &&
	fail "nodes: unattributed records" || pass

# 3. a change through node 0's agent, in force on every node
$PODWALL lab apply --name $LAB -f "$C/change.yaml" > "$TMP/apply" 2>&1
grep -q "in force on all 3 nodes" "$TMP/apply" && pass || fail "nodes: apply: $(cat "$TMP/apply")"
probe_all "nodes: after apply"
grep -E '^other/client	shop/web-[01]	TCP/80	deny	deny$' "$TMP/got" | wc -l | grep -q 2 && pass ||
	fail "nodes: client -> web after apply: $(grep -E '^other/client	shop/web' "$TMP/got")"
$PODWALL lab delete --name $LAB -f "$C/change.yaml" > "$TMP/apply" 2>&1
grep -q "in force on all 3 nodes" "$TMP/apply" && pass || fail "nodes: delete: $(cat "$TMP/apply")"
probe_all "nodes: after delete"

# 4. kill -9 the agent of node 1 with probes running
pid=$($PODWALL lab status --name $LAB | sed -n 's/^agent of node ip-10-0-2-20.ec2.internal pid \([0-9]*\): ready$/\1/p')
[ -n "$pid" ] && pass || fail "nodes: no agent pid for node 1"
(
	for i in 1 2 3 4 5 6; do
		$PODWALL lab probe --name $LAB --port TCP/80 --port TCP/81 -o json 2>&1 | grep '"differ"'
	done
) > "$TMP/during" &
prober=$!
sleep 0.3
[ -n "$pid" ] && kill -9 "$pid"
sleep 1
$PODWALL lab status --name $LAB | grep -q "^agent of node ip-10-0-2-20.ec2.internal: not running" && pass ||
	fail "nodes: the killed agent still shows"
$PODWALL lab agent --name $LAB --node ip-10-0-2-20.ec2.internal > "$TMP/restart" 2>&1 && pass ||
	fail "nodes: restart: $(cat "$TMP/restart")"
wait $prober
[ "$(grep -c '"differ": 0' "$TMP/during")" = 6 ] && pass || fail "nodes: probes during kill -9 and restart: $(cat "$TMP/during")"
probe_all "nodes: after restart"
# the kernel kept node 1's table: the restarted agent found every set and
# policy chain there (named by content); it rewrites only the chains named
# by role, in one transaction
grep 'change 1 in force' /run/podwall/lab/$LAB/agent-1.log | tail -1 | grep -q ' 0 created, [0-9]* changed, 0 deleted' &&
	pass || fail "nodes: the restarted agent changed the table: $(grep 'change 1 in force' /run/podwall/lab/$LAB/agent-1.log)"
cleanup
[ -e /run/netns/pwl-$LAB-n0 ] || [ -e /run/netns/pwl-$LAB-u ] && fail "nodes: namespaces left" || pass
summary nodes
