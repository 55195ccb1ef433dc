#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A lab of 3 nodes on a real 3-member etcd cluster (root): the agents
# watch etcd (podwall agent --source etcd:...), each in its node's
# namespace, the members on the lab's underlay.
#  1. the seed scenarios, one after another through etcd (lab apply, lab
#     delete): probed == engine == expected on every cell
#  2. kill one etcd member, then the leader, with probes running (none
#     differs): changes written meanwhile reach every node
#  3. one node cut off from etcd keeps enforcing its last state while a
#     change lands elsewhere; healed, it catches up; an apply through a
#     node cut off is refused and changes nothing anywhere
#  4. kill -9 an agent, write meanwhile, restart it: it converges
# After every settle: every node holds the same documents (/v1/state) and
# probed == engine.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
LAB=pwt-etcd
if [ "$(id -u)" != 0 ]; then
	echo "etcd: needs root"
	summary etcd
	exit 1
fi
cleanup() { $PODWALL lab down --name $LAB > /dev/null 2>&1; }
trap 'cleanup; rm -rf "$TMP"' EXIT INT TERM
cleanup
EPS=http://169.254.2.101:2379,http://169.254.2.102:2379,http://169.254.2.103:2379
in_node() { ip netns exec pwl-$LAB-n0 "$@"; }
digests() { # the /v1/state digest of each node, one a line
	for s in /run/podwall/lab/$LAB/agent.sock /run/podwall/lab/$LAB/agent-[0-9]*.sock; do
		curl -s --max-time 2 --unix-socket "$s" http://agent/v1/state | grep -o '"digest": "[0-9a-f]*"'
	done
}
settled() { # NAME: within 15 s every node holds the same documents; probed == engine
	i=0
	while [ $i -lt 150 ]; do
		[ "$(digests | sort -u | wc -l)" = 1 ] && [ "$(digests | wc -l)" = 3 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 150 ] && pass || fail "$1: the nodes differ: $(digests | tr '\n' ' ')"
	$PODWALL lab probe --name $LAB --port TCP/80 --port TCP/81 -o tsv > "$TMP/got" 2>&1
	probe_agrees "$1" "$TMP/got"
}

# 1. the seed scenarios
cases="000-seed000 100-seed004-staged-default-deny 101-seed004-platform-centos-to-frontend
	106-seed004-blocked-ips 107-seed004-pci-isolation 110-seed001-global-default-deny-dns
	111-seed001-default-deny-plus-dns-ingress 112-seed001-netpol-sa-demo"
allext=
for c in $cases; do
	case_expect "$here/cases/$c" "$TMP/exp"
	allext="$allext $ext"
done
allext=$(echo "$allext" | tr ' ' '\n' | grep -v '^--' | grep . | sort -u | sed 's/^/--external /' | tr '\n' ' ')
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: lab}\n' > "$TMP/empty.yaml"
# shellcheck disable=SC2086
if $PODWALL lab up -f "$TMP/empty.yaml" --name $LAB --nodes 3 --datastore etcd $allext > "$TMP/up" 2>&1; then
	pass
else
	fail "etcd: lab up: $(cat "$TMP/up")"
	summary etcd
	exit 1
fi
grep -q "3 nodes, .* datastore: etcd, 3 members" "$TMP/up" && pass || fail "etcd: up says $(cat "$TMP/up")"
# Calico's key layout, written by the lab through podwall apply --datastore
in_node etcdctl --endpoints=$EPS get --prefix /calico/resources/v3/ --keys-only | grep -qx /calico/resources/v3/core/namespaces/lab &&
	pass || fail "etcd: the namespace's key: $(in_node etcdctl --endpoints=$EPS get --prefix / --keys-only)"
for c in $cases; do
	d="$here/cases/$c"
	case_expect "$d" "$TMP/exp"
	if ! $PODWALL lab apply --name $LAB -f "$d" > "$TMP/apply" 2>&1; then
		fail "etcd/$c: lab apply: $(tail -3 "$TMP/apply")"
		continue
	fi
	grep -q "in force on all 3 nodes" "$TMP/apply" && pass || fail "etcd/$c: $(cat "$TMP/apply")"
	n=$($PODWALL lab status --name $LAB | grep -o ' on node-[0-9]*$' | sort -u | wc -l)
	[ "$n" -ge 2 ] && pass || fail "etcd/$c: pods on $n nodes"
	# shellcheck disable=SC2086
	$PODWALL lab probe --name $LAB $ports -o tsv > "$TMP/got" 2> "$TMP/err"
	compare_probe "etcd/$c" "$TMP/exp" "$TMP/got"
	probe_agrees "etcd/$c" "$TMP/got"
	$PODWALL lab delete --name $LAB -f "$d" > "$TMP/del" 2>&1 || fail "etcd/$c: lab delete: $(tail -3 "$TMP/del")"
done
# only the namespace is left, in etcd and on every node
[ "$(in_node etcdctl --endpoints=$EPS get --prefix /calico/resources/v3/ --keys-only | grep -c .)" = 1 ] &&
	pass || fail "etcd: left in etcd: $(in_node etcdctl --endpoints=$EPS get --prefix / --keys-only | head)"

# the faults, on a cluster of 3 nodes with a Service across them
C=$here/lab/nodes
$PODWALL lab apply --name $LAB -f "$C/cluster.yaml" > "$TMP/apply" 2>&1 || fail "etcd: apply cluster: $(cat "$TMP/apply")"
settled "etcd: cluster"
member_pid() { $PODWALL lab etcd --name $LAB | sed -n "s/^etcd member m$1 .* pid \([0-9]*\): running$/\1/p"; }
leader() { # the leader's member index
	in_node etcdctl --endpoints=$EPS endpoint status -w table 2>/dev/null |
		awk -F'|' '$6 ~ /true/ { print $2 }' | sed -E 's/.*169\.254\.2\.10([0-9]).*/\1/' |
		awk '{ print $1 - 1 }' | head -1
}

# probes while a fault happens and nothing is written: none differs
probing() { # start | stop NAME
	if [ "$1" = start ]; then
		(
			while [ ! -e "$TMP/stop-probing" ]; do
				$PODWALL lab probe --name $LAB --port TCP/80 --port TCP/81 -o json 2>&1 | grep '"differ"'
			done
		) > "$TMP/during" &
		prober=$!
		return
	fi
	touch "$TMP/stop-probing"
	wait $prober
	rm -f "$TMP/stop-probing"
	n=$(grep -c . "$TMP/during")
	[ "$n" -ge 1 ] && [ "$(grep -c '"differ": 0' "$TMP/during")" = "$n" ] && pass ||
		fail "$2: probes while it happened: $(tr '\n' ' ' < "$TMP/during")"
}

# 2. kill a member that does not lead, write, then the leader, write
l=$(leader)
[ -n "$l" ] && pass || fail "etcd: no leader"
other=$(( (l + 1) % 3 ))
probing start
kill -9 "$(member_pid $other)"
sleep 2
probing stop "etcd: member $other killed"
$PODWALL lab apply --name $LAB -f "$C/change.yaml" > "$TMP/apply" 2>&1
grep -q "in force on all 3 nodes" "$TMP/apply" && pass || fail "etcd: with member $other down: $(cat "$TMP/apply")"
settled "etcd: member $other down"
$PODWALL lab etcd --name $LAB --start > /dev/null 2>&1 && pass || fail "etcd: restart member $other"
sleep 1
l=$(leader)
probing start
kill -9 "$(member_pid "$l")"
sleep 2
probing stop "etcd: the leader m$l killed"
# a write while the cluster elects a new leader: retried by the client
$PODWALL lab delete --name $LAB -f "$C/change.yaml" > "$TMP/apply" 2>&1
grep -q "in force on all 3 nodes" "$TMP/apply" && pass || fail "etcd: with the leader m$l down: $(cat "$TMP/apply")"
settled "etcd: leader m$l down"
$PODWALL lab etcd --name $LAB --start > /dev/null 2>&1 && pass || fail "etcd: restart the leader"

# 3. cut the node of a web pod off from etcd; open the web pods
web=$($PODWALL lab status --name $LAB | awk '$1 ~ /^shop\/web-/ { print $1, $NF; exit }')
set -- $web
web=$1 cutnode=$2
cutns=pwl-$LAB-n${cutnode#node-}
ip netns exec $cutns nft -f - <<'NFT'
table inet pwtcut {
	chain out { type filter hook output priority 0; ip daddr 169.254.2.101-169.254.2.103 drop; }
	chain in { type filter hook input priority 0; ip saddr 169.254.2.101-169.254.2.103 drop; }
}
NFT
in_node "$PODWALL" delete --datastore etcd:$EPS -f "$C/web-open.yaml" > "$TMP/del" 2>&1 || fail "etcd: delete in etcd: $(cat "$TMP/del")"
sleep 2
# the other nodes follow; the cut node keeps its last state: only the web
# pods behind it differ from the engine
$PODWALL lab probe --name $LAB --port TCP/80 --port TCP/81 -o tsv > "$TMP/got" 2>&1
awk -F'\t' '$4 != "untested" && $4 != $5 { print $2 }' "$TMP/got" | sort -u > "$TMP/bad"
$PODWALL lab status --name $LAB | awk -v n="$cutnode" '$1 ~ /^shop\/web-/ && $NF == n { print $1 }' | sort > "$TMP/want"
[ -s "$TMP/bad" ] && cmp -s "$TMP/bad" "$TMP/want" && pass ||
	fail "etcd: while $cutnode is cut, differing: $(cat "$TMP/bad") (want $(cat "$TMP/want"))"
ip netns exec $cutns nft delete table inet pwtcut
settled "etcd: cut healed"
grep -q "$web	TCP/81	allow	allow" "$TMP/got" && pass || fail "etcd: $web not open after the heal"

# node 0's agent cut off: lab apply (through it) is refused and nothing
# changes there, nor anywhere
ip netns exec pwl-$LAB-n0 nft -f - <<'NFT'
table inet pwtcut {
	chain out { type filter hook output priority 0; ip daddr 169.254.2.101-169.254.2.103 drop; }
	chain in { type filter hook input priority 0; ip saddr 169.254.2.101-169.254.2.103 drop; }
}
NFT
if $PODWALL lab apply --name $LAB -f "$C/change.yaml" > "$TMP/apply" 2>&1; then
	fail "etcd: apply through a node cut off from etcd: $(cat "$TMP/apply")"
else
	grep -q "nothing changed" "$TMP/apply" && pass || fail "etcd: refused apply says: $(cat "$TMP/apply")"
fi
[ "$(digests | sort -u | wc -l)" = 1 ] && pass || fail "etcd: a refused apply changed a node: $(digests | tr '\n' ' ')"
ip netns exec pwl-$LAB-n0 nft delete table inet pwtcut
settled "etcd: node 0 healed"

# 4. kill -9 node 2's agent, write meanwhile, restart it
pid=$($PODWALL lab status --name $LAB | sed -n 's/^agent of node node-2 pid \([0-9]*\): ready$/\1/p')
[ -n "$pid" ] && kill -9 "$pid"
in_node "$PODWALL" apply --datastore etcd:$EPS -f "$C/web-open.yaml" > "$TMP/apply" 2>&1 || fail "etcd: apply in etcd: $(cat "$TMP/apply")"
$PODWALL lab agent --name $LAB --node node-2 > "$TMP/restart" 2>&1 && pass ||
	fail "etcd: restart agent: $(cat "$TMP/restart")"
settled "etcd: agent restarted"
$PODWALL lab probe --name $LAB --services -o tsv > "$TMP/svc" 2>&1
probe_agrees "etcd: services" "$TMP/svc"

cleanup
ls /run/netns | grep -q "^pwl-$LAB-" && fail "etcd: namespaces left" || pass
pgrep -f "initial-cluster-token pwl-$LAB" > /dev/null && fail "etcd: members left" || pass
summary etcd
