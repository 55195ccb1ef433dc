// SPDX-License-Identifier: Apache-2.0
/* HTTP server (libmicrohttpd) and client (libcurl): lib/agent/http.h. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"

struct pw_http {
	struct MHD_Daemon *d[2];
	size_t n;
	pw_http_fn fn;
	void *ctx;
	char *socket_path;
};

const char *pw_http_arg(const struct pw_http_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct upload {
	struct pw_buf body;
};

#define MAX_BODY (64u << 20)

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *data,
			      size_t *data_size, void **con_cls)
{
	struct pw_http *h = cls;
	struct upload *u = *con_cls;
	if (!u) {
		u = pw_xcalloc(1, sizeof(*u));
		pw_buf_init(&u->body);
		*con_cls = u;
		return MHD_YES;
	}
	if (*data_size) {
		if (u->body.len + *data_size <= MAX_BODY)
			pw_buf_add(&u->body, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	struct pw_http_req req = { method, url, u->body.s ? u->body.s : "",
				   u->body.len, conn };
	struct pw_buf out;
	pw_buf_init(&out);
	const char *type = "text/plain; charset=utf-8", *exit = NULL;
	int status = h->fn(h->ctx, &req, &out, &type, &exit);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		out.len, out.s ? out.s : (void *)"", MHD_RESPMEM_MUST_COPY);
	pw_buf_release(&out);
	MHD_add_response_header(r, "Content-Type", type);
	if (exit)
		MHD_add_response_header(r, "X-Podwall-Exit", exit);
	enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;
	if (u) {
		pw_buf_release(&u->body);
		free(u);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *start(struct pw_http *h, int fd, const struct sockaddr *sa)
{
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ITC;
	if (fd >= 0)
		return MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_NOTIFY_COMPLETED, completed, h,
					MHD_OPTION_CONNECTION_TIMEOUT, 30u,
					MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

static int unix_listener(const char *path, struct pw_buf *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pw_buf_printf(err, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		pw_buf_printf(err, "socket: %s", strerror(errno));
		return -1;
	}
	/* a socket left by a process that died is replaced; one that
	   answers belongs to a running agent */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pw_buf_printf(err, "%s: another agent is listening there", path);
		close(fd);
		return -1;
	}
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		pw_buf_printf(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct pw_http *pw_http_start(const char *socket_path, const char *listen,
			      pw_http_fn fn, void *ctx, struct pw_buf *err)
{
	struct pw_http *h = pw_xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->ctx = ctx;
	if (socket_path) {
		int fd = unix_listener(socket_path, err);
		if (fd < 0)
			goto fail;
		h->socket_path = pw_xstrdup(socket_path);
		if (!(h->d[h->n] = start(h, fd, NULL))) {
			close(fd);
			pw_buf_printf(err, "cannot serve on %s", socket_path);
			goto fail;
		}
		h->n++;
	}
	if (listen) {
		const char *colon = strrchr(listen, ':');
		struct sockaddr_in sa = { .sin_family = AF_INET };
		char host[64] = "127.0.0.1";
		long port = colon ? strtol(colon + 1, NULL, 10) : 0;
		if (colon && colon > listen) {
			size_t hl = (size_t)(colon - listen);
			if (hl >= sizeof(host))
				hl = sizeof(host) - 1;
			memcpy(host, listen, hl);
			host[hl] = 0;
		}
		if (!colon || port <= 0 || port > 65535 ||
		    inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
			pw_buf_printf(err, "--listen %s: give IPV4:PORT or :PORT", listen);
			goto fail;
		}
		sa.sin_port = htons((uint16_t)port);
		if (!(h->d[h->n] = start(h, -1, (struct sockaddr *)&sa))) {
			pw_buf_printf(err, "cannot listen on %s", listen);
			goto fail;
		}
		h->n++;
	}
	return h;
fail:
	pw_http_stop(h);
	return NULL;
}

size_t pw_http_fds(const struct pw_http *h, int fds[2])
{
	for (size_t i = 0; i < h->n; i++) {
		const union MHD_DaemonInfo *info =
			MHD_get_daemon_info(h->d[i], MHD_DAEMON_INFO_EPOLL_FD);
		fds[i] = info ? info->epoll_fd : -1;
	}
	return h->n;
}

int pw_http_timeout(const struct pw_http *h)
{
	int ms = -1;
	for (size_t i = 0; i < h->n; i++) {
		MHD_UNSIGNED_LONG_LONG t;
		if (MHD_get_timeout(h->d[i], &t) == MHD_YES && (ms < 0 || (long long)t < ms))
			ms = t > 1000000 ? 1000000 : (int)t;
	}
	return ms;
}

void pw_http_run(struct pw_http *h)
{
	for (size_t i = 0; i < h->n; i++)
		MHD_run(h->d[i]);
}

void pw_http_stop(struct pw_http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		MHD_stop_daemon(h->d[i]);
	if (h->socket_path) {
		unlink(h->socket_path);
		free(h->socket_path);
	}
	free(h);
}

/* ---- client ----------------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	pw_buf_add(arg, p, size * n);
	return size * n;
}

static size_t exit_header(char *p, size_t size, size_t n, void *arg)
{
	int *code = arg;
	size_t len = size * n;
	static const char h[] = "x-podwall-exit:";
	if (len > sizeof(h) && !strncasecmp(p, h, sizeof(h) - 1))
		*code = atoi(p + sizeof(h) - 1);
	return len;
}

static int call(const char *agent, const char *method, const char *path,
		const char *body, size_t len, long timeout_ms, long *status,
		int *exit_code, struct pw_buf *out, struct pw_buf *err);

int pw_http_call(const char *agent, const char *method, const char *path,
		 const char *body, size_t len, long timeout_ms, long *status,
		 struct pw_buf *out, struct pw_buf *err)
{
	return call(agent, method, path, body, len, timeout_ms, status, NULL, out, err);
}

int pw_http_call_exit(const char *agent, const char *method, const char *path,
		      long *status, int *exit_code, struct pw_buf *out,
		      struct pw_buf *err)
{
	*exit_code = -1;
	return call(agent, method, path, NULL, 0, 0, status, exit_code, out, err);
}

static int call(const char *agent, const char *method, const char *path,
		const char *body, size_t len, long timeout_ms, long *status,
		int *exit_code, struct pw_buf *out, struct pw_buf *err)
{
	static bool inited;
	if (!inited) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		inited = true;
	}
	CURL *c = curl_easy_init();
	if (!c) {
		pw_buf_puts(err, "cannot start an HTTP client");
		return -1;
	}
	struct pw_buf url;
	pw_buf_init(&url);
	if (!strncmp(agent, "http://", 7)) {
		pw_buf_puts(&url, agent);
	} else {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, agent);
		pw_buf_puts(&url, "http://localhost");
	}
	pw_buf_puts(&url, path);
	curl_easy_setopt(c, CURLOPT_URL, url.s);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (exit_code) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, exit_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, exit_code);
	}
	if (timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* no "Expect: 100-continue": the body goes at once (libcurl would
	   otherwise wait for the server's go-ahead on a large body) */
	struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		pw_buf_printf(err, "%s: %s", agent, curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	pw_buf_release(&url);
	return rc == CURLE_OK ? 0 : -1;
}

void pw_http_escape(const char *s, struct pw_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		    ch == '~' || ch == '/')
			pw_buf_putc(out, (char)ch);
		else {
			pw_buf_putc(out, '%');
			pw_buf_putc(out, hex[ch >> 4]);
			pw_buf_putc(out, hex[ch & 15]);
		}
	}
}
