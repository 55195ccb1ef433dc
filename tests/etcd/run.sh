#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# etcd as the datastore (root): etcd members and agents run in a network
# namespace of their own (pwt-etcd-PID, its own loopback: no port clash;
# removed at the end, and one left by a run that was killed is removed by
# the next), with data directories under the test's temporary directory.
#  1. podwall apply / get / delete --datastore etcd:URL (and calicoctl's
#     DATASTORE_TYPE=etcdv3 + ETCD_ENDPOINTS): the keys of Calico's layout;
#     a bad manifest is rejected with FILE:LINE:COL and nothing is written;
#  2. an agent with --source etcd: loads, follows podwall apply/delete and
#     etcdctl put/del, applies a multi-object apply as one change, and its
#     verdicts equal `podwall eval -f` on the same manifests;
#  3. etcd stopped whole and restarted: the agent reconnects;
#  4. compaction past what the agent saw: it reads everything again and
#     holds what etcd holds;
#  5. a 3-member cluster: a silent member (SIGSTOP), a killed member, then
#     the killed leader: writes to the survivors still reach the agent.
. "$(dirname "$0")/../lib.sh"
NS=pwt-etcd-$$
need_root etcd
if ! command -v etcd > /dev/null || ! command -v etcdctl > /dev/null; then
	fail "etcd and etcdctl are not installed (make deps)"
	summary etcd
	exit 1
fi
pids=
cleanup() {
	for p in $pids; do
		kill -CONT "$p" 2> /dev/null
		kill -9 "$p" 2> /dev/null
	done
	ip netns del $NS 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
own_netns pwt-etcd || { fail "cannot create $NS"; summary etcd; exit 1; }
ip netns exec $NS ip link set lo up
in_ns() { ip netns exec $NS "$@"; }
ctl() { in_ns env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s "$@"; }
api() { curl -s --max-time 10 --unix-socket "$1" "http://agent$2"; }
pw() { in_ns "$PODWALL" "$@"; }

# member NAME CLIENT_PORT PEER_PORT CLUSTER: start (or restart) a member
# (one apply is one transaction: etcd's limit on its operations, 128 by
# default, is raised for the paging check)
member() {
	ip netns exec $NS etcd --name "$1" --data-dir "$TMP/$1.data" --max-txn-ops 4096 \
		--listen-client-urls "http://127.0.0.1:$2" --advertise-client-urls "http://127.0.0.1:$2" \
		--listen-peer-urls "http://127.0.0.1:$3" --initial-advertise-peer-urls "http://127.0.0.1:$3" \
		--initial-cluster "$4" --initial-cluster-state new --initial-cluster-token "pwt-$$" \
		>> "$TMP/$1.log" 2>&1 &
	eval "pid_$1=$!"
	pids="$pids $!"
}
healthy() { # ENDPOINTS: until every one is healthy
	for _ in $(seq 1 100); do
		ctl --endpoints "$1" endpoint health > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
start_agent() { # SOCKET ENDPOINTS
	ip netns exec $NS "$PODWALL" agent --source "etcd:$2" --socket "$1" --dataplane dry-run \
		2>> "$TMP/agent.log" &
	agent=$!
	pids="$pids $agent"
	for _ in $(seq 1 200); do
		[ "$(api "$1" /readyz)" = ok ] && return 0
		kill -0 $agent 2> /dev/null || break
		sleep 0.05
	done
	return 1
}
last_seq() { api "$1" /v1/changes | sed -n 's/.*"seq": \([0-9]*\),.*/\1/p' | tail -1; }
wait_seq() { # SOCKET SEQ [TRIES]: until the change log has SEQ
	for _ in $(seq 1 "${3:-200}"); do
		api "$1" /v1/changes | grep -q "\"seq\": $2," && return 0
		sleep 0.05
	done
	return 1
}
# until the agent's policies list has (or, with !, lacks) NAME
wait_policy() { # SOCKET NAME [!]
	for _ in $(seq 1 200); do
		if api "$1" /v1/policies | grep -q " $2\""; then
			[ "$3" != "!" ] && return 0
		else
			[ "$3" = "!" ] && return 0
		fi
		sleep 0.05
	done
	return 1
}

# ---- the manifests -------------------------------------------------------------
M=$TMP/m
mkdir -p "$M"
for n in 0 1; do
	cat <<EOF
---
apiVersion: v1
kind: Namespace
metadata: {name: ns$n, labels: {team: t$n}}
EOF
	for i in 0 1 2; do
		cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: p$i, namespace: ns$n, labels: {app: a$i}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.88.$n.$((i + 1))}
EOF
	done
done > "$M/cluster.yaml"
cat > "$M/policies.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ns1}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-a0, namespace: ns1}
spec:
  podSelector: {matchLabels: {app: a0}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: t0}}}]
    ports: [{port: 8080}]
EOF
cat > "$M/calico.yaml" <<'EOF'
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: blocked, labels: {role: blocked}}
spec: {nets: [192.0.2.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.block}
spec:
  tier: security
  selector: all()
  types: [Egress]
  egress:
  - action: Deny
    destination: {selector: role == 'blocked'}
  - action: Pass
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: web, namespace: ns0}
spec:
  selector: app == 'a2'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [80]}
EOF
P=/calico/resources/v3
cat > "$TMP/keys-want" <<EOF
$P/core/namespaces/ns0
$P/core/namespaces/ns1
$P/core/pods/ns0/p0
$P/core/pods/ns0/p1
$P/core/pods/ns0/p2
$P/core/pods/ns1/p0
$P/core/pods/ns1/p1
$P/core/pods/ns1/p2
$P/networking.k8s.io/networkpolicies/ns1/allow-a0
$P/networking.k8s.io/networkpolicies/ns1/deny
$P/projectcalico.org/globalnetworkpolicies/security.block
$P/projectcalico.org/globalnetworksets/blocked
$P/projectcalico.org/networkpolicies/ns0/web
$P/projectcalico.org/tiers/security
EOF
keys() { ctl --endpoints "$1" get --prefix --keys-only /calico/ | grep . | sort; }

# ---- 1. apply / get / delete --datastore -------------------------------------------
E=http://127.0.0.1:2379
member m0 2379 2380 m0=http://127.0.0.1:2380
healthy $E || fail "etcd did not start: $(tail -3 "$TMP/m0.log")"
if pw apply -f "$M" --datastore "etcd:$E" > "$TMP/out" 2>&1; then pass; else
	fail "apply --datastore: $(cat "$TMP/out")"
fi
if grep -q "^# etcd revision" "$TMP/out" && grep -q "^GlobalNetworkPolicy security.block configured" "$TMP/out"; then pass; else
	fail "apply --datastore printed: $(head -3 "$TMP/out")"
fi
keys $E > "$TMP/keys"
if cmp -s "$TMP/keys-want" "$TMP/keys"; then pass; else
	fail "the keys: $(diff "$TMP/keys-want" "$TMP/keys" | head -5)"
fi
# one apply, one revision
if [ "$(ctl --endpoints $E get --prefix /calico/ -w fields | grep -c '"ModRevision" : 2$')" = 14 ]; then pass; else
	fail "apply did not write in one transaction"
fi
# get: table, yaml, json; the environment of calicoctl
pw get pods -n ns1 --datastore "etcd:$E" -o table > "$TMP/out"
if [ "$(grep -c ' Pod ' "$TMP/out")" = 3 ] && head -1 "$TMP/out" | grep -q '^NAMESPACE *KIND *NAME$'; then pass; else
	fail "get pods -n ns1 -o table: $(cat "$TMP/out")"
fi
pw get globalnetworkpolicy security.block --datastore "etcd:$E" > "$TMP/out"
if grep -q "^---$" "$TMP/out" && grep -q "selector: role == 'blocked'" "$TMP/out"; then pass; else
	fail "get globalnetworkpolicy -o yaml: $(cat "$TMP/out")"
fi
pw get tiers --datastore "etcd:$E" -o json > "$TMP/out"
if grep -q '"kind": "List"' "$TMP/out" && grep -q '"order": 100' "$TMP/out"; then pass; else
	fail "get tiers -o json: $(cat "$TMP/out")"
fi
if in_ns env DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=$E "$PODWALL" get globalnetworksets -o table |
	grep -q 'GlobalNetworkSet *blocked'; then pass; else
	fail "DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS: get did not read etcd"
fi
# more keys than a page (1000): every page at one revision
for i in $(seq 1 1100); do printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: pg-%d}\n' $i; done > "$TMP/many.yaml"
pw apply -f "$TMP/many.yaml" --datastore "etcd:$E" > /dev/null 2>&1 || fail "apply of 1,100 objects failed"
n=$(pw get namespaces --datastore "etcd:$E" -o table | grep -c ' Namespace ')
[ "$n" = 1102 ] && pass || fail "get: $n namespaces, not 1,102 (paging)"
pw delete -f "$TMP/many.yaml" --datastore "etcd:$E" > /dev/null 2>&1
keys $E > "$TMP/keys"
cmp -s "$TMP/keys-want" "$TMP/keys" && pass || fail "delete of 1,100 objects: $(diff "$TMP/keys-want" "$TMP/keys" | head -3)"
pw get nosuchkind --datastore "etcd:$E" > /dev/null 2>&1
[ $? = 1 ] && pass || fail "get of nothing: not exit 1"
# a bad manifest: nothing written, not even the good document beside it
cat > "$TMP/bad.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: good, namespace: ns0}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: ns0}
spec:
  podSelector: {matchLabels: {app: [a1]}}
EOF
pw apply -f "$TMP/bad.yaml" --datastore "etcd:$E" > "$TMP/out" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q "bad.yaml:10:36: error: " "$TMP/out"; then pass; else
	fail "bad manifest: exit $rc: $(cat "$TMP/out")"
fi
keys $E > "$TMP/keys"
if cmp -s "$TMP/keys-want" "$TMP/keys"; then pass; else fail "bad manifest: something was written"; fi
pw apply -f "$TMP/bad.yaml" --datastore "etcd:http://127.0.0.1:1" > /dev/null 2>&1
[ $? != 0 ] && pass || fail "a bad manifest to an unreachable etcd: exit 0"
pw apply -f "$M" --datastore "etcd:http://127.0.0.1:1" > /dev/null 2>&1
[ $? = 2 ] && pass || fail "unreachable etcd: not exit 2"
# -n: the namespace goes into the stored object
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: solo, labels: {app: a9}}\nstatus: {podIP: 10.88.0.99}\n' > "$TMP/solo.yaml"
pw apply -f "$TMP/solo.yaml" -n ns0 --datastore "etcd:$E" > /dev/null 2>&1
if ctl --endpoints $E get --print-value-only $P/core/pods/ns0/solo | grep -q '"namespace": "ns0"'; then pass; else
	fail "apply -n: the stored Pod has no namespace"
fi
pw delete -f "$TMP/solo.yaml" -n ns0 --datastore "etcd:$E" > "$TMP/out" 2>&1
if grep -q "^Pod ns0/solo deleted" "$TMP/out" && [ -z "$(ctl --endpoints $E get $P/core/pods/ns0/solo)" ]; then pass; else
	fail "delete --datastore: $(cat "$TMP/out")"
fi
pw delete -f "$TMP/solo.yaml" -n ns0 --datastore "etcd:$E" > "$TMP/out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "^Pod ns0/solo not found" "$TMP/out"; then pass; else
	fail "delete of what is not there: exit $rc: $(cat "$TMP/out")"
fi

# ---- 2. an agent with --source etcd: ------------------------------------------------
S=$TMP/a.sock
if start_agent "$S" $E; then pass; else
	fail "agent did not become ready: $(tail -3 "$TMP/agent.log")"
	summary etcd
	exit 1
fi
A=$agent
# verdicts: the agent's and the command line's on the same manifests
evals() { # DIR: a line per query, agent then command line
	for q in "ns0/p0 ns1/p0 TCP/8080" "ns0/p1 ns1/p1 TCP/8080" "ns1/p2 ns0/p2 TCP/80" \
		"ns1/p2 ns0/p1 TCP/80" "ns0/p0 192.0.2.7 TCP/443" "ns0/p0 198.51.100.1 TCP/443" \
		"ns1/p0 ns1/p1 TCP/8080" "ns0/p2 ns1/p0 TCP/8080"; do
		set -- $q
		a=$("$PODWALL" eval --agent "$S" --src "$1" --dst "$2" --port "$3" 2>&1 | head -1)
		c=$("$PODWALL" eval -f "$DIR" --src "$1" --dst "$2" --port "$3" 2>&1 | head -1)
		if [ -n "$a" ] && [ "$a" = "$c" ]; then pass; else
			fail "eval $q: agent says '$a', eval -f says '$c'"
		fi
	done
}
DIR=$M evals
seq=$(last_seq "$S")
# a multi-object apply: one change
mkdir -p "$TMP/more"
for n in 1 2 3; do
	cat <<EOF
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: extra-$n, namespace: ns0}
spec:
  podSelector: {matchLabels: {app: a$n}}
  ingress: [{ports: [{port: 90$n}]}]
EOF
done > "$TMP/more/extra.yaml"
pw apply -f "$TMP/more" --datastore "etcd:$E" > /dev/null 2>&1
wait_seq "$S" $((seq + 1)) || fail "apply of 3 objects: no change in the agent"
sleep 0.3
entry=$(api "$S" /v1/changes | grep "\"seq\": $((seq + 1)),")
if echo "$entry" | grep -q '"result": "applied"' &&
	[ "$(echo "$entry" | grep -o 'networkpolicies/ns0/extra-' | wc -l)" = 3 ] &&
	! api "$S" /v1/changes | grep -q "\"seq\": $((seq + 2)),"; then pass; else
	fail "apply of 3 objects: not one change: $(api "$S" /v1/changes | tail -4)"
fi
cp "$TMP/more/extra.yaml" "$M/extra.yaml"
# etcdctl put and del, directly
seq=$(last_seq "$S")
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: direct, namespace: ns0}\nspec: {podSelector: {}, policyTypes: [Egress]}\n' |
	ctl --endpoints $E put $P/networking.k8s.io/networkpolicies/ns0/direct > /dev/null
if wait_policy "$S" ns0/direct; then pass; else fail "etcdctl put: not in the agent"; fi
if api "$S" /v1/changes | grep "\"seq\": $((seq + 1)),"| grep -q "networkpolicies/ns0/direct"; then pass; else
	fail "etcdctl put: change log: $(api "$S" /v1/changes | tail -2)"
fi
ctl --endpoints $E del $P/networking.k8s.io/networkpolicies/ns0/direct > /dev/null
if wait_policy "$S" ns0/direct !; then pass; else fail "etcdctl del: still in the agent"; fi
# a bad document put directly: the change is rejected, with its place
seq=$(last_seq "$S")
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: ns0}\nspec:\n  podSelector: {matchLabels: {app: [x]}}\n' |
	ctl --endpoints $E put $P/networking.k8s.io/networkpolicies/ns0/broken > /dev/null
wait_seq "$S" $((seq + 1))
if api "$S" /v1/changes | grep "\"seq\": $((seq + 1)),"| grep -q '"result": "rejected".*ns0/broken:5:36: error'; then pass; else
	fail "a bad document in etcd: change log: $(api "$S" /v1/changes | tail -2)"
fi
pw get networkpolicies --datastore "etcd:$E" > /dev/null 2> "$TMP/err"
if grep -q "ns0/broken:5:36: error" "$TMP/err"; then pass; else
	fail "get of a bad document: $(cat "$TMP/err")"
fi
ctl --endpoints $E del $P/networking.k8s.io/networkpolicies/ns0/broken > /dev/null
DIR=$M evals
# podwall delete --datastore: the agent follows
pw delete -f "$TMP/more" --datastore "etcd:$E" > /dev/null 2>&1
rm "$M/extra.yaml"
if wait_policy "$S" ns0/extra-2 !; then pass; else fail "delete --datastore: the agent still has extra-2"; fi
# the agent's own API writes to etcd in one transaction
"$PODWALL" apply -f "$TMP/more" --agent "$S" > "$TMP/out" 2>&1
if [ "$(ctl --endpoints $E get --prefix $P/networking.k8s.io/networkpolicies/ns0/ --keys-only | grep -c extra-)" = 3 ]; then pass; else
	fail "apply --agent: not stored in etcd: $(cat "$TMP/out")"
fi
"$PODWALL" delete -f "$TMP/more" --agent "$S" > /dev/null 2>&1
# get through the agent equals get from etcd
sleep 0.3
"$PODWALL" get --agent "$S" > "$TMP/ga"
pw get --datastore "etcd:$E" > "$TMP/ge"
if [ -s "$TMP/ga" ] && cmp -s "$TMP/ga" "$TMP/ge"; then pass; else
	fail "get: the agent and etcd differ: $(diff "$TMP/ga" "$TMP/ge" | head -4)"
fi

# ---- 3. etcd stopped whole, restarted ---------------------------------------------------
kill $pid_m0
wait $pid_m0 2> /dev/null
sleep 1.5
member m0 2379 2380 m0=http://127.0.0.1:2380
healthy $E || fail "etcd did not restart"
seq=$(last_seq "$S")
sed -n '1,4{s/name: deny,/name: deny2,/;p}' "$M/policies.yaml" > "$M/deny2.yaml"
pw apply -f "$M/deny2.yaml" --datastore "etcd:$E" > /dev/null 2>&1
if wait_policy "$S" ns1/deny2; then pass; else
	fail "etcd restarted: the agent did not follow: $(tail -3 "$TMP/agent.log")"
fi
if grep -q "etcd: .*resuming from revision" "$TMP/agent.log"; then pass; else
	fail "etcd restarted: the agent did not say it lost the watch"
fi

# ---- 4. compaction past what the agent saw -----------------------------------------------
kill -STOP $A
kill $pid_m0
wait $pid_m0 2> /dev/null
member m0 2379 2380 m0=http://127.0.0.1:2380
healthy $E || fail "etcd did not restart"
pw apply -f "$TMP/more" --datastore "etcd:$E" > /dev/null 2>&1
pw delete -f "$M/deny2.yaml" --datastore "etcd:$E" > /dev/null 2>&1
rm "$M/deny2.yaml"
cp "$TMP/more/extra.yaml" "$M/extra.yaml"
rev=$(ctl --endpoints $E endpoint status -w fields | sed -n 's/^"Revision" : //p')
ctl --endpoints $E compact "$rev" > /dev/null 2>&1 || fail "etcdctl compact $rev failed"
kill -CONT $A
if wait_policy "$S" ns0/extra-3 && wait_policy "$S" ns1/deny2 !; then pass; else
	fail "compaction: the agent did not converge: $(tail -3 "$TMP/agent.log")"
fi
if grep -q "etcd: revision .* is compacted" "$TMP/agent.log" && grep -q "etcd: relisted" "$TMP/agent.log"; then pass; else
	fail "compaction: the agent's log does not say it relisted"
fi
sleep 0.3
"$PODWALL" get --agent "$S" > "$TMP/ga"
pw get --datastore "etcd:$E" > "$TMP/ge"
if [ -s "$TMP/ga" ] && cmp -s "$TMP/ga" "$TMP/ge"; then pass; else
	fail "compaction: the agent and etcd differ: $(diff "$TMP/ga" "$TMP/ge" | head -4)"
fi
DIR=$M evals
kill $A $pid_m0
wait $A $pid_m0 2> /dev/null

# ---- 5. a 3-member cluster ---------------------------------------------------------------
C=c1=http://127.0.0.1:12380,c2=http://127.0.0.1:22380,c3=http://127.0.0.1:32380
member c1 12379 12380 $C
member c2 22379 22380 $C
member c3 32379 32380 $C
E1=http://127.0.0.1:12379 E2=http://127.0.0.1:22379 E3=http://127.0.0.1:32379
ALL=$E1,$E2,$E3
healthy $ALL || fail "the cluster did not start: $(tail -2 "$TMP/c1.log")"
pw apply -f "$M" --datastore "etcd:$ALL" > /dev/null 2>&1 || fail "apply to the cluster failed"
S=$TMP/b.sock
start_agent "$S" $ALL || fail "agent on the cluster did not become ready"
B=$agent
restart() { # NAME PORT
	member "$1" "$2" "${2%79}80" $C
	healthy $ALL || fail "$1 did not come back"
}
apply_retry() { # FILE: to the survivors, until one takes it
	for _ in $(seq 1 20); do
		pw apply -f "$1" --datastore "etcd:$ALL" > /dev/null 2>&1 && return 0
		sleep 0.3
	done
	return 1
}
policy() { # NAME FILE
	printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: ns0}\nspec: {podSelector: {}, policyTypes: [Egress]}\n' "$1" > "$2"
}
# the member the agent watches (the first) goes silent
kill -STOP $pid_c1
policy silent "$TMP/p1.yaml"
apply_retry "$TMP/p1.yaml" || fail "cluster: apply with c1 stopped failed"
if wait_policy "$S" ns0/silent; then pass; else
	fail "cluster: a silent member: the agent did not move on: $(tail -3 "$TMP/agent.log")"
fi
kill -CONT $pid_c1
healthy $ALL || fail "c1 did not come back"
# a member killed (not the leader), back; then the leader killed
kill_and_write() { # follower|leader NAME: kill such a member, apply policy NAME
	leader=$(ctl --endpoints $ALL endpoint status | awk -F', ' '$5 == "true" { print $1 }')
	for m in c1:12379 c2:22379 c3:32379; do
		if [ "$leader" = "http://127.0.0.1:${m#*:}" ]; then is=leader; else is=follower; fi
		[ $is = "$1" ] && victim=$m
	done
	eval "kill -9 \$pid_${victim%:*}"
	policy "$2" "$TMP/$2.yaml"
	apply_retry "$TMP/$2.yaml" || fail "cluster: apply with the $1 ${victim%:*} killed failed"
	if wait_policy "$S" "ns0/$2"; then pass; else
		fail "cluster: the $1 ${victim%:*} killed: the agent did not follow: $(tail -3 "$TMP/agent.log")"
	fi
}
kill_and_write follower killed
restart "${victim%:*}" "${victim#*:}"
kill_and_write leader leaderless
cp "$TMP/p1.yaml" "$TMP/killed.yaml" "$TMP/leaderless.yaml" "$M/"
DIR=$M evals
kill $B
wait $B 2> /dev/null
if grep -q "ERROR: .*Sanitizer\|runtime error:" "$TMP/agent.log"; then
	fail "the agent's log has sanitizer reports: $(grep -m2 'Sanitizer\|runtime error' "$TMP/agent.log")"
else
	pass
fi
summary etcd
