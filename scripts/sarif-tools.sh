#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install what validates `podwall audit -o sarif` into build/node/ (once;
# later runs reuse it): ajv-cli and ajv-formats (a JSON Schema validator)
# and @microsoft/jest-sarif, which ships the official SARIF 2.1.0 schema
# (lib/schemas/sarif-2.1.0-rtm.5.json, from oasis-tcs/sarif-spec).
# Prints the schema's path and exits 0; exits 77 when npm is missing, 1 when
# the install failed.  Versions are pinned.
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${SARIF_TOOLS_DIR:-$here/build/node}
schema=$dir/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json
ajv=$dir/node_modules/.bin/ajv
if [ ! -f "$schema" ] || [ ! -x "$ajv" ]; then
	if ! command -v npm > /dev/null 2>&1; then
		echo "sarif-tools: npm is missing (scripts/deps.sh installs it)" >&2
		exit 77
	fi
	mkdir -p "$dir"
	if ! npm install --prefix "$dir" --no-save --no-audit --no-fund \
		ajv-cli@5.0.0 ajv-formats@3.0.1 @microsoft/jest-sarif@1.0.0-beta.0 \
		> "$dir/install.log" 2>&1; then
		echo "sarif-tools: npm install failed (see $dir/install.log)" >&2
		exit 1
	fi
fi
[ -f "$schema" ] && [ -x "$ajv" ] || { echo "sarif-tools: schema or ajv missing after install" >&2; exit 1; }
echo "$schema"
