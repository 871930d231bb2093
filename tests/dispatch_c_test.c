/* posenc tests — the C API (posenc/posenc.h) from a C11 translation unit. dispatch_test.cpp
 * calls these functions and compares their outputs with the C++ header path; c_error_paths()
 * checks the error codes and messages itself and returns the number of failed checks.
 * SPDX-License-Identifier: Apache-2.0 */
#include "dispatch_c_test.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "posenc/posenc.h"

/* The two ropes of dispatch_test.cpp: 0: head_dim 80, rotary 48, half-split, YaRN(4, L = 64);
 * 1: head_dim 64, base 5e5, interleaved, hf_f32, Llama-3(8, 1, 4, L = 32). */
static posenc_rope_params params(int variant) {
  posenc_rope_params p;
  posenc_rope_params_init(&p, variant == 0 ? 80 : 64);
  if (variant == 0) {
    p.rotary_dim = 48;
    p.scaling = POSENC_SCALING_YARN;
    p.factor = 4.0;
    p.original_max_position = 64;
  } else {
    p.base = 500000.0;
    p.layout = POSENC_LAYOUT_INTERLEAVED;
    p.precision = POSENC_PRECISION_HF_F32;
    p.scaling = POSENC_SCALING_LLAMA3;
    p.factor = 8.0;
    p.low_freq_factor = 1.0;
    p.high_freq_factor = 4.0;
    p.original_max_position = 32;
  }
  return p;
}

int c_rope(int variant, int cached, int dtype, const posenc_heads* q, const posenc_heads* k,
           const int32_t* pos, int inverse) {
  const posenc_rope_params p = params(variant);
  int rc;
  if (cached) {
    posenc_rope_cache* c = NULL;
    rc = posenc_rope_cache_create(&p, 50, &c);
    if (rc == POSENC_OK) rc = posenc_rope_cache_apply(c, (posenc_dtype)dtype, q, k, pos, inverse);
    posenc_rope_cache_free(c);
  } else {
    posenc_rope* r = NULL;
    rc = posenc_rope_create(&p, &r);
    if (rc == POSENC_OK) rc = posenc_rope_apply(r, (posenc_dtype)dtype, q, k, pos, inverse);
    posenc_rope_free(r);
  }
  return rc;
}

int c_alibi(int dtype, void* logits, int symmetric) {
  posenc_alibi* a = NULL;
  int rc = posenc_alibi_create(12, 8.0, symmetric, &a);
  if (rc == POSENC_OK)
    rc = posenc_alibi_add_tile(a, (posenc_dtype)dtype, logits, 5, 37, 41, 7, 30, 3);
  if (rc == POSENC_OK) {
    const size_t elem = dtype == POSENC_F32 ? 4 : 2;
    rc = posenc_alibi_add_row(a, (posenc_dtype)dtype, (char*)logits + 3 * elem, 39, 11, 40, 2);
  }
  posenc_alibi_free(a);
  return rc;
}

int c_sinusoidal(int dtype, int kind, void* x, int tokens, const int64_t* pos) {
  posenc_sinusoidal* s = NULL;
  int rc = posenc_sinusoidal_create(33, kind, &s);
  if (rc == POSENC_OK)
    rc = posenc_sinusoidal_apply(s, (posenc_dtype)dtype, x, tokens, 37, pos, 0, 1);
  if (rc == POSENC_OK)
    rc = posenc_sinusoidal_apply(s, (posenc_dtype)dtype, x, tokens, 37, NULL, 1000, 1);
  if (rc == POSENC_OK)
    rc = posenc_sinusoidal_apply(s, (posenc_dtype)dtype, x, tokens, 37, NULL, 3, 0);
  posenc_sinusoidal_free(s);
  return rc;
}

/* ---- error paths ------------------------------------------------------------------------- */

static int failures;

/* The call returned `want` and posenc_last_error() contains `text`. */
static void expect(int got, int want, const char* text, const char* what) {
  const char* msg = posenc_last_error();
  if (got != want || msg == NULL || strstr(msg, text) == NULL) {
    fprintf(stderr, "FAIL %s: status %d (want %d), message \"%s\" (want \"%s\")\n", what, got, want,
            msg ? msg : "(null)", text);
    ++failures;
  }
}

static void rope_errors(void) {
  posenc_rope_params p = params(0);
  posenc_rope* r = NULL;
  expect(posenc_rope_create(NULL, &r), POSENC_ERROR_NULL, "params", "create(NULL params)");
  expect(posenc_rope_create(&p, NULL), POSENC_ERROR_NULL, "out", "create(NULL out)");
  p.head_dim = -4;
  expect(posenc_rope_create(&p, &r), POSENC_ERROR_INVALID, "head_dim = -4", "head_dim < 0");
  p = params(0);
  p.rotary_dim = 47;
  expect(posenc_rope_create(&p, &r), POSENC_ERROR_INVALID, "rotary_dim = 47", "odd rotary_dim");
  p = params(0);
  p.scaling = 99;
  expect(posenc_rope_create(&p, &r), POSENC_ERROR_INVALID, "scaling = 99", "scaling kind");
  p = params(0);
  p.factor = 0.5;
  expect(posenc_rope_create(&p, &r), POSENC_ERROR_INVALID, "factor", "YaRN factor < 1");
  if (r != NULL) {
    fprintf(stderr, "FAIL: a failed create left a handle\n");
    ++failures;
  }
  posenc_rope_cache* c = NULL;
  p = params(1);
  expect(posenc_rope_cache_create(&p, -1, &c), POSENC_ERROR_INVALID, "max_positions = -1",
         "cache max_positions < 0");
  posenc_rope_free(NULL); /* no-ops */
  posenc_rope_cache_free(NULL);
}

static void apply_errors(void) {
  posenc_rope_params p = params(1); /* head_dim 64 */
  posenc_rope* r = NULL;
  if (posenc_rope_create(&p, &r) != POSENC_OK) {
    fprintf(stderr, "FAIL: create: %s\n", posenc_last_error());
    ++failures;
    return;
  }
  float q[2 * 2 * 64], k[2 * 64], q0[2 * 2 * 64];
  for (int i = 0; i < 2 * 2 * 64; ++i) q[i] = q0[i] = (float)i / 100.0f;
  for (int i = 0; i < 2 * 64; ++i) k[i] = 1.0f;
  const int32_t pos[2] = {3, 4}, bad_pos[2] = {3, -3};
  posenc_heads qh = posenc_heads_contiguous(q, 2, 2, 64), kh = posenc_heads_contiguous(k, 2, 1, 64);
  expect(posenc_rope_apply(NULL, POSENC_F32, &qh, &kh, pos, 0), POSENC_ERROR_NULL, "handle",
         "NULL handle");
  expect(posenc_rope_apply(r, POSENC_F32, NULL, &kh, pos, 0), POSENC_ERROR_NULL, "q", "NULL q");
  expect(posenc_rope_apply(r, POSENC_F32, &qh, &kh, NULL, 0), POSENC_ERROR_NULL, "pos", "NULL pos");
  expect(posenc_rope_apply(r, POSENC_F32, &qh, &kh, bad_pos, 0), POSENC_ERROR_INVALID,
         "pos[1] = -3", "negative position");
  expect(posenc_rope_apply(r, (posenc_dtype)7, &qh, &kh, pos, 0), POSENC_ERROR_INVALID, "dtype = 7",
         "bad dtype");
  posenc_heads bad = qh;
  bad.dim = 63;
  expect(posenc_rope_apply(r, POSENC_F32, &bad, &kh, pos, 0), POSENC_ERROR_INVALID, "q.dim = 63",
         "dim != head_dim");
  bad = kh;
  bad.tokens = 1;
  expect(posenc_rope_apply(r, POSENC_F32, &qh, &bad, pos, 0), POSENC_ERROR_INVALID, "k.tokens = 1",
         "token counts differ");
  bad = qh;
  bad.heads = -1;
  expect(posenc_rope_apply(r, POSENC_F32, &bad, NULL, pos, 0), POSENC_ERROR_INVALID, "q.heads = -1",
         "negative heads");
  bad = kh;
  bad.data = NULL;
  expect(posenc_rope_apply(r, POSENC_F32, &qh, &bad, pos, 0), POSENC_ERROR_NULL, "k.data",
         "NULL k data");
  bad = qh; /* 2 x (PTRDIFF_MAX / 2 + 1) > PTRDIFF_MAX: rejected before anything is touched */
  bad.tokens = 3;
  bad.token_stride = PTRDIFF_MAX / 2 + 1;
  const int32_t pos3[3] = {0, 1, 2};
  expect(posenc_rope_apply(r, POSENC_F32, &bad, NULL, pos3, 0), POSENC_ERROR_INVALID, "overflow",
         "stride overflow");
  if (memcmp(q, q0, sizeof q) != 0) {
    fprintf(stderr, "FAIL: a rejected call wrote q\n");
    ++failures;
  }
  posenc_heads empty = posenc_heads_contiguous(NULL, 0, 2, 64);
  if (posenc_rope_apply(r, POSENC_BF16, &empty, NULL, NULL, 0) != POSENC_OK) {
    fprintf(stderr, "FAIL: zero tokens: %s\n", posenc_last_error());
    ++failures;
  }
  posenc_rope_free(r);
}

static void bias_errors(void) {
  posenc_alibi* a = NULL;
  expect(posenc_alibi_create(0, 8.0, 0, &a), POSENC_ERROR_INVALID, "num_heads", "0 heads");
  expect(posenc_alibi_create(4, -1.0, 0, &a), POSENC_ERROR_INVALID, "max_bias", "max_bias < 0");
  if (posenc_alibi_create(4, 8.0, 0, &a) != POSENC_OK) {
    fprintf(stderr, "FAIL: alibi create: %s\n", posenc_last_error());
    ++failures;
    return;
  }
  float s[4 * 8] = {0};
  expect(posenc_alibi_add_tile(a, POSENC_F32, s, 4, 8, 8, 4, 0, 0), POSENC_ERROR_INVALID,
         "head = 4", "head out of range");
  expect(posenc_alibi_add_tile(a, POSENC_F32, s, 4, 8, 7, 0, 0, 0), POSENC_ERROR_INVALID,
         "row_stride = 7", "overlapping rows");
  expect(posenc_alibi_add_tile(a, POSENC_F32, NULL, 4, 8, 8, 0, 0, 0), POSENC_ERROR_NULL, "logits",
         "NULL logits");
  expect(posenc_alibi_add_row(a, POSENC_F16, s, -2, 0, 0, 0), POSENC_ERROR_INVALID, "n_keys = -2",
         "negative n_keys");
  expect(posenc_alibi_add_row(NULL, POSENC_F32, s, 8, 0, 0, 0), POSENC_ERROR_NULL, "handle",
         "NULL alibi");
  posenc_alibi_free(a);
  posenc_alibi_free(NULL);
  posenc_sinusoidal* e = NULL;
  expect(posenc_sinusoidal_create(16, 9, &e), POSENC_ERROR_INVALID, "kind = 9", "bad kind");
  expect(posenc_sinusoidal_create(0, 0, &e), POSENC_ERROR_INVALID, "dim", "dim 0");
  if (posenc_sinusoidal_create(16, POSENC_SINUSOIDAL_PAPER, &e) == POSENC_OK) {
    expect(posenc_sinusoidal_apply(e, POSENC_F32, s, 2, 15, NULL, 0, 0), POSENC_ERROR_INVALID,
           "token_stride = 15", "overlapping rows");
    posenc_sinusoidal_free(e);
  }
}

int c_error_paths(void) {
  failures = 0;
  rope_errors();
  apply_errors();
  bias_errors();
  expect(posenc_force_arch("bogus_isa"), POSENC_ERROR_INVALID, "bogus_isa", "force bogus");
  if (posenc_arch_name() == NULL) {
    fprintf(stderr, "FAIL: posenc_arch_name: %s\n", posenc_last_error());
    ++failures;
  }
  return failures;
}
