// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "version.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "agent", cmd_agent, "keep the dataplane equal to a source, change by change" },
	{ "alerts", cmd_alerts, "the alerts raised (GlobalAlerts), from a flow store" },
	{ "apply", cmd_apply, "add or replace objects in a running agent's source" },
	{ "audit", cmd_audit, "security findings: Pod Security Standards (more to come)" },
	{ "can-i", cmd_can_i, "may a user do VERB on RESOURCE (RBAC, aws-auth, EKS access entries)" },
	{ "connlist", cmd_connlist,
	  "list allowed connections between workloads (netpol-analyzer format)" },
	{ "delete", cmd_delete, "delete objects from a running agent's source" },
	{ "diff", cmd_diff,
	  "what changes between two policy sets, or if staged policies were enforced" },
	{ "eval", cmd_eval,
	  "may SRC reach DST on a port, and which policy and rule decided" },
	{ "flows", cmd_flows, "the flow records kept: filter, follow, json or csv" },
	{ "gen", cmd_gen, "a deterministic synthetic cluster, for benchmarks" },
	{ "get", cmd_get, "the objects of a kind in a running agent's source" },
	{ "lab", cmd_lab,
	  "run the pods as network namespaces, enforce with nftables, probe" },
	{ "lint", cmd_lint,
	  "find problems in a policy set (no default deny, DNS blocked, ...)" },
	{ "matrix", cmd_matrix, "the reachability matrix of all endpoints" },
	{ "recommend", cmd_recommend,
	  "policies from observed flows, proven against them, and what they change" },
	{ "who-can", cmd_who_can, "every subject that may do VERB on RESOURCE, and by what" },
};

static void usage(FILE *f)
{
	fputs("usage: podwall <command> [options]\n\n"
	      "podwall analyses Kubernetes and Calico network policies, and RBAC, exactly.\n\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < PW_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fputs("\nRun 'podwall <command> --help' for a command's options, and\n"
	      "'podwall --version' (or 'podwall version') for the version.\n", f);
}

/*
 * A closed standard descriptor would be taken by the next file opened, and
 * output meant for the terminal would land in it.  Hold it with /dev/null
 * opened read-only instead, so that writes to it still fail (EBADF) and
 * finish() reports them.
 */
static void hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDONLY);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/* Every command's output is checked here, once: a write that failed (a
   full disk, a closed stdout) is an error, not a cut-off success. */
static int finish(int rc)
{
	errno = 0;
	int flushed = fflush(stdout);
	if (flushed == 0 && !ferror(stdout))
		return rc;
	if (flushed == 0 || !errno) /* failed earlier: a closed stdout says why */
		errno = write(STDOUT_FILENO, "", 0) < 0 ? errno : 0;
	if (errno)
		fprintf(stderr, "podwall: write error: %s\n", strerror(errno));
	else
		fputs("podwall: write error: the output is incomplete\n", stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	hold_std_fds();
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return finish(0);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("podwall %s\n", PODWALL_VERSION);
		return finish(0);
	}
	for (size_t i = 0; i < PW_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return finish(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "podwall: unknown command %s\n\n", cli_q(argv[1]));
	usage(stderr);
	return EXIT_USAGE;
}
