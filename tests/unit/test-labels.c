// SPDX-License-Identifier: Apache-2.0
#include "../../lib/labels.h"
#include "t.h"

static const struct {
	const char *key;
	int valid;
} keys[] = {
	{ "app", 1 }, { "app.kubernetes.io/name", 1 }, { "a/b", 1 },
	{ "kubernetes.io/metadata.name", 1 }, { "A_b.c-d", 1 },
	{ "app@b", 0 }, { "", 0 }, { "-app", 0 }, { "app-", 0 },
	{ "a/b/c", 0 }, { "Example.com/x", 0 }, { "/x", 0 }, { "x/", 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0 },
};

static const struct {
	const char *value;
	int valid;
} values[] = {
	{ "", 1 }, { "web", 1 }, { "v1.2_3-x", 1 }, { "$backendservice", 0 },
	{ "-x", 0 }, { "x y", 0 }, { "x.", 0 },
};

/* labels "k=v,k=v"; selector requirements "key op v1|v2" */
struct req {
	const char *key;
	enum pw_lsel_op op;
	const char *v[3];
};
static const struct {
	struct req reqs[3];
	int nreqs;
	const char *labels[3][2];
	int match;
} sel[] = {
	{ { { "app", PW_OP_IN, { "web" } } }, 1, { { "app", "web" } }, 1 },
	{ { { "app", PW_OP_IN, { "web" } } }, 1, { { "app", "db" } }, 0 },
	{ { { "app", PW_OP_IN, { "web" } } }, 1, { { NULL } }, 0 },
	{ { { "app", PW_OP_NOTIN, { "web" } } }, 1, { { NULL } }, 1 },
	{ { { "app", PW_OP_NOTIN, { "web", "db" } } }, 1, { { "app", "db" } }, 0 },
	{ { { "app", PW_OP_NOTIN, { "web", "db" } } }, 1, { { "app", "api" } }, 1 },
	{ { { "app", PW_OP_EXISTS, { NULL } } }, 1, { { "app", "" } }, 1 },
	{ { { "app", PW_OP_EXISTS, { NULL } } }, 1, { { "tier", "x" } }, 0 },
	{ { { "app", PW_OP_DOESNOTEXIST, { NULL } } }, 1, { { "tier", "x" } }, 1 },
	{ { { "app", PW_OP_DOESNOTEXIST, { NULL } } }, 1, { { "app", "x" } }, 0 },
	{ { { "app", PW_OP_IN, { "web" } }, { "tier", PW_OP_IN, { "fe", "be" } } },
	  2, { { "app", "web" }, { "tier", "be" } }, 1 },
	{ { { "app", PW_OP_IN, { "web" } }, { "tier", PW_OP_IN, { "fe", "be" } } },
	  2, { { "app", "web" }, { "tier", "db" } }, 0 },
	{ { { NULL, PW_OP_IN, { NULL } } }, 0, { { "app", "web" } }, 1 }, /* empty matches all */
	{ { { NULL, PW_OP_IN, { NULL } } }, 0, { { NULL } }, 1 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		T_CHECK((pw_label_key_invalid(keys[i].key) == NULL) == keys[i].valid,
			"key \"%s\"", keys[i].key);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		T_CHECK((pw_label_value_invalid(values[i].value) == NULL) == values[i].valid,
			"value \"%s\"", values[i].value);
	T_CHECK(!pw_port_name_invalid("http"), "port name http");
	T_CHECK(pw_port_name_invalid("80") != NULL, "port name 80");
	T_CHECK(pw_port_name_invalid("HTTP") != NULL, "port name HTTP");
	T_CHECK(pw_port_name_invalid("a--b") != NULL, "port name a--b");
	T_CHECK(pw_port_name_invalid("abcdefghijklmnop") != NULL, "16 chars");
	T_CHECK(pw_lsel_op_parse("In") == PW_OP_IN, "op In");
	T_CHECK(pw_lsel_op_parse("in") < 0, "op in (case matters)");
	T_CHECK(pw_lsel_op_parse("Equals") < 0, "op Equals");
	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		struct pw_req reqs[3];
		struct pw_lsel s = { reqs, (uint32_t)sel[i].nreqs };
		for (int r = 0; r < sel[i].nreqs; r++) {
			reqs[r].key = sel[i].reqs[r].key;
			reqs[r].op = sel[i].reqs[r].op;
			reqs[r].values = (const char **)sel[i].reqs[r].v;
			reqs[r].nvalues = 0;
			while (reqs[r].nvalues < 3 && sel[i].reqs[r].v[reqs[r].nvalues])
				reqs[r].nvalues++;
		}
		struct pw_label lv[3];
		struct pw_labels l = { lv, 0 };
		for (int k = 0; k < 3 && sel[i].labels[k][0]; k++)
			lv[l.n++] = (struct pw_label){ sel[i].labels[k][0],
						       sel[i].labels[k][1] };
		pw_labels_sort(&l);
		T_CHECK(pw_lsel_match(&s, &l) == sel[i].match, "selector case %zu", i);
	}
	return T_DONE("unit-labels");
}
