#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what validates `podwall audit -o sarif` into build/node/ (once;
# later runs reuse it): @microsoft/jest-sarif, Microsoft's SARIF matchers,
# which ship the official SARIF 2.1.0 JSON Schema
# (lib/schemas/sarif-2.1.0-rtm.5.json, draft-04) and validate with Ajv 6,
# its dependency.  scripts/sarif-validate.js uses both.
# Prints the schema's path and exits 0; exits 77 when npm or node is
# missing, 1 when the install failed.  The version is pinned.
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${SARIF_TOOLS_DIR:-$here/build/node}
pkg=$dir/node_modules/@microsoft/jest-sarif
schema=$pkg/lib/schemas/sarif-2.1.0-rtm.5.json
if ! command -v node > /dev/null 2>&1 || ! command -v npm > /dev/null 2>&1; then
	echo "sarif-tools: npm or node is missing (scripts/deps.sh installs npm)" >&2
	exit 77
fi
if [ ! -f "$schema" ]; then
	mkdir -p "$dir"
	if ! npm install --prefix "$dir" --no-save --no-audit --no-fund \
		@microsoft/jest-sarif@1.0.0-beta.0 > "$dir/install.log" 2>&1; then
		echo "sarif-tools: npm install failed (see $dir/install.log)" >&2
		exit 1
	fi
fi
if [ ! -f "$schema" ]; then
	echo "sarif-tools: $schema missing after the install" >&2
	exit 1
fi
echo "$schema"
