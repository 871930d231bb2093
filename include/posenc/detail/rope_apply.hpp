// posenc — private: the token/chunk/head loop shared by rope and rope_cache.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ROPE_APPLY_HPP
#define POSENC_DETAIL_ROPE_APPLY_HPP

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "posenc/config.hpp"
#include "posenc/kernels/rotate.hpp"
#include "posenc/storage.hpp"
#include "posenc/tuning.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {
namespace detail {

/// Pairs per chunk: coefficients of one token are produced and prepared in chunks of this
/// many pairs on the stack (no allocation), then applied to every head of q and k. A multiple
/// of 2 × the widest float register (16 lanes), as the 16-bit lane-split form needs.
constexpr std::size_t rope_chunk = 128;

/// Views spanning at least rope_prefetch_min_bytes (more than a core's L2) are streamed from
/// L3 or DRAM: each head row then asks for the bytes rope_prefetch_bytes further on (a read
/// hint into L2, kernels::detail::prefetch_span). The hint keeps more lines in flight than the
/// out-of-order window reaches on its own; hints into L1 with write intent (prefetchw) cost
/// instead (figures: bench/README.md, "Software prefetch"). Smaller views (decode, cache-resident prefill) get none. The hint
/// is issued only where prefetch_enabled() (posenc/tuning.hpp: off on AMD Zen 3/4/5, where it
/// costs instead).
constexpr std::size_t rope_prefetch_min_bytes = std::size_t{8} << 20;
constexpr std::ptrdiff_t rope_prefetch_bytes = 16384;

/// Token t's key for the fetch: pos[t]. For 1-D RoPE `pos` is the position array; multi-axis
/// RoPE (posenc/mrope.hpp) passes token_keys, whose key is the token index itself, and its
/// fetch gathers the token's per-axis positions.
struct token_keys {
  std::size_t operator[](std::size_t t) const noexcept { return t; }
};
template <class P>
constexpr bool key_valid(P p) noexcept {
  if constexpr (std::is_signed<P>::value) {
    return p >= 0;
  } else {
    (void)p;
    return true;
  }
}
template <class P>
constexpr bool keys_present(const P* pos) noexcept {
  return pos != nullptr;
}
constexpr bool keys_present(token_keys) noexcept { return true; }

/// The stack buffers of one chunk of a token's coefficients, and its fetch: `fetch(p, k0, n,
/// cbuf, sbuf, c, s)` gives the natural coefficients (in cbuf/sbuf or in a table), and where
/// the kernel of (Arch, L, T) reads prepared coefficients they are built into c2/s2.
template <class C>
struct coef_chunk {
  alignas(64) C cbuf[rope_chunk];
  alignas(64) C sbuf[rope_chunk];
  alignas(64) C c2[2 * rope_chunk];
  alignas(64) C s2[2 * rope_chunk];

  template <class Arch, bool Inverse, rope_layout L, class T, class Fetch, class Key>
  POSENC_FORCE_INLINE kernels::coef_block<C> get(const Fetch& fetch, const Key& p, std::size_t k0,
                                                 std::size_t n) noexcept {
    kernels::coef_block<C> cf;
    fetch(p, k0, n, cbuf, sbuf, cf.c, cf.s);
    if constexpr (kernels::needs_prepared<Arch, L, T>()) {
      kernels::prepare<Arch, L, T, Inverse>(cf.c, cf.s, n, c2, s2);
      cf.c2 = c2;
      cf.s2 = s2;
    }
    return cf;
  }
};

/// Rotates views[0..nviews) over tokens r.first..r.last. `fetch(pos[t], k0, n, cbuf, sbuf, c,
/// s)` sets c, s to the natural coefficients of pairs [k0, k0+n) of token t, either pointing
/// into a table or after filling cbuf/sbuf. `pos` is a position array or token_keys.
template <class Arch, bool Inverse, rope_layout L, class T, class Pos, class Fetch>
void rope_apply_layout(const Fetch& fetch, std::size_t pairs, const head_view<T>* views,
                       std::size_t nviews, Pos pos, token_range r) noexcept {
  coef_chunk<coef_t<T>> chunk;
  const std::size_t last = std::min(r.last, views[0].tokens);
  // L2 hint distance of a view, in elements (0: none); see rope_prefetch_min_bytes.
  const bool hint = prefetch_enabled();
  const auto ahead_of = [hint](const head_view<T>& view) -> std::ptrdiff_t {
    const std::size_t span = view.tokens * view.heads * view.dim * sizeof(T);
    return hint && span >= rope_prefetch_min_bytes
               ? rope_prefetch_bytes / static_cast<std::ptrdiff_t>(sizeof(T))
               : 0;
  };
  for (std::size_t t = r.first; t < last; ++t) {
    const auto p = pos[t];
    POSENC_ASSERT(key_valid(p), "posenc: positions must be >= 0");
    for (std::size_t k0 = 0; k0 < pairs; k0 += rope_chunk) {
      const std::size_t n = std::min(rope_chunk, pairs - k0);
      const auto cf = chunk.template get<Arch, Inverse, L, T>(fetch, p, k0, n);
      for (std::size_t v = 0; v < nviews; ++v) {
        const head_view<T>& view = views[v];
        if (view.heads == 0) continue;
        T* row = view.row(t, 0);
        if constexpr (L == rope_layout::half_split) {
          kernels::rotate_half_split_heads<Inverse>(Arch{}, row + k0, pairs, view.head_stride,
                                                    view.heads, cf, n, ahead_of(view));
        } else {
          kernels::rotate_interleaved_heads<Inverse>(Arch{}, row + 2 * k0, view.head_stride,
                                                     view.heads, cf, n, ahead_of(view));
        }
      }
    }
  }
}

template <class Arch, bool Inverse, class T, class Pos, class Fetch>
void rope_apply(const Fetch& fetch, rope_layout layout, std::size_t head_dim, std::size_t pairs,
                const head_view<T>* views, std::size_t nviews, Pos pos, token_range r) noexcept {
  static_assert(storage_traits<T>::supported,
                "posenc: unsupported storage type (float, double, bfloat16_t, float16_t; "
                "Eigen::half / Eigen::bfloat16 with posenc/eigen.hpp)");
  static_assert(std::is_same<Pos, token_keys>::value ||
                    std::is_integral<std::remove_cv_t<std::remove_pointer_t<Pos>>>::value,
                "posenc: positions are integers (int32 or int64)");
  for (std::size_t v = 0; v < nviews; ++v) {
    POSENC_ASSERT(views[v].dim == head_dim, "posenc::rope: view dim != head_dim");
    POSENC_ASSERT(views[v].tokens == views[0].tokens, "posenc::rope: q and k token counts differ");
    POSENC_ASSERT(views[v].data != nullptr || views[v].tokens * views[v].heads == 0,
                  "posenc::rope: null view");
  }
  POSENC_ASSERT(keys_present(pos) || r.first >= std::min(r.last, views[0].tokens),
                "posenc::rope: null positions");
  (void)head_dim;
  if (layout == rope_layout::half_split) {
    rope_apply_layout<Arch, Inverse, rope_layout::half_split>(fetch, pairs, views, nviews, pos, r);
  } else {
    rope_apply_layout<Arch, Inverse, rope_layout::interleaved>(fetch, pairs, views, nviews, pos, r);
  }
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ROPE_APPLY_HPP
