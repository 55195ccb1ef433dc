#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every command's --help against its parser, and README against the
# commands (as curl's test1139): the options a command accepts are read from
# its source (cli_optval() and strcmp(argv[i], "--x") in cli/cmd-NAME.c, and
# the common options of cli/common.c where it calls cli_parse() or
# cli_common_opt()); each must be in `podwall NAME --help`, each option the
# help names must be accepted, and README must show `podwall NAME`.
. "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)

# options in C source text on stdin, one a line: -x and --long
opts_of() {
	sed -n -e 's/.*cli_optval([^"]*\("-[^"]*"\)\{0,1\}[^"]*"\(--[a-z0-9-]*\)".*/\1 \2/p' \
		-e 's/.*strcmp(argv\[[a-z*]*\], "\(-[-a-z0-9]*\)").*/\1/p' |
		tr -d '"' | tr ' ' '\n' | grep -E '^-' | grep -vxE -- '--|-h|--help' | sort -u
}

common=$(sed -n '/^int cli_common_opt/,/^}/p' "$root/cli/common.c" | opts_of)
[ -n "$common" ] && pass || fail "help: no common options found in cli/common.c"

"$PODWALL" --help > "$TMP/main" 2>&1
for src in "$root"/cli/cmd-*.c; do
	cmd=$(basename "$src" .c | sed 's/^cmd-//')
	if grep -qE "^  $cmd " "$TMP/main"; then pass; else fail "help: '$cmd' is not in 'podwall --help'"; fi
	if grep -q "podwall $cmd" "$root/README.md"; then pass; else fail "help: README does not show 'podwall $cmd'"; fi
	if ! "$PODWALL" "$cmd" --help > "$TMP/help" 2>&1; then
		fail "help: 'podwall $cmd --help' exits non-zero"
		continue
	fi
	{
		opts_of < "$src"
		grep -qE 'cli_parse\(|cli_common_opt\(' "$src" && echo "$common"
	} | sort -u > "$TMP/accepted"
	[ -s "$TMP/accepted" ] && pass || fail "help: no options found in $src"
	while read -r o; do
		if grep -qE -- "(^|[ ,[|(])$o([] ,=:.)]|\$)" "$TMP/help"; then
			pass
		else
			fail "help: 'podwall $cmd' accepts $o but its --help does not list it"
		fi
	done < "$TMP/accepted"
	# and every option the help names is accepted
	grep -oE -- "(^|[ ,[|])--[a-z0-9][a-z0-9-]*" "$TMP/help" | sed 's/^[ ,[|]//' |
		sort -u | grep -vx -- '--help' > "$TMP/named"
	while read -r o; do
		if grep -qx -- "$o" "$TMP/accepted"; then
			pass
		else
			fail "help: 'podwall $cmd --help' lists $o, which it does not accept"
		fi
	done < "$TMP/named"
done
summary help
