/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP for the agent's local API: a server on a unix socket and optionally
 * a TCP address (libmicrohttpd, driven from the caller's poll loop, so
 * that handlers run on the caller's thread, one at a time), and a client
 * (libcurl) for the commands that ask an agent.
 */
#ifndef PW_HTTP_H
#define PW_HTTP_H

#include "../base.h"

struct pw_http_req {
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	void *conn; /* the server's connection */
};
/* A query argument of the request, NULL if absent. */
const char *pw_http_arg(const struct pw_http_req *r, const char *key);

/* Fills body, *type (static text) and, when the answer has one, *exit
   (static text: the exit status the command line would give, sent as the
   header X-Podwall-Exit); returns the HTTP status. */
typedef int (*pw_http_fn)(void *ctx, const struct pw_http_req *req,
			  struct pw_buf *body, const char **type, const char **exit);

struct pw_http;
/* Listen on socket_path (created, mode 0600; NULL: none) and on listen
   (ADDR:PORT or :PORT; NULL: none).  NULL on failure, with err. */
struct pw_http *pw_http_start(const char *socket_path, const char *listen,
			      pw_http_fn fn, void *ctx, struct pw_buf *err);
/* The descriptors to poll for input (at most 2). */
size_t pw_http_fds(const struct pw_http *h, int fds[2]);
/* How long the caller may wait before calling pw_http_run again even if
   no descriptor is ready (0: work is pending; -1: no limit).  The server
   is edge-triggered: what it has read but not handled does not wake a
   poll. */
int pw_http_timeout(const struct pw_http *h);
/* Serve whatever is ready; never blocks. */
void pw_http_run(struct pw_http *h);
void pw_http_stop(struct pw_http *h);

/*
 * Ask an agent: agent is a unix socket path or http://HOST:PORT; path
 * includes the query.  0 with the status and the body, or -1 when no
 * answer came (err says why).
 */
int pw_http_call(const char *agent, const char *method, const char *path,
		 const char *body, size_t len, long timeout_ms, long *status,
		 struct pw_buf *out, struct pw_buf *err);
/* The same, with the answer's X-Podwall-Exit (-1 when absent). */
int pw_http_call_exit(const char *agent, const char *method, const char *path,
		      long *status, int *exit_code, struct pw_buf *out,
		      struct pw_buf *err);
/*
 * Send the files (files or directories, as -f takes them) to an agent's
 * POST /v1/VERB (apply or delete) as one change.  0 with the status and
 * the answer, or -1: the files could not be read (d) or no answer came
 * (err).
 */
struct pw_diags;
int pw_agent_send_files(const char *agent, const char *verb, const char *const *files,
			size_t n, const char *ns, long *status, struct pw_buf *out,
			struct pw_diags *d, struct pw_buf *err);
/* s escaped for a query value. */
void pw_http_escape(const char *s, struct pw_buf *out);

#endif
