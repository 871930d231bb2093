// posenc — small strided views over caller-owned memory (pointer + extents + element strides).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_VIEW_HPP
#define POSENC_VIEW_HPP

#include <cstddef>
#include <type_traits>

#include "posenc/config.hpp"

namespace posenc {

/**
 * A [tokens × heads × dim] view of q or k with element strides; the innermost stride is 1.
 *
 * Element (t, h, i) lives at `data[t * token_stride + h * head_stride + i]`. This covers:
 * - BSHD, the usual layout after the projection: token_stride = heads·dim, head_stride = dim;
 * - BHSD (heads outermost): token_stride = dim, head_stride = tokens·dim;
 * - a fused QKV buffer [tokens][(Hq + 2·Hkv)·dim]: token_stride = (Hq + 2·Hkv)·dim, q at
 *   data, k at data + Hq·dim, both with head_stride = dim.
 * Strides are in elements (mdspan's layout_stride vocabulary), not bytes. Nothing outside the
 * elements the view names is ever read or written.
 */
template <class T>
struct head_view {
  T* data = nullptr;
  std::size_t tokens = 0;
  std::size_t heads = 0;
  std::size_t dim = 0;
  std::ptrdiff_t token_stride = 0;
  std::ptrdiff_t head_stride = 0;

  /// Pointer to row (t, h): `dim` contiguous elements.
  T* row(std::size_t t, std::size_t h) const noexcept {
    return data + static_cast<std::ptrdiff_t>(t) * token_stride +
           static_cast<std::ptrdiff_t>(h) * head_stride;
  }
};

/// Contiguous [tokens][heads][dim] (BSHD) view.
template <class T>
head_view<T> make_head_view(T* data, std::size_t tokens, std::size_t heads,
                            std::size_t dim) noexcept {
  return head_view<T>{data,
                      tokens,
                      heads,
                      dim,
                      static_cast<std::ptrdiff_t>(heads * dim),
                      static_cast<std::ptrdiff_t>(dim)};
}

/// Fully strided view (BHSD, fused QKV, sub-blocks of a KV cache).
template <class T>
head_view<T> make_head_view(T* data, std::size_t tokens, std::size_t heads, std::size_t dim,
                            std::ptrdiff_t token_stride, std::ptrdiff_t head_stride) noexcept {
  return head_view<T>{data, tokens, heads, dim, token_stride, head_stride};
}

namespace detail {
/// An extent given as any integer type (an engine's int): checked >= 0 in debug builds, then
/// converted, so that the call site needs no cast (no -Wsign-conversion warning there).
template <class I>
constexpr std::size_t extent(I n) noexcept {
  static_assert(std::is_integral<I>::value, "posenc: view extents are integers");
  if constexpr (std::is_signed<I>::value) POSENC_ASSERT(n >= 0, "posenc: negative view extent");
  return static_cast<std::size_t>(n);
}
template <class... I>
using integral_extents = std::enable_if_t<
    (std::is_integral<I>::value && ...) && !(std::is_same<I, std::size_t>::value && ...), int>;
}  // namespace detail

/// Contiguous BSHD view from extents of any integer type (int, int64_t: an engine's own).
template <class T, class I, class J, class K, detail::integral_extents<I, J, K> = 0>
head_view<T> make_head_view(T* data, I tokens, J heads, K dim) noexcept {
  return make_head_view(data, detail::extent(tokens), detail::extent(heads), detail::extent(dim));
}
/// Strided view from extents of any integer type.
template <class T, class I, class J, class K, detail::integral_extents<I, J, K> = 0>
head_view<T> make_head_view(T* data, I tokens, J heads, K dim, std::ptrdiff_t token_stride,
                            std::ptrdiff_t head_stride) noexcept {
  return head_view<T>{
      data,       detail::extent(tokens), detail::extent(heads), detail::extent(dim), token_stride,
      head_stride};
}

/**
 * A [rows × cols] block of attention logits for one head: row r is a query, column c a key.
 *
 * Element (r, c) lives at `data[r * row_stride + c]` (element stride, innermost stride 1), so a
 * view can name a tile of a larger [q × k] score matrix: `data = S + r0 * ld + c0`,
 * `row_stride = ld`. Nothing outside the rows × cols elements the view names is ever touched.
 */
template <class T>
struct logits_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::ptrdiff_t row_stride = 0;

  /// Pointer to row r: `cols` contiguous elements.
  T* row(std::size_t r) const noexcept {
    return data + static_cast<std::ptrdiff_t>(r) * row_stride;
  }
};

/// Contiguous [rows][cols] logits view.
template <class T>
logits_view<T> make_logits_view(T* data, std::size_t rows, std::size_t cols) noexcept {
  return logits_view<T>{data, rows, cols, static_cast<std::ptrdiff_t>(cols)};
}

/// Strided logits view (a tile of a larger matrix with leading dimension row_stride).
template <class T>
logits_view<T> make_logits_view(T* data, std::size_t rows, std::size_t cols,
                                std::ptrdiff_t row_stride) noexcept {
  return logits_view<T>{data, rows, cols, row_stride};
}

/**
 * A [tokens × dim] view of token embeddings (or of a position table) with an element stride
 * between tokens; the channels of one token are contiguous.
 */
template <class T>
struct embed_view {
  T* data = nullptr;
  std::size_t tokens = 0;
  std::size_t dim = 0;
  std::ptrdiff_t token_stride = 0;

  /// Pointer to token t: `dim` contiguous elements.
  T* row(std::size_t t) const noexcept {
    return data + static_cast<std::ptrdiff_t>(t) * token_stride;
  }
};

/// Contiguous [tokens][dim] embedding view.
template <class T>
embed_view<T> make_embed_view(T* data, std::size_t tokens, std::size_t dim) noexcept {
  return embed_view<T>{data, tokens, dim, static_cast<std::ptrdiff_t>(dim)};
}

/// Strided embedding view (e.g. the first dim channels of wider rows).
template <class T>
embed_view<T> make_embed_view(T* data, std::size_t tokens, std::size_t dim,
                              std::ptrdiff_t token_stride) noexcept {
  return embed_view<T>{data, tokens, dim, token_stride};
}

}  // namespace posenc

#endif  // POSENC_VIEW_HPP
