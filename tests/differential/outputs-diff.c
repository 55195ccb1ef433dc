// SPDX-License-Identifier: Apache-2.0
/*
 * The differential test of the whole-cluster outputs against `eval`.
 *
 * Every output that describes the whole cluster is read back: matrix
 * (-o table, csv, json, yaml, md), connlist (txt, csv) and, given a second
 * cluster, diff (csv).  Each claims what may flow between every pair of its
 * endpoints.  `podwall eval --batch` is asked the same questions: every
 * pair of sample endpoints at every sample port.  Each claim must equal
 * eval's answer; for diff, a change is claimed exactly where eval's answers
 * on the two clusters differ, with the answer of the second.
 *
 * Sample endpoints: every workload (and ownerless pod) by name, and
 * addresses outside the cluster: both ends of every address class of the
 * engine, and random ones.  Sample ports: for TCP, UDP and SCTP, 1, 65535
 * and both sides of every boundary of the policies' port classes.  The
 * library is used only to choose the questions; every answer comes from
 * the command line.
 *
 * usage: outputs-diff [--flags N] PODWALL A.yaml [B.yaml]
 *   N: 1 --ipblock-excludes-pods, 2 --hostnetwork-as-pods (bits)
 * Prints "outputs-diff: P passed, F failed" (one check per output).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../../lib/engine.h"

#define MAX_REPORT 5

/* append to a heap array */
#define PUSH(arr, n, cap)                                                    \
	(((n) == (cap) ? ((cap) = (cap) ? (cap) * 2 : 16,                    \
			  (arr) = pw_xrealloc((arr), (cap) * sizeof(*(arr)))) \
		       : 0),                                                 \
	 &(arr)[(n)++])

struct ep {
	char *name;  /* as outputs print it: "ns/name[Kind]" */
	char *query; /* as eval takes it: "ns/name" or an address */
	bool addr;
	struct pw_addr a;
	bool svc; /* a Service: a destination only */
};

struct sample {
	struct ep *eps;
	size_t n, cap;
	int (*ports)[2]; /* proto, port */
	size_t nports;
};

static struct pw_buf cmdbuf;
static const char *podwall, *cli_flags = "";
static int failed_checks, passed_checks;

static void check(bool ok, const char *what)
{
	if (ok) {
		passed_checks++;
	} else {
		failed_checks++;
		printf("FAIL: %s\n", what);
	}
}

/* stdout of a shell command (heap, NUL-terminated) */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
	va_list ap;
	pw_buf_reset(&cmdbuf);
	va_start(ap, fmt);
	char *c = NULL;
	if (vasprintf(&c, fmt, ap) < 0)
		abort();
	va_end(ap);
	FILE *f = popen(c, "r");
	if (!f) {
		perror("popen");
		exit(2);
	}
	struct pw_buf b;
	pw_buf_init(&b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		pw_buf_add(&b, chunk, n);
	int st = pclose(f);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		printf("FAIL: '%s' exited with %d\n", c, st);
		failed_checks++;
	}
	free(c);
	char *s = pw_xstrdup(b.len ? b.s : "");
	pw_buf_release(&b);
	return s;
}

static void ep_add(struct sample *s, const char *name, const char *query,
		   const struct pw_addr *a)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->eps = pw_xrealloc(s->eps, s->cap * sizeof(*s->eps));
	}
	s->eps[s->n++] = (struct ep){ pw_xstrdup(name), pw_xstrdup(query),
				      a != NULL, a ? *a : (struct pw_addr){ 0 },
				      false };
}

static bool is_pod_addr(const struct pw_cluster *c, const struct pw_addr *a)
{
	for (uint32_t i = 0; i < c->npods; i++)
		for (uint32_t k = 0; k < c->pods[i].naddrs; k++)
			if (!pw_addr_cmp(&c->pods[i].addrs[k], a))
				return true;
	return false;
}

static void addr_add(struct sample *s, const struct pw_cluster *c,
		     const struct pw_addr *a)
{
	if (is_pod_addr(c, a))
		return; /* eval takes a pod's address as the pod */
	for (size_t i = 0; i < s->n; i++)
		if (s->eps[i].addr && !pw_addr_cmp(&s->eps[i].a, a))
			return;
	char t[48];
	pw_addr_format(a, t);
	ep_add(s, t, t, a);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void samples(struct sample *s, const struct pw_engine *const *es,
		    size_t ne)
{
	const struct pw_cluster *c = es[0]->c;
	struct pw_buf b;
	pw_buf_init(&b);
	for (uint32_t i = 0; i < c->ngroups; i++) {
		const struct pw_group *g = &c->groups[i];
		pw_buf_reset(&b);
		pw_group_kind_name(c, g, &b);
		char q[512];
		snprintf(q, sizeof(q), "%s/%s", c->nss[g->ns].name, g->name);
		ep_add(s, b.s, q, NULL);
	}
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		const struct pw_service *sv = &c->svcs[i];
		char n[600], q[600];
		snprintf(n, sizeof(n), "%s/%s[Service]", c->nss[sv->ns].name, sv->name);
		snprintf(q, sizeof(q), "%s.%s", sv->name, c->nss[sv->ns].name);
		ep_add(s, n, q, NULL);
		s->eps[s->n - 1].svc = true;
	}
	pw_buf_release(&b);
	bool v6 = false;
	for (size_t e = 0; e < ne; e++) {
		struct pw_addr *v;
		size_t n = pw_engine_addr_bounds(es[e], &v);
		struct pw_addr_class *ac;
		size_t nc = pw_addr_classes(v, n, &ac);
		for (size_t i = 0; i < nc; i++) {
			if (ac[i].lo.family == 6 && nc - i == 1 && !v6)
				break; /* IPv6 is not cut: outputs may leave it out */
			v6 |= ac[i].lo.family == 6;
			addr_add(s, c, &ac[i].lo);
			addr_add(s, c, &ac[i].hi);
		}
		free(ac);
		free(v);
	}
	for (int i = 0; i < 4; i++) {
		struct pw_addr a = pw_addr_from_v4(rnd());
		addr_add(s, c, &a);
	}
	unsigned char *cut[PW_NPROTO];
	for (int p = 0; p < PW_NPROTO; p++)
		cut[p] = pw_xcalloc(PW_PORT_MAX + 2, 1);
	for (size_t e = 0; e < ne; e++)
		pw_engine_port_cuts(es[e], cut);
	for (uint32_t i = 0; i < c->nsvcs; i++)
		for (uint32_t k = 0; k < c->svcs[i].nports; k++) {
			const struct pw_svc_port *sp = &c->svcs[i].ports[k];
			cut[sp->proto][sp->port] = cut[sp->proto][sp->port + 1] = 1;
		}
	s->ports = pw_xmalloc(3 * (PW_PORT_MAX + 2) * sizeof(*s->ports));
	for (int p = 0; p < PW_NPROTO; p++) {
		for (unsigned x = 1; x <= PW_PORT_MAX; x++)
			if (x == 1 || x == PW_PORT_MAX || cut[p][x] ||
			    cut[p][x + 1]) {
				s->ports[s->nports][0] = p;
				s->ports[s->nports++][1] = (int)x;
			}
		free(cut[p]);
	}
}

/* pairs no output speaks of: two addresses, a Service as the source */
static bool skip(const struct ep *a, const struct ep *b)
{
	return a->svc || (a->addr && b->addr);
}

/* eval's answer for every pair of sample endpoints (not two addresses) at
   every sample port: truth[(i * n + k) * nports + p] */
static unsigned char *ask_eval(const struct sample *s, const char *file,
			       const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/batch", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->n; k++) {
			if (skip(&s->eps[i], &s->eps[k]))
				continue;
			for (size_t p = 0; p < s->nports; p++)
				fprintf(f, "%s %s %s/%d\n", s->eps[i].query,
					s->eps[k].query,
					pw_proto_name(s->ports[p][0]), s->ports[p][1]);
		}
	fclose(f);
	char *out = run("%s eval -f %s %s --batch %s", podwall, file, cli_flags, path);
	unsigned char *t = pw_xcalloc(s->n * s->n * s->nports + 1, 1);
	char *line = out, *nl;
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->n; k++) {
			if (skip(&s->eps[i], &s->eps[k]))
				continue;
			for (size_t p = 0; p < s->nports; p++) {
				if (!line || !(nl = strchr(line, '\n'))) {
					printf("FAIL: eval --batch ended early\n");
					exit(1);
				}
				*nl = 0;
				size_t len = strlen(line);
				t[(i * s->n + k) * s->nports + p] =
					len > 6 && !strcmp(line + len - 6, " ALLOW");
				line = nl + 1;
			}
		}
	free(out);
	return t;
}

/* ---- what an output claims ---------------------------------------------- */

struct range {
	char *name;
	struct pw_addr lo, hi;
};

struct claims {
	const char *what;
	struct pw_strmap cells; /* "src\x1f" "dst" -> struct pw_conns * */
	struct range *r[2];	/* outside endpoints as sources, destinations */
	size_t nr[2], rcap[2];
	bool absent_empty; /* a pair not listed allows nothing (connlist) */
	bool v4_only;	   /* says nothing of IPv6 (connlist) */
	bool services;	   /* has Services as destinations */
	int errors;
};

static void claims_init(struct claims *c, const char *what)
{
	memset(c, 0, sizeof(*c));
	c->what = what;
	pw_strmap_init(&c->cells);
}

static void claims_release(struct claims *c)
{
	for (size_t i = 0; i < c->cells.cap; i++)
		if (c->cells.keys[i]) {
			pw_conns_release(c->cells.vals[i]);
			free(c->cells.vals[i]);
			free((char *)c->cells.keys[i]);
		}
	pw_strmap_release(&c->cells);
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c->nr[d]; i++)
			free(c->r[d][i].name);
		free(c->r[d]);
	}
}

static void bad(struct claims *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void bad(struct claims *c, const char *fmt, ...)
{
	if (c->errors++ < MAX_REPORT) {
		va_list ap;
		printf("  %s: ", c->what);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
	}
}

/* "a-b[External]" or "cidr[External]": an outside range */
static bool parse_range(const char *name, struct range *out)
{
	size_t n = strlen(name);
	if (n < 10 || strcmp(name + n - 10, "[External]"))
		return false;
	char t[256];
	if (n - 10 >= sizeof(t))
		return false;
	memcpy(t, name, n - 10);
	t[n - 10] = 0;
	char *dash = strchr(t, '-');
	if (dash) {
		*dash = 0;
		if (pw_addr_parse(t, &out->lo) || pw_addr_parse(dash + 1, &out->hi))
			return false;
	} else {
		struct pw_cidr c;
		if (pw_cidr_parse(t, &c))
			return false;
		out->lo = c.addr;
		out->hi = pw_cidr_last(&c);
	}
	out->name = pw_xstrdup(name);
	return true;
}

static void note_range(struct claims *c, int role, const char *name)
{
	for (size_t i = 0; i < c->nr[role]; i++)
		if (!strcmp(c->r[role][i].name, name))
			return;
	struct range r;
	if (!parse_range(name, &r))
		return;
	for (size_t i = 0; i < c->nr[role]; i++)
		if (pw_addr_cmp(&r.lo, &c->r[role][i].hi) <= 0 &&
		    pw_addr_cmp(&c->r[role][i].lo, &r.hi) <= 0 &&
		    r.lo.family == c->r[role][i].lo.family)
			bad(c, "ranges %s and %s overlap", name, c->r[role][i].name);
	*PUSH(c->r[role], c->nr[role], c->rcap[role]) = r;
}

/* the conns of (src, dst), created empty */
static struct pw_conns *cell(struct claims *c, const char *src, const char *dst)
{
	char key[1024];
	snprintf(key, sizeof(key), "%s\x1f%s", src, dst);
	struct pw_conns *v = pw_strmap_get(&c->cells, key);
	if (!v) {
		v = pw_xmalloc(sizeof(*v));
		pw_conns_init(v);
		pw_strmap_put(&c->cells, pw_xstrdup(key), v);
		note_range(c, 0, src);
		note_range(c, 1, dst);
	}
	return v;
}

static void claim(struct claims *c, const char *src, const char *dst,
		  const char *conns, size_t n)
{
	struct pw_conns *v = cell(c, src, dst), x;
	pw_conns_init(&x);
	if (pw_conns_parse(conns, n, &x) < 0)
		bad(c, "%s => %s: unreadable connections '%.*s'", src, dst,
		    (int)n, conns);
	pw_conns_union(v, &x);
	pw_conns_release(&x);
}

/* The output's name for a sample endpoint in a role; NULL: not covered */
static const char *name_in(const struct claims *c, const struct ep *e, int role)
{
	if (!e->addr)
		return e->name;
	for (size_t i = 0; i < c->nr[role]; i++)
		if (e->a.family == c->r[role][i].lo.family &&
		    pw_addr_cmp(&c->r[role][i].lo, &e->a) <= 0 &&
		    pw_addr_cmp(&e->a, &c->r[role][i].hi) <= 0)
			return c->r[role][i].name;
	return NULL;
}

static void compare(struct claims *c, const struct sample *s,
		    const unsigned char *truth)
{
	struct pw_conns none;
	pw_conns_init(&none);
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->n; k++) {
			const struct ep *a = &s->eps[i], *b = &s->eps[k];
			if (skip(a, b) || (c->absent_empty && i == k) ||
			    (b->svc && !c->services))
				continue;
			if (c->v4_only && ((a->addr && a->a.family == 6) ||
					   (b->addr && b->a.family == 6)))
				continue;
			const char *sn = name_in(c, a, 0), *dn = name_in(c, b, 1);
			const struct pw_conns *v = NULL;
			if (sn && dn) {
				char key[1024];
				snprintf(key, sizeof(key), "%s\x1f%s", sn, dn);
				v = pw_strmap_get(&c->cells, key);
			}
			if (!v && c->absent_empty) {
				v = &none;
			} else if (!v) {
				if ((a->addr && a->a.family == 6) ||
				    (b->addr && b->a.family == 6))
					continue; /* IPv6 not shown */
				bad(c, "no answer for %s => %s", a->query, b->query);
				continue;
			}
			for (size_t p = 0; p < s->nports; p++) {
				bool t = truth[(i * s->n + k) * s->nports + p];
				if (pw_conns_has(v, s->ports[p][0], (unsigned)s->ports[p][1]) != t)
					bad(c, "%s => %s %s/%d: says %s, eval says %s",
					    a->query, b->query, pw_proto_name(s->ports[p][0]),
					    s->ports[p][1], t ? "denied" : "allowed",
					    t ? "ALLOW" : "DENY");
			}
		}
	char what[256];
	snprintf(what, sizeof(what), "%s agrees with eval (%d differences)",
		 c->what, c->errors);
	check(!c->errors, what);
}

/* ---- readers -------------------------------------------------------------- */

/* Split a CSV line in place: fields, quotes removed.  Returns the count. */
static int csv_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		if (*p == '"') {
			char *end = strchr(p + 1, '"');
			if (!end)
				return n;
			*end = 0;
			f[n++] = p + 1;
			p = end + 1;
		} else {
			f[n++] = p;
			p += strcspn(p, ",");
		}
		if (*p != ',')
			break;
		*p++ = 0;
	}
	*p = 0;
	return n;
}

static void read_matrix_csv(struct claims *c, char *out)
{
	char *save, *line = strtok_r(out, "\n", &save); /* header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *f[4];
		if (csv_split(line, f, 4) != 3) {
			bad(c, "bad line '%s'", line);
			continue;
		}
		claim(c, f[0], f[1], f[2], strlen(f[2]));
	}
}

static void read_connlist(struct claims *c, char *out, bool csv)
{
	char *save, *line = strtok_r(out, "\n", &save);
	if (csv && line)
		line = strtok_r(NULL, "\n", &save);
	for (; line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		if (csv) {
			if (csv_split(line, f, 4) != 3) {
				bad(c, "bad line '%s'", line);
				continue;
			}
		} else {
			char *arrow = strstr(line, " => "), *colon = strstr(line, " : ");
			if (!arrow || !colon || colon < arrow) {
				bad(c, "bad line '%s'", line);
				continue;
			}
			*arrow = *colon = 0;
			f[0] = line;
			f[1] = arrow + 4;
			f[2] = colon + 3;
		}
		char key[1024];
		snprintf(key, sizeof(key), "%s\x1f%s", f[0], f[1]);
		if (pw_strmap_get(&c->cells, key))
			bad(c, "pair listed twice: %s => %s", f[0], f[1]);
		claim(c, f[0], f[1], f[2], strlen(f[2]));
	}
}

static void read_md(struct claims *c, char *out)
{
	char *save, *line;
	char **cols = NULL;
	size_t ncols = 0, cap = 0;
	int row = 0;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "| ", 2)) {
			if (strncmp(line, "|---|", 5))
				bad(c, "bad line '%s'", line);
			continue;
		}
		/* "| a | b | c |": cells between " | " */
		char *p = line + 2;
		size_t n = 0;
		char *first = NULL;
		for (;;) {
			char *end = strstr(p, " |");
			if (!end)
				break;
			*end = 0;
			if (!row) {
				if (n)
					*PUSH(cols, ncols, cap) = p;
			} else if (!n) {
				first = p;
			} else if (n - 1 < ncols) {
				if (*p)
					claim(c, first, cols[n - 1], p, strlen(p));
			}
			n++;
			p = end + 2;
			if (*p == ' ')
				p++;
			if (!*p)
				break;
		}
		if (row && n - 1 != ncols)
			bad(c, "row of %zu cells, want %zu", n - 1, ncols);
		row++;
	}
	free(cols);
}

static void read_table(struct claims *c, char *out)
{
	char *save, *line = strtok_r(out, "\n", &save);
	char **names = NULL;
	size_t n = 0, cap = 0;
	if (!line || strcmp(line, "Endpoints:"))
		return bad(c, "no legend");
	while ((line = strtok_r(NULL, "\n", &save)) && strncmp(line, "Ports: ", 7)) {
		char *p = line; /* "  %2zu  NAME" */
		while (*p == ' ')
			p++;
		while (*p >= '0' && *p <= '9')
			p++;
		*PUSH(names, n, cap) = p + 2;
	}
	struct pw_conns label;
	pw_conns_init(&label);
	while (line && !strncmp(line, "Ports: ", 7)) {
		char *lab = line + 7, *end = strstr(lab, "   (");
		if (!end || pw_conns_parse(lab, (size_t)(end - lab), &label) < 0) {
			bad(c, "bad label '%s'", line);
			break;
		}
		line = strtok_r(NULL, "\n", &save); /* column numbers */
		/* rows "  %2zu  NAME  c  c ...", a Service never a row */
		while ((line = strtok_r(NULL, "\n", &save)) && strncmp(line, "Ports: ", 7)) {
			size_t i = strtoul(line, NULL, 10);
			size_t len = strlen(line);
			if (!i || i > n || len < 3 * n) {
				bad(c, "bad row '%s'", line);
				continue;
			}
			i--;
			const char *cells = line + len - 3 * n;
			for (size_t k = 0; k < n; k++) {
				char x = cells[3 * k + 2];
				if (x == '.')
					pw_conns_union(cell(c, names[i], names[k]), &label);
				else if (x == 'X')
					(void)cell(c, names[i], names[k]);
				else if (x != ' ')
					bad(c, "bad cell '%c'", x);
			}
		}
	}
	pw_conns_release(&label);
	free(names);
}

static const char *scalar(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		yaml_node_t *v = yaml_document_get_node(d, p->value);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((char *)k->data.scalar.value, key) && v &&
		    v->type == YAML_SCALAR_NODE)
			return (char *)v->data.scalar.value;
	}
	return NULL;
}

static yaml_node_t *member(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* -o json and -o yaml, both through libyaml */
static void read_doc(struct claims *c, const char *out)
{
	yaml_parser_t ps;
	yaml_document_t d;
	yaml_parser_initialize(&ps);
	yaml_parser_set_input_string(&ps, (const unsigned char *)out, strlen(out));
	if (!yaml_parser_load(&ps, &d)) {
		bad(c, "unreadable: %s", ps.problem ? ps.problem : "?");
		yaml_parser_delete(&ps);
		return;
	}
	yaml_node_t *root = yaml_document_get_root_node(&d);
	yaml_node_t *cells = member(&d, root, "cells");
	yaml_node_t *eps = member(&d, root, "endpoints");
	if (!cells || cells->type != YAML_SEQUENCE_NODE || !eps) {
		bad(c, "no cells");
	} else {
		for (yaml_node_item_t *it = cells->data.sequence.items.start;
		     it < cells->data.sequence.items.top; it++) {
			yaml_node_t *x = yaml_document_get_node(&d, *it);
			const char *s = scalar(&d, x, "src"), *t = scalar(&d, x, "dst"),
				   *a = scalar(&d, x, "allowed");
			if (!s || !t || !a)
				bad(c, "cell without src, dst or allowed");
			else
				claim(c, s, t, a, strlen(a));
		}
	}
	yaml_document_delete(&d);
	yaml_parser_delete(&ps);
}

/* diff -o csv: the pairs and ports that change, with the verdict after */
static void check_diff(const struct sample *s, const unsigned char *ta,
		       const unsigned char *tb, char *out)
{
	struct claims c[2]; /* changes to ALLOW, to DENY */
	claims_init(&c[0], "diff -o csv (now allowed)");
	claims_init(&c[1], "diff -o csv (now denied)");
	char *save, *line = strtok_r(out, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *f[8];
		if (csv_split(line, f, 8) != 7) {
			bad(&c[0], "bad line '%s'", line);
			continue;
		}
		bool allow = !strcmp(f[4], "allow");
		if (strcmp(f[3], allow ? "deny" : "allow"))
			bad(&c[0], "before and after agree: '%s'", line);
		claim(&c[allow ? 0 : 1], f[0], f[1], f[2], strlen(f[2]));
	}
	/* a range that no change names is one where nothing changes: find the
	   names in either list */
	for (int z = 0; z < 2; z++)
		for (int r = 0; r < 2; r++)
			for (size_t i = 0; i < c[z].nr[r]; i++)
				note_range(&c[1 - z], r, c[z].r[r][i].name);
	int errs = 0;
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->n; k++) {
			const struct ep *a = &s->eps[i], *b = &s->eps[k];
			if (skip(a, b) || (!c[0].services && b->svc))
				continue;
			const struct pw_conns *v[2] = { NULL, NULL };
			for (int z = 0; z < 2; z++) {
				const char *sn = name_in(&c[z], a, 0), *dn = name_in(&c[z], b, 1);
				if (sn && dn) {
					char key[1024];
					snprintf(key, sizeof(key), "%s\x1f%s", sn, dn);
					v[z] = pw_strmap_get(&c[z].cells, key);
				}
			}
			for (size_t p = 0; p < s->nports; p++) {
				size_t at = (i * s->n + k) * s->nports + p;
				int proto = s->ports[p][0];
				unsigned port = (unsigned)s->ports[p][1];
				bool up = v[0] && pw_conns_has(v[0], proto, port);
				bool down = v[1] && pw_conns_has(v[1], proto, port);
				bool want_up = !ta[at] && tb[at], want_down = ta[at] && !tb[at];
				if (up != want_up || down != want_down) {
					if (errs++ < MAX_REPORT)
						printf("  diff: %s => %s %s/%u: eval says %s -> %s, diff says %s\n",
						       a->query, b->query, pw_proto_name(proto), port,
						       ta[at] ? "ALLOW" : "DENY", tb[at] ? "ALLOW" : "DENY",
						       up ? "DENY -> ALLOW" : down ? "ALLOW -> DENY" : "no change");
				}
			}
		}
	char what[256];
	snprintf(what, sizeof(what), "diff -o csv agrees with eval on both sides (%d differences)",
		 errs + c[0].errors + c[1].errors);
	check(!errs && !c[0].errors && !c[1].errors, what);
	claims_release(&c[0]);
	claims_release(&c[1]);
}

static int load(const char *file, unsigned flags, struct pw_cluster *c,
		struct pw_engine *e)
{
	struct pw_diags d;
	pw_diags_init(&d);
	pw_cluster_init(c);
	pw_cluster_load_path(c, file, &d);
	pw_cluster_finish(c, &d);
	size_t errs = d.errors;
	pw_diags_release(&d);
	if (errs) {
		printf("outputs-diff: %s has errors\n", file);
		pw_cluster_release(c);
		return -1;
	}
	return pw_engine_build(e, c, flags);
}

int main(int argc, char **argv)
{
	unsigned flags = 0;
	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "--flags")) {
		flags = (unsigned)atoi(argv[i + 1]);
		i += 2;
	}
	if (argc - i < 2 || argc - i > 3) {
		fprintf(stderr, "usage: outputs-diff [--flags N] PODWALL A.yaml [B.yaml]\n");
		return 2;
	}
	podwall = argv[i];
	const char *fa = argv[i + 1], *fb = argc - i == 3 ? argv[i + 2] : NULL;
	static char fl[128];
	snprintf(fl, sizeof(fl), "%s%s",
		 flags & PW_ENGINE_IPBLOCK_EXCLUDES_PODS ? " --ipblock-excludes-pods" : "",
		 flags & PW_ENGINE_HOSTNET_AS_PODS ? " --hostnetwork-as-pods" : "");
	cli_flags = fl;
	pw_buf_init(&cmdbuf);
	char dir[] = "/tmp/outputs-diff.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	struct pw_cluster ca, cb;
	struct pw_engine ea, eb;
	if (load(fa, flags, &ca, &ea) < 0)
		return 2;
	if (fb && load(fb, flags, &cb, &eb) < 0) {
		pw_engine_release(&ea);
		pw_cluster_release(&ca);
		return 2;
	}
	const struct pw_engine *es[2] = { &ea, &eb };
	struct sample s = { 0 };
	samples(&s, es, fb ? 2 : 1);
	unsigned char *ta = ask_eval(&s, fa, dir);
	size_t naddr = 0;
	for (size_t k = 0; k < s.n; k++)
		naddr += s.eps[k].addr;
	printf("%s: %zu workloads, %zu addresses, %zu ports\n", fa, s.n - naddr,
	       naddr, s.nports);

	static const struct {
		const char *args, *what;
		int kind; /* 0 csv, 1 doc, 2 md, 3 table, 4 connlist, 5 connlist csv */
	} outs[] = {
		{ "matrix -o csv", "matrix -o csv", 0 },
		{ "matrix -o json", "matrix -o json", 1 },
		{ "matrix -o yaml", "matrix -o yaml", 1 },
		{ "matrix -o md", "matrix -o md", 2 },
		{ "matrix", "matrix -o table", 3 },
		{ "connlist", "connlist", 4 },
		{ "connlist -o csv", "connlist -o csv", 5 },
	};
	for (size_t o = 0; o < PW_ARRAY_SIZE(outs); o++) {
		const char *sv = ca.nsvcs ? " --services" : "";
		char *out = run("%s %s%s -f %s %s", podwall, outs[o].args, sv, fa, cli_flags);
		struct claims c;
		char what[512];
		snprintf(what, sizeof(what), "%s%s %s", outs[o].what, sv, fa);
		claims_init(&c, what);
		c.services = ca.nsvcs > 0;
		switch (outs[o].kind) {
		case 0: read_matrix_csv(&c, out); break;
		case 1: read_doc(&c, out); break;
		case 2: read_md(&c, out); break;
		case 3: read_table(&c, out); break;
		default:
			c.absent_empty = c.v4_only = true;
			read_connlist(&c, out, outs[o].kind == 5);
		}
		compare(&c, &s, ta);
		claims_release(&c);
		free(out);
	}
	if (fb) {
		unsigned char *tb = ask_eval(&s, fb, dir);
		char *out = run("%s diff -f %s --to %s -o csv %s", podwall, fa, fb, cli_flags);
		check_diff(&s, ta, tb, out);
		free(out);
		free(tb);
		pw_engine_release(&eb);
		pw_cluster_release(&cb);
	}
	free(ta);
	char rm[4200];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm))
		perror("rm");
	for (size_t k = 0; k < s.n; k++) {
		free(s.eps[k].name);
		free(s.eps[k].query);
	}
	free(s.eps);
	free(s.ports);
	pw_engine_release(&ea);
	pw_cluster_release(&ca);
	pw_buf_release(&cmdbuf);
	printf("outputs-diff: %d passed, %d failed\n", passed_checks, failed_checks);
	return failed_checks ? 1 : 0;
}
