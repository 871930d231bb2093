// posenc — Eigen interop: Eigen::half / Eigen::bfloat16 storage and head views over Eigen
// matrices, maps and refs. Needs Eigen 3.3+ (target posenc::eigen); the core never does.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_EIGEN_HPP
#define POSENC_EIGEN_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#include "posenc/detail/error.hpp"
#include "posenc/storage.hpp"
#include "posenc/view.hpp"

namespace posenc {

// Eigen's 16-bit scalars hold their bits in one 16-bit member (`x`), so the kernels read and
// write them as std::uint16_t, exactly like posenc::float16_t / posenc::bfloat16_t.
static_assert(sizeof(Eigen::half) == 2 && std::is_standard_layout<Eigen::half>::value,
              "posenc: Eigen::half must be 16-bit standard layout");
static_assert(sizeof(Eigen::bfloat16) == 2 && std::is_standard_layout<Eigen::bfloat16>::value,
              "posenc: Eigen::bfloat16 must be 16-bit standard layout");

/// Eigen::half storage: IEEE binary16, math in float, one rounding (nearest even) per output.
template <>
struct storage_traits<Eigen::half> : storage_traits<float16_t> {};
/// Eigen::bfloat16 storage: math in float, one rounding (nearest even) per output.
template <>
struct storage_traits<Eigen::bfloat16> : storage_traits<bfloat16_t> {};

/**
 * A head view over a dense Eigen object holding one token per row (row-major) or per column
 * (column-major), each token's `heads × head_dim` features contiguous: e.g.
 * `Eigen::Matrix<float, Dynamic, Dynamic, RowMajor>` [tokens × (heads·head_dim)], a
 * `Map<…, OuterStride<>>` into a fused QKV buffer, or a column-major [features × tokens]
 * matrix. The inner stride must be 1. Throws std::invalid_argument naming the mismatch.
 *
 * Example:
 *     Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> q(T, 32 * 128);
 *     rope.apply(posenc::as_head_view(q, 32, 128), positions);
 */
template <class Derived>
auto as_head_view(Eigen::DenseBase<Derived>& m, std::size_t heads, std::size_t head_dim)
    -> head_view<typename Derived::Scalar> {
  static_assert(static_cast<bool>(Derived::Flags & Eigen::DirectAccessBit),
                "posenc::as_head_view needs direct access (Matrix, Map, Ref, Block of those)");
  constexpr const char* who = "posenc::as_head_view";
  Derived& d = m.derived();
  if (d.innerStride() != 1) detail::invalid(who, "innerStride()", d.innerStride(), "must be 1");
  const bool row_major = static_cast<bool>(Derived::IsRowMajor);
  const std::size_t tokens = static_cast<std::size_t>(row_major ? d.rows() : d.cols());
  const std::size_t features = static_cast<std::size_t>(row_major ? d.cols() : d.rows());
  if (features != heads * head_dim)
    detail::invalid(who, row_major ? "cols()" : "rows()", features,
                    "must equal heads * head_dim (one token per row for row-major, per column "
                    "for column-major)");
  return head_view<typename Derived::Scalar>{d.data(),
                                             tokens,
                                             heads,
                                             head_dim,
                                             static_cast<std::ptrdiff_t>(d.outerStride()),
                                             static_cast<std::ptrdiff_t>(head_dim)};
}

}  // namespace posenc

#endif  // POSENC_EIGEN_HPP
