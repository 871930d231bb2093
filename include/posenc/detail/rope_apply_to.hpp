// posenc — private: the out-of-place (rotate-and-store) loop shared by rope and rope_cache.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ROPE_APPLY_TO_HPP
#define POSENC_DETAIL_ROPE_APPLY_TO_HPP

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "posenc/config.hpp"
#include "posenc/detail/rope_apply.hpp"
#include "posenc/kernels/rotate.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {
namespace detail {

/// One out-of-place operand: every row of `src` is rotated into the same row of `dst`.
template <class S, class D>
struct view_pair {
  head_view<S> src;
  head_view<D> dst;
};

/// Stack stage for a 16-bit source (floats widened exactly, then rotated from there):
/// 16 KiB of float, at least 16 heads of one chunk (2·rope_chunk elements a head).
constexpr std::size_t rope_stage_elems = 4096;

/// Is the pair the in-place rotation (same memory, strides and type)? (This and the helpers
/// below are templates on Arch: compiled into an ISA translation unit, a helper the compiler
/// keeps out of line must not be a symbol the baseline TUs share; see check_isa_symbols.sh.)
template <class Arch, class S, class D>
bool same_rows(const view_pair<S, D>& v) noexcept {
  if constexpr (std::is_same<std::remove_const_t<S>, D>::value) {
    return static_cast<const void*>(v.src.data) == static_cast<const void*>(v.dst.data) &&
           v.src.token_stride == v.dst.token_stride && v.src.head_stride == v.dst.head_stride;
  } else {
    return false;
  }
}

/// L2 hint distance for the rows of a source view, as rope_apply_layout's for in-place views:
/// only where prefetch_enabled() (posenc/tuning.hpp; bench/rope_store_bench.cpp measures both).
template <class Arch, class S>
std::ptrdiff_t stream_ahead(const head_view<S>& view) noexcept {
  const std::size_t span = view.tokens * view.heads * view.dim * sizeof(S);
  return prefetch_enabled() && span >= rope_prefetch_min_bytes
             ? rope_prefetch_bytes / static_cast<std::ptrdiff_t>(sizeof(S))
             : 0;
}

template <class Arch, bool Inverse, rope_layout L, class C, class D>
void rotate_rows_to(kernels::head_rows<const C> src, kernels::head_rows<D> dst, std::size_t heads,
                    const kernels::coef_block<C>& cf, std::size_t n,
                    std::ptrdiff_t ahead) noexcept {
  if constexpr (L == rope_layout::half_split) {
    kernels::rotate_half_split_heads_to<Inverse>(Arch{}, src, dst, heads, cf, n, ahead);
  } else {
    kernels::rotate_interleaved_heads_to<Inverse>(Arch{}, src, dst, heads, cf, n, ahead);
  }
}

/// Pairs [k0, k0+n) of token t of every head of v. A source in the arithmetic type C is read
/// directly; a 16-bit source is widened (exactly) into the stage, a block of heads at a time.
template <class Arch, bool Inverse, rope_layout L, class C, class S, class D>
void rotate_token_to(const view_pair<S, D>& v, std::size_t t, std::size_t k0, std::size_t n,
                     std::size_t pairs, const kernels::coef_block<C>& cf) noexcept {
  const std::size_t heads = v.src.heads;
  if (heads == 0) return;
  const std::size_t first = L == rope_layout::half_split ? k0 : 2 * k0;
  const S* src = v.src.row(t, 0) + first;
  D* dst = v.dst.row(t, 0) + first;
  const kernels::head_rows<D> out{dst, v.dst.head_stride, pairs};
  if constexpr (std::is_same<std::remove_const_t<S>, C>::value) {
    rotate_rows_to<Arch, Inverse, L>(kernels::head_rows<const C>{src, v.src.head_stride, pairs},
                                     out, heads, cf, n, stream_ahead<Arch>(v.src));
  } else {
    alignas(64) C stage[rope_stage_elems];
    const std::size_t per = rope_stage_elems / (2 * n);
    for (std::size_t h0 = 0; h0 < heads; h0 += per) {
      const std::size_t hb = std::min(per, heads - h0);
      for (std::size_t h = 0; h < hb; ++h) {
        const S* row = src + static_cast<std::ptrdiff_t>(h0 + h) * v.src.head_stride;
        C* st = stage + h * 2 * n;
        const std::size_t hi = L == rope_layout::half_split ? pairs : n;  // second half
        for (std::size_t i = 0; i < n; ++i) {
          st[i] = kernels::detail::load_elem<C>(row[i]);
          st[n + i] = kernels::detail::load_elem<C>(row[hi + i]);
        }
      }
      kernels::head_rows<D> part = out;
      part.x0 = out.row(h0);
      rotate_rows_to<Arch, Inverse, L>(
          kernels::head_rows<const C>{stage, static_cast<std::ptrdiff_t>(2 * n), n}, part, hb, cf,
          n, 0);
    }
  }
}

/// Channels [first, dim) of token t (the part partial rotary leaves alone): converted copy.
template <class Arch, class C, class S, class D>
void copy_rest(const view_pair<S, D>& v, std::size_t t, std::size_t first) noexcept {
  if (first >= v.src.dim || same_rows<Arch>(v)) return;
  for (std::size_t h = 0; h < v.src.heads; ++h) {
    const S* row = v.src.row(t, h);
    D* out = v.dst.row(t, h);
    for (std::size_t i = first; i < v.src.dim; ++i)
      kernels::detail::store_elem<C>(out[i], kernels::detail::load_elem<C>(row[i]));
  }
}

template <class Arch, bool Inverse, rope_layout L, class C, class Pos, class Fetch, class... V>
void rope_apply_to_layout(const Fetch& fetch, std::size_t pairs, std::size_t tokens, Pos pos,
                          token_range r, const V&... vp) noexcept {
  coef_chunk<C> chunk;
  const std::size_t last = std::min(r.last, tokens);
  for (std::size_t t = r.first; t < last; ++t) {
    const auto p = pos[t];
    POSENC_ASSERT(key_valid(p), "posenc: positions must be >= 0");
    for (std::size_t k0 = 0; k0 < pairs; k0 += rope_chunk) {
      const std::size_t n = std::min(rope_chunk, pairs - k0);
      // The kernels read C rows (widened from 16-bit src): the prepared form of C storage.
      const auto cf = chunk.template get<Arch, Inverse, L, C>(fetch, p, k0, n);
      (rotate_token_to<Arch, Inverse, L>(vp, t, k0, n, pairs, cf), ...);
    }
    (copy_rest<Arch, C>(vp, t, 2 * pairs), ...);
  }
}

template <class S, class D>
constexpr bool check_pair_types() noexcept {
  static_assert(!std::is_const<D>::value,
                "posenc::rope::apply_to: the destination view is const (head_view<const T>); "
                "pass a head_view<T> of writable memory");
  static_assert(storage_traits<std::remove_const_t<S>>::supported && storage_traits<D>::supported,
                "posenc: unsupported storage type (float, double, bfloat16_t, float16_t; "
                "Eigen::half / Eigen::bfloat16 with posenc/eigen.hpp)");
  static_assert(std::is_same<coef_t<S>, coef_t<D>>::value,
                "posenc::rope::apply_to: source and destination share an arithmetic type "
                "(float, bfloat16_t and float16_t among themselves; double with double)");
  return true;
}

template <class V>
struct pair_types_ok;
template <class S, class D>
struct pair_types_ok<view_pair<S, D>> : std::bool_constant<check_pair_types<S, D>()> {};

/// The out-of-place rotation of the pairs vp... (each src → dst, all over the same tokens and
/// positions). C: the coefficient type of the fetch, that of every pair.
template <class Arch, bool Inverse, class C, class Pos, class Fetch, class... V>
void rope_apply_to(const Fetch& fetch, rope_layout layout, std::size_t head_dim, std::size_t pairs,
                   Pos pos, token_range r, const V&... vp) noexcept {
  static_assert((pair_types_ok<V>::value && ...), "posenc::rope::apply_to: see above");
  const std::size_t tokens = std::min({vp.src.tokens...});
  (void)head_dim;
  POSENC_ASSERT(((vp.src.dim == head_dim && vp.dst.dim == head_dim) && ...),
                "posenc::rope::apply_to: view dim != head_dim");
  POSENC_ASSERT(((vp.src.tokens == tokens && vp.dst.tokens == tokens) && ...),
                "posenc::rope::apply_to: token counts differ");
  POSENC_ASSERT(((vp.src.heads == vp.dst.heads) && ...),
                "posenc::rope::apply_to: source and destination head counts differ");
  POSENC_ASSERT(keys_present(pos) || r.first >= std::min(r.last, tokens),
                "posenc::rope: null positions");
  if (layout == rope_layout::half_split) {
    rope_apply_to_layout<Arch, Inverse, rope_layout::half_split, C>(fetch, pairs, tokens, pos, r,
                                                                    vp...);
  } else {
    rope_apply_to_layout<Arch, Inverse, rope_layout::interleaved, C>(fetch, pairs, tokens, pos, r,
                                                                     vp...);
  }
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ROPE_APPLY_TO_HPP
