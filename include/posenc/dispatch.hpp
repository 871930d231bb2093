// posenc — runtime ISA dispatch: the hot calls of rope, rope_cache, alibi_bias and
// sinusoidal_embedding through the compiled library posenc::dispatch, which selects once, by
// CPUID, the widest kernels the running CPU has (SSE2, AVX2+FMA, AVX-512, AVX-512+BF16 on
// x86-64; NEON on AArch64).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DISPATCH_HPP
#define POSENC_DISPATCH_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

class rope;
template <class C>
class rope_cache;
class alibi_bias;
class sinusoidal_embedding;

/**
 * Runtime dispatch (link posenc::dispatch; the header-only path stays the default).
 *
 * Every call here gives the same bits as the header call instantiated for the selected
 * architecture (`obj.apply<xsimd::avx512bw>(…)` etc.): the library's per-ISA translation units
 * instantiate those very templates, each compiled with its own -m flags. The selection happens
 * once, on first use (a thread-safe static), and costs one indirect call per API call.
 *
 * Selection: the widest of the library's architectures the CPU and OS support, lowered by the
 * environment variable POSENC_DISPATCH_ARCH (read once, at the first call) or by force_arch().
 * Names: "avx512bf16", "avx512bw" (alias "avx512"), "fma3+avx2+f16c" (alias "avx2f16c"), "fma3+avx2", "sse2"
 * (alias "baseline"), "neon64", "scalar" (a build without xsimd). Asking for an architecture the
 * CPU lacks, or an unknown name, throws std::invalid_argument naming the value (for the
 * environment variable: from the first dispatched call).
 *
 * Objects (rope, rope_cache, …) are those of the header path: construct them in code compiled
 * for the baseline ISA (README §SIMD), or anywhere if the whole program has one set of -m flags.
 * Storage: float, bfloat16_t, float16_t; positions int32 or int64 (sinusoidal: int64).
 */
namespace dispatch {

/// Name of the architecture the dispatched calls run on ("avx512bf16", "fma3+avx2", …).
const char* arch_name();
/// Lowers the selection to `name` (see above), or restores the automatic choice when name is
/// null or empty (the CPU's best, ignoring POSENC_DISPATCH_ARCH). Throws std::invalid_argument
/// for an unknown name or an architecture this CPU cannot run. Not to be called while another
/// thread is inside a dispatched call of which it expects the old architecture.
void force_arch(const char* name);
/// Whether `name` is one of the library's architectures and this CPU runs it.
bool arch_available(const char* name) noexcept;

namespace detail {
template <class T>
constexpr bool storage_ok() {
  return std::is_same<T, float>::value || std::is_same<T, bfloat16_t>::value ||
         std::is_same<T, float16_t>::value;
}
template <class P>
constexpr bool position_ok() {
  return std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value;
}

#define POSENC_DISPATCH_ROPE_DECL(T, P)                                                \
  void rope_run(const rope& r, const head_view<T>* views, std::size_t n, const P* pos, \
                token_range range, bool inverse);                                      \
  void rope_run(const rope_cache<float>& c, const head_view<T>* views, std::size_t n,  \
                const P* pos, token_range range, bool inverse);
#define POSENC_DISPATCH_BIAS_DECL(T)                                                              \
  void alibi_tile(const alibi_bias& a, logits_view<T> block, std::size_t head,                    \
                  std::int64_t q_first, std::int64_t k_first);                                    \
  void alibi_row(const alibi_bias& a, std::size_t head, std::int64_t q_pos, std::int64_t k_first, \
                 T* logits, std::size_t n_keys);                                                  \
  void sinusoidal_run(const sinusoidal_embedding& e, embed_view<T> x, const std::int64_t* pos,    \
                      std::int64_t first, token_range range, bool add);
POSENC_DISPATCH_ROPE_DECL(float, std::int32_t)
POSENC_DISPATCH_ROPE_DECL(float, std::int64_t)
POSENC_DISPATCH_ROPE_DECL(bfloat16_t, std::int32_t)
POSENC_DISPATCH_ROPE_DECL(bfloat16_t, std::int64_t)
POSENC_DISPATCH_ROPE_DECL(float16_t, std::int32_t)
POSENC_DISPATCH_ROPE_DECL(float16_t, std::int64_t)
POSENC_DISPATCH_BIAS_DECL(float)
POSENC_DISPATCH_BIAS_DECL(bfloat16_t)
POSENC_DISPATCH_BIAS_DECL(float16_t)
#undef POSENC_DISPATCH_ROPE_DECL
#undef POSENC_DISPATCH_BIAS_DECL

template <class Obj, class T, class P>
void rope_call(const Obj& obj, const head_view<T>* views, std::size_t n, const P* pos,
               token_range range, bool inverse) {
  static_assert(storage_ok<T>(), "posenc::dispatch: storage is float, bfloat16_t or float16_t");
  static_assert(position_ok<P>(), "posenc::dispatch: positions are int32_t or int64_t");
  rope_run(obj, views, n, pos, range, inverse);
}
}  // namespace detail

// ---- RoPE: the same calls as rope::apply / apply_inverse, on the selected architecture ------
template <class T, class P>
void apply(const rope& r, head_view<T> q, head_view<T> k, const P* pos, token_range range = {}) {
  const head_view<T> v[2] = {q, k};
  detail::rope_call(r, v, 2, pos, range, false);
}
template <class T, class P>
void apply(const rope& r, head_view<T> x, const P* pos, token_range range = {}) {
  detail::rope_call(r, &x, 1, pos, range, false);
}
template <class T, class P>
void apply_inverse(const rope& r, head_view<T> q, head_view<T> k, const P* pos,
                   token_range range = {}) {
  const head_view<T> v[2] = {q, k};
  detail::rope_call(r, v, 2, pos, range, true);
}
template <class T, class P>
void apply_inverse(const rope& r, head_view<T> x, const P* pos, token_range range = {}) {
  detail::rope_call(r, &x, 1, pos, range, true);
}

// ---- rope_cache<float> (float and 16-bit storage) -------------------------------------------
template <class T, class P>
void apply(const rope_cache<float>& c, head_view<T> q, head_view<T> k, const P* pos,
           token_range range = {}) {
  const head_view<T> v[2] = {q, k};
  detail::rope_call(c, v, 2, pos, range, false);
}
template <class T, class P>
void apply(const rope_cache<float>& c, head_view<T> x, const P* pos, token_range range = {}) {
  detail::rope_call(c, &x, 1, pos, range, false);
}
template <class T, class P>
void apply_inverse(const rope_cache<float>& c, head_view<T> q, head_view<T> k, const P* pos,
                   token_range range = {}) {
  const head_view<T> v[2] = {q, k};
  detail::rope_call(c, v, 2, pos, range, true);
}
template <class T, class P>
void apply_inverse(const rope_cache<float>& c, head_view<T> x, const P* pos,
                   token_range range = {}) {
  detail::rope_call(c, &x, 1, pos, range, true);
}

// ---- ALiBi: alibi_bias::add_to (tile, affine positions) and add_to_row (affine keys) --------
template <class T>
void add_to(const alibi_bias& a, logits_view<T> block, std::size_t head, std::int64_t q_first,
            std::int64_t k_first) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: logits are float, bf16 or f16");
  detail::alibi_tile(a, block, head, q_first, k_first);
}
template <class T>
void add_to_row(const alibi_bias& a, std::size_t head, std::int64_t q_pos, std::int64_t k_first,
                T* logits, std::size_t n_keys) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: logits are float, bf16 or f16");
  detail::alibi_row(a, head, q_pos, k_first, logits, n_keys);
}

// ---- sinusoidal_embedding: fill / add_to (explicit int64 positions or first + t) ------------
template <class T>
void fill(const sinusoidal_embedding& e, embed_view<T> out, const std::int64_t* pos,
          token_range range = {}) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: storage is float, bf16 or f16");
  detail::sinusoidal_run(e, out, pos, 0, range, false);
}
template <class T>
void fill(const sinusoidal_embedding& e, embed_view<T> out, std::int64_t first = 0) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: storage is float, bf16 or f16");
  detail::sinusoidal_run(e, out, nullptr, first, token_range{}, false);
}
template <class T>
void add_to(const sinusoidal_embedding& e, embed_view<T> x, const std::int64_t* pos,
            token_range range = {}) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: storage is float, bf16 or f16");
  detail::sinusoidal_run(e, x, pos, 0, range, true);
}
template <class T>
void add_to(const sinusoidal_embedding& e, embed_view<T> x, std::int64_t first) {
  static_assert(detail::storage_ok<T>(), "posenc::dispatch: storage is float, bf16 or f16");
  detail::sinusoidal_run(e, x, nullptr, first, token_range{}, true);
}

}  // namespace dispatch
}  // namespace posenc

#endif  // POSENC_DISPATCH_HPP
