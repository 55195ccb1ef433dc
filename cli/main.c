// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "connlist", cmd_connlist,
	  "list allowed connections between workloads (netpol-analyzer format)" },
	{ "diff", cmd_diff,
	  "what changes between two policy sets, or if staged policies were enforced" },
	{ "eval", cmd_eval,
	  "may SRC reach DST on a port, and which policy and rule decided" },
	{ "gen", cmd_gen, "a deterministic synthetic cluster, for benchmarks" },
	{ "lab", cmd_lab,
	  "run the pods as network namespaces, enforce with nftables, probe" },
	{ "lint", cmd_lint,
	  "find problems in a policy set (no default deny, DNS blocked, ...)" },
	{ "matrix", cmd_matrix, "the reachability matrix of all endpoints" },
};

static void usage(FILE *f)
{
	fputs("usage: podwall <command> [options]\n\n"
	      "podwall analyses Kubernetes and Calico network policies exactly.\n\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < PW_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\nRun 'podwall <command> --help' for a command's options.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "podwall: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
