// SPDX-License-Identifier: Apache-2.0
/*
 * podwall eval: one verdict with its reasons, or many (--batch) fast.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "doc.h"

static const char eval_usage[] =
	"usage: podwall eval -f FILE|DIR|- [-f ...] --src A --dst B --port PROTO/N\n"
	"       podwall eval -f FILE|DIR|- --batch FILE|-\n"
	"\n"
	"Decide whether A may open a connection to B on PROTO/N (TCP, UDP, SCTP;\n"
	"a bare number means TCP), and say which policy and rule decided it.\n"
	"A and B are ns/name (a pod, or a workload by its name), name (in the\n"
	"namespace given by -n, default 'default'), or an IPv4/IPv6 address.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"  -n, --namespace NS        namespace of names given without one\n"
	"      --src A, --dst B      the two ends\n"
	"      --port PROTO/N        the destination port\n"
	"      --batch FILE|-        lines 'SRC DST PROTO/PORT'; prints each line\n"
	"                            with ALLOW or DENY appended, in input order\n"
	"      --ipblock-excludes-pods  ipBlocks match only addresses outside\n"
	"                            the cluster (netpol-analyzer, Cilium reading)\n"
	"  -o, --output FORMAT       table (default), json or yaml\n"
	"  -v, --verbose             also list the objects that were skipped\n"
	"\n"
	"Exit status: 0 ALLOW, 1 DENY, 2 bad usage or input (batch: 0 unless an\n"
	"input line is malformed).\n";

static const char *pol_name(const struct cli_world *w, uint32_t k,
			    struct pw_buf *b)
{
	const struct pw_policy *p = &w->c.pols[k];
	pw_buf_reset(b);
	pw_buf_printf(b, "%s/%s", w->c.nss[p->ns].name, p->name);
	return b->s;
}

static const char *ep_name(const struct cli_world *w, const struct pw_ep *ep,
			   struct pw_buf *b)
{
	pw_buf_reset(b);
	if (ep->pod >= 0)
		return cli_pod_name(w, (uint32_t)ep->pod, b);
	char a[48];
	pw_addr_format(&ep->addr, a);
	pw_buf_puts(b, a);
	return b->s;
}

static const char *const dir_names[2] = { "ingress", "egress" };

static void text_dir(const struct cli_world *w, enum pw_dir d,
		     const struct pw_ep *self, const struct pw_ep *other,
		     const struct pw_why_dir *wd, int proto, int port)
{
	struct pw_buf b, o;
	pw_buf_init(&b);
	pw_buf_init(&o);
	printf("%-7s at %s %s: ", dir_names[d],
	       d == PW_EGRESS ? "source" : "destination", ep_name(w, self, &b));
	if (!wd->governed) {
		printf("%s\n", self->pod < 0 ? "outside the cluster, no policy applies"
					     : "hostNetwork pod, no policy applies");
	} else if (!wd->nisolating) {
		printf("not isolated (no policy selects it for %s): allowed\n",
		       dir_names[d]);
	} else {
		printf("isolated by");
		for (uint32_t i = 0; i < wd->nisolating; i++) {
			const struct pw_policy *p = &w->c.pols[wd->isolating[i]];
			printf("%s %s (%s:%d)", i ? "," : "",
			       pol_name(w, wd->isolating[i], &b), p->pos.file,
			       p->pos.line);
		}
		putchar('\n');
		if (wd->rule >= 0) {
			const struct pw_policy *p = &w->c.pols[wd->policy];
			const struct pw_rule *r = &p->rules[d][wd->rule];
			printf("  allowed by %s %s[%d] (%s:%d)\n",
			       pol_name(w, (uint32_t)wd->policy, &b),
			       dir_names[d], wd->rule, r->pos.file, r->pos.line);
		} else {
			printf("  denied: no rule allows %s/%d %s %s\n",
			       pw_proto_name(proto), port,
			       d == PW_EGRESS ? "to" : "from",
			       ep_name(w, other, &o));
		}
	}
	pw_buf_release(&b);
	pw_buf_release(&o);
}

static struct doc *doc_dir(const struct cli_world *w, enum pw_dir d,
			   const struct pw_ep *self,
			   const struct pw_why_dir *wd)
{
	struct pw_buf b;
	pw_buf_init(&b);
	struct doc *o = doc_obj();
	doc_add(o, "endpoint", doc_str(ep_name(w, self, &b)));
	doc_add(o, "governed", doc_bool(wd->governed));
	doc_add(o, "isolated", doc_bool(wd->nisolating > 0));
	struct doc *iso = doc_add(o, "isolatedBy", doc_arr());
	for (uint32_t i = 0; i < wd->nisolating; i++) {
		const struct pw_policy *p = &w->c.pols[wd->isolating[i]];
		struct doc *x = doc_add(iso, NULL, doc_obj());
		doc_add(x, "policy", doc_str(pol_name(w, wd->isolating[i], &b)));
		doc_add(x, "file", doc_str(p->pos.file));
		doc_add(x, "line", doc_int(p->pos.line));
	}
	if (wd->rule >= 0) {
		const struct pw_policy *p = &w->c.pols[wd->policy];
		const struct pw_rule *r = &p->rules[d][wd->rule];
		struct doc *x = doc_add(o, "allowedBy", doc_obj());
		doc_add(x, "policy", doc_str(pol_name(w, (uint32_t)wd->policy, &b)));
		doc_add(x, "rule", doc_int(wd->rule));
		doc_add(x, "file", doc_str(r->pos.file));
		doc_add(x, "line", doc_int(r->pos.line));
	} else {
		doc_add(o, "allowedBy", doc_null());
	}
	bool ok = !wd->governed || !wd->nisolating || wd->rule >= 0;
	doc_add(o, "verdict", doc_str(ok ? "ALLOW" : "DENY"));
	pw_buf_release(&b);
	return o;
}

static int eval_one(const struct cli_world *w, const struct cli_opts *o,
		    const char *src, const char *dst, const char *portspec)
{
	int proto, port;
	if (pw_protoport_parse(portspec, &proto, &port) < 0) {
		cli_error("invalid --port '%s' (want PROTO/N, e.g. TCP/80)",
			  portspec);
		return EXIT_USAGE;
	}
	struct pw_ep *s = NULL, *d = NULL;
	int ns = cli_resolve(w, src, o->ns, &s);
	int nd = cli_resolve(w, dst, o->ns, &d);
	if (!ns || !nd) {
		cli_error("unknown endpoint '%s' (want ns/name of a pod or workload, or an IP address)",
			  !ns ? src : dst);
		free(s);
		free(d);
		return EXIT_USAGE;
	}
	/* a workload is allowed only if every replica pair is */
	struct pw_verdict v, first_deny, first;
	bool any_deny = false;
	int fs = 0, fd = 0;
	for (int i = 0; i < ns; i++)
		for (int k = 0; k < nd; k++) {
			pw_engine_eval(&w->e, &s[i], &d[k], proto, port, &v);
			if (i == 0 && k == 0)
				first = v;
			if (!v.allowed && !any_deny) {
				any_deny = true;
				first_deny = v;
				fs = i;
				fd = k;
			}
		}
	const struct pw_verdict *show = any_deny ? &first_deny : &first;
	const struct pw_ep *ss = &s[any_deny ? fs : 0], *dd = &d[any_deny ? fd : 0];
	const char *out = o->output ? o->output : "table";
	if (!strcmp(out, "table")) {
		printf("%s\n", any_deny ? "DENY" : "ALLOW");
		printf("%s/%d from %s to %s\n", pw_proto_name(proto), port, src, dst);
		if (ns > 1 || nd > 1)
			printf("(%d x %d replica pairs; showing %s)\n", ns, nd,
			       any_deny ? "the first denied pair" : "the first pair");
		if (show->self) {
			printf("a pod can always reach itself: no policy applies\n");
		} else {
			text_dir(w, PW_EGRESS, ss, dd, &show->dir[PW_EGRESS], proto, port);
			text_dir(w, PW_INGRESS, dd, ss, &show->dir[PW_INGRESS], proto, port);
		}
	} else {
		struct doc *r = doc_obj();
		doc_add(r, "verdict", doc_str(any_deny ? "DENY" : "ALLOW"));
		doc_add(r, "src", doc_str(src));
		doc_add(r, "dst", doc_str(dst));
		doc_add(r, "protocol", doc_str(pw_proto_name(proto)));
		doc_add(r, "port", doc_int(port));
		doc_add(r, "self", doc_bool(show->self));
		doc_add(r, "egress", doc_dir(w, PW_EGRESS, ss, &show->dir[PW_EGRESS]));
		doc_add(r, "ingress", doc_dir(w, PW_INGRESS, dd, &show->dir[PW_INGRESS]));
		doc_print(r, out, stdout);
		doc_free(r);
	}
	free(s);
	free(d);
	return any_deny ? EXIT_FINDINGS : 0;
}

struct resolved {
	struct pw_ep *eps;
	int n;
};

static struct resolved *batch_resolve(const struct cli_world *w,
				      const struct cli_opts *o,
				      struct pw_strmap *cache,
				      struct pw_arena *a, const char *spec)
{
	struct resolved *r = pw_strmap_get(cache, spec);
	if (r)
		return r;
	r = pw_arena_alloc(a, sizeof(*r));
	struct pw_ep *eps;
	r->n = cli_resolve(w, spec, o->ns, &eps);
	if (r->n) {
		r->eps = pw_arena_alloc(a, (size_t)r->n * sizeof(*eps));
		memcpy(r->eps, eps, (size_t)r->n * sizeof(*eps));
	}
	free(eps);
	pw_strmap_put(cache, pw_arena_strdup(a, spec), r);
	return r;
}

static int eval_batch(const struct cli_world *w, const struct cli_opts *o,
		      const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		cli_error("cannot open '%s'", path);
		return EXIT_USAGE;
	}
	struct pw_strmap cache;
	struct pw_arena a;
	pw_strmap_init(&cache);
	pw_arena_init(&a);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = 0;
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		char *save, *f1, *f2, *f3, *f4;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		f1 = strtok_r(p, " \t", &save);
		f2 = strtok_r(NULL, " \t", &save);
		f3 = strtok_r(NULL, " \t", &save);
		f4 = strtok_r(NULL, " \t", &save);
		int proto, port;
		if (!f3 || pw_protoport_parse(f3, &proto, &port) < 0) {
			fprintf(stderr, "%s:%ld: error: want 'SRC DST PROTO/PORT'\n",
				path, lineno);
			rc = EXIT_USAGE;
			continue;
		}
		(void)f4; /* an expected verdict may follow; ignored */
		struct resolved *s = batch_resolve(w, o, &cache, &a, f1);
		struct resolved *d = batch_resolve(w, o, &cache, &a, f2);
		if (!s->n || !d->n) {
			fprintf(stderr, "%s:%ld: error: unknown endpoint '%s'\n",
				path, lineno, !s->n ? f1 : f2);
			printf("%s %s %s ERROR\n", f1, f2, f3);
			rc = EXIT_USAGE;
			continue;
		}
		bool ok = true;
		struct pw_verdict v;
		for (int i = 0; i < s->n && ok; i++)
			for (int k = 0; k < d->n && ok; k++) {
				pw_engine_eval(&w->e, &s->eps[i], &d->eps[k],
					       proto, port, &v);
				ok = v.allowed;
			}
		printf("%s %s %s %s\n", f1, f2, f3, ok ? "ALLOW" : "DENY");
	}
	fflush(stdout);
	setvbuf(stdout, NULL, _IOLBF, 0);
	free(line);
	if (f != stdin)
		fclose(f);
	pw_strmap_release(&cache);
	pw_arena_release(&a);
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	const char *src = NULL, *dst = NULL, *port = NULL, *batch = NULL;
	int rc = EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		int err = 0, r;
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(eval_usage, stdout);
			rc = 0;
			goto out;
		}
		if ((r = cli_common_opt(&o, argc, argv, &i)) != 0) {
			if (r < 0)
				goto out;
			continue;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--src", &err)))
			src = v;
		else if ((v = cli_optval(argc, argv, &i, NULL, "--dst", &err)))
			dst = v;
		else if ((v = cli_optval(argc, argv, &i, "-p", "--port", &err)))
			port = v;
		else if ((v = cli_optval(argc, argv, &i, NULL, "--batch", &err)))
			batch = v;
		else if (!err) {
			cli_error("eval: unknown option '%s'", argv[i]);
			fputs(eval_usage, stderr);
			goto out;
		}
		if (err)
			goto out;
	}
	static const char *const outs[] = { "table", "json", "yaml", NULL };
	if (o.output && !cli_output_ok(o.output, outs)) {
		cli_error("eval: -o must be table, json or yaml");
		goto out;
	}
	if (!batch && (!src || !dst || !port)) {
		cli_error("eval: need --src, --dst and --port (or --batch)");
		fputs(eval_usage, stderr);
		goto out;
	}
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	rc = batch ? eval_batch(&w, &o, batch) : eval_one(&w, &o, src, dst, port);
	cli_world_release(&w);
out:
	cli_opts_release(&o);
	return rc;
}
