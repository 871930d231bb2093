// posenc::dispatch — the C API (posenc/posenc.h): handles over the C++ objects, validation of
// the plain arguments, exceptions turned into status codes. Compiled for the baseline ISA (it
// constructs the objects; README §SIMD).
// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "posenc/alibi.hpp"
#include "posenc/dispatch.hpp"
#include "posenc/posenc.h"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/scaling.hpp"
#include "posenc/sinusoidal.hpp"

struct posenc_rope {
  posenc::rope r;
};
struct posenc_rope_cache {
  posenc::rope_cache<float> c;
};
struct posenc_alibi {
  posenc::alibi_bias a;
};
struct posenc_sinusoidal {
  posenc::sinusoidal_embedding e;
};

namespace {

thread_local std::string last_error;

// A failed argument check: the status and the message naming the argument and its value.
struct c_error {
  int status;
  std::string message;
};

[[noreturn]] void fail(int status, const std::string& who, const std::string& what) {
  throw c_error{status, who + ": " + what};
}

// Runs f(), mapping every exception to a status code and this thread's error message.
template <class F>
int guarded(F&& f) noexcept {
  try {
    f();
    return POSENC_OK;
  } catch (const c_error& e) {
    last_error = e.message;
    return e.status;
  } catch (const std::invalid_argument& e) {
    last_error = e.what();
    return POSENC_ERROR_INVALID;
  } catch (const std::length_error& e) {
    last_error = e.what();
    return POSENC_ERROR_INVALID;
  } catch (const std::bad_alloc&) {
    last_error = "posenc: out of memory";
    return POSENC_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return POSENC_ERROR_INTERNAL;
  } catch (...) {
    last_error = "posenc: unknown exception";
    return POSENC_ERROR_INTERNAL;
  }
}

void need(const void* p, const char* who, const char* name) {
  if (p == nullptr) fail(POSENC_ERROR_NULL, who, std::string(name) + " is NULL");
}

void non_negative(long long v, const char* who, const char* name) {
  if (v < 0)
    fail(POSENC_ERROR_INVALID, who,
         std::string(name) + " = " + std::to_string(v) + " must be >= 0");
}

// |a| + |b| + c in ptrdiff_t without overflow (the farthest element a view addresses).
void span_fits(const char* who, const char* name, unsigned long long a, unsigned long long b,
               unsigned long long c) {
  constexpr auto lim = static_cast<unsigned long long>(std::numeric_limits<std::ptrdiff_t>::max());
  if (a > lim || b > lim - a || c > lim - a - b)
    fail(POSENC_ERROR_INVALID, who, std::string(name) + ": extents x strides overflow ptrdiff_t");
}

unsigned long long mag(std::ptrdiff_t s) {
  return s < 0 ? 0ull - static_cast<unsigned long long>(s) : static_cast<unsigned long long>(s);
}

// Checks one tensor against the rope's head_dim and the token count; returns it as a view.
template <class T>
posenc::head_view<T> heads_view(const posenc_heads& h, std::size_t head_dim, int tokens,
                                const char* who, const char* name) {
  const std::string n(name);
  non_negative(h.tokens, who, (n + ".tokens").c_str());
  non_negative(h.heads, who, (n + ".heads").c_str());
  if (h.tokens != tokens)
    fail(POSENC_ERROR_INVALID, who,
         n + ".tokens = " + std::to_string(h.tokens) +
             " differs from q.tokens = " + std::to_string(tokens));
  if (h.dim < 0 || static_cast<std::size_t>(h.dim) != head_dim)
    fail(POSENC_ERROR_INVALID, who,
         n + ".dim = " + std::to_string(h.dim) +
             " must equal head_dim = " + std::to_string(head_dim));
  if (h.tokens > 0 && h.heads > 0) {
    need(h.data, who, (n + ".data").c_str());
    span_fits(who, name, mag(h.token_stride) * static_cast<unsigned long long>(h.tokens - 1),
              mag(h.head_stride) * static_cast<unsigned long long>(h.heads - 1),
              static_cast<unsigned long long>(h.dim));
  }
  return posenc::make_head_view(static_cast<T*>(h.data), static_cast<std::size_t>(h.tokens),
                                static_cast<std::size_t>(h.heads), head_dim, h.token_stride,
                                h.head_stride);
}

template <class P>
void check_positions(const P* pos, int tokens, const char* who) {
  if (tokens > 0) need(pos, who, "pos");
  for (int t = 0; t < tokens; ++t)
    if (pos[t] < 0)
      fail(POSENC_ERROR_INVALID, who,
           "pos[" + std::to_string(t) + "] = " + std::to_string(pos[t]) + " must be >= 0");
}

template <class T, class Obj, class P>
void rope_typed(const Obj& obj, std::size_t head_dim, const posenc_heads* q, const posenc_heads* k,
                const P* pos, bool inverse, const char* who) {
  const auto qv = heads_view<T>(*q, head_dim, q->tokens, who, "q");
  if (k == nullptr) {
    inverse ? posenc::dispatch::apply_inverse(obj, qv, pos) : posenc::dispatch::apply(obj, qv, pos);
    return;
  }
  const auto kv = heads_view<T>(*k, head_dim, q->tokens, who, "k");
  inverse ? posenc::dispatch::apply_inverse(obj, qv, kv, pos)
          : posenc::dispatch::apply(obj, qv, kv, pos);
}

// Validates, then runs the dispatched rope call on the storage type `dtype` names.
template <class Obj, class P>
int rope_c(const Obj* obj, const posenc::rope* r, int dtype, const posenc_heads* q,
           const posenc_heads* k, const P* pos, int inverse, const char* who) {
  return guarded([&] {
    need(obj, who, "handle");
    need(q, who, "q");
    check_positions(pos, q->tokens < 0 ? 0 : q->tokens, who);
    const std::size_t d = r->head_dim();
    switch (dtype) {
      case POSENC_F32:
        return rope_typed<float>(*obj, d, q, k, pos, inverse != 0, who);
      case POSENC_BF16:
        return rope_typed<posenc::bfloat16_t>(*obj, d, q, k, pos, inverse != 0, who);
      case POSENC_F16:
        return rope_typed<posenc::float16_t>(*obj, d, q, k, pos, inverse != 0, who);
      default:
        fail(POSENC_ERROR_INVALID, who,
             "dtype = " + std::to_string(dtype) + " is not a posenc_dtype");
    }
  });
}

posenc::rope make_rope(const posenc_rope_params& p) {
  constexpr const char* who = "posenc_rope_params";
  non_negative(p.head_dim, who, "head_dim");
  non_negative(p.rotary_dim, who, "rotary_dim");
  non_negative(p.original_max_position, who, "original_max_position");
  posenc::rope_config cfg;
  cfg.head_dim = static_cast<std::size_t>(p.head_dim);
  cfg.rotary_dim = static_cast<std::size_t>(p.rotary_dim);
  cfg.base = p.base;
  cfg.layout = static_cast<posenc::rope_layout>(p.layout);
  cfg.precision = static_cast<posenc::rope_precision>(p.precision);
  cfg.fold_attention_factor = p.fold_attention_factor != 0;
  const auto L = static_cast<std::size_t>(p.original_max_position);
  switch (p.scaling) {
    case POSENC_SCALING_NONE:
      return posenc::rope(cfg);
    case POSENC_SCALING_LINEAR:
      return posenc::rope(cfg, posenc::linear_scaling{p.factor});
    case POSENC_SCALING_NTK:
      return posenc::rope(cfg, posenc::ntk_scaling{p.factor});
    case POSENC_SCALING_YARN: {
      posenc::yarn_scaling y;
      y.factor = p.factor;
      y.original_max_position = L;
      y.beta_fast = p.beta_fast;
      y.beta_slow = p.beta_slow;
      return posenc::rope(cfg, y);
    }
    case POSENC_SCALING_LLAMA3:
      return posenc::rope(
          cfg, posenc::llama3_scaling{p.factor, p.low_freq_factor, p.high_freq_factor, L});
    default:
      fail(POSENC_ERROR_INVALID, who,
           "scaling = " + std::to_string(p.scaling) + " is not a POSENC_SCALING_* value");
  }
}

template <class T>
void alibi_typed(const posenc::alibi_bias& a, void* logits, int rows, int cols,
                 std::ptrdiff_t row_stride, int head, std::int64_t q, std::int64_t k, bool tile) {
  if (tile) {
    posenc::dispatch::add_to(
        a,
        posenc::make_logits_view(static_cast<T*>(logits), static_cast<std::size_t>(rows),
                                 static_cast<std::size_t>(cols), row_stride),
        static_cast<std::size_t>(head), q, k);
  } else {
    posenc::dispatch::add_to_row(a, static_cast<std::size_t>(head), q, k, static_cast<T*>(logits),
                                 static_cast<std::size_t>(cols));
  }
}

// Validates a tile (rows == 1 and row_stride == cols for a row) and adds the bias.
int alibi_c(const posenc_alibi* a, int dtype, void* logits, int rows, int cols,
            std::ptrdiff_t row_stride, int head, std::int64_t q, std::int64_t k, bool tile,
            const char* who) {
  return guarded([&] {
    need(a, who, "handle");
    non_negative(rows, who, "rows");
    non_negative(cols, who, tile ? "cols" : "n_keys");
    if (head < 0 || static_cast<std::size_t>(head) >= a->a.num_heads())
      fail(POSENC_ERROR_INVALID, who,
           "head = " + std::to_string(head) + " must be in [0, " +
               std::to_string(a->a.num_heads()) + ")");
    if (rows > 1 && row_stride < cols)
      fail(POSENC_ERROR_INVALID, who,
           "row_stride = " + std::to_string(row_stride) +
               " must be >= cols = " + std::to_string(cols));
    if (rows == 0 || cols == 0) return;
    need(logits, who, "logits");
    span_fits(who, "logits", mag(row_stride) * static_cast<unsigned long long>(rows - 1),
              static_cast<unsigned long long>(cols), 0);
    switch (dtype) {
      case POSENC_F32:
        return alibi_typed<float>(a->a, logits, rows, cols, row_stride, head, q, k, tile);
      case POSENC_BF16:
        return alibi_typed<posenc::bfloat16_t>(a->a, logits, rows, cols, row_stride, head, q, k,
                                               tile);
      case POSENC_F16:
        return alibi_typed<posenc::float16_t>(a->a, logits, rows, cols, row_stride, head, q, k,
                                              tile);
      default:
        fail(POSENC_ERROR_INVALID, who,
             "dtype = " + std::to_string(dtype) + " is not a posenc_dtype");
    }
  });
}

template <class T>
void sinusoidal_typed(const posenc::sinusoidal_embedding& e, void* x, int tokens,
                      std::ptrdiff_t stride, const std::int64_t* pos, std::int64_t first,
                      bool add) {
  const auto v = posenc::make_embed_view(static_cast<T*>(x), static_cast<std::size_t>(tokens),
                                         e.dim(), stride);
  if (pos != nullptr) {
    add ? posenc::dispatch::add_to(e, v, pos) : posenc::dispatch::fill(e, v, pos);
  } else {
    add ? posenc::dispatch::add_to(e, v, first) : posenc::dispatch::fill(e, v, first);
  }
}

posenc::sinusoidal_config sinusoidal_kind(int dim, int kind) {
  constexpr const char* who = "posenc_sinusoidal_create";
  non_negative(dim, who, "dim");
  const auto d = static_cast<std::size_t>(dim);
  switch (kind) {
    case POSENC_SINUSOIDAL_PAPER:
      return posenc::sinusoidal_paper(d);
    case POSENC_SINUSOIDAL_T2T:
      return posenc::sinusoidal_t2t(d);
    case POSENC_SINUSOIDAL_FAIRSEQ:
      return posenc::sinusoidal_fairseq(d);
    case POSENC_SINUSOIDAL_MARIAN:
      return posenc::sinusoidal_marian(d);
    default:
      fail(POSENC_ERROR_INVALID, who,
           "kind = " + std::to_string(kind) + " is not a POSENC_SINUSOIDAL_* value");
  }
}

}  // namespace

extern "C" {

const char* posenc_last_error(void) { return last_error.c_str(); }

const char* posenc_arch_name(void) {
  const char* name = nullptr;
  guarded([&] { name = posenc::dispatch::arch_name(); });
  return name;
}

int posenc_force_arch(const char* name) {
  return guarded([&] { posenc::dispatch::force_arch(name); });
}

posenc_heads posenc_heads_contiguous(void* data, int tokens, int heads, int dim) {
  return posenc_heads{data, tokens, heads, dim, static_cast<std::ptrdiff_t>(heads) * dim, dim};
}

void posenc_rope_params_init(posenc_rope_params* p, int head_dim) {
  if (p == nullptr) return;
  *p = posenc_rope_params{};
  p->head_dim = head_dim;
  p->base = 10000.0;
  p->fold_attention_factor = 1;
  p->factor = 8.0;  // Llama-3's default; set it for every scaling
  p->original_max_position = 8192;
  p->beta_fast = 32.0;
  p->beta_slow = 1.0;
  p->low_freq_factor = 1.0;
  p->high_freq_factor = 4.0;
}

int posenc_rope_create(const posenc_rope_params* p, posenc_rope** out) {
  return guarded([&] {
    need(out, "posenc_rope_create", "out");
    *out = nullptr;
    need(p, "posenc_rope_create", "params");
    *out = new posenc_rope{make_rope(*p)};
  });
}
void posenc_rope_free(posenc_rope* r) { delete r; }

int posenc_rope_cache_create(const posenc_rope_params* p, int max_positions,
                             posenc_rope_cache** out) {
  return guarded([&] {
    need(out, "posenc_rope_cache_create", "out");
    *out = nullptr;
    need(p, "posenc_rope_cache_create", "params");
    non_negative(max_positions, "posenc_rope_cache_create", "max_positions");
    *out = new posenc_rope_cache{
        posenc::rope_cache<float>(make_rope(*p), static_cast<std::size_t>(max_positions))};
  });
}
void posenc_rope_cache_free(posenc_rope_cache* c) { delete c; }

int posenc_rope_apply(const posenc_rope* r, posenc_dtype dtype, const posenc_heads* q,
                      const posenc_heads* k, const int32_t* pos, int inverse) {
  return rope_c(r ? &r->r : nullptr, r ? &r->r : nullptr, dtype, q, k, pos, inverse,
                "posenc_rope_apply");
}
int posenc_rope_apply_i64(const posenc_rope* r, posenc_dtype dtype, const posenc_heads* q,
                          const posenc_heads* k, const int64_t* pos, int inverse) {
  return rope_c(r ? &r->r : nullptr, r ? &r->r : nullptr, dtype, q, k, pos, inverse,
                "posenc_rope_apply_i64");
}
int posenc_rope_cache_apply(const posenc_rope_cache* c, posenc_dtype dtype, const posenc_heads* q,
                            const posenc_heads* k, const int32_t* pos, int inverse) {
  return rope_c(c ? &c->c : nullptr, c ? &c->c.functor() : nullptr, dtype, q, k, pos, inverse,
                "posenc_rope_cache_apply");
}
int posenc_rope_cache_apply_i64(const posenc_rope_cache* c, posenc_dtype dtype,
                                const posenc_heads* q, const posenc_heads* k, const int64_t* pos,
                                int inverse) {
  return rope_c(c ? &c->c : nullptr, c ? &c->c.functor() : nullptr, dtype, q, k, pos, inverse,
                "posenc_rope_cache_apply_i64");
}

int posenc_alibi_create(int num_heads, double max_bias, int symmetric, posenc_alibi** out) {
  return guarded([&] {
    need(out, "posenc_alibi_create", "out");
    *out = nullptr;
    non_negative(num_heads, "posenc_alibi_create", "num_heads");
    posenc::alibi_config cfg;
    cfg.num_heads = static_cast<std::size_t>(num_heads);
    cfg.max_bias = max_bias;
    cfg.mode = symmetric != 0 ? posenc::alibi_mode::symmetric : posenc::alibi_mode::causal;
    *out = new posenc_alibi{posenc::alibi_bias(cfg)};
  });
}
void posenc_alibi_free(posenc_alibi* a) { delete a; }

int posenc_alibi_add_tile(const posenc_alibi* a, posenc_dtype dtype, void* logits, int rows,
                          int cols, ptrdiff_t row_stride, int head, int64_t q_first,
                          int64_t k_first) {
  return alibi_c(a, dtype, logits, rows, cols, row_stride, head, q_first, k_first, true,
                 "posenc_alibi_add_tile");
}
int posenc_alibi_add_row(const posenc_alibi* a, posenc_dtype dtype, void* logits, int n_keys,
                         int head, int64_t q_pos, int64_t k_first) {
  return alibi_c(a, dtype, logits, 1, n_keys, n_keys, head, q_pos, k_first, false,
                 "posenc_alibi_add_row");
}

int posenc_sinusoidal_create(int dim, int kind, posenc_sinusoidal** out) {
  return guarded([&] {
    need(out, "posenc_sinusoidal_create", "out");
    *out = nullptr;
    *out = new posenc_sinusoidal{posenc::sinusoidal_embedding(sinusoidal_kind(dim, kind))};
  });
}
void posenc_sinusoidal_free(posenc_sinusoidal* s) { delete s; }

int posenc_sinusoidal_apply(const posenc_sinusoidal* s, posenc_dtype dtype, void* x, int tokens,
                            ptrdiff_t token_stride, const int64_t* pos, int64_t first, int add) {
  constexpr const char* who = "posenc_sinusoidal_apply";
  return guarded([&] {
    need(s, who, "handle");
    non_negative(tokens, who, "tokens");
    const std::size_t d = s->e.dim();
    if (tokens > 1 && mag(token_stride) < d)
      fail(POSENC_ERROR_INVALID, who,
           "token_stride = " + std::to_string(token_stride) +
               " must be >= dim = " + std::to_string(d) + " in magnitude");
    if (tokens == 0) return;
    need(x, who, "x");
    span_fits(who, "x", mag(token_stride) * static_cast<unsigned long long>(tokens - 1), d, 0);
    switch (dtype) {
      case POSENC_F32:
        return sinusoidal_typed<float>(s->e, x, tokens, token_stride, pos, first, add != 0);
      case POSENC_BF16:
        return sinusoidal_typed<posenc::bfloat16_t>(s->e, x, tokens, token_stride, pos, first,
                                                    add != 0);
      case POSENC_F16:
        return sinusoidal_typed<posenc::float16_t>(s->e, x, tokens, token_stride, pos, first,
                                                   add != 0);
      default:
        fail(POSENC_ERROR_INVALID, who,
             "dtype = " + std::to_string(dtype) + " is not a posenc_dtype");
    }
  });
}

}  // extern "C"
