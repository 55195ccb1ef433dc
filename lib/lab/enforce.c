// SPDX-License-Identifier: Apache-2.0
/* The lab's dataplane: the table a lab would put in force (lab render;
   the lab's agent puts it in force, through lib/dp/dp.h), and cutting the
   connections new rules deny. */
#include "lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* In one node's namespace; a connection already in seen ("proto src dst
   sport dport" lines: it crossed another node) is cut, not counted. */
static int cut_in(const char *ns, const struct pw_engine *e, struct pw_buf *seen,
		  struct pw_buf *err)
{
	const struct pw_cluster *c = e->c;
	struct pw_buf out, ignored;
	pw_buf_init(&out);
	pw_buf_init(&ignored);
	char *argv[] = { "ip", "netns", "exec", (char *)ns, "conntrack", "-L", NULL };
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
		char *del[] = { "ip", "netns", "exec", (char *)ns, "conntrack", "-D",
				"-p", proto, "-s", src, "-d", dst, "--sport", sps,
				"--dport", dps, NULL };
		char key[200];
		snprintf(key, sizeof(key), "\n%s %s %s %s %s\n", proto, src, dst, sps, dps);
		pw_buf_reset(&ignored);
		if (pw_run(del, &ignored) == 0 && !(seen->s && strstr(seen->s, key))) {
			cut++;
			pw_buf_puts(seen, key + 1);
		}
	}
	pw_buf_release(&out);
	pw_buf_release(&ignored);
	return cut;
}

int pw_lab_cut_denied(const struct pw_lab *lb, const struct pw_engine *e,
		      struct pw_buf *err)
{
	struct pw_buf seen;
	pw_buf_init(&seen);
	pw_buf_putc(&seen, '\n');
	int cut = 0;
	for (int i = 0; i < lb->nnodes && cut >= 0; i++) {
		char ns[128];
		pw_lab_node_ns(lb, i, ns);
		int n = cut_in(ns, e, &seen, err);
		cut = n < 0 ? -1 : cut + n;
	}
	pw_buf_release(&seen);
	return cut;
}
