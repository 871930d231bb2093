// posenc — small strided views over caller-owned memory (pointer + extents + element strides).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_VIEW_HPP
#define POSENC_VIEW_HPP

#include <cstddef>

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

}  // namespace posenc

#endif  // POSENC_VIEW_HPP
