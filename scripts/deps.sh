#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages podwall needs to build and test, if missing.
set -e
PKGS="make gcc libc6-dev pkg-config libyaml-dev libnftables-dev libmnl-dev libmicrohttpd-dev libcurl4-openssl-dev libgnutls28-dev openssl nftables etcd-server etcd-client iproute2 conntrack curl valgrind clang libnetfilter-log-dev libnetfilter-conntrack-dev libsqlite3-dev sqlite3 prometheus"
# npm installs the SARIF validator (scripts/sarif-tools.sh); a Node.js
# that already ships npm (NodeSource's nodejs) conflicts with Debian's npm
command -v npm > /dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends $missing
else
	echo "deps: all present"
fi
