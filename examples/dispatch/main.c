/* posenc example — the C API (posenc/posenc.h) as a C engine such as llama2.c's run.c uses it:
 * one rope cache built at start-up, then q and k of each decoded token rotated in place.
 * Here llama2.c's own loop (interleaved pairs, theta 10000, float32) is the reference.
 * SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "posenc/posenc.h"

enum { kDim = 64, kHeads = 6, kKvHeads = 6, kSeqLen = 256 };

/* llama2.c run.c's RoPE (float angles, float cos/sin), on one head vector. */
static void llama2c_rope(float* v, int pos) {
  for (int i = 0; i < kDim; i += 2) {
    float freq = 1.0f / powf(10000.0f, (float)i / (float)kDim);
    float val = (float)pos * freq;
    float fcr = cosf(val), fci = sinf(val);
    float v0 = v[i], v1 = v[i + 1];
    v[i] = v0 * fcr - v1 * fci;
    v[i + 1] = v0 * fci + v1 * fcr;
  }
}

int main(void) {
  posenc_rope_params p;
  posenc_rope_params_init(&p, kDim);
  p.layout = POSENC_LAYOUT_INTERLEAVED; /* llama2.c rotates (2i, 2i + 1) */
  posenc_rope_cache* rc = NULL;
  if (posenc_rope_cache_create(&p, kSeqLen, &rc) != POSENC_OK) {
    fprintf(stderr, "posenc: %s\n", posenc_last_error());
    return 1;
  }
  const char* arch = posenc_arch_name();
  printf("posenc C API, kernels: %s\n", arch ? arch : posenc_last_error());
  static float q[kHeads * kDim], k[kKvHeads * kDim], ref[kHeads * kDim];
  double worst = 0.0;
  for (int32_t pos = 0; pos < kSeqLen; pos += 17) {
    for (int i = 0; i < kHeads * kDim; ++i)
      q[i] = ref[i] = (float)((i * 37 + pos) % 101) / 50.0f - 1.0f;
    for (int i = 0; i < kKvHeads * kDim; ++i) k[i] = 0.5f;
    posenc_heads qh = posenc_heads_contiguous(q, 1, kHeads, kDim);
    posenc_heads kh = posenc_heads_contiguous(k, 1, kKvHeads, kDim);
    if (posenc_rope_cache_apply(rc, POSENC_F32, &qh, &kh, &pos, 0) != POSENC_OK) {
      fprintf(stderr, "posenc: %s\n", posenc_last_error());
      return 1;
    }
    for (int h = 0; h < kHeads; ++h) llama2c_rope(ref + h * kDim, pos);
    for (int i = 0; i < kHeads * kDim; ++i) {
      const double d = fabs((double)q[i] - (double)ref[i]);
      if (d > worst) worst = d;
    }
  }
  /* llama2.c forms the angle in float: at position 255 its error reaches ~255 * 2^-24 rad, so
   * the two agree to about 2e-5 here (posenc's angles are exact to 1 ulp of the double angle). */
  printf("max |posenc - llama2.c| over positions 0..255: %.3g\n", worst);
  posenc_rope_cache_free(rc);
  return worst < 1e-4 ? 0 : 1;
}
