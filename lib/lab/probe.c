// SPDX-License-Identifier: Apache-2.0
/* Probes: real connections between the lab's endpoints, compared with the
   engine.  Results come back as data; the caller shows them. */
#include "lab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

size_t pw_lab_endpoints(const struct pw_lab *lb, const struct pw_cluster *c,
			struct pw_lab_endpoint **out)
{
	struct pw_lab_endpoint *eps = pw_xcalloc(c->npods + (size_t)lb->next + 1, sizeof(*eps));
	size_t n = 0;
	/* pods in the lab's order (the order they joined it), then the hosts */
	uint32_t *order = pw_xcalloc(c->npods + 1, sizeof(uint32_t));
	for (uint32_t i = 0; i < c->npods; i++) {
		uint32_t k = i;
		while (k > 0 && lb->pod_k[order[k - 1]] > lb->pod_k[i]) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (uint32_t j = 0; j < c->npods; j++) {
		uint32_t i = order[j];
		struct pw_lab_endpoint *e = &eps[n++];
		snprintf(e->label, sizeof(e->label), "%s/%s", c->nss[c->pods[i].ns].name,
			 c->pods[i].name);
		e->kind = "Pod";
		pw_lab_pod_ns(lb, lb->pod_k[i], e->netns);
		e->ep = pw_ep_pod(c, i);
		e->addr = c->pods[i].addrs[0];
	}
	for (int x = 0; x < lb->next; x++) {
		struct pw_lab_endpoint *e = &eps[n++];
		pw_addr_format(&lb->ext[x], e->label);
		e->kind = "External";
		pw_lab_ext_ns(lb, x, e->netns);
		e->ep = pw_ep_addr(&lb->ext[x]);
		e->addr = lb->ext[x];
	}
	free(order);
	*out = eps;
	return n;
}

/* Run v[0..n) and write the results to fd; in a child, in a namespace. */
static int run_probes(struct pw_probe *v, size_t n, int timeout_ms, int fd)
{
	if (pw_probe_run(v, n, timeout_ms) < 0)
		return -1;
	size_t len = n * sizeof(*v);
	const char *p = (const char *)v;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Read len bytes of probe results from fd (short on a child's failure:
   what it did not send stays as it was, PW_PROBE_ERROR). */
static void read_results(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t r = read(fd, p, len);
		if (r <= 0)
			break;
		p += r;
		len -= (size_t)r;
	}
}

/* A child for each job: job j runs (*fn)(j, fd) with fd the write end of
   its pipe; then rd(j, fd) reads what it sent.  -1 when a pipe or fork
   failed (the jobs started are still waited for). */
static int fan_out(size_t jobs, void (*fn)(size_t j, int fd, const void *ctx),
		   void (*rd)(size_t j, int fd, void *ctx), void *ctx, struct pw_buf *err)
{
	pid_t *pids = pw_xcalloc(jobs + 1, sizeof(pid_t));
	int *fds = pw_xcalloc(jobs + 1, sizeof(int));
	size_t started = 0;
	int rc = 0;
	for (; started < jobs; started++) {
		int pfd[2];
		if (pipe(pfd) < 0) {
			pw_buf_printf(err, "pipe: %s", strerror(errno));
			rc = -1;
			break;
		}
		pid_t pid = fork();
		if (pid < 0) {
			pw_buf_printf(err, "fork: %s", strerror(errno));
			close(pfd[0]);
			close(pfd[1]);
			rc = -1;
			break;
		}
		if (pid == 0) {
			close(pfd[0]);
			fn(started, pfd[1], ctx);
			_exit(0);
		}
		close(pfd[1]);
		pids[started] = pid;
		fds[started] = pfd[0];
	}
	for (size_t j = 0; j < started; j++) {
		rd(j, fds[j], ctx);
		close(fds[j]);
		waitpid(pids[j], NULL, 0);
	}
	free(pids);
	free(fds);
	return rc;
}

/* ---- between endpoints ------------------------------------------------------- */

struct pair_job {
	const struct pw_lab_endpoint *eps;
	struct pw_probe *all;
	size_t per;
	int timeout_ms;
};

static void probe_from(size_t s, int fd, const void *ctx)
{
	const struct pair_job *j = ctx;
	if (pw_netns_enter(j->eps[s].netns) < 0)
		_exit(99);
	_exit(run_probes(&j->all[s * j->per], j->per, j->timeout_ms, fd) ? 1 : 0);
}

static void read_from(size_t s, int fd, void *ctx)
{
	struct pair_job *j = ctx;
	read_results(fd, &j->all[s * j->per], j->per * sizeof(*j->all));
}

int pw_lab_probe(const struct pw_lab *lb, const struct pw_engine *e,
		 const int *protos, const int *ports, size_t nq, int timeout_ms,
		 struct pw_lab_probe *out, struct pw_buf *err)
{
	memset(out, 0, sizeof(*out));
	size_t n = pw_lab_endpoints(lb, e->c, &out->eps);
	out->n = n;
	out->nq = nq;
	/* one child per source, all at once */
	size_t per = n ? (n - 1) * nq : 0;
	struct pw_probe *all = pw_xcalloc(n * per + 1, sizeof(*all));
	for (size_t s = 0, m = 0; s < n; s++)
		for (size_t d = 0; d < n; d++)
			for (size_t q = 0; d != s && q < nq; q++)
				all[m++] = (struct pw_probe){ .dst = out->eps[d].addr,
							      .proto = protos[q],
							      .port = ports[q],
							      .result = PW_PROBE_ERROR };
	struct pair_job j = { out->eps, all, per, timeout_ms };
	if (fan_out(n, probe_from, read_from, &j, err) < 0) {
		free(all);
		return -1;
	}
	/* compare with the engine */
	size_t cells = n * n * nq + 1;
	out->seen = pw_xmalloc(cells);
	out->allowed = pw_xcalloc(cells, sizeof(bool));
	out->by_dns = pw_xcalloc(cells, sizeof(bool));
	for (size_t s = 0, m = 0; s < n; s++)
		for (size_t d = 0; d < n; d++)
			for (size_t q = 0; q < nq; q++) {
				size_t at = (q * n + s) * n + d;
				if (d == s) {
					out->seen[at] = PW_LAB_SELF;
					continue;
				}
				const struct pw_probe *pr = &all[m++];
				const struct pw_ep *se = &out->eps[s].ep, *de = &out->eps[d].ep;
				struct pw_query qq = pw_query_port(protos[q], ports[q]);
				struct pw_verdict v;
				pw_engine_eval(e, se, de, &qq, &v);
				out->allowed[at] = v.allowed;
				if (pr->result == PW_PROBE_UNSUPPORTED || pr->result == PW_PROBE_ERROR) {
					out->seen[at] = PW_LAB_UNTESTED;
					out->untested++;
					continue;
				}
				/* a DNS rule may decide it: the lab does not enforce those */
				if (pw_engine_name_dependent(e, se, de, &qq)) {
					out->seen[at] = PW_LAB_UNTESTED;
					out->by_dns[at] = true;
					out->untested++;
					out->untested_dns++;
					continue;
				}
				bool open = pr->result == PW_PROBE_OPEN ||
					    pr->result == PW_PROBE_REFUSED;
				out->seen[at] = open ? PW_LAB_REACHED : PW_LAB_BLOCKED;
				if (open == v.allowed)
					out->agree++;
				else
					out->differ++;
			}
	free(all);
	return 0;
}

void pw_lab_probe_release(struct pw_lab_probe *p)
{
	free(p->eps);
	free(p->seen);
	free(p->allowed);
	free(p->by_dns);
	memset(p, 0, sizeof(*p));
}

/* ---- through Services ----------------------------------------------------------- */

struct svc_job {
	const struct pw_lab_endpoint *eps;
	size_t n;
	const struct pw_lab_svc_target *tv;
	size_t nt;
	const size_t *off;
	struct pw_probe *all;
	int timeout_ms;
};

/* Chain ch: its targets, each source in turn, each backend once. */
static void probe_chain(size_t ch, int fd, const void *ctx)
{
	const struct svc_job *j = ctx;
	for (size_t t = 0; t < j->nt; t++) {
		if ((size_t)j->tv[t].chain != ch)
			continue;
		for (size_t s = 0; s < j->n; s++) {
			if (pw_netns_enter(j->eps[s].netns) < 0)
				_exit(99);
			for (size_t k = 0; k < j->tv[t].nb; k++)
				if (run_probes(&j->all[j->off[t] + s * j->tv[t].nb + k], 1,
					       j->timeout_ms, fd))
					_exit(1);
		}
	}
	_exit(0);
}

static void read_chain(size_t ch, int fd, void *ctx)
{
	struct svc_job *j = ctx;
	for (size_t t = 0; t < j->nt; t++)
		if ((size_t)j->tv[t].chain == ch)
			read_results(fd, &j->all[j->off[t]],
				     j->tv[t].nb * j->n * sizeof(*j->all));
}

/* Every service address and port with an IPv4 backend; the count of
   service ports (chains) in *chains. */
static size_t svc_targets(const struct pw_lab *lb, const struct pw_cluster *c,
			  struct pw_lab_svc_target **out, int *chains)
{
	struct pw_lab_svc_target *tv = NULL;
	size_t nt = 0, tcap = 0;
	*chains = 0;
	for (uint32_t i = 0; i < c->nsvcs; i++) {
		const struct pw_service *sv = &c->svcs[i];
		if (sv->headless || sv->type == PW_SVC_EXTERNAL_NAME)
			continue;
		for (uint32_t k = 0; k < sv->nports; k++) {
			struct pw_backend *b;
			size_t nb = pw_service_backends(c, sv, &sv->ports[k], sv->ports[k].proto,
							sv->ports[k].port, &b), n4 = 0;
			bool absent = false;
			for (size_t j = 0; j < nb; j++) {
				n4 += b[j].addr.family == 4;
				bool here = b[j].pod >= 0;
				for (int x = 0; x < lb->next && !here; x++)
					here = !pw_addr_cmp(&lb->ext[x], &b[j].addr);
				absent |= !here;
			}
			free(b);
			if (!n4)
				continue; /* nothing to reach: no entry in the router */
			for (uint32_t v = 0; v < sv->nvips; v++) {
				if (sv->vips[v].family != 4)
					continue;
				if (nt == tcap) {
					tcap = tcap ? tcap * 2 : 16;
					tv = pw_xrealloc(tv, tcap * sizeof(*tv));
				}
				tv[nt++] = (struct pw_lab_svc_target){ sv, &sv->ports[k], sv->vips[v],
								       n4, *chains, absent };
			}
			(*chains)++;
		}
	}
	*out = tv;
	return nt;
}

int pw_lab_probe_services(const struct pw_lab *lb, const struct pw_engine *e,
			  int timeout_ms, struct pw_lab_svc_probe *out,
			  struct pw_buf *err)
{
	memset(out, 0, sizeof(*out));
	size_t n = pw_lab_endpoints(lb, e->c, &out->eps);
	out->n = n;
	int chains;
	size_t nt = svc_targets(lb, e->c, &out->tv, &chains);
	const struct pw_lab_svc_target *tv = out->tv;
	out->nt = nt;
	/* per target and source: the nb probes, in a row */
	size_t *off = pw_xcalloc(nt + 1, sizeof(*off));
	for (size_t t = 0; t < nt; t++)
		off[t + 1] = off[t] + tv[t].nb * n;
	struct pw_probe *all = pw_xcalloc(off[nt] + 1, sizeof(*all));
	for (size_t t = 0; t < nt; t++)
		for (size_t k = 0; k < tv[t].nb * n; k++)
			all[off[t] + k] = (struct pw_probe){ .dst = tv[t].vip,
							     .proto = tv[t].sp->proto,
							     .port = tv[t].sp->port,
							     .result = PW_PROBE_ERROR };
	struct svc_job j = { out->eps, n, tv, nt, off, all, timeout_ms };
	int rc = fan_out((size_t)chains, probe_chain, read_chain, &j, err);
	out->seen = pw_xmalloc(nt * n + 1);
	out->allowed = pw_xcalloc(nt * n + 1, sizeof(bool));
	for (size_t t = 0; !rc && t < nt; t++)
		for (size_t s = 0; s < n; s++) {
			const struct pw_probe *pr = &all[off[t] + s * tv[t].nb];
			bool open = true, unk = tv[t].absent;
			for (size_t k = 0; k < tv[t].nb; k++) {
				unk |= pr[k].result == PW_PROBE_UNSUPPORTED ||
				       pr[k].result == PW_PROBE_ERROR;
				open &= pr[k].result == PW_PROBE_OPEN ||
					pr[k].result == PW_PROBE_REFUSED;
			}
			struct pw_query q = pw_query_port(tv[t].sp->proto, tv[t].sp->port);
			struct pw_svc_answer *a;
			size_t na;
			const char *why;
			bool want = pw_service_eval(e, NULL, &out->eps[s].ep, 1, tv[t].svc,
						    &q, &a, &na, &why) == 1;
			free(a);
			size_t at = t * n + s;
			out->allowed[at] = want;
			out->seen[at] = unk ? PW_LAB_UNTESTED : open ? PW_LAB_REACHED : PW_LAB_BLOCKED;
			if (unk)
				out->untested++;
			else if (open == want)
				out->agree++;
			else
				out->differ++;
		}
	free(all);
	free(off);
	return rc;
}

void pw_lab_svc_probe_release(struct pw_lab_svc_probe *p)
{
	free(p->eps);
	free(p->tv);
	free(p->seen);
	free(p->allowed);
	memset(p, 0, sizeof(*p));
}
