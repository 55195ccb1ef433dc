// SPDX-License-Identifier: Apache-2.0
/* A pod's host-side interface as CNI plugins name it (lib/dp/dp.h). */
#include <gnutls/crypto.h>
#include <string.h>

#include "dp.h"

bool pw_dp_cni_ifname(const char *prefix, const char *ns, const char *name,
		      char out[static 16])
{
	size_t pl = strlen(prefix);
	if (pl + 11 > 15)
		return false;
	struct pw_buf key;
	pw_buf_init(&key);
	pw_buf_printf(&key, "%s.%s", ns, name);
	unsigned char d[20];
	int rc = gnutls_hash_fast(GNUTLS_DIG_SHA1, key.s, key.len, d);
	pw_buf_release(&key);
	if (rc < 0)
		return false;
	static const char hex[] = "0123456789abcdef";
	memcpy(out, prefix, pl);
	for (size_t i = 0; i < 11; i++)
		out[pl + i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[pl + 11] = 0;
	return true;
}
