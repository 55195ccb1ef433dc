/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal table-driven test support: each unit binary counts checks and
   ends with "<name>: N passed, M failed". */
#ifndef PW_T_H
#define PW_T_H
#include <stdio.h>
#include <string.h>

static int t_pass, t_fail;
#define T_CHECK(cond, ...)                                                   \
	do {                                                                 \
		if (cond) {                                                  \
			t_pass++;                                            \
		} else {                                                     \
			t_fail++;                                            \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                 \
			putchar('\n');                                       \
		}                                                            \
	} while (0)
#define T_DONE(name)                                                         \
	(printf("%s: %d passed, %d failed\n", name, t_pass, t_fail),         \
	 t_fail ? 1 : 0)
#endif
