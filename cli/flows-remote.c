// SPDX-License-Identifier: Apache-2.0
/*
 * The records of running agents (GET /v1/flows, JSON lines) and of a lab's
 * nodes, for podwall flows and podwall alerts (cli/cli.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/agent/http.h"
#include "../lib/flow/store.h"
#include "../lib/lab/lab.h"
#include "cli.h"

int flows_agent_query(const char *agent, const struct pw_flow_filter *f,
		      int (*take)(void *arg, const struct pw_flow *r), void *arg,
		      struct pw_buf *err)
{
	char path[64] = "/v1/flows";
	if (f->since > 0)
		snprintf(path, sizeof(path), "/v1/flows?since=%" PRId64, f->since);
	struct pw_buf body;
	pw_buf_init(&body);
	long status = 0;
	if (pw_http_call(agent, "GET", path, NULL, 0, 30000, &status, &body, err) < 0) {
		pw_buf_release(&body);
		return -1;
	}
	if (status != 200) {
		pw_buf_printf(err, "HTTP %ld: %.*s", status,
			      (int)strcspn(body.s ? body.s : "", "\n"), body.s ? body.s : "");
		pw_buf_release(&body);
		return -1;
	}
	int rc = 0;
	size_t lineno = 0;
	for (char *p = body.s; p && *p && !rc;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len) {
			struct pw_flow r;
			struct pw_buf e2;
			pw_buf_init(&e2);
			if (pw_flow_parse_json(p, len, &r, &e2) < 0) {
				pw_buf_printf(err, "record %zu: %s", lineno, e2.s);
				rc = -1;
			} else if (pw_flow_match(f, &r)) {
				rc = take(arg, &r) ? 1 : 0;
			}
			pw_buf_release(&e2);
		}
		p = nl ? nl + 1 : NULL;
	}
	pw_buf_release(&body);
	return rc < 0 ? -1 : 0;
}

static int lab_sources(const char *name, bool agents, struct flows_stores *out)
{
	struct pw_lab lb;
	struct pw_buf err;
	pw_buf_init(&err);
	pw_lab_init(&lb, name);
	if (pw_lab_lock(&lb, PW_LAB_READ, &err) < 0 || pw_lab_read(&lb, &err) < 0) {
		cli_error("lab %s: %s", cli_q(name), err.s ? err.s : "cannot be read");
		pw_buf_release(&err);
		pw_lab_release(&lb);
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < lb.nnodes && !rc; i++) {
		char sock[512], spec[600];
		pw_lab_node_socket(&lb, i, sock);
		long status = 0;
		struct pw_buf body;
		pw_buf_init(&body);
		pw_buf_reset(&err);
		bool up = agents && access(sock, F_OK) == 0 &&
			  pw_http_call(sock, "GET", "/healthz", NULL, 0, 2000, &status, &body,
				       &err) == 0 && status == 200;
		pw_buf_release(&body);
		if (up) {
			out->agents = pw_xrealloc(out->agents, (out->nagents + 1) * sizeof(char *));
			out->agents[out->nagents++] = pw_xstrdup(sock);
			continue;
		}
		/* the agent is down: what it wrote */
		pw_lab_node_flows(&lb, i, spec);
		if (access(strchr(spec, ':') + 1, F_OK) < 0)
			continue;
		struct flows_stores one = { 0 };
		const char *specs[1] = { spec };
		if (flows_open_stores(specs, 1, &one) < 0) {
			rc = -1;
			break;
		}
		out->v = pw_xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = one.v[0];
		free(one.v);
	}
	pw_buf_release(&err);
	pw_lab_release(&lb);
	return rc;
}

int flows_lab_sources(const char *name, struct flows_stores *out)
{
	return lab_sources(name, true, out);
}

int flows_lab_files(const char *name, struct flows_stores *out)
{
	return lab_sources(name, false, out);
}
