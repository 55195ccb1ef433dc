// SPDX-License-Identifier: Apache-2.0
#include "labels.h"

#include <stdlib.h>
#include <string.h>

const char *pw_labels_get(const struct pw_labels *l, const char *key)
{
	uint32_t lo = 0, hi = l->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid].key, key);
		if (!c)
			return l->v[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool pw_labels_equal(const struct pw_labels *a, const struct pw_labels *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) ||
		    strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static int label_cmp(const void *x, const void *y)
{
	const struct pw_label *a = x, *b = y;
	return strcmp(a->key, b->key);
}

const char *pw_labels_sort(struct pw_labels *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), label_cmp);
	for (uint32_t i = 1; i < l->n; i++)
		if (!strcmp(l->v[i - 1].key, l->v[i].key))
			return l->v[i].key;
	return NULL;
}

void pw_labels_format(const struct pw_labels *l, struct pw_buf *out)
{
	for (uint32_t i = 0; i < l->n; i++)
		pw_buf_printf(out, "%s%s=%s", i ? "," : "", l->v[i].key,
			      l->v[i].value);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 */
static const char *qualified_name_invalid(const char *s, size_t n)
{
	if (n == 0)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return "name part must begin and end with an alphanumeric character";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return "name part may contain only alphanumerics, '-', '_' and '.'";
	return NULL;
}

/* DNS-1123 subdomain: lowercase labels separated by dots, <= 253 */
static const char *dns_subdomain_invalid(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return "prefix must be a DNS subdomain of 1 to 253 characters";
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0 || len > 63)
			return "prefix must be a lowercase DNS subdomain";
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			bool ok = (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '-';
			if (!ok || ((k == start || k == i - 1) && c == '-'))
				return "prefix must be a lowercase DNS subdomain";
		}
		start = i + 1;
	}
	return NULL;
}

const char *pw_label_key_invalid(const char *key)
{
	const char *slash = strchr(key, '/');
	if (!slash)
		return qualified_name_invalid(key, strlen(key));
	if (strchr(slash + 1, '/'))
		return "a label key may contain at most one '/'";
	const char *why = dns_subdomain_invalid(key, (size_t)(slash - key));
	if (why)
		return why;
	return qualified_name_invalid(slash + 1, strlen(slash + 1));
}

const char *pw_label_value_invalid(const char *value)
{
	size_t n = strlen(value);
	if (n == 0)
		return NULL;
	if (n > 63)
		return "a label value must be no more than 63 characters";
	if (qualified_name_invalid(value, n))
		return "a label value must be empty or begin and end with an alphanumeric character, with '-', '_', '.' or alphanumerics between";
	return NULL;
}

const char *pw_dns_label_invalid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return "must be a DNS label of 1 to 63 characters";
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '-';
		if (!ok || ((i == 0 || i == n - 1) && c == '-'))
			return "must be a lowercase DNS label (a-z, 0-9, '-')";
	}
	return NULL;
}

const char *pw_port_name_invalid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15)
		return "a port name must be 1 to 15 characters";
	bool letter = false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			letter = true;
		else if (!(c >= '0' && c <= '9') && c != '-')
			return "a port name may contain only lowercase letters, digits and '-'";
	}
	if (!letter)
		return "a port name must contain at least one letter";
	if (s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return "a port name must not begin or end with '-' or contain '--'";
	return NULL;
}

int pw_lsel_op_parse(const char *s)
{
	static const char *const names[] = { "In", "NotIn", "Exists",
					     "DoesNotExist" };
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

bool pw_lsel_match(const struct pw_lsel *s, const struct pw_labels *l)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct pw_req *r = &s->reqs[i];
		const char *v = pw_labels_get(l, r->key);
		bool in = false;
		switch (r->op) {
		case PW_OP_EXISTS:
			if (!v)
				return false;
			break;
		case PW_OP_DOESNOTEXIST:
			if (v)
				return false;
			break;
		case PW_OP_IN:
		case PW_OP_NOTIN:
			if (v)
				for (uint32_t k = 0; k < r->nvalues && !in; k++)
					in = !strcmp(v, r->values[k]);
			if ((r->op == PW_OP_IN) != in)
				return false;
			break;
		}
	}
	return true;
}

void pw_lsel_format(const struct pw_lsel *s, struct pw_buf *out)
{
	if (!s->n) {
		pw_buf_puts(out, "{}");
		return;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		const struct pw_req *r = &s->reqs[i];
		if (i)
			pw_buf_putc(out, ',');
		switch (r->op) {
		case PW_OP_EXISTS:
			pw_buf_puts(out, r->key);
			break;
		case PW_OP_DOESNOTEXIST:
			pw_buf_putc(out, '!');
			pw_buf_puts(out, r->key);
			break;
		case PW_OP_IN:
		case PW_OP_NOTIN:
			pw_buf_puts(out, r->key);
			if (r->op == PW_OP_IN && r->nvalues == 1) {
				pw_buf_putc(out, '=');
				pw_buf_puts(out, r->values[0]);
				break;
			}
			pw_buf_puts(out, r->op == PW_OP_IN ? " in (" : " notin (");
			for (uint32_t k = 0; k < r->nvalues; k++) {
				if (k)
					pw_buf_putc(out, ',');
				pw_buf_puts(out, r->values[k]);
			}
			pw_buf_putc(out, ')');
			break;
		}
	}
}
