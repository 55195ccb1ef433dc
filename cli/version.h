/* SPDX-License-Identifier: Apache-2.0 */
/* podwall's version: the one place it is written (`podwall --version`). */
#ifndef PW_VERSION_H
#define PW_VERSION_H

#define PODWALL_VERSION "0.1.0"

#endif
