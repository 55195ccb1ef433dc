/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit: one model for every security finding of `podwall audit`, and
 * the checks that are not another module's (encryption, access).
 *
 * A finding has a rule (a category and a check: "pod-security/privileged",
 * "network/no-default-deny", "encryption/storageclass-unencrypted",
 * "access/netpol-write"), a severity, the position of the object or field
 * (FILE:LINE:COL), a message and a short fix.  The rules are a static
 * table (pw_audit_rules): id, default severity, description, fix; SARIF
 * lists it as tool.driver.rules.
 *
 * Sources, each added in its own order:
 *   - pod-security: pw_pss_audit()'s findings (lib/pss/pss.h);
 *   - network: lint's findings (lib/lint.h), mapped, never re-derived;
 *   - encryption: what the loader keeps for it (c->audit, lib/audit/load.c):
 *     StorageClasses of the EBS provisioners, Services of type
 *     LoadBalancer, Ingresses, and `aws eks describe-cluster` JSON;
 *   - access: the RBAC authorizer's subject locator (pw_authz_who_can) asked
 *     fixed questions, and the roles' rules and bindings as written.
 *
 * Nothing here prints.
 */
#ifndef PW_AUDIT_H
#define PW_AUDIT_H

#include "../doc.h"
#include "../lint.h"
#include "../pss/pss.h"
#include "../rbac/rbac.h"

enum pw_audit_sev { PW_SEV_LOW, PW_SEV_MEDIUM, PW_SEV_HIGH, PW_SEV_CRITICAL };
/* "low", "medium", "high", "critical" */
const char *pw_audit_sev_name(enum pw_audit_sev s);
/* -1 for another string */
int pw_audit_sev_parse(const char *s);

struct pw_audit_rule {
	const char *id; /* "category/check" */
	enum pw_audit_sev sev;
	const char *desc; /* one line */
	const char *fix;
};
/* Every rule an audit may report, by id. */
extern const struct pw_audit_rule pw_audit_rules[];
extern const size_t pw_audit_nrules;
const struct pw_audit_rule *pw_audit_rule(const char *id);

struct pw_audit_finding {
	const char *rule; /* an id of pw_audit_rules */
	enum pw_audit_sev sev;
	struct pw_pos pos;
	const char *kind, *ns, *name; /* the object; NULL when none */
	const char *level, *version, *mode; /* pod-security only, else NULL */
	const char *context; /* said before the message (pod-security); NULL */
	const char *message, *fix;
};

struct pw_audit {
	struct pw_arena a;
	struct pw_audit_finding *v;
	uint32_t n;
	size_t cap;
};

void pw_audit_init(struct pw_audit *au);
void pw_audit_release(struct pw_audit *au);
/* A finding of rule (its fix unless fix is given), message printf'd. */
struct pw_audit_finding *pw_audit_add(struct pw_audit *au, const char *rule,
				      enum pw_audit_sev sev, struct pw_pos pos,
				      const char *fmt, ...) PW_PRINTF(5, 6);

void pw_audit_pss(struct pw_audit *au, const struct pw_pss_finding *fs, uint32_t n);
void pw_audit_lint(struct pw_audit *au, const struct pw_lint *l, const struct pw_cluster *c);
void pw_audit_encryption(struct pw_audit *au, const struct pw_cluster *c);
void pw_audit_access(struct pw_audit *au, const struct pw_authz *az);

/* The findings as SARIF 2.1.0: one run, tool.driver podwall (version)
   with every rule, a result per finding; the artifact URI is the file as
   given. */
struct pw_doc *pw_audit_sarif(const struct pw_audit *au, const char *version);
/* The findings as podwall's JSON: {"findings": [...]} */
struct pw_doc *pw_audit_doc(const struct pw_audit *au);

/* ---- what the loader keeps (c->audit) ------------------------------------ */

struct pw_audit_sc { /* a StorageClass */
	const char *name, *provisioner;
	const char *encrypted, *kms_key; /* parameters; NULL unset */
	struct pw_pos pos, enc_pos;
};
struct pw_audit_lb { /* a Service of type LoadBalancer */
	const char *name, *ns;
	const char *ssl_cert, *ssl_ports; /* annotations; NULL unset */
	long *ports;
	uint32_t nports;
	struct pw_pos pos;
};
struct pw_audit_ing { /* an Ingress */
	const char *name, *ns;
	bool alb, tls; /* ALB controller's; spec.tls given */
	const char *cert, *listen, *redirect; /* alb annotations; NULL unset */
	struct pw_pos pos;
};
struct pw_audit_eks { /* `aws eks describe-cluster` */
	const char *name;
	bool secrets_encrypted;
	const char *key_arn;
	struct pw_pos pos;
};
struct pw_audit_data {
	struct pw_audit_sc *scs;
	uint32_t nscs;
	size_t nscs_cap;
	struct pw_audit_lb *lbs;
	uint32_t nlbs;
	size_t nlbs_cap;
	struct pw_audit_ing *ings;
	uint32_t nings;
	size_t nings_cap;
	struct pw_audit_eks *eks;
	uint32_t neks;
	size_t neks_cap;
};

#endif
