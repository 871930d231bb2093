// posenc — the public apply overloads the rotations share, written once:
//   apply_interface<Self, Positions>   apply / apply_inverse (q and k together, or one tensor);
//                                      mrope, mrope_cache
//   rope_apply_interface<Self>         those with checked mode and position containers, plus
//                                      apply_token and the out-of-place apply_to /
//                                      apply_inverse_to; rope, rope_cache
// A class derives from one and implements only its run (and run_to) — declare the base a
// friend when they are private:
//     template <class Arch, bool Inverse, class T, class P>
//     void run(const head_view<T>* views, std::size_t nviews, Positions pos, token_range) const;
//     template <class Arch, bool Inverse, class P, class... Pairs>
//     void run_to(const P* pos, token_range, const Pairs&... src_dst) const;
// and, for rope_apply_interface, `const rope& checker() const` (whose check / check_to
// POSENC_CHECKED runs) and `std::size_t head_dim() const`.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_APPLY_INTERFACE_HPP
#define POSENC_DETAIL_APPLY_INTERFACE_HPP

#include <cstddef>

#include "posenc/detail/rope_apply_to.hpp"
#include "posenc/detail/rope_check.hpp"
#include "posenc/simd/arch.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {
namespace detail {

/// Positions is a template of the element type P: e.g. `const P*` (one position per token) or
/// `const mrope_positions<P>&` (one per axis).
template <class Self, template <class> class Positions>
class apply_interface {
 public:
  /// Rotates q and k in place (one pass, shared coefficients; GQA head counts may differ).
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> q, head_view<T> k, Positions<P> pos,
             token_range range = {}) const noexcept {
    const head_view<T> views[2] = {q, k};
    self().template run<Arch, false>(views, 2, pos, range);
  }
  /// Rotates one tensor in place.
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> x, Positions<P> pos, token_range range = {}) const noexcept {
    self().template run<Arch, false>(&x, 1, pos, range);
  }
  /// The inverse rotation (transpose: sin negated), e.g. to un-rotate cached keys.
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> q, head_view<T> k, Positions<P> pos,
                     token_range range = {}) const noexcept {
    const head_view<T> views[2] = {q, k};
    self().template run<Arch, true>(views, 2, pos, range);
  }
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> x, Positions<P> pos, token_range range = {}) const noexcept {
    self().template run<Arch, true>(&x, 1, pos, range);
  }

 private:
  const Self& self() const noexcept { return static_cast<const Self&>(*this); }
};

/// The apply family of rope and rope_cache (see the file comment); the doc of each call is
/// rope's.
template <class Self>
class rope_apply_interface {
 public:
  /// Rotates q and k in place (both in one pass, sharing the angles); q and k may have
  /// different head counts (GQA) and strides but the same tokens; pos[t] is token t's
  /// position (int32 or int64, ≥ 0). Only tokens in `range` are touched. With POSENC_CHECKED
  /// the call first runs check(q, k, pos, range).
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> q, head_view<T> k, const P* pos,
             token_range range = {}) const POSENC_HOT_NOEXCEPT {
    in_place<Arch, false>(q, k, pos, range);
  }
  /// Rotates one tensor in place.
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> x, const P* pos, token_range range = {}) const POSENC_HOT_NOEXCEPT {
    in_place<Arch, false>(x, pos, range);
  }
  /// The inverse rotation (transpose: sin negated), e.g. to un-rotate cached keys.
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> q, head_view<T> k, const P* pos,
                     token_range range = {}) const POSENC_HOT_NOEXCEPT {
    in_place<Arch, true>(q, k, pos, range);
  }
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> x, const P* pos,
                     token_range range = {}) const POSENC_HOT_NOEXCEPT {
    in_place<Arch, true>(x, pos, range);
  }
  /// Positions as a container (std::vector, std::array, ...): C++20 takes any contiguous
  /// range of int32 / int64 (at least x.tokens of them); C++17 says to pass its data().
  template <class Arch = default_arch, class T, class R,
            std::enable_if_t<is_position_container<R>::value, int> = 0>
  void apply(head_view<T> x, const R& pos, token_range range = {}) const POSENC_HOT_NOEXCEPT {
    apply<Arch>(x, container_positions(pos, x.tokens), range);
  }
  template <class Arch = default_arch, class T, class R,
            std::enable_if_t<is_position_container<R>::value, int> = 0>
  void apply(head_view<T> q, head_view<T> k, const R& pos,
             token_range range = {}) const POSENC_HOT_NOEXCEPT {
    apply<Arch>(q, k, container_positions(pos, q.tokens), range);
  }

  /**
   * One decode step, the call every generated token makes: q (q_heads rows of head_dim) and
   * k (kv_heads rows) of one token, contiguous, rotated in place at position pos (>= 0).
   * The same values as apply on 1-token views.
   */
  template <class Arch = default_arch, class T, class I, class J>
  void apply_token(T* q, I q_heads, T* k, J kv_heads, std::int64_t pos) const POSENC_HOT_NOEXCEPT {
    const std::size_t d = self().head_dim();
    apply<Arch>(make_head_view(q, std::size_t{1}, extent(q_heads), d),
                make_head_view(k, std::size_t{1}, extent(kv_heads), d), &pos);
  }

  /// Out of place (rotate-and-store): src into dst (see rope.hpp, "Out of place").
  template <class Arch = default_arch, class S, class D, class P>
  void apply_to(head_view<S> src, head_view<D> dst, const P* pos,
                token_range range = {}) const POSENC_HOT_NOEXCEPT {
    if constexpr (POSENC_CHECKED != 0) self().checker().check_to(src, dst, pos, range);
    self().template run_to<Arch, false>(pos, range, view_pair<S, D>{src, dst});
  }
  /// q and k out of place in one pass (sharing the angles): q_src → q_dst and k_src → k_dst.
  /// Pass q_dst = q_src to rotate q in place while k goes to the cache.
  template <class Arch = default_arch, class S1, class D1, class S2, class D2, class P>
  void apply_to(head_view<S1> q_src, head_view<D1> q_dst, head_view<S2> k_src, head_view<D2> k_dst,
                const P* pos, token_range range = {}) const POSENC_HOT_NOEXCEPT {
    if constexpr (POSENC_CHECKED != 0)
      self().checker().check_to(q_src, q_dst, k_src, k_dst, pos, range);
    self().template run_to<Arch, false>(pos, range, view_pair<S1, D1>{q_src, q_dst},
                                        view_pair<S2, D2>{k_src, k_dst});
  }
  /// The inverse rotation, out of place.
  template <class Arch = default_arch, class S, class D, class P>
  void apply_inverse_to(head_view<S> src, head_view<D> dst, const P* pos,
                        token_range range = {}) const POSENC_HOT_NOEXCEPT {
    if constexpr (POSENC_CHECKED != 0) self().checker().check_to(src, dst, pos, range);
    self().template run_to<Arch, true>(pos, range, view_pair<S, D>{src, dst});
  }
  template <class Arch = default_arch, class S1, class D1, class S2, class D2, class P>
  void apply_inverse_to(head_view<S1> q_src, head_view<D1> q_dst, head_view<S2> k_src,
                        head_view<D2> k_dst, const P* pos,
                        token_range range = {}) const POSENC_HOT_NOEXCEPT {
    if constexpr (POSENC_CHECKED != 0)
      self().checker().check_to(q_src, q_dst, k_src, k_dst, pos, range);
    self().template run_to<Arch, true>(pos, range, view_pair<S1, D1>{q_src, q_dst},
                                       view_pair<S2, D2>{k_src, k_dst});
  }

 private:
  const Self& self() const noexcept { return static_cast<const Self&>(*this); }
  template <class Arch, bool Inverse, class T, class P>
  void in_place(head_view<T> q, head_view<T> k, const P* pos,
                token_range range) const POSENC_HOT_NOEXCEPT {
    if constexpr (storage_ok<T, true>() && positions_ok<P>()) {
      if constexpr (POSENC_CHECKED != 0) self().checker().check(q, k, pos, range);
      const head_view<T> views[2] = {q, k};
      self().template run<Arch, Inverse>(views, 2, pos, range);
    }
  }
  template <class Arch, bool Inverse, class T, class P>
  void in_place(head_view<T> x, const P* pos, token_range range) const POSENC_HOT_NOEXCEPT {
    if constexpr (storage_ok<T, true>() && positions_ok<P>()) {
      if constexpr (POSENC_CHECKED != 0) self().checker().check(x, pos, range);
      self().template run<Arch, Inverse>(&x, 1, pos, range);
    }
  }
};

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_APPLY_INTERFACE_HPP
