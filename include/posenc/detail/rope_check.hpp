// posenc — private: release-build validation of rope / rope_cache calls (checked mode) and the
// compile-time messages for wrong element types.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ROPE_CHECK_HPP
#define POSENC_DETAIL_ROPE_CHECK_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#if defined(__has_include)
#if __has_include(<version>)
#include <version>
#endif
#endif
#if defined(__cpp_lib_ranges) && __cplusplus >= 202002L
#include <ranges>
#define POSENC_HAS_RANGES 1
#else
#define POSENC_HAS_RANGES 0
#endif
#include <iterator>
#include <utility>

#include "posenc/config.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

/// Checked mode: define POSENC_CHECKED to 1 (in every TU, like NDEBUG) and every rope /
/// rope_cache apply, apply_inverse, apply_to and apply_inverse_to validates its views and
/// positions first, in release builds too, throwing std::invalid_argument naming the field and
/// its value (the calls are then not noexcept). Without it, the same checks are available as
/// rope::check / rope::check_to (and rope_cache's), which always throw. In a translation unit
/// compiled with extra -m flags (a dispatch ISA TU), leave POSENC_CHECKED off and call check /
/// check_to from baseline code before dispatching: the checks are ordinary inline functions,
/// which such a TU must not emit (tests/support/check_isa_symbols.sh).
#ifndef POSENC_CHECKED
#define POSENC_CHECKED 0
#endif
#if POSENC_CHECKED
#define POSENC_HOT_NOEXCEPT
#else
#define POSENC_HOT_NOEXCEPT noexcept
#endif

namespace posenc {
namespace detail {

template <class T>
struct always_false : std::false_type {};

/// Compile-time check of the element type of a view the rope rotates in place (Writable) or
/// reads (a const source of apply_to). Gives the library's own message first; returns whether
/// the type is usable, so the caller compiles nothing else otherwise (no cascade of errors).
template <class T, bool Writable>
constexpr bool storage_ok() noexcept {
  using U = std::remove_const_t<T>;
  static_assert(!std::is_same<U, std::uint16_t>::value && !std::is_same<U, std::int16_t>::value,
                "posenc: a raw 16-bit integer buffer has no number format: view it as "
                "posenc::bfloat16_t or posenc::float16_t (reinterpret_cast the pointer: same "
                "bits), or specialise posenc::storage_traits for your engine's type "
                "(ggml_bf16_t, at::BFloat16; see storage.hpp)");
  static_assert(std::is_same<U, std::uint16_t>::value || std::is_same<U, std::int16_t>::value ||
                    storage_traits<U>::supported,
                "posenc: unsupported storage type (float, double, bfloat16_t, float16_t; "
                "Eigen::half / Eigen::bfloat16 with posenc/eigen.hpp; your own 16-bit type "
                "by specialising posenc::storage_traits)");
  static_assert(!Writable || !std::is_const<T>::value,
                "posenc: this view is const (head_view<const T>): apply and apply_inverse "
                "rotate in place and need a head_view<T> of writable memory; to read a const "
                "source, use apply_to(src, dst, positions)");
  return storage_traits<U>::supported && (!Writable || !std::is_const<T>::value);
}

/// Compile-time check of the position argument type.
template <class P>
constexpr bool positions_ok() noexcept {
  static_assert(std::is_integral<P>::value && !std::is_same<P, bool>::value,
                "posenc: positions are integers (int32_t or int64_t), one per token");
  return std::is_integral<P>::value && !std::is_same<P, bool>::value;
}

/// Positions passed as a container (anything with data() and size(): std::vector, std::array,
/// std::span); a pointer or a built-in array takes the pointer overloads.
template <class R, class = void>
struct is_position_container : std::false_type {};
template <class R>
struct is_position_container<R, std::void_t<decltype(std::data(std::declval<const R&>())),
                                            decltype(std::size(std::declval<const R&>()))>>
    : std::bool_constant<!std::is_pointer<R>::value && !std::is_array<R>::value> {};

/// The pointer to `tokens` positions of a container (C++20: any contiguous range of integers);
/// in C++17 a compile-time message says to pass its data().
template <class R>
auto container_positions(const R& r, std::size_t tokens) {
#if POSENC_HAS_RANGES
  static_assert(std::ranges::contiguous_range<const R>,
                "posenc: positions must be contiguous (std::vector, std::array or std::span of "
                "int32_t / int64_t)");
  using P = std::remove_cv_t<std::ranges::range_value_t<const R>>;
  static_assert(std::is_integral<P>::value && !std::is_same<P, bool>::value,
                "posenc: positions are integers (int32_t or int64_t), one per token");
  if constexpr (POSENC_CHECKED != 0) {
    if (std::ranges::size(r) < tokens) {
      const std::string why = "must be >= the view's tokens = " + std::to_string(tokens);
      invalid("posenc::rope::apply", "positions.size()", std::ranges::size(r), why.c_str());
    }
  }
  POSENC_ASSERT(std::ranges::size(r) >= tokens, "posenc::rope: fewer positions than tokens");
  return std::ranges::data(r);
#else
  static_assert(always_false<R>::value,
                "posenc: with C++17, pass positions as a pointer: positions.data() (a const "
                "int32_t* or const int64_t*, one per token); C++20 also takes the container");
  (void)r, (void)tokens;
  return static_cast<const std::int64_t*>(nullptr);
#endif
}

inline std::string field(const char* name, const char* member) {
  return std::string(name) + "." + member;
}

/// Release-build checks of one view: dim against the functor's head_dim, a null pointer, and
/// the extent of the elements it names (must fit in ptrdiff_t).
template <class T>
void check_view(const char* who, const char* name, const head_view<T>& v, std::size_t head_dim) {
  if (v.dim != head_dim) {
    const std::string why = "must equal the rope's head_dim = " + std::to_string(head_dim);
    invalid(who, field(name, "dim").c_str(), v.dim, why.c_str());
  }
  if (v.tokens == 0 || v.heads == 0) return;
  if (v.data == nullptr)
    invalid(who, field(name, "data").c_str(), "null", "with elements to rotate");
  constexpr auto pmax = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
  const auto mag = [](std::ptrdiff_t s) {
    return s < 0 ? std::size_t{0} - static_cast<std::size_t>(s) : static_cast<std::size_t>(s);
  };
  const std::size_t ts = mag(v.token_stride), hs = mag(v.head_stride);
  if (v.tokens - 1 > 0 && ts > (pmax - v.dim) / (v.tokens - 1))
    invalid(who, field(name, "token_stride").c_str(), v.token_stride,
            "times tokens - 1 overflows ptrdiff_t");
  const std::size_t span_t = (v.tokens - 1) * ts;
  if (v.heads - 1 > 0 && hs > (pmax - v.dim - span_t) / (v.heads - 1))
    invalid(who, field(name, "head_stride").c_str(), v.head_stride,
            "times heads - 1 overflows ptrdiff_t");
  if (v.heads > 1 && hs < v.dim)
    invalid(who, field(name, "head_stride").c_str(), v.head_stride,
            "is smaller than dim: the heads of a token overlap");
}

/// Positions of the tokens in range: present and >= 0.
template <class P>
void check_positions(const char* who, const P* pos, std::size_t tokens, token_range r) {
  const std::size_t last = std::min(r.last, tokens);
  if (r.first >= last) return;
  if (pos == nullptr) invalid(who, "positions", "null", "with tokens to rotate");
  if constexpr (std::is_signed<P>::value) {
    for (std::size_t t = r.first; t < last; ++t) {
      if (pos[t] < 0) {
        const std::string f = "positions[" + std::to_string(t) + "]";
        invalid(who, f.c_str(), static_cast<long long>(pos[t]), "must be >= 0");
      }
    }
  }
}

template <class A, class B>
void check_same_tokens(const char* who, const char* name, const head_view<A>& a,
                       const head_view<B>& b) {
  if (b.tokens != a.tokens) {
    const std::string why = "must equal the first view's tokens = " + std::to_string(a.tokens);
    invalid(who, field(name, "tokens").c_str(), b.tokens, why.c_str());
  }
}

/// Out of place: dst names the same tokens and heads as src, and either is src or does not
/// overlap it (byte ranges of the two views' first and last elements).
template <class S, class D>
void check_pair(const char* who, const char* src_name, const char* dst_name,
                const head_view<S>& src, const head_view<D>& dst) {
  check_same_tokens(who, dst_name, src, dst);
  if (dst.heads != src.heads) {
    const std::string why =
        std::string("must equal ") + src_name + ".heads = " + std::to_string(src.heads);
    invalid(who, field(dst_name, "heads").c_str(), dst.heads, why.c_str());
  }
  if (src.tokens == 0 || src.heads == 0) return;
  const auto bounds = [](const auto& v, std::uintptr_t& lo, std::uintptr_t& hi) {
    const auto elem = sizeof(*v.data);
    const std::ptrdiff_t t = static_cast<std::ptrdiff_t>(v.tokens - 1) * v.token_stride;
    const std::ptrdiff_t h = static_cast<std::ptrdiff_t>(v.heads - 1) * v.head_stride;
    const std::ptrdiff_t first = std::min<std::ptrdiff_t>(t, 0) + std::min<std::ptrdiff_t>(h, 0);
    const std::ptrdiff_t last = std::max<std::ptrdiff_t>(t, 0) + std::max<std::ptrdiff_t>(h, 0) +
                                static_cast<std::ptrdiff_t>(v.dim);
    const auto base = reinterpret_cast<std::uintptr_t>(v.data);
    lo = base + static_cast<std::uintptr_t>(first * static_cast<std::ptrdiff_t>(elem));
    hi = base + static_cast<std::uintptr_t>(last * static_cast<std::ptrdiff_t>(elem));
  };
  std::uintptr_t slo, shi, dlo, dhi;
  bounds(src, slo, shi);
  bounds(dst, dlo, dhi);
  const bool same = std::is_same<std::remove_const_t<S>, D>::value &&
                    static_cast<const void*>(src.data) == static_cast<const void*>(dst.data) &&
                    src.token_stride == dst.token_stride && src.head_stride == dst.head_stride;
  if (!same && slo < dhi && dlo < shi)
    invalid(who, field(dst_name, "data").c_str(), static_cast<const void*>(dst.data),
            "overlaps the source view without being it (apply_to allows dst == src, or no "
            "overlap)");
}

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ROPE_CHECK_HPP
