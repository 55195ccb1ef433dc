/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The podwall command line: one cmd_<name>() per subcommand, each in
 * cli/cmd-<name>.c.  How to add a subcommand: write
 *   int cmd_foo(int argc, char **argv);
 * that handles --help itself, declare it here, and add a row to the
 * commands[] table in main.c (name, function, one-line summary).
 *
 * Exit codes: 0 ok, 1 findings (DENY, lint findings, probe differences),
 * 2 usage or input error.
 */
#ifndef PW_CLI_H
#define PW_CLI_H

#include <stdio.h>

#include "../lib/doc.h"
#include "../lib/engine.h"
#include "../lib/rbac/rbac.h"
#include "../lib/reach.h"
#include "../lib/service.h"
#include "../lib/view.h"
#include "../lib/world.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2

/* Options every analysis command shares. */
struct cli_opts {
	const char **files;
	int nfiles;
	/* documents already read (a datastore's), loaded after the files */
	const struct pw_world_doc *docs;
	size_t ndocs;
	const char *ns;	    /* -n; NULL = default */
	const char *output; /* -o */
	unsigned engine_flags;
	bool staged; /* --staged: also build the staged view */
	int verbose;
	bool stats; /* --stats: timings and peak memory on stderr at exit */
	bool reach; /* also build the fast engine (lib/reach.h) */
	uint32_t replicas; /* pods per workload template (lab) */
	/* with Ingresses or Routes in the input, add netpol-analyzer's
	   ingress controller pod (lib/service.h) */
	bool ingress_controller;
	/* called after loading, before the engine is built (lab addresses) */
	int (*prepare)(struct pw_cluster *c, void *arg);
	void *prepare_arg;
};

/* A loaded cluster and its engine, and the view of them that the
   library's answers take (lib/view.h; its ingress_pod is the ingress
   controller's pod, or -1). */
struct cli_world {
	struct pw_cluster c;
	struct pw_engine e;
	struct pw_engine *staged; /* with --staged: the staged view, else NULL */
	struct pw_reach *reach, *staged_reach; /* when asked for (o->reach) */
	struct pw_view view; /* of the above, once loaded */
	bool stats;
	double t_start, t_loaded, t_built, t_matrix; /* ms, CLOCK_MONOTONIC */
};

/*
 * Try to consume a common option at argv[*i].  Returns 1 if consumed, 0 if
 * not a common option, -1 on a usage error (already printed).
 */
int cli_common_opt(struct cli_opts *o, int argc, char **argv, int *i);
/* Value of an option "-x V", "--long V" or "--long=V"; NULL if argv[*i] is
   not that option.  Prints an error and sets *err if the value is missing. */
const char *cli_optval(int argc, char **argv, int *i, const char *s,
		       const char *l, int *err);
void cli_opts_release(struct cli_opts *o);
/* -f/--filename at argv[*i], added to o->files: 1 if taken, else 0 (with
   *err set when its value is missing). */
int cli_file_opt(struct cli_opts *o, int argc, char **argv, int *i, int *err);
/*
 * The argument loop every command shares: --help, the common options, and
 * the command's own through extra (NULL: none), which returns 1 if it took
 * argv[*i], 0 if it is not one of its options, -1 on an error it printed.
 * Returns 0 to go on, 1 when --help was printed (exit 0), -1 on a usage
 * error (printed, with the usage).
 */
int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
	      struct cli_opts *o,
	      int (*extra)(void *ctx, int argc, char **argv, int *i), void *ctx);
/* Load, validate, build the engine; prints diagnostics.  0 or -1. */
int cli_world_load(struct cli_world *w, const struct cli_opts *o);
void cli_world_release(struct cli_world *w);
/* cli_world_load, then the RBAC authorizer of what was loaded (its
   warnings printed).  0 or -1; release a with pw_authz_release() (also
   after -1) and w with cli_world_release(). */
int cli_authz_load(struct cli_world *w, struct pw_authz *a, const struct cli_opts *o);
/* What a command's parsing needs: an arena, and warning and error text. */
struct cli_scratch {
	struct pw_arena a;
	struct pw_buf warn, err;
};
void cli_scratch_init(struct cli_scratch *s);
void cli_scratch_release(struct cli_scratch *s);
/* -h or --help */
bool cli_is_help(const char *arg);
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds of CLOCK_MONOTONIC. */
double cli_now_ms(void);
/* User input quoted for a message (pw_quote(): escaped, a long value
   shortened); the last four results stay valid. */
const char *cli_q(const char *s);
bool cli_output_ok(const char *o, const char *const *allowed);
/* A document on stdout, in -o's syntax (json or yaml). */
void cli_print_doc(const struct pw_doc *d, const char *fmt);

int cmd_eval(int argc, char **argv);
/* GET path from a running agent (--agent SOCKET|URL): its answer to
   stdout, or its error to stderr; the exit status the answer carries
   (X-Podwall-Exit), else 0 on success, 2 on an error. */
int cli_ask_agent(const char *agent, const char *path);
/* Append "&key=value" (escaped; the first with '?') when value is set. */
void cli_query_arg(struct pw_buf *b, const char *key, const char *value);
int cmd_agent(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_connlist(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_diff(int argc, char **argv);
/* podwall diff's output of d (lib/diff.h) in format fmt (table, csv, json,
   yaml) on stdout; and as a document (an array of changes). */
struct pw_diff;
void cli_diff_print(const struct pw_diff *d, const char *fmt);
struct pw_doc *cli_diff_doc(const struct pw_diff *d);
int cmd_recommend(int argc, char **argv);
int cmd_lab(int argc, char **argv);
/* The lab's helper processes (cli/lab-tools.c), `lab __NAME ARGS`: argv[0]
   is __NAME. */
int lab_tool_serve(int argc, char **argv);
int lab_tool_echo(int argc, char **argv);
int lab_tool_hold(int argc, char **argv);
int lab_tool_sink(int argc, char **argv);
int lab_tool_blast(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_can_i(int argc, char **argv);
int cmd_who_can(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
/* "500ms", "30s", "5m", "2h", "1d" in milliseconds; -1 when malformed */
int64_t cli_duration_ms(const char *s);
/* A time argument: a duration before now, RFC 3339 or Unix seconds; -1
   when malformed (cli/cmd-flows.c). */
int64_t cli_time_arg(const char *s, int64_t now);
/* The flow stores a query reads (cli/cmd-flows.c). */
struct pw_flowstore;
struct pw_flow;
struct pw_flow_filter;
struct flows_stores {
	struct pw_flowstore **v;
	size_t n;
	/* running agents asked over their API (GET /v1/flows) */
	char **agents;
	size_t nagents;
};
/* The sources of lab NAME: each node's agent where it answers, else the
   node's store file.  0, or -1 (printed). */
int flows_lab_sources(const char *lab, struct flows_stores *out);
/* The same, store files only (what the agents wrote). */
int flows_lab_files(const char *lab, struct flows_stores *out);
/* The records of an agent (socket or URL) matching f, each to take.
   0, or -1 with the reason in err. */
int flows_agent_query(const char *agent, const struct pw_flow_filter *f,
		      int (*take)(void *arg, const struct pw_flow *r), void *arg,
		      struct pw_buf *err);
/* HOOK for --lab NAME and --agent SOCKET: opens the stores of the specs
   (read-only), printing errors; 0 or -1.  See cli/cmd-flows.c. */
int flows_open_stores(const char *const *specs, size_t n, struct flows_stores *out);
void flows_release(struct flows_stores *st);
/* The sources of a query: the stores of specs (read-only) and those of lab
   NAME (NULL: none) added to st, whose agents are kept.  0, or -1
   (printed; release st). */
int flows_open_sources(const char *const *specs, size_t n, const char *lab,
		       struct flows_stores *st);
/* Records read (heap; free v). */
struct flows_recs {
	struct pw_flow *v;
	size_t n, cap;
};
/* The records of every store and agent of st matching f, by end_time (then
   source, then insertion); the newest last ones when last (0: all).  0, or
   -1 (printed). */
int flows_collect(struct flows_stores *st, const struct pw_flow_filter *f, size_t last,
		  struct flows_recs *out);
/* `podwall alerts eval` (cli/alerts-eval.c): argv[0] is "eval" */
int cmd_alerts_eval(int argc, char **argv);

#endif
