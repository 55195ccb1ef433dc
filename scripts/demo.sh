#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Seed 000 on real packets: namespace miztiik-automation-ns, pods k-shop-red
# (role=red) and k-shop-blue (role=blue).  The lab runs them as network
# namespaces; policies allow-red-ingress and deny-blue-ingress are applied
# and enforced by nftables; real connections show the effect.
set -e
P=./podwall
EX=examples/seed000
NS=miztiik-automation-ns
if [ -t 1 ]; then B='\033[1m' N='\033[0m'; else B= N=; fi
say() { printf "\n${B}\$ %s${N}\n" "$*"; }
run() { say "$*"; "$@" || true; }
note() { printf "\n${B}# %s${N}\n" "$*"; }

note "What the policies mean (the analyser)"
run $P matrix -f $EX
run $P eval -f $EX --src $NS/k-shop-red --dst $NS/k-shop-blue --port TCP/80

if [ "$(id -u)" != 0 ]; then
	note "The lab needs root (network namespaces, nftables): run make demo as root to see it on real packets"
	exit 0
fi
$P lab down --name demo > /dev/null 2>&1 || true
trap '$P lab down --name demo > /dev/null 2>&1' EXIT INT TERM
note "The pods as network namespaces, before any policy"
run $P lab up --name demo -f $EX/namespace.yaml -f $EX/pods.yaml --flow-interval 1s
run $P lab probe --name demo --port TCP/80
note "Apply allow-red-ingress and deny-blue-ingress"
run $P lab apply --name demo -f $EX/policies.yaml
run $P lab probe --name demo --port TCP/80
note "kubectl exec, as in the seed: curl from blue to red works, red to blue times out"
run $P lab exec $NS/k-shop-blue --name demo -- curl -sS -m 2 http://10.10.0.194/
run $P lab exec $NS/k-shop-red --name demo -- curl -sS -m 2 http://10.10.0.210/
note "Which policy dropped it: the flow log of the lab's agent (Calico's flow log fields)"
sleep 2
run $P flows --lab demo --from $NS/k-shop-red --to $NS/k-shop-blue --verdict denied
run $P lab down --name demo
trap - EXIT INT TERM
