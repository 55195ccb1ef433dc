#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# podwall agent (root): in a network namespace of its own (pwt-agent-PID,
# removed at the end; one left by a run that was killed is removed by the
# next), with the dataplane read back from the kernel:
#  1. the source loads and becomes ready; the kernel's table equals the
#     table the engine renders (a dry-run agent on the same source);
#  2. a change written to the source (write-by-rename, a plain write, a
#     delete) is in force; the change log and /metrics count it;
#  3. a bad manifest is rejected with FILE:LINE:COL in the log, the change
#     log and /metrics; the previous table stays; fixing the file applies;
#  4. podwall apply / delete / get through the API; a rejected apply
#     changes nothing;
#  5. kill -9 of the agent at varying moments while a change is applied:
#     the kernel holds the old or the new table, never a mix; a restarted
#     agent converges (sending only what differs);
#  6. SIGTERM leaves the table in force;
#  7. --interface-prefix names pods' interfaces as CNI plugins do (checked
#     against sha1sum).
. "$(dirname "$0")/../lib.sh"
NS=pwt-agent-$$
need_root agent
agents=
cleanup() {
	for p in $agents; do kill -9 "$p" 2> /dev/null; done
	ip netns del $NS 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
own_netns pwt-agent || { fail "cannot create $NS"; summary agent; exit 1; }
SRC=$TMP/src
mkdir -p "$SRC"
SOCK=$TMP/agent.sock
api() { curl -s --max-time 10 --unix-socket "$1" "http://agent$2"; }
start_agent() { # SOCKET SRC [ARGS...]
	s=$1 d=$2
	shift 2
	$PODWALL agent --source "dir:$d" --socket "$s" "$@" 2>> "$TMP/agent.log" &
	agent=$!
	agents="$agents $agent"
	for _ in $(seq 1 200); do
		[ "$(api "$s" /readyz)" = ok ] && return 0
		kill -0 $agent 2> /dev/null || break
		sleep 0.05
	done
	return 1
}
# the names of the sets and chains of table podwall in the kernel, sorted
kernel_objects() {
	ip netns exec $NS nft list table inet podwall 2> /dev/null |
		awk '$1 == "set" || $1 == "chain" { print $1, $2 }' | sort
}
# the same from an agent's /v1/dataplane
dump_objects() {
	api "$1" /v1/dataplane | awk '$1 == "add" && ($2 == "set" || $2 == "chain") { print $2, $5 }' | sort
}
# what a dry-run agent renders for a source directory
rendered() { # DIR -> objects
	start_agent "$TMP/dry.sock" "$1" --dataplane dry-run || { echo "dry-run agent failed"; return; }
	dump_objects "$TMP/dry.sock"
	kill $agent
	wait $agent 2> /dev/null
}
# the last change's result in an agent's change log
last_change() { api "$1" /v1/changes | grep '"seq"' | tail -1; }
wait_seq() { # SOCKET SEQ: until the change log has SEQ
	for _ in $(seq 1 200); do
		api "$1" /v1/changes | grep -q "\"seq\": $2," && return 0
		sleep 0.02
	done
	return 1
}

# ---- the cluster: 30 pods in 3 namespaces, interfaces by annotation --------
for i in $(seq 0 29); do
	ns=ns$((i % 3))
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: p$i
  namespace: $ns
  labels: {app: a$((i % 5)), tier: t$((i % 2))}
  annotations: {podwall.io/interface: pwt$i}
spec:
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.77.0.$((i + 1))}
EOF
done > "$SRC/pods.yaml"
for n in 0 1 2; do
	cat > "$SRC/deny-$n.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ns$n}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
EOF
done
allow() { # NAME PORT APP
	cat <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: $1, namespace: ns0}
spec:
  podSelector: {matchLabels: {app: $3}}
  ingress:
  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {tier: t1}}}]
    ports: [{port: $2}]
  - from: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}}]
EOF
}
allow allow-a 80 a0 > "$SRC/allow.yaml"

# ---- 1. load ------------------------------------------------------------------
if start_agent "$SOCK" "$SRC" --netns $NS; then
	pass
else
	fail "agent did not become ready: $(tail -3 "$TMP/agent.log")"
	summary agent
	exit 1
fi
main=$agent
rendered "$SRC" > "$TMP/want"
kernel_objects > "$TMP/got"
if [ -s "$TMP/want" ] && cmp -s "$TMP/want" "$TMP/got"; then pass; else
	fail "load: the kernel's table differs from the render: $(diff "$TMP/want" "$TMP/got" | head -5)"
fi

# ---- 2. changes -----------------------------------------------------------------
seq=$(last_change "$SOCK" | sed 's/.*"seq": \([0-9]*\).*/\1/')
change_and_check() { # WHAT: after a change made by the caller
	seq=$((seq + 1))
	if ! wait_seq "$SOCK" $seq; then
		fail "$1: no change $seq in the log"
		return
	fi
	if api "$SOCK" /v1/changes | grep "\"seq\": $seq," | grep -q '"result": "applied"'; then pass; else
		fail "$1: change $seq not applied: $(api "$SOCK" /v1/changes | grep "\"seq\": $seq,")"
	fi
	rendered "$SRC" > "$TMP/want"
	kernel_objects > "$TMP/got"
	if cmp -s "$TMP/want" "$TMP/got"; then pass; else
		fail "$1: kernel differs from the render: $(diff "$TMP/want" "$TMP/got" | head -4)"
	fi
}
allow allow-a 81 a0 > "$TMP/new.yaml"
mv "$TMP/new.yaml" "$SRC/allow.yaml"
change_and_check "write-by-rename"
allow allow-a 82 a1 > "$SRC/allow.yaml"
change_and_check "plain write"
allow allow-b 443 a2 > "$SRC/allow-b.yaml"
change_and_check "new file"
rm "$SRC/allow-b.yaml"
change_and_check "delete"
if api "$SOCK" /v1/changes | grep "\"seq\": $seq," | grep -q '"kind": "incremental"'; then pass; else
	fail "a policy change was not applied incrementally: $(last_change "$SOCK")"
fi
# an editor: the old file renamed away, the new one written (one change)
mv "$SRC/allow.yaml" "$SRC/allow.yaml~"
allow allow-a 83 a1 > "$SRC/allow.yaml"
rm -f "$SRC/allow.yaml~"
change_and_check "editor's rename-and-write"
sleep 0.2
if api "$SOCK" /v1/changes | grep -q "\"seq\": $((seq + 1)),"; then
	fail "editor's rename-and-write made more than one change"
else
	pass
fi

# ---- 3. a bad manifest -----------------------------------------------------------
before=$(kernel_objects)
cat > "$SRC/allow.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-a, namespace: ns0}
spec:
  podSelector: {matchLabels: {app: [a1]}}
EOF
seq=$((seq + 1))
wait_seq "$SOCK" $seq
entry=$(api "$SOCK" /v1/changes | grep "\"seq\": $seq,")
if echo "$entry" | grep -q '"result": "rejected"' &&
	echo "$entry" | grep -q "allow.yaml:5:36: error: a label value must be a string"; then pass; else
	fail "bad manifest: change log says $entry"
fi
if grep -q "allow.yaml:5:36: error" "$TMP/agent.log"; then pass; else fail "bad manifest: not in the log"; fi
if [ "$(kernel_objects)" = "$before" ]; then pass; else fail "bad manifest: the table changed"; fi
if api "$SOCK" /metrics | grep -q '^podwall_changes_total{result="rejected"} 1$'; then pass; else
	fail "bad manifest: /metrics: $(api "$SOCK" /metrics | grep changes_total)"
fi
allow allow-a 84 a1 > "$SRC/allow.yaml"
change_and_check "the fixed file"

# ---- 4. podwall apply / delete / get -----------------------------------------------
allow allow-c 8443 a3 > "$TMP/c.yaml"
if $PODWALL apply -f "$TMP/c.yaml" --agent "$SOCK" > "$TMP/out" 2>&1 &&
	grep -q "NetworkPolicy ns0/allow-c configured" "$TMP/out"; then pass; else
	fail "apply: $(cat "$TMP/out")"
fi
seq=$((seq + 1))
rendered "$SRC" > "$TMP/want"
if cmp -s "$TMP/want" "$(kernel_objects > "$TMP/got"; echo "$TMP/got")"; then pass; else
	fail "apply: kernel differs from the source's render"
fi
if $PODWALL get networkpolicy allow-c -n ns0 --agent "$SOCK" | grep -q "name: allow-c"; then pass; else
	fail "get: no allow-c"
fi
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: ns0}\nspec: {podSelector: 7}\n' > "$TMP/bad.yaml"
before=$(kernel_objects)
$PODWALL apply -f "$TMP/c.yaml" -f "$TMP/bad.yaml" --agent "$SOCK" > "$TMP/out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "bad.yaml:4:" "$TMP/out" && [ "$(kernel_objects)" = "$before" ]; then pass; else
	fail "apply of a bad file: exit $rc: $(cat "$TMP/out")"
fi
if $PODWALL delete -f "$TMP/c.yaml" --agent "$SOCK" > "$TMP/out" 2>&1 &&
	grep -q "deleted" "$TMP/out" && ! ls -R "$SRC" | grep -q allow-c; then pass; else
	fail "delete: $(cat "$TMP/out")"
fi
seq=$((seq + 1))
$PODWALL delete -f "$TMP/c.yaml" --agent "$SOCK" > /dev/null 2>&1
if [ $? = 1 ]; then pass; else fail "delete of what is gone: not exit 1"; fi

# ---- 4b. the API answers as the command line does on the same files ---------------
n=0
for q in "ns0/p0 ns0/p3 TCP/84" "ns1/p1 ns0/p0 TCP/84" "ns1/p1 ns0/p5 TCP/8080" \
	"ns0/p3 ns2/p2 http" "192.0.2.7 ns0/p0 TCP/84" "ns0/p0 198.51.100.1 UDP/53" \
	"ns2/p5 ns2/p8 TCP/84"; do
	set -- $q
	for fmt in json yaml table; do
		n=$((n + 1))
		$PODWALL eval --agent "$SOCK" --src "$1" --dst "$2" --port "$3" -o $fmt > "$TMP/a" 2>&1
		ra=$?
		$PODWALL eval -f "$SRC" --src "$1" --dst "$2" --port "$3" -o $fmt > "$TMP/c" 2>&1
		rc=$?
		if [ $ra = $rc ] && cmp -s "$TMP/a" "$TMP/c"; then pass; else
			fail "eval $q -o $fmt: agent (exit $ra) and command line (exit $rc) differ: $(diff "$TMP/a" "$TMP/c" | head -3)"
		fi
	done
done
api "$SOCK" "/v1/eval?src=ns1/p1&dst=ns0/p0&port=TCP/84" > "$TMP/a"
$PODWALL eval -f "$SRC" --src ns1/p1 --dst ns0/p0 --port TCP/84 -o json > "$TMP/c"
if cmp -s "$TMP/a" "$TMP/c"; then pass; else fail "/v1/eval is not eval -o json"; fi
for fmt in json csv table; do
	$PODWALL matrix --agent "$SOCK" -o $fmt > "$TMP/a" 2>&1
	$PODWALL matrix -f "$SRC" -o $fmt > "$TMP/c" 2>&1
	if [ -s "$TMP/a" ] && cmp -s "$TMP/a" "$TMP/c"; then pass; else
		fail "matrix -o $fmt: agent and command line differ: $(diff "$TMP/a" "$TMP/c" | head -3)"
	fi
done
# after a change the matrix follows (kept up to date, not rebuilt)
allow allow-a 85 a2 > "$SRC/allow.yaml"
seq=$((seq + 1))
wait_seq "$SOCK" $seq
$PODWALL matrix --agent "$SOCK" -o csv > "$TMP/a" 2>&1
$PODWALL matrix -f "$SRC" -o csv > "$TMP/c" 2>&1
if cmp -s "$TMP/a" "$TMP/c"; then pass; else fail "matrix after a change differs"; fi

# ---- 5. kill -9 while applying, restart --------------------------------------------------
kill -9 $main
wait $main 2> /dev/null
i=0
while [ $i -lt 20 ]; do
	i=$((i + 1))
	start_agent "$SOCK" "$SRC" --netns $NS || { fail "kill $i: restart failed: $(tail -2 "$TMP/agent.log")"; break; }
	old=$(kernel_objects)
	# a change touching every namespace, killed 0-40 ms after it is written
	for n in 0 1 2; do
		allow "allow-k$n" $((9000 + i)) a$((i % 5)) | sed "s/namespace: ns0/namespace: ns$n/" > "$TMP/k$n.yaml"
	done
	cat "$TMP/k0.yaml" > "$TMP/k.yaml"
	echo --- >> "$TMP/k.yaml"
	cat "$TMP/k1.yaml" >> "$TMP/k.yaml"
	echo --- >> "$TMP/k.yaml"
	cat "$TMP/k2.yaml" >> "$TMP/k.yaml"
	mv "$TMP/k.yaml" "$SRC/killed.yaml"
	sleep "0.0$((i * 2 % 40))"
	kill -9 $agent
	wait $agent 2> /dev/null
	got=$(kernel_objects)
	new=$(rendered "$SRC")
	if [ "$got" = "$old" ] || [ "$got" = "$new" ]; then pass; else
		fail "kill $i: the kernel holds neither the old nor the new table"
	fi
done
start_agent "$SOCK" "$SRC" --netns $NS || fail "final restart failed"
main=$agent
rendered "$SRC" > "$TMP/want"
kernel_objects > "$TMP/got"
if cmp -s "$TMP/want" "$TMP/got"; then pass; else fail "restart: did not converge"; fi
# a restart on a kernel that holds the source's table creates and deletes
# nothing (it rewrites the few objects named by their role)
kill -9 $main
wait $main 2> /dev/null
start_agent "$SOCK" "$SRC" --netns $NS || fail "restart on an unchanged kernel failed"
main=$agent
entry=$(api "$SOCK" /v1/changes | grep '"seq": 1,')
if echo "$entry" | grep -q '"created": 0,.*"deleted": 0'; then pass; else
	fail "a restart on an unchanged kernel created or deleted objects: $entry"
fi

# ---- 6. SIGTERM leaves the table ---------------------------------------------------------
before=$(kernel_objects)
kill $main
wait $main 2> /dev/null
if [ -n "$before" ] && [ "$(kernel_objects)" = "$before" ]; then pass; else fail "SIGTERM: the table changed"; fi
[ -S "$SOCK" ] && fail "SIGTERM: the socket is left" || pass

# ---- 7. interfaces named as Calico and the AWS VPC CNI name them ------------------------
mkdir -p "$TMP/cni"
cat > "$TMP/cni/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
status: {podIP: 10.77.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
status: {podIP: 10.77.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: pinned, namespace: shop, labels: {app: db}, annotations: {podwall.io/interface: veth-own}}
status: {podIP: 10.77.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: default}
spec: {podSelector: {}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
YAML
for prefix in cali eni; do
	start_agent "$TMP/cni.sock" "$TMP/cni" --netns $NS --table pwcni --interface-prefix $prefix ||
		fail "cni: agent with --interface-prefix $prefix"
	got=$(ip netns exec $NS nft list chain inet pwcni forward 2> /dev/null | grep -o '"[a-z0-9-]*"' | tr -d '"' | sort -u | tr '\n' ' ')
	want=$( (for p in default.web shop.db-0; do
		echo "$prefix$(printf '%s' "$p" | sha1sum | cut -c1-11)"; done; echo veth-own) | sort | tr '\n' ' ')
	[ "$got" = "$want" ] && pass || fail "cni: $prefix: interfaces $got, want $want"
	kill $agent
	wait $agent 2> /dev/null
	ip netns exec $NS nft delete table inet pwcni 2> /dev/null
done
$PODWALL agent --source "dir:$TMP/cni" --interface-prefix toolong --dataplane none > /dev/null 2> "$TMP/err" &&
	fail "cni: a 7-character prefix was taken" || { grep -q "at most 4" "$TMP/err" && pass || fail "cni: $(cat "$TMP/err")"; }
summary agent
