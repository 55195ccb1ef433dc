// SPDX-License-Identifier: Apache-2.0
/* What the commands that ask an agent share (lib/agent/http.h). */
#include <string.h>

#include "../model.h"
#include "http.h"

/* framed, so that each file keeps its name and positions (the agent's
   request_objects() reads it) */
static size_t frame(void *arg, const char *name, const unsigned char *bytes,
		    size_t len, struct pw_diags *d)
{
	struct pw_buf *b = arg;
	pw_buf_printf(b, "FILE %zu %zu\n%s", strlen(name), len, name);
	pw_buf_add(b, (const char *)bytes, len);
	return 0;
}

int pw_agent_send_files(const char *agent, const char *verb, const char *const *files,
			size_t n, const char *ns, long *status, struct pw_buf *out,
			struct pw_diags *d, struct pw_buf *err)
{
	struct pw_buf body, path;
	struct pw_arena names;
	pw_buf_init(&body);
	pw_buf_init(&path);
	pw_arena_init(&names);
	size_t errors = d->errors, from = d->n;
	for (size_t i = 0; i < n; i++)
		pw_walk_path(files[i], &names, frame, &body, d);
	pw_diags_keep_files(d, from);
	int rc = -1;
	if (d->errors == errors) {
		pw_buf_printf(&path, "/v1/%s", verb);
		if (ns) {
			pw_buf_puts(&path, "?namespace=");
			pw_http_escape(ns, &path);
		}
		rc = pw_http_call(agent, "POST", path.s, body.s ? body.s : "", body.len, 0,
				  status, out, err);
	} else {
		pw_buf_puts(err, "the files could not be read");
	}
	pw_buf_release(&body);
	pw_buf_release(&path);
	pw_arena_release(&names);
	return rc;
}
