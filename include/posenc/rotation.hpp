// posenc — rotations that plug into code written for posenc::rope / posenc::rope_cache:
// identity_rotation ("no rotary embedding") and positioned_rotation (a rotation at mapped
// positions, e.g. BiPE-RoPE's segment indices).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_ROTATION_HPP
#define POSENC_ROTATION_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "posenc/config.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

namespace detail {
template <class R, class = void>
struct has_head_dim : std::false_type {};
template <class R>
struct has_head_dim<R, std::void_t<decltype(std::declval<const R&>().head_dim())>>
    : std::true_type {};
template <class R, class = void>
struct has_functor : std::false_type {};
template <class R>
struct has_functor<R, std::void_t<decltype(std::declval<const R&>().functor())>> : std::true_type {
};
template <class R, class = void>
struct has_inner_rotation : std::false_type {};
template <class R>
struct has_inner_rotation<R, std::void_t<decltype(std::declval<const R&>().inner())>>
    : std::true_type {};

/// The head_dim a rotation expects of its views (rope, rope_cache through functor(), adapters
/// through inner()); 0 when it does not say (identity_rotation, a user's rotation).
template <class R>
std::size_t rotation_head_dim(const R& r) noexcept {
  if constexpr (has_head_dim<R>::value) {
    return static_cast<std::size_t>(r.head_dim());
  } else if constexpr (has_functor<R>::value) {
    return rotation_head_dim(r.functor());
  } else if constexpr (has_inner_rotation<R>::value) {
    return rotation_head_dim(r.inner());
  } else {
    (void)r;
    return 0;
  }
}
}  // namespace detail

/**
 * The rotation that does nothing: plugs "no rotary embedding" (ALiBi-only, NoPE, APE models)
 * into code written for posenc::rope / posenc::rope_cache. Same apply signatures.
 */
struct identity_rotation {
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T>, head_view<T>, const P*, token_range = {}) const noexcept {}
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T>, const P*, token_range = {}) const noexcept {}
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T>, head_view<T>, const P*, token_range = {}) const noexcept {}
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T>, const P*, token_range = {}) const noexcept {}
};

/**
 * A rotation (rope, rope_cache, …) applied at mapped positions: token t with position p is
 * rotated by map[p] instead of p. BiPE-RoPE is positioned_rotation over the segment index of
 * every token, so that reference_attention (which passes token positions) rotates by segments.
 * An engine that holds the mapped positions itself calls the rotation directly with them
 * (rope_cache::apply(q, k, seg)); this adapter is for code that passes token positions.
 *
 * The mapped positions are gathered in chunks of 256 tokens on the stack (no allocation); map
 * is borrowed and must cover every position passed (asserted in debug builds).
 */
template <class Rotation, class M>
class positioned_rotation {
 public:
  positioned_rotation(const Rotation& rotation, const M* map, std::size_t size) noexcept
      : rot_(&rotation), map_(map), size_(size) {}
  const Rotation& inner() const noexcept { return *rot_; }

  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> x, const P* pos, token_range range = {}) const noexcept {
    run<Arch, false>(x, pos, range);
  }
  template <class Arch = default_arch, class T, class P>
  void apply(head_view<T> q, head_view<T> k, const P* pos, token_range range = {}) const noexcept {
    run<Arch, false>(q, pos, range);
    run<Arch, false>(k, pos, range);
  }
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> x, const P* pos, token_range range = {}) const noexcept {
    run<Arch, true>(x, pos, range);
  }
  template <class Arch = default_arch, class T, class P>
  void apply_inverse(head_view<T> q, head_view<T> k, const P* pos,
                     token_range range = {}) const noexcept {
    run<Arch, true>(q, pos, range);
    run<Arch, true>(k, pos, range);
  }

 private:
  template <class Arch, bool Inverse, class T, class P>
  void run(head_view<T> x, const P* pos, token_range range) const noexcept {
    constexpr std::size_t chunk = 256;
    M mapped[chunk];
    const std::size_t last = std::min(range.last, x.tokens);
    for (std::size_t t0 = range.first; t0 < last; t0 += chunk) {
      const std::size_t n = std::min(chunk, last - t0);
      for (std::size_t i = 0; i < n; ++i) {
        const auto p = static_cast<std::int64_t>(pos[t0 + i]);
        POSENC_ASSERT(p >= 0 && static_cast<std::uint64_t>(p) < size_,
                      "posenc::positioned_rotation: position outside the map");
        mapped[i] = map_[p];
      }
      head_view<T> sub = x;
      sub.data = x.data + static_cast<std::ptrdiff_t>(t0) * x.token_stride;
      sub.tokens = n;
      if constexpr (Inverse) {
        rot_->template apply_inverse<Arch>(sub, static_cast<const M*>(mapped));
      } else {
        rot_->template apply<Arch>(sub, static_cast<const M*>(mapped));
      }
    }
  }

  const Rotation* rot_;
  const M* map_;
  std::size_t size_;
};

}  // namespace posenc

#endif  // POSENC_ROTATION_HPP
