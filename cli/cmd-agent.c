// SPDX-License-Identifier: Apache-2.0
/*
 * podwall agent: the long-running process of lib/agent/agent.h; this file
 * only reads options and logs.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/agent/agent.h"
#include "../lib/flow/aggr.h"
#include "../lib/lab/lab.h"
#include "cli.h"

static const char agent_usage[] =
	"usage: podwall agent --source dir:PATH|etcd:URL[,URL...]|kube[:KUBECONFIG]\n"
	"                     [--node NAME]\n"
	"                     [--socket PATH]\n"
	"                     [--listen ADDR:PORT] [--netns NAME] [--table NAME]\n"
	"                     [--dataplane nftables|none] [--services]\n"
	"                     [--ipblock-excludes-pods] [--hostnetwork-as-pods]\n"
	"                     [--interface-prefix P] [--lab NAME]\n"
	"                     [--flows sqlite:FILE|jsonl:DIR] [--flow-interval DURATION]\n"
	"                     [--flow-aggregation pod|workload|namespace]\n"
	"                     [--flow-max-age DURATION] [--flow-max-bytes N]\n"
	"\n"
	"Hold a cluster's state and keep the dataplane equal to it, change by\n"
	"change.  Loads the source, puts its policies in force (only what differs\n"
	"from what the kernel already holds is sent, so a restarted agent\n"
	"converges without a gap), then watches the source and applies each\n"
	"change incrementally in one transaction.  A change with an error is\n"
	"rejected, logged with FILE:LINE:COL, and the previous state stays in\n"
	"force.  On SIGTERM or SIGINT the agent stops and the kernel keeps\n"
	"enforcing what it last put in force.  Logs go to stderr.\n"
	"\n"
	"  --source dir:PATH         a directory of manifests (recursive), watched\n"
	"  --source etcd:URL[,URL...]\n"
	"                            etcd's keys under /calico/resources/v3/ (Calico's\n"
	"                            etcd datastore), read at one revision, then\n"
	"                            watched: each revision is one change; another\n"
	"                            member when one is lost; a compacted revision\n"
	"                            reads everything again\n"
	"  --source kube[:KUBECONFIG]\n"
	"                            the Kubernetes API, listed and watched:\n"
	"                            Pods, Namespaces, Services, EndpointSlices,\n"
	"                            NetworkPolicies, the AdminNetworkPolicy family\n"
	"                            and Calico's crd.projectcalico.org/v1 kinds;\n"
	"                            KUBECONFIG's current context (default:\n"
	"                            $KUBECONFIG, else in-cluster, else\n"
	"                            ~/.kube/config); read-only (apply and delete\n"
	"                            are refused: change the cluster with kubectl)\n"
	"  --node NAME               enforce only for pods whose spec.nodeName is\n"
	"                            NAME (default: every pod)\n"
	"  --socket PATH             serve the API on a unix socket\n"
	"  --listen ADDR:PORT        serve the API on TCP too (e.g. 127.0.0.1:9466)\n"
	"  --netns NAME              program the tables of network namespace NAME\n"
	"                            (default: the agent's own)\n"
	"  --table NAME              the nftables table (default: podwall)\n"
	"  --dataplane NAME          nftables (default), dry-run (render, send\n"
	"                            nothing; every pod with an address gets an\n"
	"                            interface) or none (answer only)\n"
	"  --services                translate Service addresses to backends too\n"
	"  --ipblock-excludes-pods, --hostnetwork-as-pods\n"
	"                            read as by the analysis commands\n"
	"  --lab NAME                be the agent of lab NAME (podwall lab up starts\n"
	"                            it): pods get the lab's addresses, interfaces\n"
	"                            pwr<k>, and their namespaces as they come and go\n"
	"                            (with --node, those the lab placed on that node)\n"
	"  --interface-prefix P      name a pod's host-side interface as its CNI\n"
	"                            plugin does: P and the first 11 hex digits of\n"
	"                            SHA-1(\"NAMESPACE.NAME\") (Calico: cali; the\n"
	"                            AWS VPC CNI: eni)\n"
	"  --flows sqlite:FILE|jsonl:DIR\n"
	"                            keep a flow log: denied packets (NFLOG) and\n"
	"                            allowed connections (conntrack events), each\n"
	"                            naming the tier, policy and rule that decided\n"
	"                            it, and what the staged policies would; read\n"
	"                            them with podwall flows (rule ids are kept in\n"
	"                            FILE.ids or DIR/rule-ids)\n"
	"  --flow-interval DURATION  records add up for this long (default 15s)\n"
	"  --flow-aggregation LEVEL  pod (default), workload or namespace\n"
	"  --flow-max-age DURATION, --flow-max-bytes N\n"
	"                            retention of the flow log (default: no bound)\n"
	"\n"
	"A pod's interface on the dataplane's side is named by its annotation\n"
	"podwall.io/interface, else as --interface-prefix says.  API: /healthz,\n"
	"/readyz, /metrics, /v1/changes, /v1/state, /v1/policies, /v1/eval,\n"
	"/v1/matrix, /v1/objects, /v1/flows, POST /v1/apply and /v1/delete\n"
	"(podwall apply, delete, get and flows use them).\n";

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_line(void *arg, const char *line)
{
	(void)arg;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, line);
	fflush(stderr);
}

struct port_naming {
	bool dry;
	const char *prefix; /* --interface-prefix, or NULL */
};

static bool annotated_port(void *arg, const struct pw_cluster *c, uint32_t pod,
			   char ifname[static 16])
{
	const struct port_naming *pn = arg;
	const struct pw_pod *p = &c->pods[pod];
	const char *v = p->interface;
	if (v && *v && strlen(v) <= 15) {
		strcpy(ifname, v);
		return true;
	}
	/* as the CNI plugin named it */
	if (pn->prefix && p->naddrs && !p->host_network &&
	    pw_dp_cni_ifname(pn->prefix, c->nss[p->ns].name, p->name, ifname))
		return true;
	/* a preview: every pod with an address, named by its index */
	if (pn->dry && c->pods[pod].naddrs) {
		snprintf(ifname, 16, "pod%u", pod);
		return true;
	}
	return false;
}

/* The lab's: its problems (a pod that could not be created) logged. */
static void lab_after_commit(void *arg, const struct pw_world *w)
{
	struct pw_lab_hooks *h = arg;
	pw_lab_hook_after_commit(arg, w);
	if (h->err.len)
		log_line(NULL, h->err.s);
}

/* Its own options only: the manifests come from --source. */
static int agent_parse(int argc, char **argv, struct pw_agent_opts *o, const char **lab,
		       const char **ifprefix)
{
	for (int i = 1; i < argc; i++) {
		int err = 0;
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(agent_usage, stdout);
			return 1;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--source", &err)))
			o->source = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--node", &err)))
			o->node = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--socket", &err)))
			o->socket = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--listen", &err)))
			o->listen = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--netns", &err)))
			o->netns = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--table", &err)))
			o->table = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--dataplane", &err)))
			o->backend = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--lab", &err)))
			*lab = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--interface-prefix", &err))) {
			*ifprefix = v;
			if (strlen(v) > 4) {
				cli_error("agent: --interface-prefix %s: at most 4 characters", cli_q(v));
				return -1;
			}
		}
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--flows", &err)))
			o->flows = v;
		else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--flow-interval", &err))) {
			int64_t s;
			if (pw_duration_parse(v, &s) < 0 || s < 1 || s > 86400) {
				cli_error("agent: --flow-interval %s: want a duration from 1s to 1d", cli_q(v));
				return -1;
			}
			o->flow_interval = (int)s;
		} else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--flow-aggregation", &err))) {
			o->flow_level = pw_flow_level_parse(v);
			if (o->flow_level < 0) {
				cli_error("agent: --flow-aggregation %s: want pod, workload or namespace",
					  cli_q(v));
				return -1;
			}
		} else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--flow-max-age", &err))) {
			if (pw_duration_parse(v, &o->flow_max_age) < 0) {
				cli_error("agent: --flow-max-age %s: not a duration", cli_q(v));
				return -1;
			}
		} else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--flow-max-bytes", &err))) {
			char *end;
			o->flow_max_bytes = strtoull(v, &end, 10);
			if (*end || !*v) {
				cli_error("agent: --flow-max-bytes %s: not a number", cli_q(v));
				return -1;
			}
		}
		else if (err)
			return -1;
		else if (!strcmp(argv[i], "--services"))
			o->services = true;
		else if (!strcmp(argv[i], "--ipblock-excludes-pods"))
			o->engine_flags |= PW_ENGINE_IPBLOCK_EXCLUDES_PODS;
		else if (!strcmp(argv[i], "--hostnetwork-as-pods"))
			o->engine_flags |= PW_ENGINE_HOSTNET_AS_PODS;
		else {
			cli_error("agent: unknown option %s", cli_q(argv[i]));
			fputs(agent_usage, stderr);
			return -1;
		}
	}
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	struct pw_agent_opts o = { 0 };
	const char *lab = NULL, *ifprefix = NULL;
	int r = agent_parse(argc, argv, &o, &lab, &ifprefix);
	if (r)
		return r > 0 ? 0 : EXIT_USAGE;
	if (!o.source) {
		cli_error("agent: --source is required");
		fputs(agent_usage, stderr);
		return EXIT_USAGE;
	}
	/* the benchmark's baseline: rules one by one (bench/lab.sh) */
	const char *lin = getenv("PODWALL_NFT_LINEAR");
	o.linear = lin && *lin == '1';
	o.port_of = annotated_port;
	static struct port_naming pn;
	pn.dry = o.backend && !strcmp(o.backend, "dry-run");
	pn.prefix = ifprefix;
	o.hook_arg = &pn;
	static struct pw_lab_hooks lh;
	if (lab) {
		/* the lab's state, read once: from now on the agent keeps pods */
		struct pw_buf err;
		pw_buf_init(&err);
		pw_lab_init(&lh.lb, lab);
		pw_buf_init(&lh.err);
		if (!pw_lab_name_valid(lab) || pw_lab_read(&lh.lb, &err) < 0) {
			cli_error("agent: --lab %s: %s", cli_q(lab), err.s ? err.s : "no such lab");
			pw_buf_release(&err);
			return EXIT_USAGE;
		}
		pw_buf_release(&err);
		if (o.node) {
			/* the lab's own placement of pods, not spec.nodeName alone */
			lh.lb.node = pw_lab_node_index(&lh.lb, o.node);
			if (lh.lb.node < 0) {
				cli_error("agent: lab %s has no node %s", lab, cli_q(o.node));
				return EXIT_USAGE;
			}
			o.node = NULL;
		}
		o.engine_flags |= lh.lb.flags;
		o.replicas = lh.lb.replicas;
		o.prepare = pw_lab_hook_prepare;
		o.port_of = pw_lab_hook_port_of;
		o.after_commit = lab_after_commit;
		o.hook_arg = &lh;
	}
	o.log = log_line;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return pw_agent_run(&o, &stop);
}
