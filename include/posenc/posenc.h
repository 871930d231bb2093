/* posenc — C API over the runtime-dispatch library posenc::dispatch (link posenc::dispatch).
 *
 * For engines written in C (llama2.c's run.c, ggml-based engines) that cannot include the C++
 * headers: opaque handles created from plain parameters, tensors as a pointer plus int extents
 * and element strides, int status codes and posenc_last_error() instead of exceptions. The
 * kernels are those of the C++ header path on the architecture the library selected at run
 * time (posenc_arch_name()), with the same results bit for bit.
 *
 * Example (llama2.c's run.c, one token at position pos, q: n_heads x head_size, k: n_kv_heads):
 *     posenc_rope_params p;
 *     posenc_rope_params_init(&p, head_size);
 *     p.layout = POSENC_LAYOUT_INTERLEAVED;              // llama2.c rotates (2i, 2i+1) pairs
 *     posenc_rope_cache* rc;
 *     if (posenc_rope_cache_create(&p, seq_len, &rc) != POSENC_OK)
 *       fprintf(stderr, "%s\n", posenc_last_error());
 *     posenc_heads q = posenc_heads_contiguous(s->q, 1, n_heads, head_size);
 *     posenc_heads k = posenc_heads_contiguous(s->k, 1, n_kv_heads, head_size);
 *     posenc_rope_cache_apply(rc, POSENC_F32, &q, &k, &pos, 0);
 *
 * Threads: handles are immutable after creation; every apply may run concurrently on the same
 * handle. posenc_last_error() is per thread. No call starts a thread.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef POSENC_H
#define POSENC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status, errors, architecture ---------------------------------------------------------- */
enum {
  POSENC_OK = 0,
  POSENC_ERROR_NULL = 1,          /* a required pointer is NULL */
  POSENC_ERROR_INVALID = 2,       /* a parameter, extent, stride or position is out of range */
  POSENC_ERROR_OUT_OF_MEMORY = 3, /* allocation failed */
  POSENC_ERROR_INTERNAL = 4       /* anything else (a bug: please report it) */
};
/* The message of this thread's last failed call ("" if none failed yet). Valid until the next
 * failing call on this thread. */
const char* posenc_last_error(void);
/* The architecture the calls run on: "avx512bf16", "avx512bw", "fma3+avx2+f16c", "fma3+avx2",
 * "sse2", "neon64" or "scalar". Fails (returns NULL, sets the error) if POSENC_DISPATCH_ARCH names an architecture
 * that is unknown or that this CPU lacks. */
const char* posenc_arch_name(void);
/* Lowers the architecture (as the environment variable POSENC_DISPATCH_ARCH does); NULL or ""
 * restores the CPU's best. POSENC_ERROR_INVALID for an unknown name or one the CPU lacks. */
int posenc_force_arch(const char* name);

/* ---- storage types ------------------------------------------------------------------------- */
typedef enum posenc_dtype {
  POSENC_F32 = 0,  /* float */
  POSENC_BF16 = 1, /* bfloat16 bits in uint16_t */
  POSENC_F16 = 2   /* IEEE binary16 bits in uint16_t */
} posenc_dtype;

/* A [tokens x heads x dim] tensor: element (t, h, i) at data[t*token_stride + h*head_stride + i]
 * (strides in elements; the dim elements of a row are contiguous). */
typedef struct posenc_heads {
  void* data;
  int tokens;
  int heads;
  int dim;
  ptrdiff_t token_stride;
  ptrdiff_t head_stride;
} posenc_heads;
/* Contiguous [tokens][heads][dim]. */
posenc_heads posenc_heads_contiguous(void* data, int tokens, int heads, int dim);

/* ---- RoPE ---------------------------------------------------------------------------------- */
enum { POSENC_LAYOUT_HALF_SPLIT = 0, POSENC_LAYOUT_INTERLEAVED = 1 };
enum { POSENC_PRECISION_EXACT = 0, POSENC_PRECISION_HF_F32 = 1 };
enum {
  POSENC_SCALING_NONE = 0,
  POSENC_SCALING_LINEAR = 1, /* factor */
  POSENC_SCALING_NTK = 2,    /* factor = alpha */
  POSENC_SCALING_YARN = 3,   /* factor, original_max_position, beta_fast, beta_slow (HF) */
  POSENC_SCALING_LLAMA3 = 4  /* factor, low/high_freq_factor, original_max_position */
};
typedef struct posenc_rope_params {
  int head_dim;              /* channels per head */
  int rotary_dim;            /* rotated leading channels (even); 0 = head_dim */
  double base;               /* rope_theta */
  int layout;                /* POSENC_LAYOUT_* */
  int precision;             /* POSENC_PRECISION_* */
  int fold_attention_factor; /* nonzero: cos/sin carry the scaling's attention factor (YaRN) */
  int scaling;               /* POSENC_SCALING_* */
  double factor;
  int64_t original_max_position;
  double beta_fast;
  double beta_slow;
  double low_freq_factor;
  double high_freq_factor;
} posenc_rope_params;
/* The defaults of posenc::rope_config (base 10000, half-split, exact, no scaling) and of each
 * scaling (YaRN beta_fast 32, beta_slow 1; Llama-3 factor 8, low 1, high 4, L 8192). */
void posenc_rope_params_init(posenc_rope_params* p, int head_dim);

typedef struct posenc_rope posenc_rope;             /* posenc::rope: angles on the fly */
typedef struct posenc_rope_cache posenc_rope_cache; /* posenc::rope_cache<float> */

int posenc_rope_create(const posenc_rope_params* p, posenc_rope** out);
void posenc_rope_free(posenc_rope* r); /* NULL is a no-op */
/* A cos/sin table of positions [0, max_positions) (others are computed on the fly). */
int posenc_rope_cache_create(const posenc_rope_params* p, int max_positions,
                             posenc_rope_cache** out);
void posenc_rope_cache_free(posenc_rope_cache* c);

/* Rotates q and k (k may be NULL) in place; pos[t] >= 0 is token t's position. q and k have the
 * same tokens and dtype, dim = head_dim; inverse != 0 applies the inverse rotation. */
int posenc_rope_apply(const posenc_rope* r, posenc_dtype dtype, const posenc_heads* q,
                      const posenc_heads* k, const int32_t* pos, int inverse);
int posenc_rope_apply_i64(const posenc_rope* r, posenc_dtype dtype, const posenc_heads* q,
                          const posenc_heads* k, const int64_t* pos, int inverse);
int posenc_rope_cache_apply(const posenc_rope_cache* c, posenc_dtype dtype, const posenc_heads* q,
                            const posenc_heads* k, const int32_t* pos, int inverse);
int posenc_rope_cache_apply_i64(const posenc_rope_cache* c, posenc_dtype dtype,
                                const posenc_heads* q, const posenc_heads* k, const int64_t* pos,
                                int inverse);

/* ---- ALiBi --------------------------------------------------------------------------------- */
typedef struct posenc_alibi posenc_alibi; /* posenc::alibi_bias, relative form */
/* Slopes 2^(-max_bias*h/n') (max_bias 8 in the paper); symmetric != 0: no causal mask. */
int posenc_alibi_create(int num_heads, double max_bias, int symmetric, posenc_alibi** out);
void posenc_alibi_free(posenc_alibi* a);
/* Adds the bias of `head` to a rows x cols tile (element (r, c) at logits[r*row_stride + c]):
 * row r is the query at q_first + r, column c the key at k_first + c; causal: future keys -inf. */
int posenc_alibi_add_tile(const posenc_alibi* a, posenc_dtype dtype, void* logits, int rows,
                          int cols, ptrdiff_t row_stride, int head, int64_t q_first,
                          int64_t k_first);
/* One row: n_keys logits of keys k_first, k_first + 1, ... for the query at q_pos. */
int posenc_alibi_add_row(const posenc_alibi* a, posenc_dtype dtype, void* logits, int n_keys,
                         int head, int64_t q_pos, int64_t k_first);

/* ---- sinusoidal absolute embedding --------------------------------------------------------- */
enum {
  POSENC_SINUSOIDAL_PAPER = 0,   /* interleaved sin/cos, 10000^(-2i/d) (Vaswani et al.) */
  POSENC_SINUSOIDAL_T2T = 1,     /* tensor2tensor / HF: concat [sin | cos] */
  POSENC_SINUSOIDAL_FAIRSEQ = 2, /* fairseq: t2t frequencies, padding_idx 1 */
  POSENC_SINUSOIDAL_MARIAN = 3   /* Marian / HF MarianSinusoidal */
};
typedef struct posenc_sinusoidal posenc_sinusoidal;
int posenc_sinusoidal_create(int dim, int kind, posenc_sinusoidal** out);
void posenc_sinusoidal_free(posenc_sinusoidal* s);
/* Rows t < tokens of x (row t at x + t*token_stride, dim elements): PE(pos[t]) or, with pos
 * NULL, PE(first + t); add != 0 adds it to x, otherwise writes it. */
int posenc_sinusoidal_apply(const posenc_sinusoidal* s, posenc_dtype dtype, void* x, int tokens,
                            ptrdiff_t token_stride, const int64_t* pos, int64_t first, int add);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* POSENC_H */
