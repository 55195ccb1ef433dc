// SPDX-License-Identifier: Apache-2.0
/* The one place a source is chosen (lib/source/source.h). */
#include <stdlib.h>
#include <string.h>

#include "source.h"

extern const struct pw_source_ops pw_source_dir_ops;
extern const struct pw_source_ops pw_source_etcd_ops;

static const struct pw_source_ops *const sources[] = { &pw_source_dir_ops,
							&pw_source_etcd_ops };

int pw_source_open(struct pw_source *s, const char *spec, struct pw_buf *err)
{
	memset(s, 0, sizeof(*s));
	const char *colon = strchr(spec, ':');
	for (size_t i = 0; colon && i < PW_ARRAY_SIZE(sources); i++)
		if (strlen(sources[i]->scheme) == (size_t)(colon - spec) &&
		    !strncmp(sources[i]->scheme, spec, (size_t)(colon - spec)))
			s->ops = sources[i];
	if (!s->ops) {
		pw_buf_printf(err, "unknown source \"%s\": give dir:PATH or etcd:URL[,URL...]", spec);
		return -1;
	}
	s->spec = pw_xstrdup(spec);
	if (s->ops->open(s, colon + 1, err) < 0) {
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
