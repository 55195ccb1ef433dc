/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nca-calico: conformance runner for the Calico connectivity maps of IBM's
 * network-config-analyzer (NCA), copied to SHARED/conformance/nca-calico.
 *
 *   nca-calico [-v] [-a] [-d DIVERGENCES] [-q SUBSTRING] ROOT
 *
 * ROOT is the nca-calico directory (it holds calico_testcases/).  Every
 * *-scheme.yaml under calico_testcases/example_policies is read; every query
 * of it with `connectivityMap` and a txt `expectedOutput` is run:
 *
 *  1. For each config the query names (`name`, or one policy of it:
 *     `name/policy`, `name/ns/policy`, `name/Kind/ns/policy`) a cluster is
 *     built: the topology (namespaceList gives the Namespaces, podList the
 *     Pods and Calico WorkloadEndpoints, as NCA reads them; they are imported
 *     into clean Pod objects, see topo_*) plus the config's policy files,
 *     loaded by libpodwall as they are.
 *  2. The expected "fw-rules" text is parsed (sections per config, rules
 *     `src_ns: [..] src_pods: [..] | src: RANGES`, the same for dst, and
 *     `conn: ...` with NCA's cube syntax) and expanded into facts: for every
 *     ordered pair of endpoints (pods, and the classes of addresses that the
 *     policies and the expected text distinguish) the set of connections:
 *     TCP/UDP/SCTP port sets, ICMP/ICMPv6 type and code classes, and the
 *     other IP protocols.
 *  3. The engine is asked the same (pw_engine_conns for ports, pw_engine_eval
 *     for the rest) and both are compared pair by pair.
 *
 * One pass or fail per query.  The divergences file lists NCA's documented
 * modelling choices (see nca-calico-divergences.txt); a listed config is
 * reported as a known divergence and counts neither way, except for the part
 * its scope says is still compared.  The last line is
 * "nca-calico: N passed, M failed"; the exit status is 1 on failures.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../../lib/base.h"
#include "../../lib/conns.h"
#include "../../lib/engine.h"
#include "../../lib/labels.h"
#include "../../lib/model.h"
#include "../../lib/netaddr.h"

static bool verbose;
static size_t difflimit = 10;

/* ---- small helpers -------------------------------------------------------- */

static char *afmt(struct pw_arena *a, const char *fmt, ...) PW_PRINTF(2, 3);
static char *afmt(struct pw_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *tmp = NULL;
	va_start(ap, fmt);
	if (vasprintf(&tmp, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *s = pw_arena_strdup(a, tmp);
	free(tmp);
	return s;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

static bool starts_with(const char *s, const char *pre)
{
	return !strncmp(s, pre, strlen(pre));
}

static char *path_join(struct pw_arena *a, const char *dir, const char *rel)
{
	if (rel[0] == '/')
		return pw_arena_strdup(a, rel);
	return afmt(a, "%s/%s", dir, rel);
}

static char *dir_of(struct pw_arena *a, const char *path)
{
	const char *sl = strrchr(path, '/');
	if (!sl)
		return pw_arena_strdup(a, ".");
	return pw_arena_strndup(a, path, (size_t)(sl - path));
}

static bool is_dir(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISREG(st.st_mode);
}

struct strs {
	const char **v;
	uint32_t n;
	size_t cap;
};

static bool strs_has(const struct strs *s, const char *x)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return true;
	return false;
}

static bool manifest_name(const char *n)
{
	return ends_with(n, ".yaml") || ends_with(n, ".yml") || ends_with(n, ".json");
}

/* Files of a directory (sorted), recursively if rec; suffix filter by want. */
static void list_dir(struct pw_arena *a, const char *dir, bool rec,
		     bool (*want)(const char *), struct strs *out)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;
		if (nm[0] != '.') {
			char *p = afmt(a, "%s/%s", dir, nm);
			if (is_dir(p)) {
				if (rec)
					list_dir(a, p, rec, want, out);
			} else if (want(nm)) {
				*PW_PUSH(a, out->v, out->n, out->cap) = p;
			}
		}
		free(ents[i]);
	}
	free(ents);
}

/* A file or a directory: NCA reads a directory flat, or recursively when the
   source ends with a slash and two stars. */
static bool expand_source(struct pw_arena *a, const char *path, struct strs *out)
{
	if (ends_with(path, "/**")) {
		char *d = pw_arena_strndup(a, path, strlen(path) - 3);
		if (!is_dir(d))
			return false;
		list_dir(a, d, true, manifest_name, out);
		return true;
	}
	if (is_dir(path)) {
		list_dir(a, path, false, manifest_name, out);
		return true;
	}
	if (!is_file(path))
		return false;
	*PW_PUSH(a, out->v, out->n, out->cap) = pw_arena_strdup(a, path);
	return true;
}

/* ---- YAML documents ------------------------------------------------------- */

struct ydocs {
	yaml_document_t *d;
	size_t n, cap;
};

static void ydocs_free(struct ydocs *y)
{
	for (size_t i = 0; i < y->n; i++)
		yaml_document_delete(&y->d[i]);
	free(y->d);
	memset(y, 0, sizeof(*y));
}

static int ydocs_load(struct pw_arena *a, const char *path, struct ydocs *y,
		      const char **err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = afmt(a, "%s: cannot open", path);
		return -1;
	}
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		fclose(f);
		*err = "cannot initialise libyaml";
		return -1;
	}
	yaml_parser_set_input_file(&p, f);
	int rc = 0;
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&p, &doc)) {
			*err = afmt(a, "%s:%zu: YAML error: %s", path,
				    p.problem_mark.line + 1,
				    p.problem ? p.problem : "?");
			rc = -1;
			break;
		}
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		if (y->n == y->cap) {
			y->cap = y->cap ? 2 * y->cap : 4;
			y->d = pw_xrealloc(y->d, y->cap * sizeof(*y->d));
		}
		y->d[y->n++] = doc;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

static yaml_node_t *yget(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *ystr(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

/* non-empty string or NULL */
static const char *ystrne(yaml_node_t *n)
{
	const char *s = ystr(n);
	return s && *s && strcmp(s, "null") && strcmp(s, "~") ? s : NULL;
}

static size_t yseq_len(yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE
		       ? (size_t)(n->data.sequence.items.top -
				  n->data.sequence.items.start)
		       : 0;
}

static yaml_node_t *yseq_at(yaml_document_t *d, yaml_node_t *n, size_t i)
{
	return yaml_document_get_node(d, n->data.sequence.items.start[i]);
}

/* ---- topology import -------------------------------------------------------
 *
 * NCA takes the Namespaces of namespaceList and the Pods (and Calico
 * WorkloadEndpoints) of podList, and tolerates what the API server would
 * reject (`ports: {}`, port names longer than 15 characters).  They are
 * re-emitted as clean JSON objects for pw_cluster_load_buffer(); what is
 * dropped is noted (shown with -v, and with a failure).
 */

struct topo {
	struct pw_arena *a;
	struct strs dropped; /* port names dropped */
	struct pw_buf js;
	size_t nitems, nns, npods, nweps;
	struct pw_buf notes;
	size_t nnotes;
};

static void topo_note(struct topo *t, const char *fmt, ...) PW_PRINTF(2, 3);
static void topo_note(struct topo *t, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	t->nnotes++;
	pw_buf_printf(&t->notes, "    topology: %s\n", s);
	free(s);
}

static void jstr(struct pw_buf *b, const char *s)
{
	pw_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			pw_buf_putc(b, '\\');
			pw_buf_putc(b, (char)ch);
		} else if (ch < 0x20) {
			pw_buf_printf(b, "\\u%04x", ch);
		} else {
			pw_buf_putc(b, (char)ch);
		}
	}
	pw_buf_putc(b, '"');
}

static void topo_begin(struct topo *t)
{
	if (t->nitems++)
		pw_buf_putc(&t->js, ',');
}

static void topo_labels(struct topo *t, yaml_document_t *d, yaml_node_t *m,
			bool strip_calico, const char *who)
{
	bool first = true;
	pw_buf_putc(&t->js, '{');
	if (m && m->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			const char *k = ystr(yaml_document_get_node(d, p->key));
			const char *v = ystr(yaml_document_get_node(d, p->value));
			if (!k || !v)
				continue;
			if (strip_calico && starts_with(k, "projectcalico.org/"))
				continue;
			const char *why = pw_label_key_invalid(k);
			if (!why)
				why = pw_label_value_invalid(v);
			if (why) {
				topo_note(t, "%s: label %s=%s dropped: %s", who, k, v, why);
				continue;
			}
			if (!first)
				pw_buf_putc(&t->js, ',');
			first = false;
			jstr(&t->js, k);
			pw_buf_putc(&t->js, ':');
			jstr(&t->js, v);
		}
	}
	pw_buf_putc(&t->js, '}');
}

/* One container port; false if dropped. */
static bool topo_port(struct topo *t, const char *who, const char *num,
		      const char *proto, const char *name, bool *first)
{
	char *end;
	long v = num ? strtol(num, &end, 10) : 0;
	if (!num || *end || v < 1 || v > PW_PORT_MAX) {
		topo_note(t, "%s: container port \"%s\" dropped: not a port number",
			  who, num ? num : "");
		return false;
	}
	if (proto && strcmp(proto, "TCP") && strcmp(proto, "UDP") &&
	    strcmp(proto, "SCTP")) {
		topo_note(t, "%s: container port %ld/%s dropped: protocol", who, v, proto);
		return false;
	}
	if (name) {
		const char *why = pw_port_name_invalid(name);
		if (why) {
			topo_note(t, "%s: name \"%s\" of container port %ld dropped: %s",
				  who, name, v, why);
			if (!strs_has(&t->dropped, name))
				*PW_PUSH(t->a, t->dropped.v, t->dropped.n, t->dropped.cap) =
					pw_arena_strdup(t->a, name);
			name = NULL;
		}
	}
	if (!*first)
		pw_buf_putc(&t->js, ',');
	*first = false;
	pw_buf_printf(&t->js, "{\"containerPort\":%ld,\"protocol\":\"%s\"", v,
		      proto ? proto : "TCP");
	if (name) {
		pw_buf_puts(&t->js, ",\"name\":");
		jstr(&t->js, name);
	}
	pw_buf_putc(&t->js, '}');
	return true;
}

static void topo_ips(struct topo *t, const char *who, struct strs *ips,
		     struct pw_arena *a, const char *s)
{
	struct pw_addr ad;
	if (!s || !*s)
		return;
	const char *sl = strchr(s, '/');
	char *ip = sl ? pw_arena_strndup(a, s, (size_t)(sl - s)) : pw_arena_strdup(a, s);
	if (pw_addr_parse(ip, &ad) < 0) {
		topo_note(t, "%s: address \"%s\" dropped", who, s);
		return;
	}
	if (!strs_has(ips, ip))
		*PW_PUSH(a, ips->v, ips->n, ips->cap) = ip;
}

static void topo_status_ips(struct topo *t, const struct strs *ips)
{
	if (!ips->n)
		return;
	pw_buf_puts(&t->js, ",\"status\":{\"podIPs\":[");
	for (uint32_t i = 0; i < ips->n; i++) {
		if (i)
			pw_buf_putc(&t->js, ',');
		pw_buf_puts(&t->js, "{\"ip\":");
		jstr(&t->js, ips->v[i]);
		pw_buf_putc(&t->js, '}');
	}
	pw_buf_puts(&t->js, "]}");
}

static void topo_ns(struct topo *t, yaml_document_t *d, yaml_node_t *it)
{
	yaml_node_t *md = yget(d, it, "metadata");
	const char *name = ystrne(yget(d, md, "name"));
	if (!name) {
		topo_note(t, "a Namespace without a name dropped");
		return;
	}
	topo_begin(t);
	t->nns++;
	pw_buf_puts(&t->js, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":");
	jstr(&t->js, name);
	pw_buf_puts(&t->js, ",\"labels\":");
	char who[300];
	snprintf(who, sizeof(who), "Namespace %s", name);
	topo_labels(t, d, yget(d, md, "labels"), false, who);
	pw_buf_puts(&t->js, "}}");
}

static void topo_pod(struct topo *t, struct pw_arena *a, yaml_document_t *d,
		     yaml_node_t *it)
{
	yaml_node_t *md = yget(d, it, "metadata"), *spec = yget(d, it, "spec");
	yaml_node_t *st = yget(d, it, "status");
	const char *name = ystrne(yget(d, md, "name"));
	const char *ns = ystrne(yget(d, md, "namespace"));
	if (!name) {
		topo_note(t, "a Pod without a name dropped");
		return;
	}
	if (!ns)
		ns = "default";
	char who[300];
	snprintf(who, sizeof(who), "Pod %s/%s", ns, name);
	topo_begin(t);
	t->npods++;
	pw_buf_puts(&t->js, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":");
	jstr(&t->js, name);
	pw_buf_puts(&t->js, ",\"namespace\":");
	jstr(&t->js, ns);
	pw_buf_puts(&t->js, ",\"labels\":");
	topo_labels(t, d, yget(d, md, "labels"), false, who);
	yaml_node_t *ow = yget(d, md, "ownerReferences");
	size_t now = yseq_len(ow);
	bool first = true;
	for (size_t i = 0; i < now; i++) {
		yaml_node_t *o = yseq_at(d, ow, i);
		const char *ok = ystrne(yget(d, o, "kind"));
		const char *on = ystrne(yget(d, o, "name"));
		if (!ok || !on)
			continue;
		const char *av = ystrne(yget(d, o, "apiVersion"));
		const char *ctl = ystr(yget(d, o, "controller"));
		pw_buf_puts(&t->js, first ? ",\"ownerReferences\":[" : ",");
		first = false;
		pw_buf_puts(&t->js, "{\"apiVersion\":");
		jstr(&t->js, av ? av : "apps/v1");
		pw_buf_puts(&t->js, ",\"kind\":");
		jstr(&t->js, ok);
		pw_buf_puts(&t->js, ",\"name\":");
		jstr(&t->js, on);
		pw_buf_printf(&t->js, ",\"controller\":%s}",
			      ctl && !strcmp(ctl, "true") ? "true" : "false");
	}
	if (!first)
		pw_buf_putc(&t->js, ']');
	pw_buf_puts(&t->js, "},\"spec\":{");
	const char *hn = ystr(yget(d, spec, "hostNetwork"));
	pw_buf_printf(&t->js, "\"hostNetwork\":%s",
		      hn && !strcmp(hn, "true") ? "true" : "false");
	const char *sa = ystrne(yget(d, spec, "serviceAccountName"));
	if (!sa)
		sa = ystrne(yget(d, spec, "serviceAccount"));
	if (sa) {
		pw_buf_puts(&t->js, ",\"serviceAccountName\":");
		jstr(&t->js, sa);
	}
	pw_buf_puts(&t->js, ",\"containers\":[");
	yaml_node_t *cs = yget(d, spec, "containers");
	size_t ncs = yseq_len(cs);
	for (size_t i = 0; i < ncs; i++) {
		yaml_node_t *ct = yseq_at(d, cs, i);
		yaml_node_t *ps = yget(d, ct, "ports");
		if (i)
			pw_buf_putc(&t->js, ',');
		pw_buf_printf(&t->js, "{\"name\":\"c%zu\",\"ports\":[", i);
		bool pfirst = true;
		if (ps && ps->type == YAML_MAPPING_NODE &&
		    ps->data.mapping.pairs.top != ps->data.mapping.pairs.start)
			topo_note(t, "%s: container ports given as a mapping dropped", who);
		for (size_t k = 0; k < yseq_len(ps); k++) {
			yaml_node_t *pn = yseq_at(d, ps, k);
			topo_port(t, who, ystrne(yget(d, pn, "containerPort")),
				  ystrne(yget(d, pn, "protocol")),
				  ystrne(yget(d, pn, "name")), &pfirst);
		}
		pw_buf_puts(&t->js, "]}");
	}
	pw_buf_puts(&t->js, "]}");
	struct strs ips = { 0 };
	topo_ips(t, who, &ips, a, ystrne(yget(d, st, "podIP")));
	yaml_node_t *pips = yget(d, st, "podIPs");
	for (size_t i = 0; i < yseq_len(pips); i++)
		topo_ips(t, who, &ips, a, ystrne(yget(d, yseq_at(d, pips, i), "ip")));
	topo_status_ips(t, &ips);
	pw_buf_putc(&t->js, '}');
}

/* A Calico WorkloadEndpoint is a pod: spec.pod, its labels (less the
   projectcalico.org/ ones, which the engine adds itself), its service
   account, ports and ipNetworks. */
static void topo_wep(struct topo *t, struct pw_arena *a, yaml_document_t *d,
		     yaml_node_t *it)
{
	yaml_node_t *md = yget(d, it, "metadata"), *spec = yget(d, it, "spec");
	const char *name = ystrne(yget(d, spec, "pod"));
	if (!name)
		name = ystrne(yget(d, md, "name"));
	const char *ns = ystrne(yget(d, md, "namespace"));
	if (!name) {
		topo_note(t, "a WorkloadEndpoint without a name dropped");
		return;
	}
	if (!ns)
		ns = "default";
	char who[300];
	snprintf(who, sizeof(who), "WorkloadEndpoint %s/%s", ns, name);
	topo_begin(t);
	t->nweps++;
	yaml_node_t *labels = yget(d, md, "labels");
	const char *sa = ystrne(yget(d, labels, "projectcalico.org/serviceaccount"));
	pw_buf_puts(&t->js, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":");
	jstr(&t->js, name);
	pw_buf_puts(&t->js, ",\"namespace\":");
	jstr(&t->js, ns);
	pw_buf_puts(&t->js, ",\"labels\":");
	topo_labels(t, d, labels, true, who);
	pw_buf_puts(&t->js, "},\"spec\":{");
	if (sa) {
		pw_buf_puts(&t->js, "\"serviceAccountName\":");
		jstr(&t->js, sa);
		pw_buf_putc(&t->js, ',');
	}
	pw_buf_puts(&t->js, "\"containers\":[{\"name\":\"c0\",\"ports\":[");
	yaml_node_t *ps = yget(d, spec, "ports");
	bool pfirst = true;
	for (size_t k = 0; k < yseq_len(ps); k++) {
		yaml_node_t *pn = yseq_at(d, ps, k);
		topo_port(t, who, ystrne(yget(d, pn, "port")),
			  ystrne(yget(d, pn, "protocol")), ystrne(yget(d, pn, "name")),
			  &pfirst);
	}
	pw_buf_puts(&t->js, "]}]}");
	struct strs ips = { 0 };
	yaml_node_t *nets = yget(d, spec, "ipNetworks");
	for (size_t i = 0; i < yseq_len(nets); i++)
		topo_ips(t, who, &ips, a, ystrne(yseq_at(d, nets, i)));
	topo_status_ips(t, &ips);
	pw_buf_putc(&t->js, '}');
}

/* The items of a "FooList" need not say their kind (kubectl omits it). */
static void topo_item(struct topo *t, struct pw_arena *a, yaml_document_t *d,
		      yaml_node_t *it, bool want_ns, bool want_pods,
		      const char *file, const char *item_kind)
{
	const char *kind = ystrne(yget(d, it, "kind"));
	if (!kind)
		kind = item_kind;
	if (!kind)
		return;
	yaml_node_t *items = yget(d, it, "items");
	if (ends_with(kind, "List") && items && items->type == YAML_SEQUENCE_NODE) {
		const char *ik = strcmp(kind, "List")
					 ? pw_arena_strndup(a, kind, strlen(kind) - 4)
					 : NULL;
		for (size_t i = 0; i < yseq_len(items); i++)
			topo_item(t, a, d, yseq_at(d, items, i), want_ns, want_pods, file, ik);
		return;
	}
	if (want_ns && !strcmp(kind, "Namespace"))
		topo_ns(t, d, it);
	else if (want_pods && !strcmp(kind, "Pod"))
		topo_pod(t, a, d, it);
	else if (want_pods && !strcmp(kind, "WorkloadEndpoint"))
		topo_wep(t, a, d, it);
	else if (want_pods && (!strcmp(kind, "HostEndpoint") || !strcmp(kind, "Deployment") ||
			       !strcmp(kind, "ReplicaSet") || !strcmp(kind, "DaemonSet") ||
			       !strcmp(kind, "StatefulSet") || !strcmp(kind, "Job") ||
			       !strcmp(kind, "CronJob") ||
			       !strcmp(kind, "ReplicationController")))
		topo_note(t, "%s: %s not imported", file, kind);
}

/* Build the topology of a config.  Returns -1 (and *err) on failure. */
static int topo_build(struct topo *t, struct pw_arena *a, const char *nslist,
		      const char *podlist, const char **err)
{
	struct strs nsf = { 0 }, podf = { 0 }, all = { 0 };
	if (!podlist) {
		*err = "no podList (NCA would read the live cluster)";
		return -1;
	}
	if (nslist && !expand_source(a, nslist, &nsf)) {
		*err = afmt(a, "namespaceList %s not found", nslist);
		return -1;
	}
	if (!expand_source(a, podlist, &podf)) {
		*err = afmt(a, "podList %s not found", podlist);
		return -1;
	}
	for (uint32_t i = 0; i < nsf.n; i++)
		if (!strs_has(&all, nsf.v[i]))
			*PW_PUSH(a, all.v, all.n, all.cap) = nsf.v[i];
	for (uint32_t i = 0; i < podf.n; i++)
		if (!strs_has(&all, podf.v[i]))
			*PW_PUSH(a, all.v, all.n, all.cap) = podf.v[i];
	pw_buf_puts(&t->js, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	for (uint32_t i = 0; i < all.n; i++) {
		struct ydocs y = { 0 };
		if (ydocs_load(a, all.v[i], &y, err) < 0) {
			ydocs_free(&y);
			return -1;
		}
		for (size_t k = 0; k < y.n; k++)
			topo_item(t, a, &y.d[k], yaml_document_get_root_node(&y.d[k]),
				  strs_has(&nsf, all.v[i]), strs_has(&podf, all.v[i]),
				  all.v[i], NULL);
		ydocs_free(&y);
	}
	pw_buf_puts(&t->js, "]}");
	return 0;
}

/* ---- scheme files --------------------------------------------------------- */

struct netcfg {
	const char *name, *nslist, *podlist; /* resolved paths or NULL */
	struct strs pols;		     /* resolved sources */
	const char *bad;		     /* unsupported source */
};

struct query {
	const char *name, *id, *expected;
	struct strs cfgs;
	bool excl_v6;
};

struct scheme {
	const char *path, *dir, *id;
	const char *nslist, *podlist;
	struct netcfg *cfgs;
	uint32_t ncfgs;
	size_t cfgcap;
	struct query *qs;
	uint32_t nqs;
	size_t qcap;
};

static const char *opt_path(struct pw_arena *a, const char *dir, yaml_node_t *n)
{
	const char *s = ystrne(n);
	return s ? path_join(a, dir, s) : NULL;
}

static int scheme_load(struct pw_arena *a, const char *path, struct scheme *s,
		       const char **err)
{
	struct ydocs y = { 0 };
	if (ydocs_load(a, path, &y, err) < 0) {
		ydocs_free(&y);
		return -1;
	}
	if (!y.n) {
		*err = afmt(a, "%s: empty", path);
		ydocs_free(&y);
		return -1;
	}
	yaml_document_t *d = &y.d[0];
	yaml_node_t *root = yaml_document_get_root_node(d);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	s->path = pw_arena_strdup(a, path);
	s->dir = dir_of(a, path);
	s->id = pw_arena_strndup(a, base, strlen(base) - strlen(".yaml"));
	s->nslist = opt_path(a, s->dir, yget(d, root, "namespaceList"));
	s->podlist = opt_path(a, s->dir, yget(d, root, "podList"));
	yaml_node_t *cl = yget(d, root, "networkConfigList");
	for (size_t i = 0; i < yseq_len(cl); i++) {
		yaml_node_t *cn = yseq_at(d, cl, i);
		struct netcfg *c = PW_PUSH(a, s->cfgs, s->ncfgs, s->cfgcap);
		const char *nm = ystrne(yget(d, cn, "name"));
		c->name = nm ? pw_arena_strdup(a, nm) : "";
		c->nslist = opt_path(a, s->dir, yget(d, cn, "namespaceList"));
		c->podlist = opt_path(a, s->dir, yget(d, cn, "podList"));
		if (yget(d, cn, "resourceList"))
			c->bad = "resourceList is not supported by this runner";
		yaml_node_t *pl = yget(d, cn, "networkPolicyList");
		for (size_t k = 0; k < yseq_len(pl); k++) {
			const char *src = ystrne(yseq_at(d, pl, k));
			if (!src)
				continue;
			if (!strcmp(src, "k8s") || !strcmp(src, "calico") ||
			    !strcmp(src, "istio") || strstr(src, "://"))
				c->bad = afmt(a, "policy source \"%s\" (live cluster or URL)", src);
			*PW_PUSH(a, c->pols.v, c->pols.n, c->pols.cap) =
				path_join(a, s->dir, src);
		}
	}
	yaml_node_t *ql = yget(d, root, "queries");
	for (size_t i = 0; i < yseq_len(ql); i++) {
		yaml_node_t *qn = yseq_at(d, ql, i);
		yaml_node_t *cm = yget(d, qn, "connectivityMap");
		const char *exp = ystrne(yget(d, qn, "expectedOutput"));
		if (!cm || !exp || !ends_with(exp, ".txt"))
			continue;
		struct query *q = PW_PUSH(a, s->qs, s->nqs, s->qcap);
		const char *nm = ystrne(yget(d, qn, "name"));
		q->name = pw_arena_strdup(a, nm ? nm : "?");
		q->id = afmt(a, "%s:%s", s->id, q->name);
		q->expected = path_join(a, s->dir, exp);
		for (size_t k = 0; k < yseq_len(cm); k++) {
			const char *r = ystrne(yseq_at(d, cm, k));
			if (r)
				*PW_PUSH(a, q->cfgs.v, q->cfgs.n, q->cfgs.cap) =
					pw_arena_strdup(a, r);
		}
		const char *x = ystr(yget(d, yget(d, qn, "outputConfiguration"),
					  "excludeIPv6Range"));
		q->excl_v6 = !(x && (!strcmp(x, "false") || !strcmp(x, "False")));
	}
	ydocs_free(&y);
	return 0;
}

/* ---- the expected fw-rules ------------------------------------------------- */

enum scope { SC_ALL, SC_TCP, SC_NONTCP };

struct range {
	unsigned lo, hi;
};

struct iprange {
	struct pw_addr lo, hi;
};

enum lxop { LX_EQ, LX_NE, LX_IN, LX_NOTIN, LX_HAS, LX_NOTHAS, LX_AND, LX_OR };
struct lx {
	enum lxop op;
	const char *key;
	const char **vals;
	uint32_t nvals;
	size_t vcap;
	struct lx *a, *b;
};

enum podkind { PK_ALL, PK_NAMES, PK_EXPR };
struct xelem {
	bool ips;
	struct iprange *r;
	uint32_t nr;
	size_t rcap;
	struct strs nss;
	enum podkind pk;
	struct strs names;
	struct lx *expr;
	const char *text;
};

struct cube {
	bool has_proto;
	unsigned char proto[256];
	unsigned char named[256]; /* protocols the text names */
	bool has_ports, has_type, has_code, l7, src_ports;
	struct range *ports, *type, *code;
	uint32_t nports, ntype, ncode;
	size_t pcap, tcap, ccap;
};

enum connkind { CK_ALL, CK_NONE, CK_CUBES, CK_ALLBUT };
struct xconn {
	enum connkind kind;
	struct cube *c;
	uint32_t n;
	size_t cap;
};

struct xrule {
	struct xelem src, dst;
	struct xconn conn;
	enum scope scope;
	int line;
	const char *text;
};

struct xsec {
	const char *config;
	enum scope scope;
	struct xrule *r;
	uint32_t n;
	size_t cap;
	bool used;
};

struct xfile {
	struct xsec *s;
	uint32_t n;
	size_t cap;
};

/* -- label expressions (NCA's LabelExpr text) -- */

struct lp {
	const char *s;
	bool bad;
	struct pw_arena *a;
};

static bool lp_lit(struct lp *p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(p->s, w, n))
		return false;
	p->s += n;
	return true;
}

static const char *lp_word(struct lp *p, bool key)
{
	const char *b = p->s;
	while (*p->s && (isalnum((unsigned char)*p->s) || strchr(key ? "-_./" : "-_.", *p->s)))
		p->s++;
	return pw_arena_strndup(p->a, b, (size_t)(p->s - b));
}

static struct lx *lp_or(struct lp *p);

static struct lx *lx_new(struct lp *p, enum lxop op)
{
	struct lx *x = pw_arena_alloc(p->a, sizeof(*x));
	x->op = op;
	return x;
}

static struct lx *lp_atom(struct lp *p)
{
	if (*p->s == '(' || *p->s == '{') {
		char close = *p->s == '(' ? ')' : '}';
		p->s++;
		struct lx *x = lp_or(p);
		if (*p->s != close)
			p->bad = true;
		else
			p->s++;
		return x;
	}
	bool neg = lp_lit(p, "!has(");
	if (neg || lp_lit(p, "has(")) {
		struct lx *x = lx_new(p, neg ? LX_NOTHAS : LX_HAS);
		x->key = lp_word(p, true);
		if (!*x->key || !lp_lit(p, ")"))
			p->bad = true;
		return x;
	}
	const char *key = lp_word(p, true);
	struct lx *x;
	if (!*key) {
		p->bad = true;
		return lx_new(p, LX_HAS);
	}
	if (lp_lit(p, "!=")) {
		x = lx_new(p, LX_NE);
	} else if (lp_lit(p, "=")) {
		x = lx_new(p, LX_EQ);
	} else if (lp_lit(p, " not in (")) {
		x = lx_new(p, LX_NOTIN);
	} else if (lp_lit(p, " in (")) {
		x = lx_new(p, LX_IN);
	} else {
		p->bad = true;
		return lx_new(p, LX_HAS);
	}
	x->key = key;
	if (x->op == LX_EQ || x->op == LX_NE) {
		*PW_PUSH(p->a, x->vals, x->nvals, x->vcap) = lp_word(p, false);
		return x;
	}
	do
		*PW_PUSH(p->a, x->vals, x->nvals, x->vcap) = lp_word(p, false);
	while (lp_lit(p, ","));
	if (!lp_lit(p, ")"))
		p->bad = true;
	return x;
}

static struct lx *lp_and(struct lp *p)
{
	struct lx *x = lp_atom(p);
	while (!p->bad && lp_lit(p, " and ")) {
		struct lx *y = lx_new(p, LX_AND);
		y->a = x;
		y->b = lp_atom(p);
		x = y;
	}
	return x;
}

static struct lx *lp_or(struct lp *p)
{
	struct lx *x = lp_and(p);
	while (!p->bad && lp_lit(p, " or ")) {
		struct lx *y = lx_new(p, LX_OR);
		y->a = x;
		y->b = lp_and(p);
		x = y;
	}
	return x;
}

/*
 * NCA prints "k!=v" and "k not in (..)" relative to the values that the key
 * takes in the namespace (it adds "has(k) and" when some pods lack the key),
 * so both imply that the key is present.
 */
static bool lx_eval(const struct lx *x, const struct pw_labels *l)
{
	const char *v = x->key ? pw_labels_get(l, x->key) : NULL;
	bool in = false;
	for (uint32_t i = 0; v && i < x->nvals; i++)
		in = in || !strcmp(v, x->vals[i]);
	switch (x->op) {
	case LX_EQ:
	case LX_IN:
		return in;
	case LX_NE:
	case LX_NOTIN:
		return v && !in;
	case LX_HAS:
		return v != NULL;
	case LX_NOTHAS:
		return v == NULL;
	case LX_AND:
		return lx_eval(x->a, l) && lx_eval(x->b, l);
	case LX_OR:
		return lx_eval(x->a, l) || lx_eval(x->b, l);
	}
	return false;
}

/* -- rule lines -- */

struct rp {
	const char *s;
	const char *err;
	struct pw_arena *a;
};

static bool rp_lit(struct rp *p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(p->s, w, n))
		return false;
	p->s += n;
	return true;
}

static char *rp_until(struct rp *p, char c)
{
	const char *e = strchr(p->s, c);
	if (!e)
		return NULL;
	char *r = pw_arena_strndup(p->a, p->s, (size_t)(e - p->s));
	p->s = e + 1;
	return r;
}

static void split_list(struct pw_arena *a, const char *s, struct strs *out)
{
	while (*s) {
		while (*s == ' ')
			s++;
		size_t n = strcspn(s, ",");
		size_t m = n;
		while (m && s[m - 1] == ' ')
			m--;
		if (m)
			*PW_PUSH(a, out->v, out->n, out->cap) = pw_arena_strndup(a, s, m);
		s += n;
		if (*s == ',')
			s++;
	}
}

static bool parse_iprange(const char *s, struct iprange *r);

static bool rp_elem(struct rp *p, struct xelem *x, bool src)
{
	const char *start = p->s;
	if (rp_lit(p, src ? "src_ns: [" : "dst_ns: [")) {
		char *ns = rp_until(p, ']');
		if (!ns || !rp_lit(p, src ? " src_pods: [" : " dst_pods: [")) {
			p->err = "bad namespace element";
			return false;
		}
		char *pods = rp_until(p, ']');
		if (!pods) {
			p->err = "bad pods element";
			return false;
		}
		split_list(p->a, ns, &x->nss);
		if (!strcmp(pods, "*")) {
			x->pk = PK_ALL;
		} else if (strpbrk(pods, "=()!{")) {
			struct lp l = { pods, false, p->a };
			x->pk = PK_EXPR;
			x->expr = lp_or(&l);
			if (l.bad || *l.s) {
				p->err = pw_arena_printf(p->a, "bad label expression [%s]", pods);
				return false;
			}
		} else {
			x->pk = PK_NAMES;
			split_list(p->a, pods, &x->names);
		}
	} else if (rp_lit(p, src ? "src: " : "dst: ")) {
		size_t n = strcspn(p->s, " ");
		char *list = pw_arena_strndup(p->a, p->s, n);
		p->s += n;
		struct strs parts = { 0 };
		x->ips = true;
		split_list(p->a, list, &parts);
		for (uint32_t i = 0; i < parts.n; i++) {
			struct iprange *r = PW_PUSH(p->a, x->r, x->nr, x->rcap);
			if (!parse_iprange(parts.v[i], r)) {
				p->err = pw_arena_printf(p->a, "bad address range \"%s\" (DNS names are not supported)",
							 parts.v[i]);
				return false;
			}
		}
	} else {
		p->err = src ? "expected src_ns: or src:" : "expected dst_ns: or dst:";
		return false;
	}
	x->text = pw_arena_strndup(p->a, start, (size_t)(p->s - start));
	return true;
}

/* -- connections -- */

static const struct {
	const char *name;
	int num;
} protos[] = {
	{ "HOPOPT", 0 }, { "ICMP", 1 },	    { "IGMP", 2 },    { "TCP", 6 },
	{ "UDP", 17 },	 { "GRE", 47 },	    { "ESP", 50 },    { "AH", 51 },
	{ "ICMPv6", 58 }, { "SCTP", 132 },  { "UDPLite", 136 },
};

static int proto_num(const char *s)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(protos); i++)
		if (!strcmp(s, protos[i].name))
			return protos[i].num;
	char *end;
	long v = strtol(s, &end, 10);
	return *s && !*end && v >= 0 && v <= 255 ? (int)v : -1;
}

static bool parse_ranges(struct pw_arena *a, const char *s, unsigned max,
			 struct range **v, uint32_t *n, size_t *cap)
{
	struct strs parts = { 0 };
	split_list(a, s, &parts);
	if (!parts.n)
		return false;
	for (uint32_t i = 0; i < parts.n; i++) {
		char *end;
		unsigned long lo = strtoul(parts.v[i], &end, 10), hi = lo;
		if (end == parts.v[i])
			return false;
		if (*end == '-') {
			const char *h = end + 1;
			hi = strtoul(h, &end, 10);
			if (end == h)
				return false;
		}
		if (*end || lo > hi || hi > max)
			return false;
		struct range *r = PW_PUSH(a, *v, *n, *cap);
		r->lo = (unsigned)lo;
		r->hi = (unsigned)hi;
	}
	return true;
}

static bool in_ranges(const struct range *v, uint32_t n, unsigned x)
{
	for (uint32_t i = 0; i < n; i++)
		if (x >= v[i].lo && x <= v[i].hi)
			return true;
	return false;
}

static const char *parse_cube(struct pw_arena *a, const char *body, struct cube *cb)
{
	static const char *const dims[] = { "protocols", "src_ports", "dst_ports",
					    "methods",	 "hosts",     "paths",
					    "icmp_type", "icmp_code" };
	size_t len = strlen(body);
	size_t starts[64], kinds[64], n = 0;
	for (size_t i = 0; i < len && n < 64; i++) {
		if (i && body[i - 1] != ',')
			continue;
		for (size_t k = 0; k < PW_ARRAY_SIZE(dims); k++) {
			size_t dl = strlen(dims[k]);
			if (!strncmp(body + i, dims[k], dl) && body[i + dl] == ':') {
				starts[n] = i;
				kinds[n++] = k;
				break;
			}
		}
	}
	if (!n || starts[0])
		return pw_arena_printf(a, "bad connection cube {%s}", body);
	for (size_t j = 0; j < n; j++) {
		size_t vb = starts[j] + strlen(dims[kinds[j]]) + 1;
		size_t ve = j + 1 < n ? starts[j + 1] - 1 : len;
		char *v = pw_arena_strndup(a, body + vb, ve - vb);
		bool ok = true;
		switch (kinds[j]) {
		case 0: { /* protocols */
			bool neg = starts_with(v, "all but ");
			struct strs names = { 0 };
			if (!strcmp(v, "*"))
				break;
			split_list(a, neg ? v + 8 : v, &names);
			cb->has_proto = true;
			memset(cb->proto, neg, sizeof(cb->proto));
			for (uint32_t i = 0; i < names.n; i++) {
				int p = proto_num(names.v[i]);
				if (p < 0)
					return pw_arena_printf(a, "unknown protocol \"%s\"", names.v[i]);
				cb->proto[p] = !neg;
				cb->named[p] = 1;
			}
			ok = names.n > 0;
			break;
		}
		case 1:
			cb->src_ports = true;
			break;
		case 2:
			cb->has_ports = true;
			ok = parse_ranges(a, v, PW_PORT_MAX, &cb->ports, &cb->nports, &cb->pcap);
			break;
		case 3:
		case 4:
		case 5:
			cb->l7 = true;
			break;
		case 6:
			cb->has_type = true;
			ok = parse_ranges(a, v, 255, &cb->type, &cb->ntype, &cb->tcap);
			break;
		case 7:
			cb->has_code = true;
			ok = parse_ranges(a, v, 255, &cb->code, &cb->ncode, &cb->ccap);
			break;
		}
		if (!ok)
			return pw_arena_printf(a, "bad %s value \"%s\"", dims[kinds[j]], v);
	}
	return NULL;
}

static const char *parse_conn(struct pw_arena *a, const char *s, struct xconn *c)
{
	if (!strcmp(s, "All connections")) {
		c->kind = CK_ALL;
		return NULL;
	}
	if (!strcmp(s, "No connections")) {
		c->kind = CK_NONE;
		return NULL;
	}
	c->kind = CK_CUBES;
	if (starts_with(s, "All but ")) {
		c->kind = CK_ALLBUT;
		s += 8;
	}
	for (;;) {
		if (*s != '{')
			return pw_arena_printf(a, "bad connection set \"%s\"", s);
		const char *e = s;
		int depth = 0;
		for (; *e; e++) {
			if (*e == '{')
				depth++;
			else if (*e == '}' && --depth == 0)
				break;
		}
		if (!*e)
			return "unterminated connection cube";
		char *body = pw_arena_strndup(a, s + 1, (size_t)(e - s - 1));
		struct cube *cb = PW_PUSH(a, c->c, c->n, c->cap);
		const char *err = parse_cube(a, body, cb);
		if (err)
			return err;
		s = e + 1;
		if (!*s)
			return NULL;
		if (*s != ',')
			return "junk after a connection cube";
		s++;
	}
}

static const char *parse_rule(struct pw_arena *a, const char *line, struct xrule *r)
{
	struct rp p = { line, NULL, a };
	if (!rp_elem(&p, &r->src, true))
		return p.err;
	if (!rp_lit(&p, " "))
		return "expected a space after the source";
	if (!rp_elem(&p, &r->dst, false))
		return p.err;
	if (!rp_lit(&p, " conn: "))
		return "expected \" conn: \"";
	if (r->src.ips && r->dst.ips)
		return "a rule between two address ranges";
	return parse_conn(a, p.s, &r->conn);
}

static int parse_expected(struct pw_arena *a, const char *path, const char *qname,
			  struct xfile *xf, const char **err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		*err = afmt(a, "%s: cannot open", path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;
	struct xsec *cur = NULL;
	static const char hdr[] = "final fw rules for query: ";
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = 0;
		if (!n)
			continue;
		char *h = strstr(line, hdr);
		if (h) {
			enum scope sc;
			size_t pre = (size_t)(h - line);
			if (!pre)
				sc = SC_ALL;
			else if (!strncmp(line, "For connections of type TCP, ", pre) &&
				 pre == strlen("For connections of type TCP, "))
				sc = SC_TCP;
			else if (!strncmp(line, "For connections of type non-TCP, ", pre) &&
				 pre == strlen("For connections of type non-TCP, "))
				sc = SC_NONTCP;
			else {
				*err = afmt(a, "%s:%d: unknown section header", path, lineno);
				rc = -1;
				break;
			}
			char *q = h + strlen(hdr);
			char *cf = strstr(q, ", config: ");
			if (!cf || line[n - 1] != ':') {
				*err = afmt(a, "%s:%d: bad section header", path, lineno);
				rc = -1;
				break;
			}
			if ((size_t)(cf - q) != strlen(qname) || strncmp(q, qname, strlen(qname))) {
				*err = afmt(a, "%s:%d: section of query \"%.*s\", not \"%s\"", path,
					    lineno, (int)(cf - q), q, qname);
				rc = -1;
				break;
			}
			cf += strlen(", config: ");
			cur = PW_PUSH(a, xf->s, xf->n, xf->cap);
			cur->config = pw_arena_strndup(a, cf, strlen(cf) - 1);
			cur->scope = sc;
			continue;
		}
		if (!cur) {
			*err = afmt(a, "%s:%d: a rule before any section header", path, lineno);
			rc = -1;
			break;
		}
		struct xrule *r = PW_PUSH(a, cur->r, cur->n, cur->cap);
		r->scope = cur->scope;
		r->line = lineno;
		r->text = pw_arena_strdup(a, line);
		const char *e = parse_rule(a, line, r);
		if (e) {
			*err = afmt(a, "%s:%d: %s", path, lineno, e);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- addresses -------------------------------------------------------------- */

static int addr_bytes(int fam)
{
	return fam == 4 ? 4 : 16;
}

static bool addr_inc(struct pw_addr *x)
{
	for (int i = addr_bytes(x->family) - 1; i >= 0; i--)
		if (++x->b[i])
			return true;
	return false; /* wrapped past the last address */
}

static void addr_dec(struct pw_addr *x)
{
	for (int i = addr_bytes(x->family) - 1; i >= 0; i--)
		if (x->b[i]--)
			return;
}

static struct pw_addr addr_last(int fam)
{
	struct pw_addr x;
	memset(&x, 0, sizeof(x));
	x.family = (uint8_t)fam;
	memset(x.b, 0xff, (size_t)addr_bytes(fam));
	return x;
}

static void cidr_range(const struct pw_cidr *c, struct pw_addr *lo, struct pw_addr *hi)
{
	*lo = c->addr;
	*hi = c->addr;
	for (int bit = c->len; bit < addr_bytes(c->addr.family) * 8; bit++)
		hi->b[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

static bool parse_iprange(const char *s, struct iprange *r)
{
	const char *dash = strchr(s, '-');
	if (dash) {
		char lo[64];
		if ((size_t)(dash - s) >= sizeof(lo))
			return false;
		memcpy(lo, s, (size_t)(dash - s));
		lo[dash - s] = 0;
		return pw_addr_parse(lo, &r->lo) == 0 && pw_addr_parse(dash + 1, &r->hi) == 0 &&
		       r->lo.family == r->hi.family && pw_addr_cmp(&r->lo, &r->hi) <= 0;
	}
	if (strchr(s, '/')) {
		struct pw_cidr c;
		if (pw_cidr_parse(s, &c) < 0)
			return false;
		cidr_range(&c, &r->lo, &r->hi);
		return true;
	}
	if (pw_addr_parse(s, &r->lo) < 0)
		return false;
	r->hi = r->lo;
	return true;
}

struct cuts {
	struct pw_addr *v;
	uint32_t n;
	size_t cap;
};

static void cuts_add(struct pw_arena *a, struct cuts *c, const struct pw_addr *lo,
		     const struct pw_addr *hi)
{
	*PW_PUSH(a, c->v, c->n, c->cap) = *lo;
	struct pw_addr h = *hi;
	if (addr_inc(&h))
		*PW_PUSH(a, c->v, c->n, c->cap) = h;
}

static void cuts_cidr(struct pw_arena *a, struct cuts cuts[2], const struct pw_cidr *c)
{
	struct pw_addr lo, hi;
	cidr_range(c, &lo, &hi);
	cuts_add(a, &cuts[c->addr.family == 6], &lo, &hi);
}

static void cuts_cidrs(struct pw_arena *a, struct cuts cuts[2], const struct pw_cidr *v,
		       uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		cuts_cidr(a, cuts, &v[i]);
}

static int addr_qcmp(const void *x, const void *y)
{
	return pw_addr_cmp(x, y);
}

/* ---- probes: the classes of connections other than TCP/UDP/SCTP ports ---- */

struct probe {
	int proto, type, code;
	bool rest; /* stands for every protocol that nobody names */
};

struct space {
	struct probe *p;
	uint32_t n;
	size_t cap;
};

static bool port_proto(int ip)
{
	return ip == PW_IPPROTO_TCP || ip == PW_IPPROTO_UDP || ip == PW_IPPROTO_SCTP;
}

static bool icmp_proto(int ip)
{
	return ip == PW_IPPROTO_ICMP || ip == PW_IPPROTO_ICMPV6;
}

static const int port_ipproto[PW_NPROTO] = { PW_IPPROTO_TCP, PW_IPPROTO_UDP,
					     PW_IPPROTO_SCTP };

/* the first value of each class of [0,255] that the points split */
static void classes(const unsigned char cut[257], int out[256], int *n)
{
	*n = 0;
	for (int v = 0; v < 256; v++)
		if (!v || cut[v])
			out[(*n)++] = v;
}

static void mark_point(unsigned char cut[257], int v)
{
	if (v >= 0 && v <= 255) {
		cut[v] = 1;
		cut[v + 1] = 1;
	}
}

static void build_space(struct pw_arena *a, const struct pw_cluster *c,
			const struct xrule *const *rules, uint32_t nrules, struct space *sp)
{
	unsigned char named[256] = { 0 }, tcut[257] = { 0 }, ccut[257] = { 0 };
	for (uint32_t i = 0; i < c->ncpols; i++)
		for (int d = 0; d < 2; d++)
			for (uint32_t k = 0; k < c->cpols[i].nrules[d]; k++) {
				const struct pw_crule *r = &c->cpols[i].rules[d][k];
				if (r->proto >= 0 && r->proto <= 255)
					named[r->proto] = 1;
				if (r->not_proto >= 0 && r->not_proto <= 255)
					named[r->not_proto] = 1;
				mark_point(tcut, r->icmp_type);
				mark_point(tcut, r->not_icmp_type);
				mark_point(ccut, r->icmp_code);
				mark_point(ccut, r->not_icmp_code);
			}
	for (uint32_t i = 0; i < nrules; i++)
		for (uint32_t k = 0; k < rules[i]->conn.n; k++) {
			const struct cube *cb = &rules[i]->conn.c[k];
			for (int p = 0; p < 256; p++)
				named[p] |= cb->named[p];
			for (uint32_t j = 0; j < cb->ntype; j++) {
				tcut[cb->type[j].lo] = 1;
				tcut[cb->type[j].hi + 1] = 1;
			}
			for (uint32_t j = 0; j < cb->ncode; j++) {
				ccut[cb->code[j].lo] = 1;
				ccut[cb->code[j].hi + 1] = 1;
			}
		}
	int types[256], codes[256], nt, nc;
	classes(tcut, types, &nt);
	classes(ccut, codes, &nc);
	static const int icmps[] = { PW_IPPROTO_ICMP, PW_IPPROTO_ICMPV6 };
	for (size_t k = 0; k < PW_ARRAY_SIZE(icmps); k++)
		for (int t = 0; t < nt; t++)
			for (int cc = 0; cc < nc; cc++) {
				struct probe *pr = PW_PUSH(a, sp->p, sp->n, sp->cap);
				pr->proto = icmps[k];
				pr->type = types[t];
				pr->code = codes[cc];
			}
	bool rest = false;
	for (int p = 0; p < 256; p++) {
		if (port_proto(p) || icmp_proto(p))
			continue;
		if (!named[p]) {
			/* one protocol stands for all those nobody names */
			if (rest)
				continue;
			rest = true;
		}
		struct probe *pr = PW_PUSH(a, sp->p, sp->n, sp->cap);
		pr->proto = p;
		pr->type = pr->code = PW_ANY;
		pr->rest = !named[p];
	}
}

/* ---- connection sets over the probe space ---------------------------------- */

struct fset {
	struct pw_conns pc;
	unsigned char *pr;
	bool l7;
};

static void fset_init(struct fset *f, const struct space *sp)
{
	pw_conns_init(&f->pc);
	f->pr = pw_xcalloc(sp->n + 1, 1);
	f->l7 = false;
}

static void fset_release(struct fset *f)
{
	pw_conns_release(&f->pc);
	free(f->pr);
}

static void fset_clear(struct fset *f, const struct space *sp)
{
	pw_conns_clear(&f->pc);
	memset(f->pr, 0, sp->n + 1);
	f->l7 = false;
}

static bool scope_has(enum scope s, int ip)
{
	return s == SC_ALL || (s == SC_TCP) == (ip == PW_IPPROTO_TCP);
}

static void fset_full(struct fset *f, const struct space *sp, enum scope s)
{
	for (int p = 0; p < PW_NPROTO; p++)
		if (scope_has(s, port_ipproto[p]))
			pw_conns_add(&f->pc, p, 1, PW_PORT_MAX);
	for (uint32_t i = 0; i < sp->n; i++)
		if (scope_has(s, sp->p[i].proto))
			f->pr[i] = 1;
}

static void fset_union(struct fset *f, const struct fset *g, const struct space *sp)
{
	pw_conns_union(&f->pc, &g->pc);
	for (uint32_t i = 0; i < sp->n; i++)
		f->pr[i] |= g->pr[i];
	f->l7 |= g->l7;
}

/*
 * A cube: the protocols it names (all of the section's when absent), the
 * destination ports for TCP, UDP and SCTP (a cube with ports says nothing of
 * port-less protocols), ICMP type and code for ICMP and ICMPv6.
 */
static void cube_add(struct fset *f, const struct cube *cb, const struct space *sp,
		     enum scope s)
{
	bool icmpdims = cb->has_type || cb->has_code;
	for (int p = 0; p < PW_NPROTO && !icmpdims; p++) {
		int ip = port_ipproto[p];
		if (!scope_has(s, ip) || (cb->has_proto && !cb->proto[ip]))
			continue;
		if (!cb->has_ports) {
			pw_conns_add(&f->pc, p, 1, PW_PORT_MAX);
			continue;
		}
		for (uint32_t i = 0; i < cb->nports; i++)
			if (cb->ports[i].hi >= 1)
				pw_conns_add(&f->pc, p, cb->ports[i].lo ? cb->ports[i].lo : 1,
					     cb->ports[i].hi);
	}
	for (uint32_t i = 0; i < sp->n && !cb->has_ports; i++) {
		const struct probe *pr = &sp->p[i];
		if (!scope_has(s, pr->proto) || (cb->has_proto && !cb->proto[pr->proto]))
			continue;
		if (icmp_proto(pr->proto)) {
			if (cb->has_type && !in_ranges(cb->type, cb->ntype, (unsigned)pr->type))
				continue;
			if (cb->has_code && !in_ranges(cb->code, cb->ncode, (unsigned)pr->code))
				continue;
		} else if (icmpdims) {
			continue;
		}
		f->pr[i] = 1;
	}
	if (cb->l7)
		f->l7 = true;
}

static void conn_fset(const struct xconn *c, enum scope s, const struct space *sp,
		      struct fset *f)
{
	fset_clear(f, sp);
	switch (c->kind) {
	case CK_NONE:
		return;
	case CK_ALL:
		fset_full(f, sp, s);
		return;
	case CK_CUBES:
		for (uint32_t i = 0; i < c->n; i++)
			cube_add(f, &c->c[i], sp, s);
		return;
	case CK_ALLBUT: {
		struct fset u;
		fset_init(&u, sp);
		for (uint32_t i = 0; i < c->n; i++)
			cube_add(&u, &c->c[i], sp, s);
		fset_full(f, sp, s);
		pw_conns_subtract(&f->pc, &u.pc);
		for (uint32_t i = 0; i < sp->n; i++)
			f->pr[i] &= (unsigned char)!u.pr[i];
		f->l7 = u.l7;
		fset_release(&u);
		return;
	}
	}
}

static bool portset_eq(const struct pw_portset *a, const struct pw_portset *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->r[i].lo != b->r[i].lo || a->r[i].hi != b->r[i].hi)
			return false;
	return true;
}

static bool fset_eq(const struct fset *a, const struct fset *b, const struct space *sp,
		    bool skip_tcp)
{
	for (int p = 0; p < PW_NPROTO; p++)
		if (!(skip_tcp && p == PW_TCP) && !portset_eq(&a->pc.p[p], &b->pc.p[p]))
			return false;
	for (uint32_t i = 0; i < sp->n; i++)
		if (!!a->pr[i] != !!b->pr[i])
			return false;
	return true;
}

static const char *ipproto_name(int p)
{
	for (size_t i = 0; i < PW_ARRAY_SIZE(protos); i++)
		if (protos[i].num == p)
			return protos[i].name;
	return NULL;
}

/* f minus g, printed */
static void fset_minus_format(struct pw_buf *b, const struct fset *f, const struct fset *g,
			      const struct space *sp, bool skip_tcp)
{
	struct pw_conns d;
	bool any = false;
	pw_conns_init(&d);
	pw_conns_copy(&d, &f->pc);
	pw_conns_subtract(&d, &g->pc);
	if (skip_tcp)
		d.p[PW_TCP].n = 0;
	bool everything = pw_conns_all(&d);
	for (uint32_t i = 0; i < sp->n && everything; i++)
		everything = f->pr[i] && !g->pr[i];
	if (everything) {
		pw_buf_puts(b, "all connections");
		pw_conns_release(&d);
		return;
	}
	if (!pw_conns_empty(&d)) {
		pw_conns_format(&d, b);
		any = true;
	}
	pw_conns_release(&d);
	for (uint32_t i = 0; i < sp->n;) {
		const struct probe *pr = &sp->p[i];
		uint32_t j = i, on = 0, tot = 0;
		for (; j < sp->n && sp->p[j].proto == pr->proto; j++, tot++)
			on += f->pr[j] && !g->pr[j];
		if (on) {
			const char *nm = ipproto_name(pr->proto);
			pw_buf_puts(b, any ? "," : "");
			if (pr->rest)
				pw_buf_puts(b, "other protocols");
			else if (nm)
				pw_buf_puts(b, nm);
			else
				pw_buf_printf(b, "proto %d", pr->proto);
			if (on < tot) {
				pw_buf_puts(b, "(classes from type/code");
				for (uint32_t k = i; k < j; k++)
					if (f->pr[k] && !g->pr[k])
						pw_buf_printf(b, " %d/%d", sp->p[k].type, sp->p[k].code);
				pw_buf_putc(b, ')');
			}
			any = true;
		}
		i = j;
	}
	if (!any)
		pw_buf_puts(b, "-");
}

/* ---- divergences ------------------------------------------------------------ */

enum divkind { DK_ALL, DK_TCP, DK_FLAG };
struct div {
	const char *query, *config, *reason;
	enum divkind kind;
	unsigned flags;
	int line;
	bool used;
};

struct divs {
	struct div *v;
	uint32_t n;
	size_t cap;
};

static int divs_load(struct pw_arena *a, const char *path, struct divs *dv)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "nca-calico: %s: cannot open\n", path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *s = line;
		s[strcspn(s, "\r\n")] = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		char *tok[3];
		for (int i = 0; i < 3; i++) {
			tok[i] = s;
			s += strcspn(s, " \t");
			if (*s)
				*s++ = 0;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		struct div *d = PW_PUSH(a, dv->v, dv->n, dv->cap);
		d->query = pw_arena_strdup(a, tok[0]);
		d->config = pw_arena_strdup(a, tok[1]);
		d->reason = pw_arena_strdup(a, s);
		d->line = lineno;
		if (!strcmp(tok[2], "all")) {
			d->kind = DK_ALL;
		} else if (!strcmp(tok[2], "tcp")) {
			d->kind = DK_TCP;
		} else if (!strcmp(tok[2], "ipblock-excludes-pods")) {
			d->kind = DK_FLAG;
			d->flags = PW_ENGINE_IPBLOCK_EXCLUDES_PODS;
		} else {
			fprintf(stderr, "%s:%d: unknown scope \"%s\"\n", path, lineno, tok[2]);
			rc = -1;
		}
		if (!*d->config || !*d->reason) {
			fprintf(stderr, "%s:%d: want QUERY CONFIG SCOPE REASON\n", path, lineno);
			rc = -1;
		}
	}
	free(line);
	fclose(f);
	return rc;
}

/* The entry of that class for (query, config): an exact config first. */
static struct div *div_find(struct divs *dv, const char *qid, const char *cfg, bool flag)
{
	struct div *star = NULL;
	for (uint32_t i = 0; i < dv->n; i++) {
		struct div *d = &dv->v[i];
		if ((d->kind == DK_FLAG) != flag || strcmp(d->query, qid))
			continue;
		if (!strcmp(d->config, cfg))
			return d;
		if (!strcmp(d->config, "*"))
			star = d;
	}
	return star;
}

/* ---- one config of a query -------------------------------------------------- */

struct cres {
	const char *err; /* could not be evaluated */
	size_t ndiff;	 /* pairs that differ in the compared part */
	size_t nexcl;	 /* pairs that differ only in the excluded part */
	size_t npairs;
	bool l7;	 /* the compared part relies on L7 attributes */
	struct pw_buf out;
};

struct cfgref {
	const char *ref, *name, *display;
	const char *kind, *ns, *pol; /* single policy, or pol NULL */
};

static int parse_ref(struct pw_arena *a, const char *ref, struct cfgref *r)
{
	struct strs parts = { 0 };
	const char *s = ref;
	memset(r, 0, sizeof(*r));
	r->ref = ref;
	for (;;) {
		size_t n = strcspn(s, "/");
		*PW_PUSH(a, parts.v, parts.n, parts.cap) = pw_arena_strndup(a, s, n);
		if (!s[n])
			break;
		s += n + 1;
	}
	r->name = parts.v[0];
	r->display = ref;
	switch (parts.n) {
	case 1:
		return 0;
	case 2:
		r->pol = parts.v[1];
		return 0;
	case 3:
		r->ns = parts.v[1];
		r->pol = parts.v[2];
		return 0;
	case 4:
		r->kind = parts.v[1];
		r->ns = parts.v[2];
		r->pol = parts.v[3];
		r->display = afmt(a, "%s/%s/%s", r->name, r->ns, r->pol);
		return 0;
	default:
		return -1;
	}
}

/* Keep only the policy the reference names (NCA's single-policy configs). */
static const char *filter_policy(struct pw_arena *a, struct pw_cluster *c,
				 const struct cfgref *r)
{
	bool k8s = true, cal_ns = true, cal_gl = true;
	if (r->kind) {
		k8s = !strcmp(r->kind, "K8sNetworkPolicy");
		cal_ns = !strcmp(r->kind, "CalicoNetworkPolicy");
		cal_gl = !strcmp(r->kind, "CalicoGlobalNetworkPolicy");
		if (!k8s && !cal_ns && !cal_gl)
			return afmt(a, "policy layer %s is not modelled", r->kind);
	}
	uint32_t nk = 0, nc = 0;
	for (uint32_t i = 0; i < c->npols; i++) {
		const struct pw_policy *p = &c->pols[i];
		if (k8s && r->ns && !strcmp(c->nss[p->ns].name, r->ns) && !strcmp(p->name, r->pol))
			c->pols[nk++] = *p;
	}
	for (uint32_t i = 0; i < c->ncpols; i++) {
		const struct pw_cpolicy *p = &c->cpols[i];
		bool keep;
		if (strcmp(p->name, r->pol))
			keep = false;
		else if (p->ns < 0)
			keep = cal_gl && (!r->ns || r->kind);
		else
			keep = cal_ns && r->ns && !strcmp(c->nss[p->ns].name, r->ns);
		if (keep)
			c->cpols[nc++] = *p;
	}
	c->npols = nk;
	c->ncpols = nc;
	c->napols = 0;
	if (!nk && !nc)
		return afmt(a, "no policy %s%s%s in config %s", r->ns ? r->ns : "",
			    r->ns ? "/" : "", r->pol, r->name);
	return NULL;
}

static bool elem_pod(const struct xelem *x, const struct pw_cluster *c, uint32_t i)
{
	const struct pw_pod *p = &c->pods[i];
	if (x->ips || !strs_has(&x->nss, c->nss[p->ns].name))
		return false;
	switch (x->pk) {
	case PK_ALL:
		return true;
	case PK_NAMES:
		/* NCA prints a pod by its owner's name when it has one */
		return strs_has(&x->names, p->owner_name ? p->owner_name : p->name);
	case PK_EXPR:
		return lx_eval(x->expr, &p->labels);
	}
	return false;
}

static bool elem_addr(const struct xelem *x, const struct pw_addr *ad)
{
	for (uint32_t i = 0; x->ips && i < x->nr; i++)
		if (x->r[i].lo.family == ad->family && pw_addr_cmp(&x->r[i].lo, ad) <= 0 &&
		    pw_addr_cmp(ad, &x->r[i].hi) <= 0)
			return true;
	return false;
}

/* Every namespace and pod name of an element must exist. */
static const char *elem_check(struct pw_arena *a, const struct xelem *x,
			      const struct pw_cluster *c, const uint32_t *pods, uint32_t npods)
{
	if (x->ips)
		return NULL;
	for (uint32_t i = 0; i < x->nss.n; i++)
		if (pw_cluster_find_ns(c, x->nss.v[i]) < 0)
			return afmt(a, "unknown namespace %s in \"%s\"", x->nss.v[i], x->text);
	for (uint32_t k = 0; x->pk == PK_NAMES && k < x->names.n; k++) {
		bool found = false;
		for (uint32_t i = 0; i < npods && !found; i++) {
			const struct pw_pod *p = &c->pods[pods[i]];
			found = strs_has(&x->nss, c->nss[p->ns].name) &&
				!strcmp(x->names.v[k], p->owner_name ? p->owner_name : p->name);
		}
		if (!found)
			return afmt(a, "no pod %s in \"%s\"", x->names.v[k], x->text);
	}
	return NULL;
}

struct endpoint {
	struct pw_ep ep;
	const char *name;
	bool addr;
	struct pw_addr rep;
};

static void add_atoms(struct pw_arena *a, struct cuts *cu, int fam, struct endpoint **ev,
		      uint32_t *n, size_t *cap)
{
	struct pw_addr zero;
	memset(&zero, 0, sizeof(zero));
	zero.family = (uint8_t)fam;
	*PW_PUSH(a, cu->v, cu->n, cu->cap) = zero;
	qsort(cu->v, cu->n, sizeof(*cu->v), addr_qcmp);
	uint32_t m = 0;
	for (uint32_t i = 0; i < cu->n; i++)
		if (!m || pw_addr_cmp(&cu->v[m - 1], &cu->v[i]))
			cu->v[m++] = cu->v[i];
	cu->n = m;
	for (uint32_t i = 0; i < m; i++) {
		struct pw_addr hi = i + 1 < m ? cu->v[i + 1] : addr_last(fam);
		if (i + 1 < m)
			addr_dec(&hi);
		char lo_s[48], hi_s[48];
		pw_addr_format(&cu->v[i], lo_s);
		pw_addr_format(&hi, hi_s);
		struct endpoint *e = PW_PUSH(a, *ev, *n, *cap);
		e->addr = true;
		e->rep = cu->v[i];
		e->ep = pw_ep_addr(&cu->v[i]);
		e->name = pw_addr_cmp(&cu->v[i], &hi) ? afmt(a, "%s-%s", lo_s, hi_s)
						       : pw_arena_strdup(a, lo_s);
	}
}

static void add_policy_cuts(struct pw_arena *a, const struct pw_cluster *c, struct cuts cu[2])
{
	for (uint32_t i = 0; i < c->ncpols; i++)
		for (int d = 0; d < 2; d++)
			for (uint32_t k = 0; k < c->cpols[i].nrules[d]; k++) {
				const struct pw_crule *r = &c->cpols[i].rules[d][k];
				cuts_cidrs(a, cu, r->src.nets, r->src.nnets);
				cuts_cidrs(a, cu, r->src.not_nets, r->src.nnot_nets);
				cuts_cidrs(a, cu, r->dst.nets, r->dst.nnets);
				cuts_cidrs(a, cu, r->dst.not_nets, r->dst.nnot_nets);
			}
	for (uint32_t i = 0; i < c->npols; i++)
		for (int d = 0; d < 2; d++)
			for (uint32_t k = 0; k < c->pols[i].nrules[d]; k++) {
				const struct pw_rule *r = &c->pols[i].rules[d][k];
				for (uint32_t q = 0; q < r->npeers; q++) {
					if (!r->peers[q].ipblock)
						continue;
					cuts_cidr(a, cu, &r->peers[q].cidr);
					cuts_cidrs(a, cu, r->peers[q].except, r->peers[q].nexcept);
				}
			}
	for (uint32_t i = 0; i < c->nnetsets; i++)
		cuts_cidrs(a, cu, c->netsets[i].nets, c->netsets[i].nnets);
	for (uint32_t i = 0; i < c->napols; i++)
		for (int d = 0; d < 2; d++)
			for (uint32_t k = 0; k < c->apols[i].nrules[d]; k++)
				for (uint32_t q = 0; q < c->apols[i].rules[d][k].npeers; q++)
					cuts_cidrs(a, cu, c->apols[i].rules[d][k].peers[q].nets,
						   c->apols[i].rules[d][k].peers[q].nnets);
}

static const char *dropped_in(struct pw_arena *a, const struct strs *dropped,
			       const struct pw_np_port *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i].name && strs_has(dropped, v[i].name))
			return afmt(a, "a policy uses the port name \"%s\", which the topology "
				       "import had to drop",
				    v[i].name);
	return NULL;
}

/* A port name the topology import dropped must not matter. */
static const char *uses_dropped(struct pw_arena *a, const struct pw_cluster *c,
				const struct strs *dropped)
{
	const char *e = NULL;
	for (uint32_t i = 0; i < c->ncpols && !e; i++)
		for (int d = 0; d < 2 && !e; d++)
			for (uint32_t k = 0; k < c->cpols[i].nrules[d] && !e; k++) {
				const struct pw_cside *sd = &c->cpols[i].rules[d][k].dst;
				e = dropped_in(a, dropped, sd->ports, sd->nports);
				if (!e)
					e = dropped_in(a, dropped, sd->not_ports, sd->nnot_ports);
			}
	for (uint32_t i = 0; i < c->npols && !e; i++)
		for (int d = 0; d < 2 && !e; d++)
			for (uint32_t k = 0; k < c->pols[i].nrules[d] && !e; k++)
				e = dropped_in(a, dropped, c->pols[i].rules[d][k].ports,
					       c->pols[i].rules[d][k].nports);
	for (uint32_t i = 0; i < c->napols && !e; i++)
		for (int d = 0; d < 2 && !e; d++)
			for (uint32_t k = 0; k < c->apols[i].nrules[d] && !e; k++)
				e = dropped_in(a, dropped, c->apols[i].rules[d][k].ports,
					       c->apols[i].rules[d][k].nports);
	return e;
}

static void engine_fset(const struct pw_engine *e, const struct endpoint *s,
			const struct endpoint *d, const struct space *sp, struct fset *f)
{
	fset_clear(f, sp);
	pw_engine_conns(e, &s->ep, &d->ep, &f->pc);
	for (uint32_t i = 0; i < sp->n; i++) {
		struct pw_query q = { sp->p[i].proto, 0, sp->p[i].type, sp->p[i].code };
		struct pw_verdict v;
		pw_engine_eval(e, &s->ep, &d->ep, &q, &v);
		f->pr[i] = v.allowed;
	}
}

static void note_skipped(const struct pw_cluster *c, struct pw_buf *b)
{
	/* "FILE:LINE: Kind name" -> counts by kind */
	const char *kinds[16];
	size_t lens[16];
	unsigned counts[16];
	size_t nk = 0;
	for (uint32_t i = 0; i < c->nskipped; i++) {
		const char *s = strstr(c->skipped[i], ": ");
		if (!s)
			continue;
		s += 2;
		size_t l = strcspn(s, " "), k = 0;
		while (k < nk && !(lens[k] == l && !strncmp(kinds[k], s, l)))
			k++;
		if (k == nk) {
			if (nk == PW_ARRAY_SIZE(kinds))
				continue;
			kinds[nk] = s;
			lens[nk] = l;
			counts[nk++] = 0;
		}
		counts[k]++;
	}
	for (size_t k = 0; k < nk; k++)
		pw_buf_printf(b, "%s%u %.*s", k ? ", " : "", counts[k], (int)lens[k], kinds[k]);
}

static void eval_config(struct pw_arena *a, const struct scheme *s, const struct query *q,
			const struct cfgref *r, struct xfile *xf, const struct div *dv,
			const struct div *flag, struct cres *res)
{
	struct pw_cluster c;
	struct pw_diags dg;
	struct pw_engine e;
	struct topo t;
	bool have_engine = false;
	bool skip_tcp = dv && dv->kind == DK_TCP;
	memset(&e, 0, sizeof(e));
	memset(&t, 0, sizeof(t));
	t.a = a;
	pw_buf_init(&t.js);
	pw_buf_init(&t.notes);
	pw_cluster_init(&c);
	pw_diags_init(&dg);

	const struct netcfg *cfg = NULL;
	for (uint32_t i = 0; i < s->ncfgs && !cfg; i++)
		if (!strcmp(s->cfgs[i].name, r->name))
			cfg = &s->cfgs[i];
	if (!cfg) {
		res->err = afmt(a, "no config %s in %s", r->name, s->id);
		goto out;
	}
	if (cfg->bad) {
		res->err = cfg->bad;
		goto out;
	}
	/* the expected sections of this config */
	struct xrule **rules = NULL;
	uint32_t nrules = 0;
	size_t rcap = 0;
	uint32_t nsec = 0;
	for (uint32_t i = 0; i < xf->n; i++) {
		if (strcmp(xf->s[i].config, r->display) && strcmp(xf->s[i].config, r->ref))
			continue;
		xf->s[i].used = true;
		nsec++;
		for (uint32_t k = 0; k < xf->s[i].n; k++)
			*PW_PUSH(a, rules, nrules, rcap) = &xf->s[i].r[k];
	}
	if (!nsec) {
		res->err = afmt(a, "no section for config %s in %s", r->display, q->expected);
		goto out;
	}

	const char *err = NULL;
	if (topo_build(&t, a, cfg->nslist ? cfg->nslist : s->nslist,
		       cfg->podlist ? cfg->podlist : s->podlist, &err) < 0) {
		res->err = err;
		goto out;
	}
	pw_cluster_load_buffer(&c, afmt(a, "<topology of %s>", s->id),
			       (const unsigned char *)t.js.s, t.js.len, &dg);
	if (dg.errors) {
		struct pw_buf b;
		pw_buf_init(&b);
		pw_diag_format(&dg.v[0], &b);
		res->err = afmt(a, "topology import failed: %s", b.s);
		pw_buf_release(&b);
		goto out;
	}
	uint32_t topo_pods = c.npods;
	for (uint32_t i = 0; i < cfg->pols.n; i++) {
		struct strs files = { 0 };
		if (!expand_source(a, cfg->pols.v[i], &files)) {
			res->err = afmt(a, "policy source %s not found", cfg->pols.v[i]);
			goto out;
		}
		for (uint32_t k = 0; k < files.n; k++)
			pw_cluster_load_path(&c, files.v[k], &dg);
	}
	pw_cluster_finish(&c, &dg);
	if (dg.errors) {
		struct pw_buf b;
		pw_buf_init(&b);
		for (size_t i = 0; i < dg.n && i < 3; i++) {
			if (dg.v[i].sev != PW_ERROR)
				continue;
			pw_buf_puts(&b, "\n      ");
			pw_diag_format(&dg.v[i], &b);
		}
		res->err = afmt(a, "podwall rejects the config (%zu errors):%s", dg.errors, b.s);
		pw_buf_release(&b);
		goto out;
	}
	if (c.npods != topo_pods) {
		res->err = "the policy files define pods";
		goto out;
	}
	if (r->pol && (err = filter_policy(a, &c, r))) {
		res->err = err;
		goto out;
	}
	if ((err = uses_dropped(a, &c, &t.dropped))) {
		res->err = err;
		goto out;
	}
	if (pw_engine_build(&e, &c, flag ? flag->flags : 0)) {
		res->err = "pw_engine_build failed";
		goto out;
	}
	have_engine = true;
	if (c.nskipped) {
		pw_buf_puts(&res->out, "    not modelled, skipped by the loader: ");
		note_skipped(&c, &res->out);
		pw_buf_putc(&res->out, '\n');
	}
	if (verbose) {
		pw_buf_printf(&res->out,
			      "    topology: %zu namespaces, %zu pods, %zu workload endpoints imported\n",
			      t.nns, t.npods, t.nweps);
		if (t.nnotes)
			pw_buf_puts(&res->out, t.notes.s);
	}

	/* endpoints: pods, then the classes of addresses */
	struct endpoint *ev = NULL;
	uint32_t nev = 0;
	size_t evcap = 0;
	uint32_t *pods = NULL, npods = 0;
	size_t pcap = 0;
	for (uint32_t i = 0; i < c.npods; i++) {
		if (c.pods[i].template)
			continue;
		*PW_PUSH(a, pods, npods, pcap) = i;
		struct endpoint *ep = PW_PUSH(a, ev, nev, evcap);
		ep->ep = pw_ep_pod(&c, i);
		ep->name = afmt(a, "%s/%s", c.nss[c.pods[i].ns].name, c.pods[i].name);
	}
	struct cuts cu[2];
	memset(cu, 0, sizeof(cu));
	add_policy_cuts(a, &c, cu);
	bool v6 = !q->excl_v6 || cu[1].n;
	for (uint32_t i = 0; i < nrules; i++)
		for (int side = 0; side < 2; side++) {
			const struct xelem *x = side ? &rules[i]->dst : &rules[i]->src;
			for (uint32_t k = 0; x->ips && k < x->nr; k++) {
				cuts_add(a, &cu[x->r[k].lo.family == 6], &x->r[k].lo, &x->r[k].hi);
				v6 = v6 || x->r[k].lo.family == 6;
			}
			if ((err = elem_check(a, x, &c, pods, npods))) {
				res->err = afmt(a, "line %d: %s", rules[i]->line, err);
				goto out;
			}
		}
	add_atoms(a, &cu[0], 4, &ev, &nev, &evcap);
	if (v6)
		add_atoms(a, &cu[1], 6, &ev, &nev, &evcap);

	struct space sp = { 0 };
	build_space(a, &c, (const struct xrule *const *)rules, nrules, &sp);

	/* each rule's connections, and which endpoints its sides match */
	struct fset *rf = pw_arena_alloc(a, (nrules + 1) * sizeof(*rf));
	unsigned char *in_src = pw_arena_alloc(a, (size_t)(nrules + 1) * nev);
	unsigned char *in_dst = pw_arena_alloc(a, (size_t)(nrules + 1) * nev);
	for (uint32_t i = 0; i < nrules; i++) {
		fset_init(&rf[i], &sp);
		conn_fset(&rules[i]->conn, rules[i]->scope, &sp, &rf[i]);
		for (uint32_t k = 0; k < nev; k++) {
			const struct endpoint *ep = &ev[k];
			in_src[(size_t)i * nev + k] = ep->addr ? elem_addr(&rules[i]->src, &ep->rep)
							       : elem_pod(&rules[i]->src, &c, (uint32_t)ep->ep.pod);
			in_dst[(size_t)i * nev + k] = ep->addr ? elem_addr(&rules[i]->dst, &ep->rep)
							       : elem_pod(&rules[i]->dst, &c, (uint32_t)ep->ep.pod);
		}
	}
	struct fset want, got;
	fset_init(&want, &sp);
	fset_init(&got, &sp);
	for (uint32_t si = 0; si < nev; si++)
		for (uint32_t di = 0; di < nev; di++) {
			if (si == di || (ev[si].addr && ev[di].addr))
				continue;
			res->npairs++;
			fset_clear(&want, &sp);
			for (uint32_t i = 0; i < nrules; i++)
				if (in_src[(size_t)i * nev + si] && in_dst[(size_t)i * nev + di])
					fset_union(&want, &rf[i], &sp);
			engine_fset(&e, &ev[si], &ev[di], &sp, &got);
			bool same = fset_eq(&want, &got, &sp, skip_tcp);
			if (want.l7 && !skip_tcp)
				res->l7 = true;
			if (same) {
				/* podwall cannot restrict TCP by L7 attributes */
				if (skip_tcp && (want.l7 || !fset_eq(&want, &got, &sp, false))) {
					if (verbose && res->nexcl < difflimit) {
						pw_buf_printf(&res->out,
							      "    TCP, not compared: %s -> %s: NCA only: ",
							      ev[si].name, ev[di].name);
						fset_minus_format(&res->out, &want, &got, &sp, false);
						pw_buf_puts(&res->out, "; podwall only: ");
						fset_minus_format(&res->out, &got, &want, &sp, false);
						pw_buf_puts(&res->out, want.l7 ? " (NCA side restricted by L7 attributes)\n"
										: "\n");
					}
					res->nexcl++;
				}
				continue;
			}
			if (res->ndiff++ < difflimit) {
				pw_buf_printf(&res->out, "    %s -> %s: NCA only: ", ev[si].name,
					      ev[di].name);
				fset_minus_format(&res->out, &want, &got, &sp, skip_tcp);
				pw_buf_puts(&res->out, "; podwall only: ");
				fset_minus_format(&res->out, &got, &want, &sp, skip_tcp);
				pw_buf_puts(&res->out, want.l7 ? " (NCA side restricted by L7 attributes)\n" : "\n");
			}
		}
	if (res->ndiff > difflimit)
		pw_buf_printf(&res->out, "    ... %zu more pairs differ\n", res->ndiff - difflimit);
	fset_release(&want);
	fset_release(&got);
	for (uint32_t i = 0; i < nrules; i++)
		fset_release(&rf[i]);
out:
	if (res->err && t.nnotes)
		pw_buf_puts(&res->out, t.notes.s);
	if (have_engine)
		pw_engine_release(&e);
	pw_cluster_release(&c);
	pw_diags_release(&dg);
	pw_buf_release(&t.js);
	pw_buf_release(&t.notes);
}

static const char *skip_tcp_note(const struct div *d)
{
	return d && d->kind == DK_TCP ? " outside TCP (TCP is a listed divergence)" : "";
}

/* ---- queries ------------------------------------------------------------------ */

struct tally {
	int pass, fail, known;
};

static void run_query(struct pw_arena *a, const struct scheme *s, const struct query *q,
		      struct divs *dv, struct tally *tl)
{
	struct xfile xf = { 0 };
	const char *err = NULL;
	struct pw_buf msg;
	pw_buf_init(&msg);
	bool failed = false, divergent = false;
	unsigned nmatch = 0;
	if (parse_expected(a, q->expected, q->name, &xf, &err) < 0) {
		printf("FAIL: %s: %s\n", q->id, err);
		tl->fail++;
		pw_buf_release(&msg);
		return;
	}
	for (uint32_t i = 0; i < q->cfgs.n; i++) {
		struct cfgref r;
		struct cres res;
		memset(&res, 0, sizeof(res));
		pw_buf_init(&res.out);
		struct div *d = div_find(dv, q->id, q->cfgs.v[i], false);
		struct div *fl = div_find(dv, q->id, q->cfgs.v[i], true);
		if (d)
			d->used = true;
		if (fl)
			fl->used = true;
		if (parse_ref(a, q->cfgs.v[i], &r) < 0)
			res.err = afmt(a, "bad config reference %s", q->cfgs.v[i]);
		else
			eval_config(a, s, q, &r, &xf, d, fl, &res);
		const char *cf = q->cfgs.v[i];
		bool bad = res.err || res.ndiff || res.l7;
		if (d && d->kind == DK_ALL) {
			divergent = true;
			pw_buf_printf(&msg, "  known divergence: config %s: %s\n", cf, d->reason);
			if (res.err)
				pw_buf_printf(&msg, "    (not evaluated: %s)\n", res.err);
			else if (res.ndiff || res.l7)
				pw_buf_printf(&msg, "    (podwall differs on %zu of %zu pairs%s)\n",
					      res.ndiff, res.npairs,
					      res.l7 ? "; NCA restricts TCP by L7 attributes" : "");
			else
				pw_buf_printf(&msg, "    note: no difference found: stale entry (line %d)?\n",
					      d->line);
			if (verbose)
				pw_buf_puts(&msg, res.out.s ? res.out.s : "");
		} else if (bad) {
			failed = true;
			pw_buf_printf(&msg, "  config %s:", cf);
			if (res.err)
				pw_buf_printf(&msg, " %s\n", res.err);
			else
				pw_buf_printf(&msg, " %zu of %zu pairs differ%s%s\n", res.ndiff,
					      res.npairs, skip_tcp_note(d),
					      res.l7 ? "; NCA restricts TCP by L7 attributes (methods/hosts/paths), which podwall does not model" : "");
			pw_buf_puts(&msg, res.out.s ? res.out.s : "");
		} else if (d && d->kind == DK_TCP) {
			divergent = true;
			pw_buf_printf(&msg, "  known divergence: config %s, TCP: %s\n", cf, d->reason);
			pw_buf_printf(&msg, "    (other protocols match on all %zu pairs; TCP differs on %zu)\n",
				      res.npairs, res.nexcl);
			if (verbose)
				pw_buf_puts(&msg, res.out.s ? res.out.s : "");
		} else {
			nmatch++;
			if (verbose) {
				pw_buf_printf(&msg, "  config %s: %zu pairs match%s%s\n", cf, res.npairs,
					      fl ? "; engine flag ipblock-excludes-pods: " : "",
					      fl ? fl->reason : "");
				pw_buf_puts(&msg, res.out.s ? res.out.s : "");
			}
		}
		pw_buf_release(&res.out);
	}
	for (uint32_t i = 0; i < xf.n; i++)
		if (!xf.s[i].used) {
			failed = true;
			pw_buf_printf(&msg, "  section for config %s matches no config of the query\n",
				      xf.s[i].config);
		}
	if (failed) {
		tl->fail++;
		printf("FAIL: %s (%s)\n%s", q->id, q->expected, msg.s ? msg.s : "");
	} else if (divergent) {
		tl->known++;
		printf("known divergence: %s\n%s", q->id, msg.s ? msg.s : "");
		if (nmatch)
			printf("  the query's %u other config%s match%s\n", nmatch,
			       nmatch > 1 ? "s" : "", nmatch > 1 ? "" : "es");
	} else {
		tl->pass++;
		if (verbose)
			printf("PASS: %s\n%s", q->id, msg.s ? msg.s : "");
	}
	pw_buf_release(&msg);
}

static bool scheme_name(const char *n)
{
	return ends_with(n, "-scheme.yaml");
}

static void find_schemes(struct pw_arena *a, const char *dir, struct strs *out)
{
	list_dir(a, dir, true, scheme_name, out);
}

static void usage(void)
{
	fprintf(stderr, "usage: nca-calico [-v] [-a] [-d DIVERGENCES] [-q SUBSTRING] ROOT\n"
			"  ROOT   the nca-calico directory (with calico_testcases/)\n"
			"  -v     show passing queries, loader notes and known divergences' pairs\n"
			"  -a     print every differing pair (default: 10 per config)\n"
			"  -d F   known divergences (QUERY CONFIG SCOPE REASON per line)\n"
			"  -q S   only the queries whose id contains S\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *divfile = NULL, *only = NULL, *root = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "-a"))
			difflimit = SIZE_MAX;
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			divfile = argv[++i];
		else if (!strcmp(argv[i], "-q") && i + 1 < argc)
			only = argv[++i];
		else if (argv[i][0] != '-' && !root)
			root = argv[i];
		else
			usage();
	}
	if (!root)
		usage();
	struct pw_arena a;
	struct divs dv = { 0 };
	struct tally tl = { 0, 0, 0 };
	pw_arena_init(&a);
	if (divfile && divs_load(&a, divfile, &dv) < 0)
		tl.fail++;
	struct strs schemes = { 0 };
	char *dir = afmt(&a, "%s/calico_testcases/example_policies", root);
	if (!is_dir(dir)) {
		printf("FAIL: %s: not a directory\n", dir);
		tl.fail++;
	}
	find_schemes(&a, dir, &schemes);
	unsigned nq = 0;
	for (uint32_t i = 0; i < schemes.n; i++) {
		struct scheme s;
		const char *err = NULL;
		struct pw_arena sa;
		memset(&s, 0, sizeof(s));
		pw_arena_init(&sa);
		if (scheme_load(&sa, schemes.v[i], &s, &err) < 0) {
			printf("FAIL: %s\n", err);
			tl.fail++;
			pw_arena_release(&sa);
			continue;
		}
		for (uint32_t k = 0; k < s.nqs; k++) {
			nq++;
			if (only && !strstr(s.qs[k].id, only))
				continue;
			run_query(&sa, &s, &s.qs[k], &dv, &tl);
		}
		pw_arena_release(&sa);
	}
	for (uint32_t i = 0; i < dv.n && !only; i++)
		if (!dv.v[i].used) {
			printf("FAIL: %s:%d: divergence entry for %s %s matches no config of a query\n",
			       divfile, dv.v[i].line, dv.v[i].query, dv.v[i].config);
			tl.fail++;
		}
	printf("nca-calico: %u connectivityMap queries with a txt expectedOutput in %u schemes; "
	       "%d known divergences (not counted)\n",
	       nq, schemes.n, tl.known);
	printf("nca-calico: %d passed, %d failed\n", tl.pass, tl.fail);
	pw_arena_release(&a);
	return tl.fail ? 1 : 0;
}
