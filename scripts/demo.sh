#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The seed 000 scenario: namespace miztiik-automation-ns, pods k-shop-red
# (role=red) and k-shop-blue (role=blue), allow-red-ingress and
# deny-blue-ingress.  Analysed, not yet on real packets.
set -e
P=./podwall
EX=examples/seed000
NS=miztiik-automation-ns
if [ -t 1 ]; then B='\033[1m' N='\033[0m'; else B= N=; fi
say() { printf "\n${B}\$ %s${N}\n" "$*"; }
run() { say "$*"; "$@" || true; }
run $P matrix -f $EX
run $P eval -f $EX --src $NS/k-shop-blue --dst $NS/k-shop-red --port TCP/80
run $P eval -f $EX --src $NS/k-shop-red --dst $NS/k-shop-blue --port TCP/80
run $P connlist -f $EX
run $P lint -f $EX
