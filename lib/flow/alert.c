// SPDX-License-Identifier: Apache-2.0
/*
 * GlobalAlert (alert.h): loading through the manifest loader, the query
 * language (a hand-written recursive-descent parser: it is Calico's own
 * little language), and evaluation over flow records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../loader.h"
#include "alert.h"

/* ---- fields ------------------------------------------------------------- */

enum ftype { F_STR, F_NUM, F_LIST, F_PROTO };

enum fid {
	F_START_TIME, F_END_TIME, F_ACTION, F_REPORTER, F_PROTO_ID,
	F_SRC_TYPE, F_SRC_NS, F_SRC_NAME, F_SRC_NAME_AGGR, F_SRC_LABELS,
	F_SRC_IP, F_SRC_PORT,
	F_DST_TYPE, F_DST_NS, F_DST_NAME, F_DST_NAME_AGGR, F_DST_LABELS,
	F_DST_IP, F_DST_PORT,
	F_SVC_NS, F_SVC_NAME, F_SVC_PORT, F_SVC_PORT_NUM, F_DOMAINS,
	F_POLICIES, F_PENDING,
	F_NUM_FLOWS, F_NUM_FLOWS_STARTED, F_NUM_FLOWS_COMPLETED,
	F_PACKETS_IN, F_PACKETS_OUT, F_BYTES_IN, F_BYTES_OUT,
	F_COUNT
};

static const struct field {
	const char *name;
	enum ftype type;
	char sep; /* F_LIST */
} fields[F_COUNT] = {
	[F_START_TIME] = { "start_time", F_NUM, 0 },
	[F_END_TIME] = { "end_time", F_NUM, 0 },
	[F_ACTION] = { "action", F_STR, 0 },
	[F_REPORTER] = { "reporter", F_STR, 0 },
	[F_PROTO_ID] = { "proto", F_PROTO, 0 },
	[F_SRC_TYPE] = { "source_type", F_STR, 0 },
	[F_SRC_NS] = { "source_namespace", F_STR, 0 },
	[F_SRC_NAME] = { "source_name", F_STR, 0 },
	[F_SRC_NAME_AGGR] = { "source_name_aggr", F_STR, 0 },
	[F_SRC_LABELS] = { "source_labels", F_LIST, ',' },
	[F_SRC_IP] = { "source_ip", F_STR, 0 },
	[F_SRC_PORT] = { "source_port", F_NUM, 0 },
	[F_DST_TYPE] = { "dest_type", F_STR, 0 },
	[F_DST_NS] = { "dest_namespace", F_STR, 0 },
	[F_DST_NAME] = { "dest_name", F_STR, 0 },
	[F_DST_NAME_AGGR] = { "dest_name_aggr", F_STR, 0 },
	[F_DST_LABELS] = { "dest_labels", F_LIST, ',' },
	[F_DST_IP] = { "dest_ip", F_STR, 0 },
	[F_DST_PORT] = { "dest_port", F_NUM, 0 },
	[F_SVC_NS] = { "dest_service_namespace", F_STR, 0 },
	[F_SVC_NAME] = { "dest_service_name", F_STR, 0 },
	[F_SVC_PORT] = { "dest_service_port", F_STR, 0 },
	[F_SVC_PORT_NUM] = { "dest_service_port_num", F_NUM, 0 },
	[F_DOMAINS] = { "dest_domains", F_LIST, ',' },
	[F_POLICIES] = { "policies", F_LIST, ';' },
	[F_PENDING] = { "pending_policies", F_LIST, ';' },
	[F_NUM_FLOWS] = { "num_flows", F_NUM, 0 },
	[F_NUM_FLOWS_STARTED] = { "num_flows_started", F_NUM, 0 },
	[F_NUM_FLOWS_COMPLETED] = { "num_flows_completed", F_NUM, 0 },
	[F_PACKETS_IN] = { "packets_in", F_NUM, 0 },
	[F_PACKETS_OUT] = { "packets_out", F_NUM, 0 },
	[F_BYTES_IN] = { "bytes_in", F_NUM, 0 },
	[F_BYTES_OUT] = { "bytes_out", F_NUM, 0 },
};

int pw_alert_field(const char *name)
{
	/* podwall's JSON names the port's name so (record.c) */
	if (!strcmp(name, "dest_service_port_name"))
		return F_SVC_PORT;
	for (int i = 0; i < F_COUNT; i++)
		if (!strcmp(fields[i].name, name))
			return i;
	return -1;
}

const char *pw_alert_field_name(int id)
{
	return id >= 0 && id < F_COUNT ? fields[id].name : "?";
}

static double fnum(const struct pw_flow *r, int id)
{
	switch (id) {
	case F_START_TIME: return (double)r->start_time;
	case F_END_TIME: return (double)r->end_time;
	case F_PROTO_ID: return r->proto;
	case F_SRC_PORT: return r->src.port;
	case F_DST_PORT: return r->dst.port;
	case F_SVC_PORT_NUM: return r->svc_port_num;
	case F_NUM_FLOWS: return (double)r->num_flows;
	case F_NUM_FLOWS_STARTED: return (double)r->num_flows_started;
	case F_NUM_FLOWS_COMPLETED: return (double)r->num_flows_completed;
	case F_PACKETS_IN: return (double)r->packets_in;
	case F_PACKETS_OUT: return (double)r->packets_out;
	case F_BYTES_IN: return (double)r->bytes_in;
	case F_BYTES_OUT: return (double)r->bytes_out;
	}
	return 0;
}

/* A number as text: integral values without a fraction. */
static void fmt_num(double x, char out[40])
{
	if (x > -1e15 && x < 1e15 && x == (double)(long long)x)
		snprintf(out, 40, "%lld", (long long)x);
	else
		snprintf(out, 40, "%.15g", x);
}

/* Any field as text (tmp: room for a number). */
static const char *fstr(const struct pw_flow *r, int id, char tmp[40])
{
	switch (id) {
	case F_ACTION: return pw_flow_action_name(r->action);
	case F_REPORTER: return pw_flow_reporter_name(r->reporter);
	case F_PROTO_ID: return pw_flow_proto_name(r->proto, tmp);
	case F_SRC_TYPE: return r->src.type;
	case F_SRC_NS: return r->src.ns;
	case F_SRC_NAME: return r->src.name;
	case F_SRC_NAME_AGGR: return r->src.name_aggr;
	case F_SRC_LABELS: return r->src.labels;
	case F_SRC_IP: return r->src.ip;
	case F_DST_TYPE: return r->dst.type;
	case F_DST_NS: return r->dst.ns;
	case F_DST_NAME: return r->dst.name;
	case F_DST_NAME_AGGR: return r->dst.name_aggr;
	case F_DST_LABELS: return r->dst.labels;
	case F_DST_IP: return r->dst.ip;
	case F_SVC_NS: return r->svc_ns;
	case F_SVC_NAME: return r->svc_name;
	case F_SVC_PORT: return r->svc_port_name;
	case F_DOMAINS: return r->dest_domains;
	case F_POLICIES: return r->policies;
	case F_PENDING: return r->pending;
	}
	fmt_num(fnum(r, id), tmp);
	return tmp;
}

/* ---- durations ---------------------------------------------------------- */

int64_t pw_alert_duration(const char *s)
{
	int64_t ms;
	/* Go's units (h, m, s), whole seconds */
	if (strchr(s, 'd') || pw_duration_parse_ms(s, false, &ms) < 0 || ms % 1000)
		return -1;
	return ms / 1000;
}

/* ---- the query language ------------------------------------------------- */

enum aq_kind { AQ_AND, AQ_OR, AQ_NOT, AQ_CMP, AQ_IN };

struct aq_val {
	const char *s;
	double n;
	bool num;  /* s reads as a number */
	bool glob; /* s has * or ? */
};

struct pw_aq {
	enum aq_kind kind;
	const struct pw_aq *l, *r; /* AND, OR; NOT: l */
	int field;
	enum pw_alert_cond op; /* CMP */
	bool negate;	       /* IN: NOT IN */
	struct aq_val *v;
	uint32_t nv;
};

enum tok { T_EOF, T_LP, T_RP, T_LB, T_RB, T_COMMA, T_OP, T_STR, T_WORD, T_BAD };

struct qp {
	struct pw_arena *a;
	const char *q;
	size_t i;
	/* the current token */
	enum tok t;
	size_t at, end;
	const char *text; /* T_STR, T_WORD: the value (arena) */
	enum pw_alert_cond op;
	/* the first error */
	bool failed;
	size_t err_off;
	struct pw_buf *err;
};

static void qp_fail(struct qp *p, size_t off, const char *fmt, ...) PW_PRINTF(3, 4);
static void qp_fail(struct qp *p, size_t off, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	p->err_off = off;
	va_list ap;
	va_start(ap, fmt);
	pw_buf_vprintf(p->err, fmt, ap);
	va_end(ap);
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("_.:/*?-+@~|%#", c));
}

static void next(struct qp *p)
{
	const char *q = p->q;
	while (q[p->i] == ' ' || q[p->i] == '\t' || q[p->i] == '\n' || q[p->i] == '\r')
		p->i++;
	p->at = p->i;
	char c = q[p->i];
	p->text = NULL;
	if (!c) {
		p->t = T_EOF;
	} else if (strchr("(){},", c)) {
		p->t = c == '(' ? T_LP : c == ')' ? T_RP : c == '{' ? T_LB : c == '}' ? T_RB : T_COMMA;
		p->i++;
	} else if (c == '=' || c == '<' || c == '>' || (c == '!' && q[p->i + 1] == '=')) {
		p->t = T_OP;
		bool eq = q[p->i + 1] == '=';
		p->op = c == '=' ? PW_ALERT_EQ : c == '!' ? PW_ALERT_NOT_EQ
			: c == '<' ? (eq ? PW_ALERT_LTE : PW_ALERT_LT)
				   : (eq ? PW_ALERT_GTE : PW_ALERT_GT);
		p->i += (c == '!' || eq) ? 2 : 1;
		if (c == '=' && eq) /* "==" reads as "=" */
			p->op = PW_ALERT_EQ;
	} else if (c == '"' || c == '\'') {
		struct pw_buf b;
		pw_buf_init(&b);
		p->i++;
		while (q[p->i] && q[p->i] != c) {
			if (q[p->i] == '\\' && q[p->i + 1])
				p->i++;
			pw_buf_putc(&b, q[p->i++]);
		}
		if (!q[p->i]) {
			qp_fail(p, p->at, "unterminated string");
			p->t = T_BAD;
		} else {
			p->i++;
			p->t = T_STR;
			p->text = pw_arena_strndup(p->a, b.s ? b.s : "", b.len);
		}
		pw_buf_release(&b);
	} else if (word_char(c)) {
		while (word_char(q[p->i]))
			p->i++;
		p->t = T_WORD;
		p->text = pw_arena_strndup(p->a, q + p->at, p->i - p->at);
	} else {
		qp_fail(p, p->at, "unexpected character '%c'", c);
		p->t = T_BAD;
	}
	p->end = p->i;
}

static bool is_kw(const struct qp *p, const char *kw)
{
	return p->t == T_WORD && !strcasecmp(p->text, kw);
}

static bool read_number(const char *s, double *out)
{
	if (!*s || !strchr("0123456789+-.", *s))
		return false;
	char *e;
	*out = strtod(s, &e);
	return !*e;
}

static struct pw_aq *node(struct qp *p, enum aq_kind k)
{
	struct pw_aq *n = pw_arena_alloc(p->a, sizeof(*n));
	n->kind = k;
	return n;
}

/* A value for field f at the current token, which it consumes. */
static bool value(struct qp *p, int f, struct aq_val *v)
{
	if (p->t != T_STR && p->t != T_WORD) {
		if (p->t != T_BAD)
			qp_fail(p, p->at, "expected a value for %s", fields[f].name);
		return false;
	}
	v->s = p->text;
	v->num = read_number(v->s, &v->n);
	v->glob = strpbrk(v->s, "*?") != NULL;
	if (fields[f].type == F_NUM && !v->num) {
		qp_fail(p, p->at, "%s takes a number, not %s", fields[f].name,
			pw_arena_quote(p->a, v->s));
		return false;
	}
	if (fields[f].type == F_PROTO && !v->num) {
		/* names compare in lower case */
		char *s = pw_arena_strdup(p->a, v->s);
		for (char *c = s; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		v->s = s;
	}
	next(p);
	return true;
}

static const struct pw_aq *parse_or(struct qp *p);

static const struct pw_aq *parse_primary(struct qp *p)
{
	if (p->t == T_LP) {
		size_t open = p->at;
		next(p);
		const struct pw_aq *e = parse_or(p);
		if (!e)
			return NULL;
		if (p->t != T_RP) {
			qp_fail(p, p->t == T_EOF ? open : p->at,
				p->t == T_EOF ? "unclosed (" : "expected )");
			return NULL;
		}
		next(p);
		return e;
	}
	if (p->t != T_WORD || is_kw(p, "and") || is_kw(p, "or") || is_kw(p, "in")) {
		if (p->t != T_BAD)
			qp_fail(p, p->at, p->t == T_EOF ? "expected a field name at the end of the query"
							: "expected a field name");
		return NULL;
	}
	int f = pw_alert_field(p->text);
	if (f < 0) {
		qp_fail(p, p->at, "unknown field %s", pw_arena_quote(p->a, p->text));
		return NULL;
	}
	size_t fat = p->at;
	next(p);
	bool neg = false;
	if (is_kw(p, "not")) {
		neg = true;
		next(p);
		if (!is_kw(p, "in")) {
			qp_fail(p, p->at, "expected IN after NOT");
			return NULL;
		}
	}
	if (is_kw(p, "in")) {
		next(p);
		if (p->t != T_LB) {
			qp_fail(p, p->at, "expected { after IN");
			return NULL;
		}
		next(p);
		struct pw_aq *n = node(p, AQ_IN);
		n->field = f;
		n->negate = neg;
		size_t cap = 0;
		for (;;) {
			struct aq_val v;
			if (!value(p, f, &v))
				return NULL;
			*PW_PUSH(p->a, n->v, n->nv, cap) = v;
			if (p->t == T_RB)
				break;
			if (p->t != T_COMMA) {
				if (p->t != T_BAD)
					qp_fail(p, p->at, "expected , or } in the IN list");
				return NULL;
			}
			next(p);
		}
		next(p);
		return n;
	}
	if (p->t != T_OP) {
		if (p->t != T_BAD)
			qp_fail(p, p->t == T_EOF ? fat : p->at,
				"expected =, !=, <, <=, >, >=, IN or NOT IN after %s",
				fields[f].name);
		return NULL;
	}
	struct pw_aq *n = node(p, AQ_CMP);
	n->field = f;
	n->op = p->op;
	next(p);
	n->v = pw_arena_alloc(p->a, sizeof(*n->v));
	n->nv = 1;
	if (!value(p, f, n->v))
		return NULL;
	if (n->v->glob && n->op != PW_ALERT_EQ && n->op != PW_ALERT_NOT_EQ) {
		qp_fail(p, fat, "wildcards work with =, != and IN only");
		return NULL;
	}
	return n;
}

static const struct pw_aq *parse_not(struct qp *p)
{
	if (is_kw(p, "not")) {
		next(p);
		const struct pw_aq *e = parse_not(p);
		if (!e)
			return NULL;
		struct pw_aq *n = node(p, AQ_NOT);
		n->l = e;
		return n;
	}
	return parse_primary(p);
}

/* OR of ANDs: level 0 joins by OR, level 1 by AND, of NOT-terms */
static const struct pw_aq *parse_bin(struct qp *p, int level)
{
	const char *kw = level ? "and" : "or";
	const struct pw_aq *l = level ? parse_not(p) : parse_bin(p, 1);
	while (l && is_kw(p, kw)) {
		next(p);
		const struct pw_aq *r = level ? parse_not(p) : parse_bin(p, 1);
		if (!r)
			return NULL;
		struct pw_aq *n = node(p, level ? AQ_AND : AQ_OR);
		n->l = l;
		n->r = r;
		l = n;
	}
	return l;
}

static const struct pw_aq *parse_or(struct qp *p)
{
	return parse_bin(p, 0);
}

int pw_alert_query_parse(struct pw_arena *a, const char *q,
			 const struct pw_aq **out, size_t *err_off,
			 struct pw_buf *err)
{
	struct qp p = { .a = a, .q = q, .err = err };
	*out = NULL;
	next(&p);
	if (p.t == T_EOF)
		return 0;
	const struct pw_aq *e = parse_or(&p);
	if (e && p.t != T_EOF)
		qp_fail(&p, p.at, p.t == T_RP ? "unmatched )"
					       : "expected AND, OR or the end of the query");
	if (!e || p.failed) {
		*err_off = p.err_off;
		return -1;
	}
	*out = e;
	return 0;
}

/* s matches pattern g (* any run, ? any one character)? */
static bool glob(const char *g, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*g == '*') {
			star = g++;
			resume = s;
		} else if (*g == '?' || *g == *s) {
			g++;
			s++;
		} else if (star) {
			g = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*g == '*')
		g++;
	return !*g;
}

static bool cmp_num(double x, enum pw_alert_cond op, double y)
{
	switch (op) {
	case PW_ALERT_EQ: return x == y;
	case PW_ALERT_NOT_EQ: return x != y;
	case PW_ALERT_LT: return x < y;
	case PW_ALERT_LTE: return x <= y;
	case PW_ALERT_GT: return x > y;
	case PW_ALERT_GTE: return x >= y;
	}
	return false;
}

/* One string against one value: = by the pattern, the others in byte
   order. */
static bool cmp_str(const char *s, enum pw_alert_cond op, const struct aq_val *v)
{
	if (op == PW_ALERT_EQ)
		return v->glob ? glob(v->s, s) : !strcmp(s, v->s);
	if (op == PW_ALERT_NOT_EQ)
		return !cmp_str(s, PW_ALERT_EQ, v);
	return cmp_num(strcmp(s, v->s), op, 0);
}

/* Field f of r against v by op (!= is handled by the caller for lists). */
static bool test(const struct pw_flow *r, int f, enum pw_alert_cond op,
		 const struct aq_val *v)
{
	char tmp[40];
	switch (fields[f].type) {
	case F_NUM:
		return cmp_num(fnum(r, f), op, v->n);
	case F_PROTO:
		if (v->num)
			return cmp_num(r->proto, op, v->n);
		return cmp_str(fstr(r, f, tmp), op, v);
	case F_STR:
		return cmp_str(fstr(r, f, tmp), op, v);
	case F_LIST:
		break;
	}
	/* any entry */
	const char *s = fstr(r, f, tmp);
	char entry[PW_FLOW_POLICY];
	while (*s) {
		const char *e = strchr(s, fields[f].sep);
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n >= sizeof(entry))
			n = sizeof(entry) - 1;
		memcpy(entry, s, n);
		entry[n] = 0;
		if (cmp_str(entry, op, v))
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

bool pw_alert_query_match(const struct pw_aq *q, const struct pw_flow *r)
{
	if (!q)
		return true;
	switch (q->kind) {
	case AQ_AND:
		return pw_alert_query_match(q->l, r) && pw_alert_query_match(q->r, r);
	case AQ_OR:
		return pw_alert_query_match(q->l, r) || pw_alert_query_match(q->r, r);
	case AQ_NOT:
		return !pw_alert_query_match(q->l, r);
	case AQ_CMP:
		if (q->op == PW_ALERT_NOT_EQ && fields[q->field].type != F_NUM)
			return !test(r, q->field, PW_ALERT_EQ, q->v);
		return test(r, q->field, q->op, q->v);
	case AQ_IN:
		for (uint32_t i = 0; i < q->nv; i++)
			if (test(r, q->field, PW_ALERT_EQ, &q->v[i]))
				return !q->negate;
		return q->negate;
	}
	return false;
}

/* ---- loading ------------------------------------------------------------ */

/*
 * The position of byte off of scalar n's value in the file: the scalar's
 * own position when the file's bytes are not at hand (a nested document).
 * Quotes, escapes, folded line breaks and block indentation are followed.
 */
static struct pw_pos value_pos(struct ld *l, yaml_node_t *n, size_t off)
{
	struct pw_pos p = ld_pos(l, n);
	if (!l->buf || n->type != YAML_SCALAR_NODE || n->end_mark.index > l->len)
		return p;
	const unsigned char *s = l->buf;
	size_t i = n->start_mark.index, end = n->end_mark.index;
	yaml_scalar_style_t st = n->data.scalar.style;
	bool block = st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE;
	size_t indent = 0;
#define ADV() (s[i] == '\n' ? (p.line++, p.col = 1) : p.col++, i++)
	if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		ADV();
	} else if (block) {
		while (i < end && s[i] != '\n')
			ADV();
		if (i < end)
			ADV();
		while (i + indent < end && s[i + indent] == ' ')
			indent++;
		for (size_t k = 0; k < indent; k++)
			ADV();
	}
	for (size_t v = 0; i < end && v < off; v++) {
		if (s[i] == '\n') {
			ADV();
			if (block)
				for (size_t k = 0; k < indent && i < end && s[i] == ' '; k++)
					ADV();
			else
				while (i < end && (s[i] == ' ' || s[i] == '\t'))
					ADV();
			continue;
		}
		if ((st == YAML_SINGLE_QUOTED_SCALAR_STYLE && s[i] == '\'') ||
		    (st == YAML_DOUBLE_QUOTED_SCALAR_STYLE && s[i] == '\\'))
			ADV();
		if (i < end)
			ADV();
	}
#undef ADV
	return p;
}

static const char *const metrics[] = { "", "count", "sum", "avg", "max", "min" };
static const char *const conds[] = { "eq", "not_eq", "lt", "lte", "gt", "gte" };

static int64_t duration(struct ld *l, yaml_node_t *spec, const char *key, int64_t def)
{
	yaml_node_t *n = ld_get(l, spec, key);
	const char *s = ld_opt_str(l, n, key);
	if (!s)
		return def;
	int64_t v = pw_alert_duration(s);
	if (v < 0)
		pw_error(l->d, ld_pos(l, n),
			 "%s %s is not a duration (\"5m\", \"1h30m\", \"90s\")", key, ld_q(l, s));
	else if (v < 1)
		pw_error(l->d, ld_pos(l, n), "%s must be at least 1s", key);
	return v;
}

/* Every ${NAME} of template t (at n) is an aggregateBy field or the
   metric. */
static void check_template(struct ld *l, yaml_node_t *n, const char *what,
			   const char *t, const struct pw_alert *a)
{
	for (const char *s = t; (s = strstr(s, "${")); s += 2) {
		const char *e = strchr(s, '}');
		if (!e)
			return;
		char *name = pw_arena_strndup(&l->c->arena, s + 2, (size_t)(e - s - 2));
		bool ok = a->metric != PW_ALERT_NONE && !strcmp(name, metrics[a->metric]);
		int f = pw_alert_field(name);
		for (uint32_t i = 0; i < a->naggr && !ok; i++)
			ok = a->aggr[i] == f;
		if (!ok)
			pw_error(l->d, value_pos(l, n, (size_t)(s - t)),
				 "%s: ${%s} is neither an aggregateBy field nor the metric",
				 what, name);
	}
}

void pw__load_globalalert(struct ld *l, struct meta *m)
{
	struct pw_cluster *c = l->c;
	struct pw_arena *ar = &c->arena;
	struct pw_alert a = { 0 };
	a.name = m->name;
	a.pos = m->pos;
	a.field = -1;
	yaml_node_t *spec = ld_want_map(l, ld_get(l, m->obj, "spec"), "spec");
	if (!spec) {
		if (l->d->errors == l->errors_at_start)
			pw_error(l->d, m->pos, "GlobalAlert %s has no spec", ld_q(l, m->name));
		return;
	}
	yaml_node_t *n = ld_get(l, spec, "type");
	const char *s = ld_opt_str(l, n, "type");
	if (s && strcmp(s, "RuleBased"))
		pw_error(l->d, ld_pos(l, n),
			 "type %s is not supported: podwall runs RuleBased alerts only", ld_q(l, s));
	yaml_node_t *dn = ld_get(l, spec, "description");
	a.description = ld_opt_str(l, dn, "description");
	if (!a.description)
		pw_error(l->d, ld_pos(l, spec), "GlobalAlert needs spec.description");
	yaml_node_t *sn = ld_get(l, spec, "summary");
	a.summary = ld_opt_str(l, sn, "summary");
	n = ld_get(l, spec, "severity");
	long sev = 0;
	if (ld_is_null(n))
		pw_error(l->d, ld_pos(l, spec), "GlobalAlert needs spec.severity (1-100)");
	else if (ld_want_int(l, n, "severity", &sev) && (sev < 1 || sev > 100))
		pw_error(l->d, ld_pos(l, n), "severity %ld is out of range 1-100", sev);
	a.severity = (int)sev;
	n = ld_get(l, spec, "dataSet");
	s = ld_opt_str(l, n, "dataSet");
	if (!s && ld_is_null(n))
		pw_error(l->d, ld_pos(l, spec), "GlobalAlert needs spec.dataSet (flows)");
	else if (s && (!strcmp(s, "audit") || !strcmp(s, "dns") || !strcmp(s, "l7")))
		pw_error(l->d, ld_pos(l, n),
			 "dataSet %s is not supported: podwall alerts on flow logs only (dataSet: flows)",
			 ld_q(l, s));
	else if (s && strcmp(s, "flows"))
		pw_error(l->d, ld_pos(l, n), "unknown dataSet %s (want flows)", ld_q(l, s));
	a.period = duration(l, spec, "period", 300);
	a.lookback = duration(l, spec, "lookback", 600);
	n = ld_get(l, spec, "query");
	a.query_text = ld_opt_str(l, n, "query");
	if (a.query_text) {
		struct pw_buf err;
		size_t off = 0;
		pw_buf_init(&err);
		if (pw_alert_query_parse(ar, a.query_text, &a.query, &off, &err) < 0)
			pw_error(l->d, value_pos(l, n, off), "query: %s", err.s);
		pw_buf_release(&err);
	}
	n = ld_want_seq(l, ld_get(l, spec, "aggregateBy"), "aggregateBy");
	if (n) {
		yaml_node_t *it;
		a.aggr = pw_arena_alloc(ar, (ld_seq_len(n) + 1) * sizeof(*a.aggr));
		SEQ_EACH(l, n, it)
		{
			const char *f = ld_want_str(l, it, "an aggregateBy field");
			if (!f)
				continue;
			int id = pw_alert_field(f);
			if (id < 0)
				pw_error(l->d, ld_pos(l, it), "aggregateBy: unknown field %s", ld_q(l, f));
			else
				a.aggr[a.naggr++] = id;
		}
	}
	yaml_node_t *mn = ld_get(l, spec, "metric");
	s = ld_opt_str(l, mn, "metric");
	if (s) {
		for (size_t i = 1; i < PW_ARRAY_SIZE(metrics); i++)
			if (!strcmp(s, metrics[i]))
				a.metric = (enum pw_alert_metric)i;
		if (a.metric == PW_ALERT_NONE)
			pw_error(l->d, ld_pos(l, mn),
				 "unknown metric %s (want count, sum, avg, max or min)", ld_q(l, s));
	}
	n = ld_get(l, spec, "field");
	s = ld_opt_str(l, n, "field");
	if (s) {
		a.field = pw_alert_field(s);
		if (a.field < 0)
			pw_error(l->d, ld_pos(l, n), "unknown field %s", ld_q(l, s));
		else if (fields[a.field].type != F_NUM && a.metric > PW_ALERT_COUNT)
			pw_error(l->d, ld_pos(l, n), "metric %s needs a numeric field, and %s is not",
				 metrics[a.metric], ld_q(l, s));
	} else if (a.metric > PW_ALERT_COUNT) {
		pw_error(l->d, ld_pos(l, mn), "metric %s needs a field (num_flows, bytes_in, ...)",
			 metrics[a.metric]);
	}
	n = ld_get(l, spec, "condition");
	s = ld_opt_str(l, n, "condition");
	if (s) {
		size_t i = 0;
		while (i < PW_ARRAY_SIZE(conds) && strcmp(s, conds[i]))
			i++;
		if (i == PW_ARRAY_SIZE(conds))
			pw_error(l->d, ld_pos(l, n),
				 "unknown condition %s (want eq, not_eq, lt, lte, gt or gte)",
				 ld_q(l, s));
		a.cond = (enum pw_alert_cond)i;
	} else if (a.metric != PW_ALERT_NONE) {
		pw_error(l->d, ld_pos(l, mn), "metric %s needs a condition", metrics[a.metric]);
	}
	n = ld_get(l, spec, "threshold");
	if (!ld_is_null(n)) {
		if (n->type != YAML_SCALAR_NODE ||
		    !read_number((const char *)n->data.scalar.value, &a.threshold))
			pw_error(l->d, ld_pos(l, n), "threshold must be a number");
	} else if (a.metric != PW_ALERT_NONE) {
		pw_error(l->d, ld_pos(l, mn), "metric %s needs a threshold", metrics[a.metric]);
	}
	if (a.description)
		check_template(l, dn, "description", a.description, &a);
	if (a.summary)
		check_template(l, sn, "summary", a.summary, &a);
	else
		a.summary = a.description;
	if (l->d->errors > l->errors_at_start)
		return;
	*PW_PUSH(ar, c->alerts, c->nalerts, c->nalerts_cap) = a;
}

/* ---- evaluation --------------------------------------------------------- */

struct group {
	const char **vals; /* the aggregateBy fields' values */
	double count, sum, min, max;
};

static void fill(const struct pw_alert *a, const struct group *g, double value,
		 const char *t, char *out, size_t cap)
{
	struct pw_buf b;
	pw_buf_init(&b);
	while (*t) {
		const char *e;
		if (t[0] == '$' && t[1] == '{' && (e = strchr(t, '}'))) {
			size_t n = (size_t)(e - t - 2);
			const char *v = NULL;
			char num[40];
			for (uint32_t i = 0; i < a->naggr && !v; i++)
				if (strlen(fields[a->aggr[i]].name) == n &&
				    !strncmp(fields[a->aggr[i]].name, t + 2, n))
					v = g->vals[i];
			if (!v && a->metric != PW_ALERT_NONE &&
			    strlen(metrics[a->metric]) == n && !strncmp(metrics[a->metric], t + 2, n)) {
				fmt_num(value, num);
				v = num;
			}
			if (v) {
				pw_buf_puts(&b, v);
				t = e + 1;
				continue;
			}
		}
		pw_buf_putc(&b, *t++);
	}
	snprintf(out, cap, "%s", b.s ? b.s : "");
	pw_buf_release(&b);
}

size_t pw_alert_eval(const struct pw_alert *a, const struct pw_flow *v,
		     size_t n, int64_t now, struct pw_alert_event **out)
{
	struct pw_arena ar;
	struct pw_strmap index;
	struct pw_buf key;
	struct group *gs = NULL;
	size_t ng = 0, gcap = 0;
	pw_arena_init(&ar);
	pw_strmap_init(&index);
	pw_buf_init(&key);
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct pw_flow *r = &v[i];
		if (r->end_time <= now - a->lookback || r->end_time > now ||
		    !pw_alert_query_match(a->query, r))
			continue;
		char tmp[40];
		pw_buf_reset(&key);
		pw_buf_putc(&key, 'k');
		for (uint32_t k = 0; k < a->naggr; k++) {
			pw_buf_puts(&key, fstr(r, a->aggr[k], tmp));
			pw_buf_putc(&key, '\x1f');
		}
		uintptr_t at = (uintptr_t)pw_strmap_get(&index, key.s);
		struct group *g;
		if (!at) {
			g = PW_PUSH(&ar, gs, ng, gcap);
			g->vals = pw_arena_alloc(&ar, (a->naggr + 1) * sizeof(*g->vals));
			for (uint32_t k = 0; k < a->naggr; k++)
				g->vals[k] = pw_arena_strdup(&ar, fstr(r, a->aggr[k], tmp));
			pw_strmap_put(&index, pw_arena_strdup(&ar, key.s), (void *)(uintptr_t)ng);
		} else {
			g = &gs[at - 1];
		}
		double x = a->field >= 0 ? fnum(r, a->field) : 0;
		if (!g->count || x < g->min)
			g->min = x;
		if (!g->count || x > g->max)
			g->max = x;
		g->count++;
		g->sum += x;
	}
	size_t ne = 0;
	for (size_t i = 0; i < ng; i++) {
		const struct group *g = &gs[i];
		double val;
		switch (a->metric) {
		case PW_ALERT_SUM: val = g->sum; break;
		case PW_ALERT_AVG: val = g->sum / g->count; break;
		case PW_ALERT_MAX: val = g->max; break;
		case PW_ALERT_MIN: val = g->min; break;
		default: val = g->count; break;
		}
		if (a->metric != PW_ALERT_NONE && !cmp_num(val, a->cond, a->threshold))
			continue;
		if (!*out)
			*out = pw_xcalloc(ng - i, sizeof(**out));
		struct pw_alert_event *e = &(*out)[ne++];
		e->time = now;
		snprintf(e->name, sizeof(e->name), "%s", a->name);
		e->severity = a->severity;
		e->value = val;
		fill(a, g, val, a->description, e->description, sizeof(e->description));
		fill(a, g, val, a->summary, e->summary, sizeof(e->summary));
		pw_buf_reset(&key);
		pw_buf_putc(&key, '{');
		for (uint32_t k = 0; k < a->naggr; k++) {
			pw_flow_json_str(&key, fields[a->aggr[k]].name, strlen(fields[a->aggr[k]].name));
			pw_buf_putc(&key, ':');
			if (fields[a->aggr[k]].type == F_NUM)
				pw_buf_puts(&key, g->vals[k]);
			else
				pw_flow_json_str(&key, g->vals[k], strlen(g->vals[k]));
			pw_buf_putc(&key, ',');
		}
		char num[40];
		fmt_num(val, num);
		pw_buf_printf(&key, "\"%s\":%s}", a->metric ? metrics[a->metric] : "count", num);
		if (key.len < sizeof(e->record))
			memcpy(e->record, key.s, key.len + 1);
		else /* too long to keep whole: the metric alone */
			snprintf(e->record, sizeof(e->record), "{\"%s\":%s}",
				 a->metric ? metrics[a->metric] : "count", num);
	}
	pw_buf_release(&key);
	pw_strmap_release(&index);
	pw_arena_release(&ar);
	return ne;
}

bool pw_alert_due(const struct pw_alert *a, int64_t now, int64_t *last)
{
	if (*last && now - *last < a->period)
		return false;
	*last = now;
	return true;
}
