/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of the manifest loader, shared by the files that load
 * one family of kinds each: manifest.c (core Kubernetes kinds and the file
 * walk), calico.c (projectcalico.org/v3), adminpolicy.c
 * (policy.networking.k8s.io), service.c (Services, Endpoints,
 * EndpointSlices, Ingresses and Routes).  Not part of libpodwall's API.
 *
 * Conventions: ld_want_*() report a wrong type as an error at the node and
 * return NULL/false; ld_opt_*() treat absent and null alike.  A loader
 * adds its object to the cluster only if no error was reported since
 * l->errors_at_start.
 */
#ifndef PW_LOADER_H
#define PW_LOADER_H

#include <yaml.h>

#include "model.h"

struct ld {
	struct pw_cluster *c;
	struct pw_diags *d;
	const char *file; /* arena */
	yaml_document_t *doc;
	size_t errors_at_start; /* errors before the current object */
	const unsigned char *buf; /* the file's bytes (NULL in a nested document) */
	size_t len;
};

struct meta {
	const char *group; /* API group of the kind ("" for core) */
	const char *kind, *name, *ns; /* ns NULL for cluster-scoped kinds */
	struct pw_labels labels;
	const char *owner_kind, *owner_name;
	yaml_node_t *obj;
	struct pw_pos pos;
};

#define SEQ_EACH(l, seq, item)                                              \
	for (yaml_node_item_t *it_##item = (seq)->data.sequence.items.start; \
	     it_##item < (seq)->data.sequence.items.top &&                   \
	     ((item) = ld_node((l), *it_##item), 1);                            \
	     it_##item++)

struct pw_pos ld_file_pos(const char *file);
/* s quoted for a message (pw_quote(): escaped, long values shortened) */
const char *ld_q(struct ld *l, const char *s);
struct pw_pos ld_pos(const struct ld *l, const yaml_node_t *n);
yaml_node_t *ld_node(const struct ld *l, int idx);
bool ld_is_null(const yaml_node_t *n);
yaml_node_t *ld_get(const struct ld *l, const yaml_node_t *n,
			const char *key);
const char *ld_type_name(const yaml_node_t *n);
yaml_node_t *ld_want_map(struct ld *l, yaml_node_t *n, const char *what);
yaml_node_t *ld_want_seq(struct ld *l, yaml_node_t *n, const char *what);
size_t ld_seq_len(const yaml_node_t *seq);
const char *ld_want_str(struct ld *l, yaml_node_t *n, const char *what);
const char *ld_opt_str(struct ld *l, yaml_node_t *n, const char *what);
bool ld_plain_int(const yaml_node_t *n, long *out);
bool ld_want_int(struct ld *l, yaml_node_t *n, const char *what,
		     long *out);
int ld_want_bool(struct ld *l, yaml_node_t *n, const char *what);
void ld_labels(struct ld *l, yaml_node_t *n, struct pw_labels *out,
			const char *what);
struct pw_lsel *ld_lsel(struct ld *l, yaml_node_t *n,
				 const char *what);
bool ld_register(struct ld *l, const struct meta *m);
/* Count m among the objects not analysed (why: for -v). */
void ld_skip(struct ld *l, const struct meta *m, const char *api, const char *why);
/* The YAML held by a string scalar s (a ConfigMap's data value), parsed by
   the loader's composer: fn is called with each document's root and l's
   document set to it; positions (of nodes and of parse errors) are the
   file's: exact for block scalars, the scalar's own for quoted ones. */
void ld_nested(struct ld *l, yaml_node_t *s,
	       void (*fn)(struct ld *l, yaml_node_t *root, void *arg), void *arg);
/* Reports an IPv4-mapped IPv6 CIDR (::ffff:1.2.3.4/128) at n: Go's net
   package reads it as 1.2.3.4/32, a plain IPv6 reading as no IPv4 address
   at all, so it is refused rather than read either way.  True if reported. */
bool ld_v4mapped(struct ld *l, yaml_node_t *n, const char *s,
		 const struct pw_cidr *c);
void ld_np_port(struct ld *l, yaml_node_t *pn, struct pw_np_port *o,
			 bool *ok);

/* Loaders of the other files, called through the kinds table. */
void pw__load_calico_policy(struct ld *l, struct meta *m);
void pw__load_calico_tier(struct ld *l, struct meta *m);
void pw__load_calico_netset(struct ld *l, struct meta *m);
void pw__load_admin_policy(struct ld *l, struct meta *m);
void pw__load_service(struct ld *l, struct meta *m);
void pw__load_endpoints(struct ld *l, struct meta *m);
void pw__load_ingress(struct ld *l, struct meta *m);
/* lib/rbac/load.c */
void pw__load_role(struct ld *l, struct meta *m);
void pw__load_binding(struct ld *l, struct meta *m);
void pw__load_configmap(struct ld *l, struct meta *m);
/* lib/pss/load.c: the Pod Security fields of a pod spec (meta: the
   metadata of the pod or template, for annotations; may be NULL), with
   spec.hostNetwork as the pod's loader read it. */
struct pw_pss_pod *pw__load_pss(struct ld *l, yaml_node_t *meta, yaml_node_t *spec,
				bool host_network);
/* lib/flow/alert.c */
void pw__load_globalalert(struct ld *l, struct meta *m);
/* JSON of aws eks describe-access-entry, list-access-entries and
   list-associated-access-policies; false if obj is none of them. */
bool pw__load_eks_json(struct ld *l, yaml_node_t *obj);
/* lib/audit/load.c: what the encryption findings read */
void pw__load_storageclass(struct ld *l, struct meta *m);
void pw__audit_service(struct ld *l, struct meta *m, yaml_node_t *spec);
void pw__audit_ingress(struct ld *l, struct meta *m, yaml_node_t *spec);
/* JSON of aws eks describe-cluster; false if obj is not one */
bool pw__load_eks_cluster(struct ld *l, yaml_node_t *obj);

#endif
