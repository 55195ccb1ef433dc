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
#include "doc.h"

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
	"      --stats               timings and peak memory on stderr\n"
	"  -v, --verbose             also list the objects that were skipped\n";

struct mx_ep {
	char *name;
	int group; /* -1: external or a Service */
	struct pw_addr addr;
	const struct pw_service *svc; /* --services: a destination only */
};

/* Pairs the matrix says nothing of: two outside ends, a Service as the
   source */
static bool mx_na(const struct mx_ep *a, const struct mx_ep *b)
{
	return a->svc || (a->group < 0 && !a->svc && b->group < 0 && !b->svc);
}

struct mx_port {
	int proto;
	unsigned lo, hi; /* class [lo,hi]; lo is the representative */
};

static void mx_conns(const struct cli_world *w, const struct pw_engine *e,
		     const struct pw_reach *r, const struct mx_ep *a,
		     const struct mx_ep *b, struct pw_conns *out)
{
	if (!b->svc) {
		cli_pair_conns(&w->c, e, r, a->group, &a->addr, b->group, &b->addr, out);
		return;
	}
	/* to a Service: through its backends, every replica of a */
	const struct pw_cluster *c = &w->c;
	uint32_t n = a->group < 0 ? 1 : c->groups[a->group].npods;
	struct pw_ep *src = pw_xmalloc(n * sizeof(*src));
	for (uint32_t i = 0; i < n; i++)
		src[i] = a->group < 0 ? pw_ep_addr(&a->addr)
				      : pw_ep_pod(c, c->groups[a->group].pods[i]);
	pw_service_conns(e, r, src, (int)n, b->svc, out);
	free(src);
}

/* Port class boundaries: every start and end+1 of every rule port. */
static size_t port_classes(const struct cli_world *w, bool services,
			   struct mx_port **out)
{
	unsigned char *cut[PW_NPROTO];
	for (int p = 0; p < PW_NPROTO; p++) {
		cut[p] = pw_xcalloc(PW_PORT_MAX + 2, 1);
		cut[p][1] = 1;
	}
	pw_engine_port_cuts(&w->e, cut);
	if (w->staged)
		pw_engine_port_cuts(w->staged, cut);
	for (uint32_t i = 0; services && i < w->c.nsvcs; i++)
		for (uint32_t k = 0; k < w->c.svcs[i].nports; k++) {
			const struct pw_svc_port *sp = &w->c.svcs[i].ports[k];
			cut[sp->proto][sp->port] = cut[sp->proto][sp->port + 1] = 1;
		}
	size_t n = 0, cap = 0;
	*out = NULL;
	for (int p = 0; p < PW_NPROTO; p++) {
		unsigned lo = 1;
		for (unsigned x = 2; x <= PW_PORT_MAX + 1; x++)
			if (x == PW_PORT_MAX + 1 || cut[p][x]) {
				if (n == cap) {
					cap = cap ? cap * 2 : 8;
					*out = pw_xrealloc(*out, cap * sizeof(**out));
				}
				(*out)[n++] = (struct mx_port){ p, lo, x - 1 };
				lo = x;
			}
		free(cut[p]);
	}
	return n;
}

static void print_table(struct mx_ep *eps, size_t n, const char *title,
			const unsigned char *cells)
{
	size_t wid = 3;
	for (size_t i = 0; i < n; i++)
		if (strlen(eps[i].name) > wid)
			wid = strlen(eps[i].name);
	printf("%s\n%*s", title, (int)wid + 6, "");
	for (size_t k = 0; k < n; k++)
		printf(" %2zu", k + 1);
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		if (eps[i].svc)
			continue; /* a Service is never a source */
		printf("  %2zu  %-*s", i + 1, (int)wid, eps[i].name);
		for (size_t k = 0; k < n; k++)
			printf("  %c", cells[i * n + k]);
		putchar('\n');
	}
}

struct port_ctx {
	struct mx_port **ports;
	size_t *n;
	bool services;
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
	const char *v = cli_optval(argc, argv, i, "-p", "--port", &err);
	if (err)
		return -1;
	if (!v)
		return 0;
	if (pw_protoport_parse(v, &proto, &port) < 0) {
		cli_error("matrix: invalid --port %s (want PROTO/N)", cli_q(v));
		return -1;
	}
	*pc->ports = pw_xrealloc(*pc->ports, (*pc->n + 1) * sizeof(**pc->ports));
	(*pc->ports)[(*pc->n)++] = (struct mx_port){ proto, (unsigned)port, (unsigned)port };
	return 1;
}

int cmd_matrix(int argc, char **argv)
{
	struct cli_opts o = { 0 };
	int rc = EXIT_USAGE;
	struct mx_port *ports = NULL;
	size_t nports = 0;
	struct port_ctx pc = { &ports, &nports, false };
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
	struct cli_world w;
	if (cli_world_load(&w, &o) < 0) {
		cli_world_release(&w);
		goto out;
	}
	const struct pw_cluster *c = &w.c;
	int nsf = o.ns ? pw_cluster_find_ns(c, o.ns) : -2;
	struct cli_extclass *ext;
	const struct pw_engine *es[2] = { &w.e, w.staged };
	size_t next = cli_ext_classes(es, w.staged ? 2 : 1, true, &ext);
	struct mx_ep *eps = pw_xcalloc(c->ngroups + next + c->nsvcs + 1, sizeof(*eps));
	size_t n = 0;
	struct pw_buf b;
	pw_buf_init(&b);
	for (uint32_t i = 0; i < c->ngroups; i++) {
		if (nsf != -2 && (int)c->groups[i].ns != nsf)
			continue;
		pw_buf_reset(&b);
		eps[n].name = pw_xstrdup(pw_group_kind_name(c, &c->groups[i], &b));
		eps[n++].group = (int)i;
	}
	for (size_t i = 0; i < next; i++) {
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s[External]", ext[i].name);
		eps[n].name = pw_xstrdup(b.s);
		eps[n].group = -1;
		eps[n++].addr = ext[i].lo;
	}
	free(ext);
	for (uint32_t i = 0; pc.services && i < c->nsvcs; i++) {
		const struct pw_service *sv = &c->svcs[i];
		if (nsf != -2 && (int)sv->ns != nsf)
			continue;
		pw_buf_reset(&b);
		pw_buf_printf(&b, "%s/%s[Service]", c->nss[sv->ns].name, sv->name);
		eps[n].name = pw_xstrdup(b.s);
		eps[n].group = -1;
		eps[n++].svc = sv;
	}
	bool by_port = nports > 0;
	struct pw_conns *cs = NULL, *ss = NULL;
	unsigned char *grid = NULL;
	size_t *same = NULL;
	bool stream = !by_port && (!strcmp(fmt, "csv") || !strcmp(fmt, "json") ||
				   !strcmp(fmt, "yaml"));
	if (stream) {
		/* one pair at a time, computed and printed in turn: memory
		   does not grow with the number of pairs */
		static char obuf[1 << 16];
		struct pw_conns a, z;
		struct doc_stream ds;
		struct pw_buf *enc = NULL, v1, v2; /* names as scalars */
		bool csv = !strcmp(fmt, "csv");
		pw_buf_init(&v1);
		pw_buf_init(&v2);
		pw_conns_init(&a);
		pw_conns_init(&z);
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
		if (csv) {
			printf(w.staged ? "src,dst,allowed,staged\n" : "src,dst,allowed\n");
		} else {
			struct doc *head = doc_obj();
			struct doc *ea = doc_add(head, "endpoints", doc_arr());
			for (size_t i = 0; i < n; i++)
				doc_add(ea, NULL, doc_str(eps[i].name));
			doc_stream_begin(&ds, fmt, stdout, head, "cells");
			doc_free(head);
			enc = pw_xcalloc(n + 1, sizeof(*enc));
			for (size_t i = 0; i < n; i++) {
				pw_buf_init(&enc[i]);
				doc_stream_scalar(&ds, eps[i].name, &enc[i]);
			}
		}
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n; k++) {
				if (mx_na(&eps[i], &eps[k]))
					continue;
				mx_conns(&w, &w.e, w.reach, &eps[i], &eps[k], &a);
				if (w.staged)
					mx_conns(&w, w.staged, w.staged_reach, &eps[i], &eps[k], &z);
				pw_buf_reset(&b);
				pw_conns_format(&a, &b);
				if (csv) {
					printf("%s,%s,\"%s\"", eps[i].name, eps[k].name, b.s);
					if (w.staged) {
						pw_buf_reset(&b);
						pw_conns_format(&z, &b);
						printf(",\"%s\"", b.s);
					}
					putchar('\n');
					continue;
				}
				static const char *const keys[] = { "src", "dst",
								    "allowed", "staged" };
				const char *vals[4] = { enc[i].s, enc[k].s, NULL, NULL };
				doc_stream_scalar(&ds, b.s, &v1);
				vals[2] = v1.s;
				if (w.staged) {
					pw_buf_reset(&b);
					pw_conns_format(&z, &b);
					doc_stream_scalar(&ds, b.s, &v2);
					vals[3] = v2.s;
				}
				doc_stream_flat(&ds, keys, vals, w.staged ? 4 : 3);
			}
		if (!csv) {
			doc_stream_end(&ds);
			for (size_t i = 0; i < n; i++)
				pw_buf_release(&enc[i]);
			free(enc);
		}
		pw_buf_release(&v1);
		pw_buf_release(&v2);
		fflush(stdout);
		setvbuf(stdout, NULL, _IOLBF, 0);
		pw_conns_release(&a);
		pw_conns_release(&z);
		goto done;
	}
	/* every pair's connection set, once */
	cs = pw_xcalloc(n * n, sizeof(*cs));
	ss = w.staged ? pw_xcalloc(n * n, sizeof(*ss)) : NULL;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < n; k++)
			if (!mx_na(&eps[i], &eps[k])) {
				mx_conns(&w, &w.e, w.reach, &eps[i], &eps[k],
					 &cs[i * n + k]);
				if (ss)
					mx_conns(&w, w.staged, w.staged_reach, &eps[i],
						 &eps[k], &ss[i * n + k]);
			}
	if (!by_port)
		nports = port_classes(&w, pc.services, &ports);
	/* one cell grid per port (class); classes with equal grids merge */
	grid = pw_xmalloc(nports * n * n + 1);
	for (size_t p = 0; p < nports; p++)
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n; k++) {
				unsigned char *g = &grid[p * n * n + i * n + k];
				if (mx_na(&eps[i], &eps[k])) {
					*g = ' ';
					continue;
				}
				bool now = pw_conns_has(&cs[i * n + k], ports[p].proto,
							ports[p].lo);
				bool then = ss ? pw_conns_has(&ss[i * n + k], ports[p].proto,
							      ports[p].lo) : now;
				*g = now == then ? (now ? '.' : 'X') : (now ? '-' : '+');
			}
	same = pw_xmalloc((nports + 1) * sizeof(*same));
	for (size_t p = 0; p < nports; p++) {
		same[p] = p;
		if (!by_port)
			for (size_t q = 0; q < p; q++)
				if (same[q] == q && !memcmp(&grid[p * n * n],
							    &grid[q * n * n], n * n)) {
					same[p] = q;
					break;
				}
	}
	if (!strcmp(fmt, "table")) {
		printf("Endpoints:\n");
		for (size_t i = 0; i < n; i++)
			printf("  %2zu  %s\n", i + 1, eps[i].name);
		struct pw_conns label;
		pw_conns_init(&label);
		for (size_t p = 0; p < nports; p++) {
			if (same[p] != p)
				continue;
			pw_conns_clear(&label);
			for (size_t q = p; q < nports; q++)
				if (same[q] == p)
					pw_conns_add(&label, ports[q].proto,
						     ports[q].lo, ports[q].hi);
			pw_buf_reset(&b);
			pw_buf_puts(&b, "\nPorts: ");
			if (by_port)
				pw_buf_printf(&b, "%s/%u", pw_proto_name(ports[p].proto),
					      ports[p].lo);
			else
				pw_conns_format(&label, &b);
			pw_buf_puts(&b, ss ? "   ('.' allowed, 'X' denied, '-' allowed now but denied if staged policies were enforced, '+' the reverse; rows: from, columns: to)"
					   : "   ('.' allowed, 'X' denied; rows: from, columns: to)");
			print_table(eps, n, b.s, &grid[p * n * n]);
		}
		pw_conns_release(&label);
	} else if (!strcmp(fmt, "csv")) { /* by port; without, see above */
		printf(ss ? "src,dst,port,verdict,staged\n" : "src,dst,port,verdict\n");
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n; k++) {
				if (mx_na(&eps[i], &eps[k]))
					continue;
				for (size_t p = 0; p < nports; p++) {
					char g = (char)grid[p * n * n + i * n + k];
					printf("%s,%s,%s/%u,%s", eps[i].name, eps[k].name,
					       pw_proto_name(ports[p].proto), ports[p].lo,
					       g == '.' || g == '-' ? "allow" : "deny");
					if (ss)
						printf(",%s", g == '.' || g == '+' ? "allow" : "deny");
					putchar('\n');
				}
			}
	} else if (!strcmp(fmt, "md")) {
		printf("| from \\ to |");
		for (size_t k = 0; k < n; k++)
			printf(" %s |", eps[k].name);
		printf("\n|---|");
		for (size_t k = 0; k < n; k++)
			printf("---|");
		putchar('\n');
		for (size_t i = 0; i < n; i++) {
			printf("| %s |", eps[i].name);
			for (size_t k = 0; k < n; k++) {
				pw_buf_reset(&b);
				if (mx_na(&eps[i], &eps[k]))
					pw_buf_puts(&b, "");
				else if (by_port)
					for (size_t p = 0; p < nports; p++)
						pw_buf_printf(&b, "%s%s/%u %s", p ? ", " : "",
							      pw_proto_name(ports[p].proto), ports[p].lo,
							      grid[p * n * n + i * n + k] == '.' ? "allow" : "deny");
				else
					pw_conns_format(&cs[i * n + k], &b);
				printf(" %s |", b.len ? b.s : "");
			}
			putchar('\n');
		}
	} else {
		struct doc *r = doc_obj();
		struct doc *ea = doc_add(r, "endpoints", doc_arr());
		for (size_t i = 0; i < n; i++)
			doc_add(ea, NULL, doc_str(eps[i].name));
		struct doc *cells = doc_add(r, "cells", doc_arr());
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < n; k++) {
				if (mx_na(&eps[i], &eps[k]))
					continue;
				struct doc *x = doc_add(cells, NULL, doc_obj());
				doc_add(x, "src", doc_str(eps[i].name));
				doc_add(x, "dst", doc_str(eps[k].name));
				/* by port; without --port, see above */
				struct doc *v = doc_add(x, "verdicts", doc_obj());
				for (size_t p = 0; p < nports; p++) {
					char key[16];
					snprintf(key, sizeof(key), "%s/%u",
						 pw_proto_name(ports[p].proto), ports[p].lo);
					char g = (char)grid[p * n * n + i * n + k];
					doc_add(v, key, doc_str(g == '.' || g == '-' ? "allow" : "deny"));
					if (ss) {
						char key2[24];
						snprintf(key2, sizeof(key2), "%s staged", key);
						doc_add(v, key2, doc_str(g == '.' || g == '+'
									 ? "allow" : "deny"));
					}
				}
			}
		doc_print(r, fmt, stdout);
		doc_free(r);
	}
	for (size_t i = 0; i < n * n; i++) {
		pw_conns_release(&cs[i]);
		if (ss)
			pw_conns_release(&ss[i]);
	}
done:
	free(cs);
	free(ss);
	free(grid);
	free(same);
	for (size_t i = 0; i < n; i++)
		free(eps[i].name);
	free(eps);
	pw_buf_release(&b);
	cli_world_release(&w);
	rc = 0;
out:
	free(ports);
	cli_opts_release(&o);
	return rc;
}
