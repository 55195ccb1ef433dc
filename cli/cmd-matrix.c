// SPDX-License-Identifier: Apache-2.0
/*
 * podwall matrix: the reachability matrix of every endpoint (workloads,
 * ownerless pods, and the external address classes the policies name).
 *
 * Without --port, the ports are split into the classes the policies
 * distinguish (every boundary of a port, range or resolved named port);
 * classes with the same matrix are printed together, labelled with the
 * ports they cover.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../lib/matrix-out.h"

static const char matrix_usage[] =
	"usage: podwall matrix -f FILE|DIR|- [-f ...] [--port PROTO/N ...] [options]\n"
	"\n"
	"Print who may reach whom.  Rows are sources, columns destinations;\n"
	"'.' allowed, 'X' denied, ' ' not applicable (external to external).\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        only endpoints of namespace NS (plus external)\n"
	"  -p, --port PROTO/N        one matrix per port (repeatable); without it,\n"
	"                            one per class of ports the policies distinguish\n"
	"      --services            Services as destinations too: what may reach\n"
	"                            each service port, through every backend\n"
	"      --staged              also show what the staged policies would\n"
	"                            change if they were enforced\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"  -o, --output FORMAT       table (default), csv, json, yaml or md\n"
	"      --agent SOCKET|URL    ask a running agent (podwall agent) instead of\n"
	"                            loading files: the same answer on its state\n"
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n";

struct port_ctx {
	struct pw_matrix_port *ports;
	size_t n;
	bool services;
	const char *agent;
};

/* --port PROTO/N, repeatable */
static int port_opt(void *ctx, int argc, char **argv, int *i)
{
	struct port_ctx *pc = ctx;
	int err = 0, proto, port;
	if (!strcmp(argv[*i], "--services")) {
		pc->services = true;
		return 1;
	}
	const char *v = cli_optval(argc, argv, i, NULL, "--agent", &err);
	if (v) {
		pc->agent = v;
		return 1;
	}
	if (err)
		return -1;
	v = cli_optval(argc, argv, i, "-p", "--port", &err);
	if (err)
		return -1;
	if (!v)
		return 0;
	if (pw_protoport_parse(v, &proto, &port) < 0) {
		cli_error("matrix: invalid --port %s (want PROTO/N)", cli_q(v));
		return -1;
	}
	pc->ports = pw_xrealloc(pc->ports, (pc->n + 1) * sizeof(*pc->ports));
	pc->ports[pc->n++] = (struct pw_matrix_port){ proto, (unsigned)port };
	return 1;
}

int cmd_matrix(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int rc = EXIT_USAGE;
	struct port_ctx pc = { NULL, 0, false, NULL };
	int parsed = cli_parse("matrix", matrix_usage, argc, argv, &o, port_opt, &pc);
	o.reach = true;
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	static const char *const outs[] = { "table", "csv", "json", "yaml", "md", NULL };
	const char *fmt = o.output ? o.output : "table";
	if (!cli_output_ok(fmt, outs)) {
		cli_error("matrix: -o must be table, csv, json, yaml or md");
		goto out;
	}
	if (pc.agent) {
		if (o.nfiles || o.staged || pc.n) {
			cli_error("matrix: --agent answers on the agent's state (no -f, --staged or --port)");
			goto out;
		}
		struct pw_buf q;
		pw_buf_init(&q);
		pw_buf_puts(&q, "/v1/matrix");
		cli_query_arg(&q, "namespace", o.ns);
		cli_query_arg(&q, "output", fmt);
		cli_query_arg(&q, "services", pc.services ? "1" : NULL);
		rc = cli_ask_agent(pc.agent, q.s);
		pw_buf_release(&q);
		goto out;
	}
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	struct pw_matrix_req q = { pw_format_parse(fmt), o.ns, pc.services,
				   pc.ports, pc.n };
	struct pw_out out = pw_out_file(stdout);
	struct pw_buf err;
	pw_buf_init(&err);
	/* large outputs are written a pair at a time: buffer them */
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	rc = pw_matrix_write(&w.view, &q, &out, &err) < 0 ? EXIT_USAGE : 0;
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (rc)
		cli_error("%s", err.s);
	pw_buf_release(&err);
	cli_world_release(&w);
out:
	free(pc.ports);
	cli_opts_release(&o);
	return rc;
}
