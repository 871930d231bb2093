/* posenc tests — the functions of dispatch_c_test.c (a C TU), called from dispatch_test.cpp.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef POSENC_TEST_DISPATCH_C_TEST_H
#define POSENC_TEST_DISPATCH_C_TEST_H

#include <stdint.h>

#include "posenc/posenc.h"

#ifdef __cplusplus
extern "C" {
#endif
int c_rope(int variant, int cached, int dtype, const posenc_heads* q, const posenc_heads* k,
           const int32_t* pos, int inverse);
int c_alibi(int dtype, void* logits, int symmetric);
int c_sinusoidal(int dtype, int kind, void* x, int tokens, const int64_t* pos);
int c_error_paths(void);
#ifdef __cplusplus
}
#endif

#endif
