// posenc — a precomputed cos/sin table for RoPE, shared across layers; same apply API as rope.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_ROPE_CACHE_HPP
#define POSENC_ROPE_CACHE_HPP

#include <cstddef>
#include <type_traits>
#include <vector>

#include "posenc/config.hpp"
#include "posenc/detail/aligned.hpp"
#include "posenc/detail/angle_range.hpp"
#include "posenc/detail/rope_apply.hpp"
#include "posenc/detail/rope_apply_to.hpp"
#include "posenc/detail/rope_check.hpp"
#include "posenc/rope.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

/**
 * Cos/sin table of a rope for positions [0, capacity()), computed once by the same kernels
 * as the on-the-fly path (so the values are the same, bit for bit on the same architecture),
 * and shared by every layer that uses the same rope.
 *
 * C is the coefficient type: float for float and 16-bit storage, double for double storage
 * (why C and not the storage type, unlike sinusoidal_table<T>: see sinusoidal_table).
 * Layout (table(), row_width() = r): row p holds cos of pairs 0..r/2−1 followed by their sin
 * (r/2 + r/2 values of type C), rows contiguous: [capacity() × r], the layout of vLLM's
 * RotaryEmbedding.cos_sin_cache ([max_position, rotary_dim], cos half then sin half), so
 * table() can be handed to a kernel that reads that layout. The values are those of
 * rope::cos_sin (magnitude folded in): hf_f32 mode follows torch's float32 arithmetic as vLLM
 * builds its cache; exact mode is correctly rounded (they differ by a few float ulps).
 *
 * The cache keeps its own copy of the rope (functor()); the rope passed in may be destroyed.
 * Threads: every const member (apply*, table, cos_row, ...) may run on several threads at once;
 * reserve() allocates and must not run while another thread uses the cache.
 *
 * Growth is explicit: reserve(n) before a longer sequence; nothing grows inside a const
 * apply. A position ≥ capacity() is never read from the table: apply computes that token's
 * coefficients on the fly instead (the same values, slower), so an out-of-range position is
 * correct, never an out-of-bounds read.
 *
 * Example:
 *     posenc::rope_cache<float> cache(rope, 8192);   // 8192 positions × r floats
 *     cache.apply(q_view, k_view, positions);         // in every layer
 */
template <class C = float>
class rope_cache : public detail::rope_apply_interface<rope_cache<C>> {
  static_assert(std::is_same<C, float>::value || std::is_same<C, double>::value,
                "posenc::rope_cache: C is float or double");

 public:
  /// Precomputes positions [0, max_positions) with the architecture of the calling TU.
  template <class Arch = default_arch>
  rope_cache(const rope& r, std::size_t max_positions, Arch arch = Arch{}) : rope_(r) {
    reserve(max_positions, arch);
  }

  /// Grows the table to hold positions [0, max_positions); never shrinks. Allocates; not to be
  /// called while another thread applies this cache (the one non-thread-safe member: every
  /// const member may be called from several threads at once).
  /// Throws std::length_error, before allocating, when max_positions > max_table_positions
  /// (2^53) or the table's size in bytes does not fit in size_t; std::bad_alloc when memory
  /// runs out (the cache is then unchanged).
  template <class Arch = default_arch>
  void reserve(std::size_t max_positions, Arch = Arch{}) {
    if (max_positions <= capacity_) return;
    const std::size_t w = row_width();
    detail::check_table_size<Arch>("posenc::rope_cache", max_positions, w, sizeof(C));
    table_.resize(max_positions * w);
    for (std::size_t p = capacity_; p < max_positions; ++p) {
      C* row = table_.data() + p * w;
      rope_.coefficients<Arch>(static_cast<std::int64_t>(p), 0, rope_.pairs(), row,
                               row + rope_.pairs());
    }
    capacity_ = max_positions;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  const rope& functor() const noexcept { return rope_; }
  /// The table: capacity() rows of row_width() values (see the class comment for the layout).
  const C* table() const noexcept { return table_.data(); }
  /// Values per row: 2 · pairs() = rotary_dim (cos half, then sin half).
  std::size_t row_width() const noexcept { return 2 * rope_.pairs(); }
  /// Size of the table in bytes.
  std::size_t bytes() const noexcept { return table_.size() * sizeof(C); }
  /// cos of pairs 0..r/2−1 at position pos (pos < capacity()).
  const C* cos_row(std::size_t pos) const noexcept {
    POSENC_ASSERT(pos < capacity_, "posenc::rope_cache: position beyond capacity");
    return table_.data() + pos * row_width();
  }
  /// sin of pairs 0..r/2−1 at position pos (pos < capacity()).
  const C* sin_row(std::size_t pos) const noexcept { return cos_row(pos) + rope_.pairs(); }

  // apply, apply_inverse, apply_token, apply_to, apply_inverse_to: as rope's, reading the
  // table for positions < capacity() (detail::rope_apply_interface over run / run_to below;
  // POSENC_CHECKED runs functor().check / check_to).

 private:
  friend class detail::rope_apply_interface<rope_cache<C>>;
  const rope& checker() const noexcept { return rope_; }
  std::size_t head_dim() const noexcept { return rope_.head_dim(); }

  template <class Arch, bool Inverse, class T, class P>
  void run(const head_view<T>* views, std::size_t nviews, const P* pos,
           token_range range) const noexcept {
    static_assert(std::is_same<coef_t<T>, C>::value,
                  "posenc::rope_cache: use rope_cache<float> for float/16-bit storage and "
                  "rope_cache<double> for double storage");
    detail::rope_apply<Arch, Inverse>(table_fetch<Arch, P>(), rope_.layout(), rope_.head_dim(),
                                      rope_.pairs(), views, nviews, pos, range);
  }

  // The table's fetch: a row pointer for positions < capacity(), else computed on the fly.
  template <class Arch, class P>
  auto table_fetch() const noexcept {
    const std::size_t w = row_width(), half = rope_.pairs();
    return [this, w, half](P p, std::size_t k0, std::size_t n, C* cb, C* sb, const C*& c,
                           const C*& s) {
      if (static_cast<std::size_t>(p) < capacity_) {
        c = table_.data() + static_cast<std::size_t>(p) * w + k0;
        s = c + half;
      } else {
        rope_.fetch<Arch>(p, k0, n, cb, sb, c, s);
      }
    };
  }

  template <class Arch, bool Inverse, class P, class V0, class... V>
  void run_to(const P* pos, token_range range, const V0& v0, const V&... vp) const noexcept {
    using S0 = std::remove_pointer_t<decltype(v0.src.data)>;
    if constexpr (detail::storage_ok<S0, false>() && detail::positions_ok<P>()) {
      static_assert(std::is_same<coef_t<S0>, C>::value,
                    "posenc::rope_cache: use rope_cache<float> for float/16-bit storage and "
                    "rope_cache<double> for double storage");
      run_to_checked<Arch, Inverse>(pos, range, v0, vp...);
    }
  }
  template <class Arch, bool Inverse, class P, class... V>
  void run_to_checked(const P* pos, token_range range, const V&... vp) const noexcept {
    detail::rope_apply_to<Arch, Inverse, C>(table_fetch<Arch, P>(), rope_.layout(),
                                            rope_.head_dim(), rope_.pairs(), pos, range, vp...);
  }

  rope rope_;
  detail::aligned_vector<C> table_;  // rows start on 64 bytes when 2·pairs·sizeof(C) allows
  std::size_t capacity_ = 0;
};

}  // namespace posenc

#endif  // POSENC_ROPE_CACHE_HPP
