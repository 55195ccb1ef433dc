#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# podwall agent --source kube against recorded Kubernetes API responses
# (tests/kube/script, replayed over TLS by tests/kube/server.c on
# 127.0.0.1; no root).  At each step of the scenario the agent's state
# (its matrix, verdicts and objects, through its API) must equal
# `podwall -f` on the equivalent manifests (tests/kube/expect):
#  1. list: chunked lists (continue), a CRD that is not installed (404);
#  2. events: ADDED and MODIFIED pods, an added policy, a bookmark;
#  3. bookmark: nothing changes; the next watch asks from the bookmark's
#     resourceVersion;
#  4. gone: a 410 ERROR event and a 410 status: both resources listed anew
#     (deleted objects gone, new ones in);
#  5. drop: the connection drops in the middle of an event; the watch
#     resumes from the last resourceVersion;
# with a bearer token, and again (step 1) with a client certificate; a
# wrong token is refused (401) and the agent is not ready; bad kubeconfigs
# are rejected with FILE:LINE:COL; apply through the agent is refused.
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
: "${KUBE_SERVER:=build/asan/kube-server}"
case $PODWALL in /*) ;; *) PODWALL=$(pwd)/$PODWALL ;; esac
case $KUBE_SERVER in /*) ;; *) KUBE_SERVER=$(pwd)/$KUBE_SERVER ;; esac
server=
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2> /dev/null
	[ -n "$server" ] && kill "$server" 2> /dev/null
	wait 2> /dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# ---- a throwaway CA, the server's certificate, a client's -----------------
cd "$TMP" || exit 1
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
{
	openssl req -x509 $ec -keyout ca.key -out ca.crt -subj /CN=pwt-kube-ca -days 1 &&
		openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out server.crt -days 1 -extfile server.ext &&
		openssl req $ec -keyout client.key -out client.csr -subj "/O=system:nodes/CN=podwall" &&
		printf 'extendedKeyUsage=clientAuth\n' > client.ext &&
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out client.crt -days 1 -extfile client.ext
} > openssl.log 2>&1 || {
	cat openssl.log
	fail "openssl: cannot make the certificates"
	summary kube
	exit 1
}
b64() { base64 -w0 < "$1"; }
TOKEN=pwt-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

start_server() { # --token T | --client-ca ca.crt
	rm -f port
	"$KUBE_SERVER" --cert server.crt --key server.key "$@" --script "$here/script" \
		--port-file port > server.log 2>&1 &
	server=$!
	within 100 "$server" test -s port && PORT=$(cat port)
}
# within TRIES PID CMD...: CMD succeeds within TRIES x 50 ms while PID lives
within() {
	n=$1 pid=$2
	shift 2
	for _ in $(seq 1 "$n"); do
		"$@" && return 0
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.05
	done
	return 1
}
stop() { # PID
	kill "$1" 2> /dev/null
	wait "$1" 2> /dev/null
}
stop_server() {
	stop "$server"
	server=
}
step() { curl -s --max-time 5 --cacert ca.crt "https://127.0.0.1:$PORT/_scenario/step/$1" > /dev/null; }
kubeconfig() { # FILE USER-FIELDS...: a kubeconfig of the server
	f=$1
	shift
	{
		printf 'apiVersion: v1\nkind: Config\ncurrent-context: test\n'
		printf 'clusters:\n- name: replay\n  cluster:\n    server: https://127.0.0.1:%s\n' "$PORT"
		printf '    certificate-authority-data: %s\n' "$(b64 ca.crt)"
		printf 'contexts:\n- name: test\n  context:\n    cluster: replay\n    user: u\n'
		printf 'users:\n- name: u\n  user:\n'
		for l in "$@"; do printf '    %s\n' "$l"; done
	} > "$f"
}
SOCK=$TMP/agent.sock
api() { curl -s --max-time 10 --unix-socket "$SOCK" "http://agent$1"; }
start_agent() { # KUBECONFIG [TRIES]
	rm -f "$SOCK"
	$PODWALL agent --source "kube:$1" --dataplane none --socket "$SOCK" 2> agent.log &
	agent=$!
	within "${2:-200}" "$agent" ready
}
ready() { [ "$(api /readyz)" = ok ]; }
stop_agent() {
	stop "$agent"
	agent=
	if grep -q "ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error" agent.log; then
		fail "agent: sanitizer report"
		grep -A20 "Sanitizer\|runtime error" agent.log | head -30
	fi
}
last_seq() { api /v1/changes | grep '"seq"' | tail -1 | sed 's/[^0-9]*\([0-9]*\).*/\1/'; }

# the pairs asked one by one: SRC DST PORT
PAIRS="shop/web-1 shop/db-1 TCP/5432
shop/web-2 shop/db-1 TCP/5432
shop/web-3 shop/db-1 TCP/5432
ops/probe shop/db-1 TCP/5432
ops/probe shop/web-3 TCP/8080
shop/db-1 ops/probe TCP/8080
shop/web-4 shop/web-3 TCP/8080
ops/probe-2 shop/web-5 TCP/8080"

# check NAME DIR GONE...: the agent's state equals podwall -f on
# expect/common.json and DIR (waiting for it to get there); GONE: objects
# (KIND/NS/NAME) it must not have
check() {
	name=$1 dir=$here/expect/$2
	shift 2
	# (rows in the order of the objects read: sorted)
	$PODWALL matrix -f "$here/expect/common.json" -f "$dir" -o csv 2> want.err | sort > want.csv
	ok=
	for _ in $(seq 1 100); do
		$PODWALL matrix --agent "$SOCK" -o csv 2> got.err | sort > got.csv
		cmp -s want.csv got.csv && ok=1 && break
		sleep 0.05
	done
	if [ -n "$ok" ]; then pass; else
		fail "$name: the agent's matrix differs from podwall -f $2"
		diff want.csv got.csv | head -10
		tail -5 agent.log
	fi
	bad=0
	echo "$PAIRS" | while read -r s d p; do
		w=$($PODWALL eval -f "$here/expect/common.json" -f "$dir" --src "$s" --dst "$d" --port "$p" 2>&1 | head -1)
		g=$($PODWALL eval --agent "$SOCK" --src "$s" --dst "$d" --port "$p" 2>&1 | head -1)
		[ "$w" = "$g" ] || echo "$name: eval $s $d $p: podwall -f says $w, the agent $g"
	done > evals.txt
	if [ -s evals.txt ]; then fail "$(cat evals.txt)"; else pass; fi
	# every pod and policy of the manifests is an object of the agent
	for f in "$dir"/*.json; do
		grep -o '"kind": "[A-Za-z]*"\|"name": "[^"]*"\|"namespace": "[^"]*"' "$f"
	done | awk -F'"' '$2 == "kind" && $4 != "List" { k = $4 } $2 == "name" && k { n = $4 } $2 == "namespace" && k && n { print k, $4, n; k = ""; n = "" }' > objs.txt
	while read -r k ns n; do
		[ "$(api "/v1/objects?kind=$k&namespace=$ns&name=$n" | grep -c "\"name\":\"$n\"")" -ge 1 ] ||
			echo "$name: $k $ns/$n missing in the agent"
	done < objs.txt > missing.txt
	for o in "$@"; do
		k=${o%%/*} rest=${o#*/}
		api "/v1/objects?kind=$k&namespace=${rest%/*}&name=${rest#*/}" | grep -q "^no " ||
			echo "$name: $o still in the agent"
	done >> missing.txt
	if [ -s missing.txt ] || [ ! -s objs.txt ]; then fail "$(cat missing.txt)"; else pass; fi
}

# ---- token auth: the whole scenario ------------------------------------------
start_server --token "$TOKEN" || { fail "the replay server did not start"; cat server.log; summary kube; exit 1; }
kubeconfig kc-token "token: $TOKEN"
if start_agent kc-token; then pass; else
	fail "token: the agent is not ready after the lists"
	tail -n 20 agent.log server.log
fi
check "list" 1-list
grep -q "GET /api/v1/pods?limit=500&continue=" server.log && pass || fail "list: the pods' second chunk was not asked"
grep -q "stagedkubernetesnetworkpolicies?limit=500 -> 404" server.log && pass ||
	fail "list: the missing CRD was not asked"
grep -q "stagedkubernetesnetworkpolicies.*error" agent.log && fail "list: a missing CRD is an error" || pass

step events
check "events" 2-events
seq=$(last_seq)
step bookmark
for _ in $(seq 1 100); do
	grep -q "pods?watch=1&resourceVersion=1005&allowWatchBookmarks=true -> 200" server.log && break
	sleep 0.05
done
grep -q "pods?watch=1&resourceVersion=1005&allowWatchBookmarks=true -> 200" server.log && pass ||
	fail "bookmark: the watch did not resume from the bookmark's resourceVersion 1005"
sleep 0.3
[ "$(last_seq)" = "$seq" ] && pass || fail "bookmark: a bookmark made a change ($seq -> $(last_seq))"
check "bookmark" 2-events

step gone
check "gone" 4-gone Pod/shop/web-1 NetworkPolicy/ops/deny-egress
grep -q "pods?watch=1&resourceVersion=1010&allowWatchBookmarks=true -> 200" server.log && pass ||
	fail "gone: the watch did not resume from the second bookmark's 1010"
[ "$(grep -c "GET /api/v1/pods?limit=500 -> 200" server.log)" -ge 2 ] && pass ||
	fail "gone: the pods were not listed anew after the 410 event"
[ "$(grep -c "networkpolicies?limit=500 -> 200" server.log)" -ge 3 ] && pass ||
	fail "gone: the policies were not listed anew after the 410 status"

step drop
check "drop" 5-drop Pod/shop/half
grep -q "pods?watch=1&resourceVersion=1021&allowWatchBookmarks=true -> 200" server.log && pass ||
	fail "drop: the watch did not resume from resourceVersion 1021"
if grep -q UNMATCHED server.log; then
	fail "requests without a recorded response (a wrong resourceVersion?)"
	grep UNMATCHED server.log | head -5
else pass; fi

# read-only: apply is refused, nothing staged
printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n' > extra.yaml
out=$($PODWALL apply --agent "$SOCK" -f extra.yaml 2>&1)
case $out in *"read-only, change the cluster with kubectl"*) pass ;; *) fail "apply on a kube source: $out" ;; esac
stop_agent
stop_server

# ---- client certificate (a CA file beside the kubeconfig, inline cert+key) --
start_server --client-ca ca.crt || { fail "the replay server did not start"; summary kube; exit 1; }
kubeconfig kc-cert "client-certificate-data: $(b64 client.crt)" "client-key-data: $(b64 client.key)"
sed -i "s/^    certificate-authority-data: .*/    certificate-authority: ca.crt/" kc-cert
if start_agent "$TMP/kc-cert"; then pass; else
	fail "client certificate: the agent is not ready"
	tail -n 20 agent.log server.log
fi
check "client certificate" 1-list
grep -q UNAUTHORIZED server.log && fail "client certificate: refused" || pass
stop_agent
kubeconfig kc-nocert "token: $TOKEN"
start_agent kc-nocert 40 && fail "no client certificate: the agent became ready" || pass
grep -q "401" agent.log && pass || fail "no client certificate: no 401 in the agent's log"
stop_agent
stop_server

# ---- a wrong token --------------------------------------------------------
start_server --token "$TOKEN" || { fail "the replay server did not start"; summary kube; exit 1; }
kubeconfig kc-wrong "token: not-$TOKEN"
start_agent kc-wrong 40 && fail "wrong token: the agent became ready" || pass
grep -q "HTTP 401" agent.log && pass || fail "wrong token: no HTTP 401 in the agent's log"
stop_agent
stop_server

# ---- bad kubeconfigs: FILE:LINE:COL ---------------------------------------
bad() { # NAME EXPECTED-MESSAGE-PART (the kubeconfig on stdin)
	cat > "bad-$1.yaml"
	out=$($PODWALL agent --source "kube:bad-$1.yaml" --dataplane none 2>&1)
	rc=$?
	case $out in
	*"bad-$1.yaml:"[0-9]*:[0-9]*": error: "*"$2"*) [ $rc = 2 ] && pass || fail "bad $1: exit $rc" ;;
	*) fail "bad $1: $out" ;;
	esac
}
bad no-context "no current-context" << 'EOF'
apiVersion: v1
kind: Config
clusters: []
EOF
bad unknown-context 'no context named "prod"' << 'EOF'
apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: test
  context: {cluster: c, user: u}
EOF
bad http 'server must be an https:// URL' << 'EOF'
current-context: t
contexts:
- name: t
  context: {cluster: c}
clusters:
- name: c
  cluster:
    server: http://127.0.0.1:8080
EOF
bad base64 'certificate-authority-data is not base64' << 'EOF'
current-context: t
contexts:
- name: t
  context: {cluster: c}
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: "%%% not base64 %%%"
EOF
bad key 'a client certificate needs its key' << 'EOF'
current-context: t
contexts:
- name: t
  context: {cluster: c, user: u}
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {client-certificate: client.crt}
EOF
bad yaml "did not find expected ',' or ']'" << 'EOF'
current-context: t
contexts: [
  name: t: u
EOF
summary kube
