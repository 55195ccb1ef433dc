// SPDX-License-Identifier: Apache-2.0
/* The one place a source is chosen (lib/source/source.h). */
#include <stdlib.h>
#include <string.h>

#include "source.h"

extern const struct pw_source_ops pw_source_dir_ops;
extern const struct pw_source_ops pw_source_etcd_ops;
extern const struct pw_source_ops pw_source_kube_ops;

static const struct pw_source_ops *const sources[] = { &pw_source_dir_ops,
							&pw_source_etcd_ops,
							&pw_source_kube_ops };

int pw_source_open(struct pw_source *s, const char *spec, struct pw_buf *err)
{
	memset(s, 0, sizeof(*s));
	/* SCHEME:ARG, or SCHEME alone (an empty ARG) */
	size_t n = strcspn(spec, ":");
	for (size_t i = 0; i < PW_ARRAY_SIZE(sources); i++)
		if (strlen(sources[i]->scheme) == n && !strncmp(sources[i]->scheme, spec, n))
			s->ops = sources[i];
	if (!s->ops) {
		pw_buf_printf(err,
			      "unknown source \"%s\": give dir:PATH, etcd:URL[,URL...] or "
			      "kube[:KUBECONFIG]",
			      spec);
		return -1;
	}
	s->spec = pw_xstrdup(spec);
	if (s->ops->open(s, spec[n] ? spec + n + 1 : "", err) < 0) {
		pw_source_close(s);
		return -1;
	}
	return 0;
}

void pw_source_close(struct pw_source *s)
{
	if (s->ops && s->ops->close && s->priv)
		s->ops->close(s);
	free(s->spec);
	memset(s, 0, sizeof(*s));
}
