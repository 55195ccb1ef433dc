/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Label sets and Kubernetes label selectors (metav1.LabelSelector).
 *
 * A label set is sorted by key, keys unique; strings live in the cluster
 * arena.  A selector is a conjunction of requirements; matchLabels entries
 * become "key In (value)".  The empty selector matches everything.
 *
 * Operators, as the API server defines them:
 *   In            key present and value in the list
 *   NotIn         key absent, or value not in the list
 *   Exists        key present
 *   DoesNotExist  key absent
 */
#ifndef PW_LABELS_H
#define PW_LABELS_H

#include "base.h"

struct pw_label {
	const char *key, *value;
};
struct pw_labels {
	struct pw_label *v;
	uint32_t n;
};

const char *pw_labels_get(const struct pw_labels *l, const char *key);
bool pw_labels_equal(const struct pw_labels *a, const struct pw_labels *b);
/* Sort by key; returns the key of a duplicate, or NULL. */
const char *pw_labels_sort(struct pw_labels *l);
/* "a=1,b=2" */
void pw_labels_format(const struct pw_labels *l, struct pw_buf *out);

/* Validation as apimachinery does it; NULL if valid, else why not. */
const char *pw_label_key_invalid(const char *key);
const char *pw_label_value_invalid(const char *value);
/* DNS-1123 label (namespace names); NULL if valid. */
const char *pw_dns_label_invalid(const char *s);
/* IANA service name (named ports); NULL if valid. */
const char *pw_port_name_invalid(const char *s);

enum pw_lsel_op { PW_OP_IN, PW_OP_NOTIN, PW_OP_EXISTS, PW_OP_DOESNOTEXIST };
struct pw_req {
	const char *key;
	enum pw_lsel_op op;
	const char **values;
	uint32_t nvalues;
};
struct pw_lsel {
	struct pw_req *reqs;
	uint32_t n;
};

int pw_lsel_op_parse(const char *s); /* -1 if unknown */
bool pw_lsel_match(const struct pw_lsel *s, const struct pw_labels *l);
/* "app=web,tier in (a,b),!x" ; the empty selector prints as "{}" */
void pw_lsel_format(const struct pw_lsel *s, struct pw_buf *out);

#endif
