// SPDX-License-Identifier: Apache-2.0
/*
 * podwall recommend: policies for a namespace from its observed flows
 * (lib/recommend/recommend.h), proven on the engine against every record
 * read, and the diff of what they change (lib/diff.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/diff.h"
#include "../lib/flow/store.h"
#include "../lib/recommend/recommend.h"
#include "cli.h"

static const char recommend_usage[] =
	"usage: podwall recommend (--store SPEC ...|--agent SOCK|--lab NAME) -f DIR -n NS\n"
	"                         [--workload NAME] [--since T] [--kind k8s|calico]\n"
	"                         [--tier TIER] [--staged] [--max-ports N]\n"
	"                         [--allow-denied] [-o yaml|json]\n"
	"\n"
	"Propose policies for the workloads of namespace NS from the ALLOWED flow\n"
	"records where they are source or destination: peers by the labels of\n"
	"their workloads and their namespaces (never a pod address), outside\n"
	"addresses by their /32 (or, with --kind calico, a network set with labels\n"
	"that contains them), the ports seen (by name where the destination names\n"
	"them), DNS to kube-dns always, and a default deny of the namespace last.\n"
	"Every rule says in a comment what it covers and what it allows beyond.\n"
	"\n"
	"Then the proof, every time: the cluster with the recommendation is\n"
	"evaluated for every record read, in the direction its reporter decided\n"
	"(egress at a source, ingress at a destination); an allowed record must\n"
	"stay allowed and a denied one denied.  Then the diff of what the\n"
	"recommendation changes between every pair of workloads with an end in NS\n"
	"and the outside (as podwall diff prints it).\n"
	"\n"
	"      --store SPEC        the records: sqlite:FILE, jsonl:DIR or a path;\n"
	"                          repeatable\n"
	"      --agent SOCKET|URL  a running agent's records; repeatable\n"
	"      --lab NAME          every node of lab NAME\n"
	"  -f, --filename PATH     the cluster's manifests (file, directory or -)\n"
	"  -n, --namespace NS      the namespace whose policies are proposed\n"
	"      --workload NAME     only this workload (or ownerless pod) of NS; no\n"
	"                          default deny then\n"
	"      --since T           records that ended at or after T (30s, 5m, 2h,\n"
	"                          1d ago, RFC 3339 or Unix seconds)\n"
	"      --kind KIND         k8s (NetworkPolicy, the default) or calico\n"
	"                          (projectcalico.org/v3 NetworkPolicy in a tier)\n"
	"      --tier TIER         calico: the tier (default: default); a Tier\n"
	"                          object is proposed too when the manifests lack it\n"
	"      --staged            StagedNetworkPolicy (calico) or\n"
	"                          StagedKubernetesNetworkPolicy; the proof and the\n"
	"                          diff enforce the staged policies\n"
	"      --max-ports N       more than N ports of one peer and protocol become\n"
	"                          one range, lowest to highest (default 10)\n"
	"      --allow-denied      a denied record that the recommendation allows\n"
	"                          is reported but does not fail the proof\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                          the cluster (the proof and the diff)\n"
	"      --hostnetwork-as-pods treat hostNetwork pods like other pods\n"
	"      --stats             timings and peak memory on stderr\n"
	"  -v, --verbose           also list the objects that were skipped\n"
	"  -o, --output FORMAT     yaml (default): the manifests, each rule after a\n"
	"                          comment saying what it covers, then the proof and\n"
	"                          the diff as comments (the output applies as it\n"
	"                          is); json: {\"policies\": [...], \"proof\": {...},\n"
	"                          \"diff\": [...]}, every rule with a \"covers\" member\n"
	"\n"
	"A summary goes to stderr.  Exit status: 0 proven, 1 the proof failed (a\n"
	"record would change), 2 bad usage or input.\n";

struct rec_args {
	const char **specs;
	size_t nspecs;
	struct flows_stores st;
	const char *lab, *workload, *kind, *tier, *since;
	unsigned max_ports;
	bool allow_denied;
};

static int rec_opt(void *ctx, int argc, char **argv, int *i)
{
	struct rec_args *a = ctx;
	int bad = 0;
	const char *v;
	if ((v = cli_optval(argc, argv, i, NULL, "--store", &bad))) {
		a->specs[a->nspecs++] = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--agent", &bad))) {
		a->st.agents = pw_xrealloc(a->st.agents, (a->st.nagents + 1) * sizeof(char *));
		a->st.agents[a->st.nagents++] = pw_xstrdup(v);
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--lab", &bad))) {
		a->lab = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--workload", &bad))) {
		a->workload = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--since", &bad))) {
		a->since = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--kind", &bad))) {
		a->kind = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--tier", &bad))) {
		a->tier = v;
		return 1;
	}
	if (!bad && (v = cli_optval(argc, argv, i, NULL, "--max-ports", &bad))) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || n < 1 || n > 65535) {
			cli_error("recommend: --max-ports %s: want 1 to 65535", cli_q(v));
			return -1;
		}
		a->max_ports = (unsigned)n;
		return 1;
	}
	if (bad)
		return -1;
	if (!strcmp(argv[*i], "--allow-denied")) {
		a->allow_denied = true;
		return 1;
	}
	return 0;
}

/* One record, short: "allow src dev/frontend-* -> 10.0.0.1 TCP/80" */
static void rec_line(const struct pw_flow *r, struct pw_buf *b)
{
	char pb[12];
	const struct pw_flow_end *e[2] = { &r->src, &r->dst };
	pw_buf_printf(b, "%s by %s: ", pw_flow_action_name(r->action),
		      pw_flow_reporter_name(r->reporter));
	for (int i = 0; i < 2; i++) {
		if (!strcmp(e[i]->type, "wep"))
			pw_buf_printf(b, "%s/%s", e[i]->ns,
				      strcmp(e[i]->name, "-") ? e[i]->name : e[i]->name_aggr);
		else
			pw_buf_puts(b, e[i]->ip[0] ? e[i]->ip : e[i]->name_aggr);
		pw_buf_puts(b, i ? " " : " -> ");
	}
	pw_buf_printf(b, "%s/%d", pw_flow_proto_name(r->proto, pb), r->dst.port);
}

/* The recommendation written where the loader reads it: DIR/recommended.yaml
   in a new directory of TMPDIR (*dir set, to remove). */
static char *write_tmp(const char *text, char **dir)
{
	const char *t = getenv("TMPDIR");
	struct pw_buf p;
	pw_buf_init(&p);
	pw_buf_printf(&p, "%s/podwall-recommend.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(p.s)) {
		cli_error("recommend: %s: %s", p.s, strerror(errno));
		pw_buf_release(&p);
		return NULL;
	}
	*dir = pw_xstrdup(p.s);
	pw_buf_puts(&p, "/recommended.yaml");
	FILE *f = fopen(p.s, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		cli_error("recommend: %s: %s", p.s, strerror(errno));
		pw_buf_release(&p);
		return NULL;
	}
	return p.s;
}

/* The temporary file's path in s replaced by its name alone. */
static char *untmp(char *s, const char *path)
{
	const char *at = strstr(s, path);
	if (!at)
		return s;
	struct pw_buf b;
	pw_buf_init(&b);
	const char *p = s;
	for (; (at = strstr(p, path)); p = at + strlen(path)) {
		pw_buf_add(&b, p, (size_t)(at - p));
		pw_buf_puts(&b, "recommended.yaml");
	}
	pw_buf_puts(&b, p);
	free(s);
	return b.s;
}

int cmd_recommend(int argc, char **argv)
{
	struct cli_opts o = { 0 }, o2 = { 0 };
	struct rec_args a = { 0 };
	struct flows_recs rs = { 0 };
	struct cli_world wa, wb;
	bool have_a = false, have_b = false, have_rec = false;
	struct pw_rec rec;
	char *tmp = NULL, *tmpdir = NULL;
	int rc = EXIT_USAGE;
	a.specs = pw_xcalloc((size_t)argc + 1, sizeof(*a.specs));
	int parsed = cli_parse("recommend", recommend_usage, argc, argv, &o, rec_opt, &a);
	if (parsed) {
		rc = parsed > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	static const char *const outs[] = { "yaml", "json", NULL };
	const char *fmt = o.output ? o.output : "yaml";
	if (!cli_output_ok(fmt, outs)) {
		cli_error("recommend: -o %s: want yaml or json", cli_q(fmt));
		goto out;
	}
	/* -n is the namespace recommended for, not the loader's default */
	const char *ns = o.ns;
	o.ns = NULL;
	struct pw_rec_opts ro = { .ns = ns, .workload = a.workload, .tier = a.tier,
				  .staged = o.staged, .max_ports = a.max_ports };
	if (a.kind && !strcmp(a.kind, "calico")) {
		ro.kind = PW_REC_CALICO;
	} else if (a.kind && strcmp(a.kind, "k8s")) {
		cli_error("recommend: --kind %s: want k8s or calico", cli_q(a.kind));
		goto out;
	}
	if (a.tier && ro.kind != PW_REC_CALICO) {
		cli_error("recommend: --tier goes with --kind calico");
		goto out;
	}
	if (!ns || !o.nfiles || (!a.nspecs && !a.st.nagents && !a.lab)) {
		cli_error("recommend: give the records (--store, --agent or --lab), the "
			  "manifests (-f) and the namespace (-n)");
		fputs(recommend_usage, stderr);
		goto out;
	}
	struct pw_flow_filter f = { .ns = ns, .action = -1 };
	if (a.since) {
		int64_t t = cli_time_arg(a.since, (int64_t)time(NULL));
		if (t < 0) {
			cli_error("recommend: --since %s: want a duration ago (30s, 5m, 2h, 1d), "
				  "RFC 3339 or Unix seconds", cli_q(a.since));
			goto out;
		}
		f.since = t ? t : 1;
	}
	if (flows_open_sources(a.specs, a.nspecs, a.lab, &a.st) < 0 ||
	    flows_collect(&a.st, &f, 0, &rs) < 0)
		goto out;
	have_a = true;
	if (cli_world_load(&wa, &o) < 0)
		goto out;
	struct pw_buf err, text;
	pw_buf_init(&err);
	pw_buf_init(&text);
	if (pw_recommend(&wa.c, rs.v, rs.n, &ro, &rec, &err) < 0) {
		cli_error("recommend: %s", err.s);
		pw_buf_release(&err);
		pw_buf_release(&text);
		goto out;
	}
	have_rec = true;
	pw_buf_release(&err);
	pw_rec_yaml(&rec, &text);

	/* the proof: the cluster and the recommendation, loaded as applied */
	tmp = write_tmp(text.s, &tmpdir);
	if (!tmp) {
		pw_buf_release(&text);
		goto out;
	}
	o2 = o;
	o2.files = pw_xcalloc((size_t)o.nfiles + 1, sizeof(*o2.files));
	memcpy(o2.files, o.files, (size_t)o.nfiles * sizeof(*o.files));
	o2.files[o2.nfiles++] = tmp;
	have_b = true;
	if (cli_world_load(&wb, &o2) < 0) {
		cli_error("recommend: the recommendation does not load (a bug): %s", tmp);
		pw_buf_release(&text);
		goto out;
	}
	const struct pw_engine *after = o.staged ? wb.staged : &wb.e;
	struct pw_rec_proof proof;
	pw_rec_prove(after, rs.v, rs.n, &proof);
	size_t opened = 0, closed = 0;
	for (size_t i = 0; i < proof.n; i++)
		proof.v[i].was_allowed ? closed++ : opened++;
	bool failed = closed || (opened && !a.allow_denied);
	struct pw_diff d;
	pw_diff_states(&wa.c, &wa.e, &wb.c, after, ns, &d);
	for (size_t i = 0; i < d.n; i++) {
		d.v[i].before = untmp(d.v[i].before, tmp);
		d.v[i].after = untmp(d.v[i].after, tmp);
	}

	struct pw_buf sum, line;
	pw_buf_init(&sum);
	pw_buf_init(&line);
	pw_buf_printf(&sum, "proof: %llu allowed and %llu denied records checked (%llu "
		      "skipped: ends not in the manifests): %zu would change",
		      (unsigned long long)proof.allowed, (unsigned long long)proof.denied,
		      (unsigned long long)proof.skipped, proof.n);
	if (proof.n)
		pw_buf_printf(&sum, " (%zu allowed -> denied, %zu denied -> allowed%s)", closed,
			      opened, opened && a.allow_denied ? ", accepted: --allow-denied" : "");
	pw_buf_puts(&sum, failed ? ": FAILED" : ": proven");
	if (!strcmp(fmt, "yaml")) {
		fputs(text.s, stdout);
		printf("---\n# %s\n", sum.s);
		for (size_t i = 0; i < proof.n; i++) {
			pw_buf_reset(&line);
			rec_line(&rs.v[proof.v[i].index], &line);
			printf("#   would be %s: %s\n", proof.v[i].was_allowed ? "denied" : "allowed",
			       line.s);
		}
		printf("# diff: what the recommendation changes (as podwall diff):\n");
		pw_buf_reset(&line);
		pw_diff_table(&d, "#   ", &line);
		fputs(line.s, stdout);
	} else {
		struct pw_doc *root = pw_doc_obj();
		pw_doc_add(root, "policies", pw_rec_doc(&rec));
		struct pw_doc *p = pw_doc_add(root, "proof", pw_doc_obj());
		pw_doc_add(p, "proven", pw_doc_bool(!failed));
		pw_doc_add(p, "allowed", pw_doc_int((long long)proof.allowed));
		pw_doc_add(p, "denied", pw_doc_int((long long)proof.denied));
		pw_doc_add(p, "skipped", pw_doc_int((long long)proof.skipped));
		struct pw_doc *ch = pw_doc_add(p, "changes", pw_doc_arr());
		for (size_t i = 0; i < proof.n; i++) {
			pw_buf_reset(&line);
			pw_flow_json(&rs.v[proof.v[i].index], &line);
			struct pw_doc *c1 = pw_doc_add(ch, NULL, pw_doc_obj());
			pw_doc_add(c1, "now", pw_doc_str(proof.v[i].was_allowed ? "deny" : "allow"));
			pw_doc_add(c1, "record", pw_doc_str(line.s));
		}
		pw_doc_add(root, "diff", cli_diff_doc(&d));
		cli_print_doc(root, "json");
		pw_doc_free(root);
	}
	fflush(stdout);
	uint32_t nrules = 0;
	for (uint32_t i = 0; i < rec.npols; i++)
		nrules += rec.pols[i].nrules[0] + rec.pols[i].nrules[1];
	fprintf(stderr, "recommend: namespace %s: %u polic%s, %u rules from %llu records "
		"(%llu used, %llu skipped)\n", ns, rec.npols, rec.npols == 1 ? "y" : "ies",
		nrules, (unsigned long long)rec.nrecords, (unsigned long long)rec.used,
		(unsigned long long)rec.skipped);
	fprintf(stderr, "recommend: %s\n", sum.s);
	for (size_t i = 0; i < proof.n; i++) {
		pw_buf_reset(&line);
		rec_line(&rs.v[proof.v[i].index], &line);
		fprintf(stderr, "recommend:   would be %s: %s\n",
			proof.v[i].was_allowed ? "denied" : "allowed", line.s);
	}
	fprintf(stderr, "recommend: diff: %zu change%s between pairs of workloads\n", d.n,
		d.n == 1 ? "" : "s");
	rc = failed ? EXIT_FINDINGS : 0;
	pw_buf_release(&sum);
	pw_buf_release(&line);
	pw_buf_release(&text);
	pw_diff_release(&d);
	pw_rec_proof_release(&proof);
out:
	if (have_b)
		cli_world_release(&wb);
	if (have_a)
		cli_world_release(&wa);
	if (have_rec)
		pw_rec_release(&rec);
	if (tmp)
		unlink(tmp);
	if (tmpdir)
		rmdir(tmpdir);
	free(tmp);
	free(tmpdir);
	free(o2.files);
	free(rs.v);
	flows_release(&a.st);
	free(a.specs);
	cli_opts_release(&o);
	return rc;
}
