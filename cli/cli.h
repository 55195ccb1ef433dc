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

#include "../lib/engine.h"
#include "../lib/reach.h"
#include "../lib/service.h"

#define EXIT_FINDINGS 1
#define EXIT_USAGE 2

/* Options every analysis command shares. */
struct cli_opts {
	const char **files;
	int nfiles;
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
	/* asked for every object of files[input] (lab: a later apply replaces
	   an object); see struct pw_cluster's admit */
	bool (*admit)(void *arg, uint32_t input, const char *key);
	void *admit_arg;
	/* loads files[input] instead of pw_cluster_load_path (the lab: from
	   its copies); the number of errors added */
	size_t (*load)(void *arg, struct pw_cluster *c, uint32_t input,
		       struct pw_diags *d);
	void *load_arg;
};

/* A loaded cluster and its engine. */
struct cli_world {
	struct pw_cluster c;
	struct pw_engine e;
	struct pw_engine *staged; /* with --staged: the staged view, else NULL */
	struct pw_reach *reach, *staged_reach; /* when asked for (o->reach) */
	struct pw_strmap pods;	 /* "ns/name" -> pod index + 1 */
	struct pw_strmap groups; /* "ns/name" -> group index + 1 */
	int32_t ingress_pod; /* the ingress controller's pod, or -1 */
	struct pw_arena names_arena; /* DNS names given on the command line */
	bool names;
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
/* Resolve "ns/name", "name" (in defns), an address, or when as_dst a DNS
   name, optionally "name=ADDR".  Pods of a workload go to *eps (heap,
   caller frees).  Returns the count, 0 if unknown, -1 if spec is malformed
   (an address that does not parse, a bad DNS name, a DNS name as a
   source): *why says how. */
int cli_resolve(struct cli_world *w, const char *spec, const char *defns,
		bool as_dst, struct pw_ep **eps, const char **why);
/* The Service a destination names: svc/NAME (in defns), its DNS name
   (NAME.NS[.svc[.cluster.local]]), ns/name or name when no pod or workload
   has that name, or one of its addresses; NULL if none. */
const struct pw_service *cli_service(const struct cli_world *w,
				     const char *spec, const char *defns);
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Milliseconds of CLOCK_MONOTONIC. */
double cli_now_ms(void);
/* User input quoted for a message (pw_quote(): escaped, a long value
   shortened); the last four results stay valid. */
const char *cli_q(const char *s);
const char *cli_pod_name(const struct cli_world *w, uint32_t pod,
			 struct pw_buf *b);
bool cli_output_ok(const char *o, const char *const *allowed);

int cmd_eval(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_connlist(int argc, char **argv);
int cmd_lint(int argc, char **argv);

/* Outside endpoints: the engine's address classes (lib/engine.h), of
   every engine given cut together (diff compares two); IPv6 classes only
   where a policy cuts IPv6 or a pod has an IPv6 address. */
struct cli_extclass {
	struct pw_addr lo, hi;
	char name[PW_RANGE_NAME_MAX]; /* a CIDR when cidr_names and exact */
};
size_t cli_ext_classes(const struct pw_engine *const *es, size_t ne,
		       bool cidr_names, struct cli_extclass **out);

/* What may flow between two matrix endpoints (a group, or an address when
   the group is -1); a workload pair only where every replica pair may. */
void cli_pair_conns(const struct pw_cluster *c, const struct pw_engine *e,
		    const struct pw_reach *r, int ga, const struct pw_addr *aa,
		    int gb, const struct pw_addr *ab, struct pw_conns *out);
/* What may flow from s to d: the fast engine r when it can answer (r may
   be NULL), else the per-connection evaluation. */
void cli_conns(const struct pw_engine *e, const struct pw_reach *r,
	       const struct pw_ep *s, const struct pw_ep *d, struct pw_conns *out);
int cmd_diff(int argc, char **argv);
int cmd_lab(int argc, char **argv);
/* The lab's helper processes (cli/lab-tools.c), `lab __NAME ARGS`: argv[0]
   is __NAME. */
int lab_tool_serve(int argc, char **argv);
int lab_tool_echo(int argc, char **argv);
int lab_tool_hold(int argc, char **argv);
int lab_tool_sink(int argc, char **argv);
int lab_tool_blast(int argc, char **argv);
int cmd_gen(int argc, char **argv);

#endif
