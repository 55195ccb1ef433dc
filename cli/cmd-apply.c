// SPDX-License-Identifier: Apache-2.0
/*
 * podwall apply, delete, get: change or read a running agent's source, as
 * kubectl and calicoctl do with a cluster.  apply and delete return when
 * the agent reports the change in force (or rejected).  With --datastore
 * (or calicoctl's DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS) they change
 * or read etcd directly, as calicoctl does: every agent watching it
 * follows.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/agent/http.h"
#include "../lib/etcd/etcd.h"
#include "../lib/objects.h"
#include "cli.h"

static const char apply_usage[] =
	"usage: podwall apply -f FILE|DIR|- [-f ...] (--agent SOCKET|URL | --datastore etcd:URL[,URL...])\n"
	"                     [-n NS]\n"
	"       podwall delete -f FILE|DIR|- [-f ...] (--agent ... | --datastore ...) [-n NS]\n"
	"       podwall get [KIND [NAME]] (--agent ... | --datastore ...) [-n NS]\n"
	"                   [-o yaml|json|table]\n"
	"\n"
	"apply adds or replaces the objects of the files in the agent's source,\n"
	"as kubectl apply does; delete removes the objects the files name.  Both\n"
	"wait until the agent has the change in force, and print each object.  A\n"
	"change with an error is rejected whole (FILE:LINE:COL) and nothing\n"
	"changes.  get prints the objects of a kind (Kind, kind, plural, or\n"
	"kind.group; NAME narrows; no KIND: every object) as the source holds\n"
	"them.\n"
	"\n"
	"With --datastore, or with DATASTORE_TYPE=etcdv3 and ETCD_ENDPOINTS=URL[,...]\n"
	"in the environment (as calicoctl), they read and write etcd directly,\n"
	"one key per object under /calico/resources/v3/ (see README): apply and\n"
	"delete check every document first (FILE:LINE:COL; an error writes\n"
	"nothing), then write all in one transaction, which every agent\n"
	"watching etcd applies as one change.\n"
	"\n"
	"  -f, --filename PATH       manifests: file, directory (recursive) or -\n"
	"      --agent SOCKET|URL    the agent's unix socket, or http://HOST:PORT\n"
	"      --datastore etcd:URL[,URL...]\n"
	"                            etcd's members (the next is tried when one\n"
	"                            cannot be reached)\n"
	"  -n, --namespace NS        namespace of objects that give none (apply,\n"
	"                            delete) or to list (get; default: all)\n"
	"  -o, --output FORMAT       get: yaml (default), json or table\n"
	"\n"
	"Exit status: 0 done, 1 rejected or not found, 2 bad usage, or no agent\n"
	"or datastore.\n";

struct apply_args {
	const char *agent, *datastore, *ns, *output;
	const char **files;
	int nfiles;
	const char *pos[2];
	int npos;
};

/* Only the options these commands take: the engine's do not matter here. */
static int apply_parse(const char *cmd, int argc, char **argv, struct apply_args *a)
{
	for (int i = 1; i < argc; i++) {
		int err = 0;
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(apply_usage, stdout);
			return 1;
		}
		if ((v = cli_optval(argc, argv, &i, NULL, "--agent", &err))) {
			a->agent = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, NULL, "--datastore", &err))) {
			a->datastore = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-f", "--filename", &err))) {
			a->files = pw_xrealloc(a->files, (size_t)(a->nfiles + 1) * sizeof(char *));
			a->files[a->nfiles++] = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-n", "--namespace", &err))) {
			a->ns = v;
		} else if (!err && (v = cli_optval(argc, argv, &i, "-o", "--output", &err))) {
			a->output = v;
		} else if (err) {
			return -1;
		} else if (argv[i][0] != '-' && a->npos < 2) {
			a->pos[a->npos++] = argv[i];
		} else {
			cli_error("%s: unknown option %s", cmd, cli_q(argv[i]));
			fputs(apply_usage, stderr);
			return -1;
		}
	}
	return 0;
}

/* The agent's answer printed, as its exit status: 0 done, 1 refused or
   not found, 2 no answer (reported when say_unreached). */
static int answer(int rc, long status, const struct pw_buf *out,
		  const struct pw_buf *err, bool say_unreached)
{
	if (rc < 0) {
		if (say_unreached)
			cli_error("cannot reach the agent: %s", err->s);
		return EXIT_USAGE;
	}
	fputs(out->s ? out->s : "", status == 200 ? stdout : stderr);
	if (status == 200)
		return 0;
	return status == 404 || status == 422 ? EXIT_FINDINGS : EXIT_USAGE;
}

static void print_diags(const struct pw_diags *d)
{
	struct pw_buf l;
	pw_buf_init(&l);
	for (size_t i = 0; i < d->n; i++) {
		pw_buf_reset(&l);
		pw_diag_format(&d->v[i], &l);
		fprintf(stderr, "%s\n", l.s);
	}
	pw_buf_release(&l);
}

/* The objects selected, as -o asks; how many. */
static size_t print_objects(const struct pw_objects *ob, const char *kind,
			    const char *name, const char *ns, const char *fmt)
{
	struct pw_buf b;
	pw_buf_init(&b);
	struct pw_doc *list = pw_doc_obj(), *items = NULL;
	pw_doc_add(list, "apiVersion", pw_doc_str("v1"));
	pw_doc_add(list, "kind", pw_doc_str("List"));
	items = pw_doc_add(list, "items", pw_doc_arr());
	int wns = 9, wkind = 4;
	for (size_t i = 0; i < ob->n; i++) {
		int l = (int)strlen(ob->v[i].ns), k = (int)strlen(ob->v[i].kind);
		wns = l > wns ? l : wns;
		wkind = k > wkind ? k : wkind;
	}
	bool table = fmt && !strcmp(fmt, "table"), json = fmt && !strcmp(fmt, "json");
	size_t found = 0;
	for (size_t i = 0; i < ob->n; i++) {
		const struct pw_object *o = &ob->v[i];
		if (!pw_object_selected(o, kind, name, ns))
			continue;
		if (table && !found++)
			pw_buf_printf(&b, "%-*s  %-*s  %s\n", wns, "NAMESPACE", wkind, "KIND", "NAME");
		else if (!table)
			found++;
		if (table) {
			pw_buf_printf(&b, "%-*s  %-*s  %s\n", wns, o->ns, wkind, o->kind, o->name);
		} else if (json) {
			struct pw_doc *d = pw_object_doc(o);
			pw_doc_add(items, NULL, d ? d : pw_doc_null());
		} else {
			pw_object_yaml(o, &b);
		}
	}
	if (json && found)
		cli_print_doc(list, "json");
	fputs(b.s ? b.s : "", stdout);
	pw_doc_free(list);
	pw_buf_release(&b);
	return found;
}

/* get from an agent: its YAML, printed as -o asks */
static int get_agent(const struct apply_args *a, const char *path)
{
	struct pw_buf out, err;
	pw_buf_init(&out);
	pw_buf_init(&err);
	long status = 0;
	int rc = pw_http_call(a->agent, "GET", path, NULL, 0, 0, &status, &out, &err);
	if (rc == 0 && status == 200) {
		struct pw_objects ob;
		struct pw_diags d;
		pw_objects_init(&ob);
		pw_diags_init(&d);
		pw_objects_split(&ob, a->agent, NULL, (const unsigned char *)(out.s ? out.s : ""),
				 out.len, &d);
		print_objects(&ob, NULL, NULL, NULL, a->output);
		pw_diags_release(&d);
		pw_objects_release(&ob);
	} else {
		rc = answer(rc, status, &out, &err, true);
	}
	pw_buf_release(&out);
	pw_buf_release(&err);
	return rc;
}

static int open_datastore(const char *spec, struct pw_etcd *e)
{
	struct pw_buf err;
	pw_buf_init(&err);
	int rc = strncmp(spec, "etcd:", 5) ? -1 : pw_etcd_open(e, spec + 5, &err);
	if (rc < 0)
		cli_error("--datastore %s: %s", cli_q(spec),
			  err.s ? err.s : "give etcd:URL[,URL...]");
	pw_buf_release(&err);
	return rc;
}

static int get_datastore(const struct apply_args *a)
{
	struct pw_etcd e;
	if (open_datastore(a->datastore, &e) < 0)
		return EXIT_USAGE;
	struct pw_etcd_kvs kvs = { 0 };
	struct pw_buf err;
	pw_buf_init(&err);
	int64_t rev;
	int rc = EXIT_USAGE;
	if (pw_etcd_range_prefix(&e, PW_ETCD_PREFIX, &kvs, &rev, &err) < 0) {
		cli_error("etcd: %s", err.s);
	} else {
		struct pw_objects ob;
		struct pw_diags d;
		pw_objects_init(&ob);
		pw_diags_init(&d);
		for (size_t i = 0; i < kvs.n; i++)
			pw_objects_split(&ob, kvs.v[i].key, NULL, kvs.v[i].value, kvs.v[i].len, &d);
		const char *kind = a->npos ? a->pos[0] : NULL;
		rc = 0;
		if (!print_objects(&ob, kind, a->npos > 1 ? a->pos[1] : NULL, a->ns, a->output)) {
			fprintf(stderr, "no %s found\n", kind ? kind : "objects");
			rc = EXIT_FINDINGS;
		}
		pw_diags_release(&d);
		pw_objects_release(&ob);
	}
	pw_etcd_kvs_release(&kvs);
	pw_buf_release(&err);
	pw_etcd_close(&e);
	return rc;
}

/* What goes to etcd for an object: its document, but as JSON with the
   namespace in it when the namespace came from -n. */
static void stored_value(const struct pw_object *o, const char *ns, struct pw_buf *out)
{
	struct pw_doc *d = ns && *o->ns ? pw_object_doc(o) : NULL;
	struct pw_doc *meta = NULL;
	for (size_t i = 0; d && d->type == PW_DOC_OBJ && i < d->n; i++)
		if (!strcmp(d->keys[i], "metadata") && d->kids[i]->type == PW_DOC_OBJ)
			meta = d->kids[i];
	bool has = false;
	for (size_t i = 0; meta && i < meta->n; i++)
		has |= !strcmp(meta->keys[i], "namespace");
	if (meta && !has) {
		pw_doc_add(meta, "namespace", pw_doc_str(o->ns));
		struct pw_out w = pw_out_buf(out);
		pw_doc_write(d, PW_FORMAT_JSON, &w);
	} else {
		pw_buf_add(out, (const char *)o->bytes, o->len);
	}
	pw_doc_free(d);
}

/* apply or delete: every document checked, then one transaction */
static int change_datastore(const char *cmd, const struct apply_args *a)
{
	bool del = !strcmp(cmd, "delete");
	struct pw_objects ob;
	struct pw_diags d;
	pw_objects_init(&ob);
	pw_diags_init(&d);
	int rc = EXIT_FINDINGS;
	int bad = pw_objects_read_paths(&ob, a->files, (size_t)a->nfiles, a->ns, &d);
	print_diags(&d);
	struct pw_etcd e = { 0 };
	if (bad < 0) {
		fprintf(stderr, "%s: rejected: nothing written\n", cmd);
		goto out;
	}
	rc = EXIT_USAGE;
	if (open_datastore(a->datastore, &e) < 0)
		goto out;
	/* one operation per key: of objects given twice, the last */
	struct pw_etcd_kv *ops = pw_xcalloc(ob.n + 1, sizeof(*ops));
	struct pw_buf *keys = pw_xcalloc(ob.n + 1, sizeof(*keys)),
		      *vals = pw_xcalloc(ob.n + 1, sizeof(*vals));
	size_t *of = pw_xcalloc(ob.n + 1, sizeof(*of)), n = 0;
	bool *deleted = pw_xcalloc(ob.n + 1, sizeof(*deleted));
	for (size_t i = 0; i < ob.n; i++) {
		const struct pw_object *o = &ob.v[i];
		bool later = false;
		for (size_t k = i + 1; k < ob.n && !later; k++)
			later = !strcmp(ob.v[k].key, o->key);
		if (later)
			continue;
		pw_etcd_object_key(o->group, o->kind, o->ns, o->name, &keys[n]);
		if (!del)
			stored_value(o, a->ns, &vals[n]);
		ops[n] = (struct pw_etcd_kv){ keys[n].s, del ? NULL : (unsigned char *)(vals[n].s ? vals[n].s : ""),
					      vals[n].len, 0 };
		of[n++] = i;
	}
	struct pw_buf err;
	pw_buf_init(&err);
	int64_t rev = 0;
	if (n && pw_etcd_txn(&e, ops, n, deleted, &rev, &err) < 0) {
		cli_error("etcd: %s", err.s);
	} else {
		size_t missing = 0;
		for (size_t i = 0; i < n; i++) {
			const struct pw_object *o = &ob.v[of[i]];
			missing += del && !deleted[i];
			printf("%s %s%s%s %s\n", o->kind, o->ns, *o->ns ? "/" : "", o->name,
			       !del ? "configured" : deleted[i] ? "deleted" : "not found");
		}
		if (n)
			printf("# etcd revision %lld\n", (long long)rev);
		rc = n && missing == n ? EXIT_FINDINGS : 0;
	}
	pw_buf_release(&err);
	for (size_t i = 0; i < ob.n; i++) {
		pw_buf_release(&keys[i]);
		pw_buf_release(&vals[i]);
	}
	free(keys);
	free(vals);
	free(ops);
	free(of);
	free(deleted);
out:
	if (e.n)
		pw_etcd_close(&e);
	pw_diags_release(&d);
	pw_objects_release(&ob);
	return rc;
}

static int run(const char *cmd, int argc, char **argv)
{
	struct apply_args a = { 0 };
	int r = apply_parse(cmd, argc, argv, &a);
	if (r) {
		free(a.files);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	bool get = !strcmp(cmd, "get");
	int rc = EXIT_USAGE;
	struct pw_buf path, env;
	pw_buf_init(&path);
	pw_buf_init(&env);
	/* calicoctl's way of naming the datastore */
	const char *type = getenv("DATASTORE_TYPE"), *eps = getenv("ETCD_ENDPOINTS");
	if (!a.agent && !a.datastore && type && !strcmp(type, "etcdv3") && eps && *eps) {
		pw_buf_printf(&env, "etcd:%s", eps);
		a.datastore = env.s;
	}
	if (!a.agent == !a.datastore) {
		cli_error("%s: give the agent with --agent SOCKET|URL or etcd with "
			  "--datastore etcd:URL[,URL...]",
			  cmd);
		goto out;
	}
	if (get) {
		const char *const formats[] = { "yaml", "json", "table", NULL };
		if (a.nfiles) {
			cli_error("get: give a KIND (and optionally a NAME), not files");
			goto out;
		}
		if (a.output && !cli_output_ok(a.output, formats)) {
			cli_error("get: -o %s: give yaml, json or table", cli_q(a.output));
			goto out;
		}
		if (a.datastore) {
			rc = get_datastore(&a);
			goto out;
		}
		pw_buf_puts(&path, "/v1/objects?kind=");
		pw_http_escape(a.npos ? a.pos[0] : "", &path);
		if (a.npos > 1) {
			pw_buf_puts(&path, "&name=");
			pw_http_escape(a.pos[1], &path);
		}
		if (a.ns) {
			pw_buf_puts(&path, "&namespace=");
			pw_http_escape(a.ns, &path);
		}
		rc = get_agent(&a, path.s);
		goto out;
	}
	if (a.npos) {
		cli_error("%s: unexpected argument %s", cmd, cli_q(a.pos[0]));
		goto out;
	}
	if (!a.nfiles) {
		cli_error("%s: give the objects with -f FILE|DIR|-", cmd);
		goto out;
	}
	if (a.datastore) {
		rc = change_datastore(cmd, &a);
		goto out;
	}
	/* one request: the change is one transaction */
	struct pw_diags d;
	struct pw_buf out, err;
	long status = 0;
	pw_diags_init(&d);
	pw_buf_init(&out);
	pw_buf_init(&err);
	int r2 = pw_agent_send_files(a.agent, cmd, a.files, (size_t)a.nfiles, a.ns, &status,
				     &out, &d, &err);
	print_diags(&d);
	rc = answer(r2, status, &out, &err, !d.errors);
	pw_buf_release(&out);
	pw_buf_release(&err);
	pw_diags_release(&d);
out:
	pw_buf_release(&path);
	pw_buf_release(&env);
	free(a.files);
	return rc;
}

int cmd_apply(int argc, char **argv)
{
	return run("apply", argc, argv);
}

int cmd_delete(int argc, char **argv)
{
	return run("delete", argc, argv);
}

int cmd_get(int argc, char **argv)
{
	return run("get", argc, argv);
}
