// SPDX-License-Identifier: Apache-2.0
/* The lab's dataplane: the engine's decisions as an nftables table in the
   router (the seam, pw_lab_enforce: see lab.h), and cutting the
   connections new rules deny. */
#include "lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pw_lab_ports(const struct pw_lab *lb, const struct pw_cluster *c,
		  struct pw_lab_ports *out)
{
	out->v = pw_xcalloc(c->npods + 1, sizeof(*out->v));
	out->ifnames = pw_xcalloc(c->npods + 1, sizeof(*out->ifnames));
	out->n = c->npods;
	for (uint32_t i = 0; i < c->npods; i++) {
		snprintf(out->ifnames[i], sizeof(out->ifnames[i]), "pwr%d", lb->pod_k[i]);
		out->v[i] = (struct pw_dp_port){ i, out->ifnames[i] };
	}
}

void pw_lab_ports_release(struct pw_lab_ports *p)
{
	free(p->v);
	free(p->ifnames);
	memset(p, 0, sizeof(*p));
}

void pw_lab_render(const struct pw_lab *lb, const struct pw_engine *e,
		   const struct pw_lab_ports *ports, struct pw_nft *out)
{
	pw_nft_build_opts(e, ports->v, ports->n, lb->nft_linear, out);
	pw_nft_add_services(e->c, out);
}

/* The record of the table in force: objects as KIND US NAME US BODY RS. */
static void serialize_nft(const struct pw_nft *t, struct pw_buf *out)
{
	for (size_t i = 0; i < t->n; i++)
		pw_buf_printf(out, "%s\x1f%s\x1f%s\x1e", t->v[i].kind, t->v[i].name,
			      t->v[i].body);
}

static void parse_nft(const char *s, struct pw_nft *t)
{
	while (s && *s) {
		const char *a = strchr(s, '\x1f');
		const char *b = a ? strchr(a + 1, '\x1f') : NULL;
		const char *e = b ? strchr(b + 1, '\x1e') : NULL;
		if (!e)
			break;
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 32;
			t->v = pw_xrealloc(t->v, t->cap * sizeof(*t->v));
		}
		struct pw_nft_obj *o = &t->v[t->n++];
		o->kind = strndup(s, (size_t)(a - s));
		o->name = strndup(a + 1, (size_t)(b - a - 1));
		o->body = strndup(b + 1, (size_t)(e - b - 1));
		s = e + 1;
	}
}

static int run_nft(void *arg, struct pw_buf *err)
{
	return pw_nft_run(arg, err);
}

int pw_lab_enforce(struct pw_lab *lb, const struct pw_engine *e,
		   const struct pw_lab_ports *ports, bool delta, size_t *rules,
		   struct pw_buf *err)
{
	struct pw_nft t, old;
	struct pw_buf script, why;
	pw_nft_init(&t);
	pw_nft_init(&old);
	pw_buf_init(&script);
	pw_buf_init(&why);
	pw_lab_render(lb, e, ports, &t);
	char *prev = delta ? pw_lab_state_get(lb, "nft") : NULL;
	if (prev) {
		parse_nft(prev, &old);
		pw_nft_script_delta(&old, &t, PW_LAB_TABLE, &script);
	} else {
		pw_nft_script_full(&t, PW_LAB_TABLE, &script);
	}
	int rc = 0;
	if (script.len) {
		char path[512];
		pw_lab_path(lb, "nft", path);
		unlink(path);
		rc = pw_netns_run(lb->router, run_nft, script.s, &why);
		if (rc && prev) {
			/* the table in force was not the one recorded (a change
			   not made through the lab): replace it */
			pw_buf_reset(&script);
			pw_buf_reset(&why);
			pw_nft_script_full(&t, PW_LAB_TABLE, &script);
			rc = pw_netns_run(lb->router, run_nft, script.s, &why);
		}
		if (rc)
			pw_buf_printf(err, "nftables: %s", why.s ? why.s : "failed");
	}
	if (!rc) {
		struct pw_buf ser;
		pw_buf_init(&ser);
		serialize_nft(&t, &ser);
		rc = pw_lab_state_put(lb, "nft", ser.s ? ser.s : "", ser.len);
		if (rc)
			pw_buf_puts(err, "cannot record the table in force");
		pw_buf_release(&ser);
	}
	if (rules)
		*rules = t.rules;
	free(prev);
	pw_buf_release(&script);
	pw_buf_release(&why);
	pw_nft_release(&t);
	pw_nft_release(&old);
	return rc;
}

int pw_lab_cut_denied(const struct pw_lab *lb, const struct pw_engine *e,
		      struct pw_buf *err)
{
	const struct pw_cluster *c = e->c;
	struct pw_buf out, ignored;
	pw_buf_init(&out);
	pw_buf_init(&ignored);
	char *argv[] = { "ip", "netns", "exec", (char *)lb->router, "conntrack", "-L", NULL };
	int cut = 0;
	if (pw_run_capture(argv, NULL, &out, err) < 0) {
		pw_buf_release(&out);
		return -1;
	}
	char *save, *line;
	for (line = out.s ? strtok_r(out.s, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char proto[16], src[64] = "", dst[64] = "";
		int sport = 0, dport = 0;
		if (sscanf(line, "%15s", proto) != 1)
			continue;
		int p = pw_proto_parse(proto);
		if (p < 0)
			continue;
		/* closing and closed TCP flows are no connections to cut */
		if (p == PW_TCP && !strstr(line, " ESTABLISHED ") &&
		    !strstr(line, " SYN_SENT ") && !strstr(line, " SYN_RECV "))
			continue;
		const char *s = strstr(line, "src="), *d = strstr(line, "dst=");
		const char *sp = strstr(line, "sport="), *dp = strstr(line, "dport=");
		if (!s || !d || !sp || !dp || sscanf(s, "src=%63s", src) != 1 ||
		    sscanf(d, "dst=%63s", dst) != 1 || sscanf(sp, "sport=%d", &sport) != 1 ||
		    sscanf(dp, "dport=%d", &dport) != 1)
			continue;
		struct pw_addr a, b;
		if (pw_addr_parse(src, &a) < 0 || pw_addr_parse(dst, &b) < 0)
			continue;
		struct pw_ep es = pw_ep_addr(&a), ed = pw_ep_addr(&b);
		for (uint32_t i = 0; i < c->npods; i++) {
			if (!pw_addr_cmp(&c->pods[i].addrs[0], &a))
				es = pw_ep_pod(c, i);
			if (!pw_addr_cmp(&c->pods[i].addrs[0], &b))
				ed = pw_ep_pod(c, i);
		}
		struct pw_query q = pw_query_port(p, dport);
		struct pw_verdict v;
		pw_engine_eval(e, &es, &ed, &q, &v);
		if (v.allowed)
			continue;
		char sps[16], dps[16];
		snprintf(sps, sizeof(sps), "%d", sport);
		snprintf(dps, sizeof(dps), "%d", dport);
		char *del[] = { "ip", "netns", "exec", (char *)lb->router, "conntrack", "-D",
				"-p", proto, "-s", src, "-d", dst, "--sport", sps,
				"--dport", dps, NULL };
		pw_buf_reset(&ignored);
		if (pw_run(del, &ignored) == 0)
			cut++;
	}
	pw_buf_release(&out);
	pw_buf_release(&ignored);
	return cut;
}
