// posenc — the public apply / apply_inverse overloads every rotation shares (q and k together
// or one tensor, forward or inverse), written once. A rotation class derives from
// apply_interface<Self, Positions> and implements only
//     template <class Arch, bool Inverse, class T>
//     void run(const head_view<T>* views, std::size_t nviews, Positions pos, token_range) const;
// (declare `friend detail::apply_interface<Self, Positions>` when run is private).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_APPLY_INTERFACE_HPP
#define POSENC_DETAIL_APPLY_INTERFACE_HPP

#include <cstddef>

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

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_APPLY_INTERFACE_HPP
