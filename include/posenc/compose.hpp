// posenc — building one attention bias from parts: no_bias, causal_mask (optionally
// sliding-window), scaled<B>, sum_bias<Bs...> evaluated in one pass over a row or tile, and
// identity_rotation for "no rotary" models.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_COMPOSE_HPP
#define POSENC_COMPOSE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "posenc/config.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {

/**
 * The attention-bias protocol. A bias is any type with
 *
 *     C value(std::size_t head, std::int64_t q_pos, std::int64_t k_pos) const;  // −∞ = masked
 *
 * (a template on C, like alibi_bias::value<C>, or returning double). That alone is enough for
 * sum_bias, add_bias and reference_attention (the value is then evaluated per element). A bias
 * that also implements the *fused* protocol is evaluated lane-parallel inside sum_bias's single
 * pass (alibi_bias, causal_mask, no_bias, scaled, sum_bias do):
 *
 *     static constexpr bool has_values;       // false: a pure mask (adds only −∞ or nothing)
 *     template <class C> struct row_type;      // per-row state with members
 *                                              //   std::size_t lo, hi;  visible keys [lo, hi)
 *                                              //   bool exact;          lanes() may be used
 *     template <class C> row_type<C> row(head, q_pos, k_first, n) const;
 *     template <class C> static C lane(const row_type<C>&, std::size_t j);    // key j ∈ [lo, hi)
 *     template <class Arch, class C> static xsimd::batch<C, Arch>
 *         lanes(const row_type<C>&, std::size_t j0, std::size_t step, const batch<C, Arch>& jv);
 *                                              // keys j0, j0+step, …; jv = those j in C
 * with lanes() giving exactly lane()'s values. Keys outside [lo, hi) are masked (−∞).
 * Positions are absolute token positions (≥ 0): a KV-cache offset is part of them.
 */

/// The bias that adds nothing ("no positional bias", NoPE / RoPE-only models).
struct no_bias {
  template <class C = float>
  C value(std::size_t, std::int64_t, std::int64_t) const noexcept {
    return C(0);
  }
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t, std::int64_t, std::int64_t, T*, std::size_t) const noexcept {}
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T>, std::size_t, std::int64_t, std::int64_t) const noexcept {}

  static constexpr bool has_values = false;
  template <class C>
  struct row_type {
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t, std::int64_t, std::int64_t, std::size_t n) const noexcept {
    return row_type<C>{0, n, true};
  }
  template <class C>
  static C lane(const row_type<C>&, std::size_t) noexcept {
    return C(0);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C>
  static xsimd::batch<C, Arch> lanes(const row_type<C>&, std::size_t, std::size_t,
                                     const xsimd::batch<C, Arch>&) noexcept {
    return xsimd::batch<C, Arch>(C(0));
  }
#endif
};

/**
 * Causal mask: −∞ for keys after the query (pos_k > pos_q), 0 otherwise. With window W > 0 it
 * is also −∞ for keys W or more positions back (pos_q − pos_k ≥ W: a sliding window of W keys
 * including the query itself, as Mistral's and Gemma-2's local attention use).
 * Masked logits are set to −∞ (= adding −∞ to any finite logit).
 *
 * Example:
 *     posenc::causal_mask{}.add_to(tile, head, q0, k0);
 */
struct causal_mask {
  std::size_t window = 0;  ///< 0: unlimited

  template <class C = float>
  C value(std::size_t, std::int64_t q_pos, std::int64_t k_pos) const noexcept {
    return visible(q_pos, k_pos) ? C(0) : -std::numeric_limits<C>::infinity();
  }
  /// Masks the future (and out-of-window) keys of one row of keys at k_first, k_first + 1, ….
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t head, std::int64_t q_pos, std::int64_t k_first, T* logits,
                  std::size_t n_keys) const noexcept {
    using C = coef_t<T>;
    const row_type<C> r = row<C>(head, q_pos, k_first, n_keys);
    kernels::fill(Arch{}, logits, r.lo, -std::numeric_limits<C>::infinity());
    kernels::fill(Arch{}, logits + r.hi, n_keys - r.hi, -std::numeric_limits<C>::infinity());
  }
  /// Tile form: row r is the query at q_first + r, column c the key at k_first + c.
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) const noexcept {
    for (std::size_t r = 0; r < block.rows; ++r)
      add_to_row<Arch>(head, q_first + static_cast<std::int64_t>(r), k_first, block.row(r),
                       block.cols);
  }

  static constexpr bool has_values = false;
  template <class C>
  struct row_type {
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t, std::int64_t q_pos, std::int64_t k_first,
                  std::size_t n) const noexcept {
    row_type<C> r;
    r.hi = clamp_index(q_pos - k_first + 1, n);
    r.lo =
        window == 0 ? 0 : clamp_index(q_pos - static_cast<std::int64_t>(window) + 1 - k_first, n);
    if (r.lo > r.hi) r.lo = r.hi;
    return r;
  }
  template <class C>
  static C lane(const row_type<C>&, std::size_t) noexcept {
    return C(0);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C>
  static xsimd::batch<C, Arch> lanes(const row_type<C>&, std::size_t, std::size_t,
                                     const xsimd::batch<C, Arch>&) noexcept {
    return xsimd::batch<C, Arch>(C(0));
  }
#endif

 private:
  bool visible(std::int64_t q, std::int64_t k) const noexcept {
    return k <= q && (window == 0 || q - k < static_cast<std::int64_t>(window));
  }
  static std::size_t clamp_index(std::int64_t v, std::size_t n) noexcept {
    if (v <= 0) return 0;
    return static_cast<std::uint64_t>(v) < n ? static_cast<std::size_t>(v) : n;
  }
};

namespace detail {
// ---- unwrapping std::reference_wrapper (sum_bias{std::cref(alibi), ...} shares a functor) ----
template <class B>
struct unwrap_bias {
  using type = B;
  static const B& get(const B& b) noexcept { return b; }
};
template <class B>
struct unwrap_bias<std::reference_wrapper<B>> {
  using type = std::remove_const_t<B>;
  static const type& get(const std::reference_wrapper<B>& b) noexcept { return b.get(); }
};
template <class B>
using unwrap_bias_t = typename unwrap_bias<B>::type;
template <class B>
const unwrap_bias_t<B>& get_bias(const B& b) noexcept {
  return unwrap_bias<B>::get(b);
}

// ---- does B implement the fused protocol, or only value()? ----
template <class B, class = void>
struct has_fused_protocol : std::false_type {};
template <class B>
struct has_fused_protocol<B, std::void_t<decltype(B::has_values)>> : std::true_type {};

template <class B, class C, class = void>
struct has_template_value : std::false_type {};
template <class B, class C>
struct has_template_value<B, C,
                          std::void_t<decltype(std::declval<const B&>().template value<C>(
                              std::size_t{}, std::int64_t{}, std::int64_t{}))>> : std::true_type {};

/// value(head, q, k) of any bias, in C.
template <class C, class B>
C bias_value(const B& b, std::size_t head, std::int64_t q, std::int64_t k) noexcept {
  if constexpr (has_template_value<B, C>::value) {
    return b.template value<C>(head, q, k);
  } else {
    return static_cast<C>(b.value(head, q, k));
  }
}

/// Adapter giving a value()-only bias the fused protocol: its values are evaluated one key at a
/// time inside the single pass (correct for any user bias; vectorised only around it).
template <class B>
struct value_term {
  const B* bias = nullptr;

  static constexpr bool has_values = true;
  template <class C>
  struct row_type {
    const B* bias = nullptr;
    std::size_t head = 0;
    std::int64_t q = 0, k_first = 0;
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t head, std::int64_t q, std::int64_t k_first,
                  std::size_t n) const noexcept {
    return row_type<C>{bias, head, q, k_first, 0, n, true};
  }
  template <class C>
  static C lane(const row_type<C>& r, std::size_t j) noexcept {
    return bias_value<C>(*r.bias, r.head, r.q, r.k_first + static_cast<std::int64_t>(j));
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C>
  static xsimd::batch<C, Arch> lanes(const row_type<C>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>&) noexcept {
    using Bt = xsimd::batch<C, Arch>;
    alignas(64) C tmp[Bt::size];
    for (std::size_t l = 0; l < Bt::size; ++l) tmp[l] = lane(r, j0 + l * step);
    return Bt::load_aligned(tmp);
  }
#endif
};

/// The fused-protocol view of a part: itself, or a value_term around it.
template <class B>
struct fused_term {
  using type = std::conditional_t<has_fused_protocol<B>::value, const B&, value_term<B>>;
  static type make(const B& b) noexcept {
    if constexpr (has_fused_protocol<B>::value) {
      return b;
    } else {
      return value_term<B>{&b};
    }
  }
};
template <class B>
using fused_term_t = std::remove_cv_t<std::remove_reference_t<typename fused_term<B>::type>>;

/// A visibility callback for add_to_masked: every column visible.
struct visible_all {
  std::size_t cols = 0;
  std::pair<std::size_t, std::size_t> operator()(std::size_t) const noexcept { return {0, cols}; }
};
/// Does U offer add_to_masked (a tile path that also applies other biases' masks)?
template <class U, class T, class = void>
struct has_add_to_masked : std::false_type {};
template <class U, class T>
struct has_add_to_masked<
    U, T,
    std::void_t<decltype(std::declval<const U&>().template add_to_masked<scalar_arch>(
        std::declval<logits_view<T>>(), std::size_t{}, std::int64_t{}, std::int64_t{},
        std::declval<const visible_all&>()))>> : std::true_type {};

/// Scalar reference of the fused pass over keys [j0, j0 + n) of a row whose visible range was
/// already resolved: x[i] = T(C(x[i]) + lane(row, j0 + i)).
template <class B, class R, class T, class Arch = scalar_arch>
void fused_values_ref(const R& r, T* x, std::size_t j0, std::size_t n) noexcept {
  using C = coef_t<T>;
  for (std::size_t i = 0; i < n; ++i)
    kernels::detail::store_elem<C>(x[i], kernels::detail::load_elem<C>(x[i]) + B::lane(r, j0 + i));
}

/**
 * The fused pass over one row of n keys at k_first: every key outside the bias's visible range
 * is set to −∞, every visible one gets T(C(x) + lane(j)). B is a fused-protocol type.
 */
template <class Arch, class B, class T>
void fused_add_row(const B& b, std::size_t head, std::int64_t q, std::int64_t k_first, T* x,
                   std::size_t n) noexcept {
  using C = coef_t<T>;
  const auto r = b.template row<C>(head, q, k_first, n);
  const std::size_t hi = r.hi < n ? r.hi : n;
  const std::size_t lo = r.lo < hi ? r.lo : hi;
  kernels::fill(Arch{}, x, lo, -std::numeric_limits<C>::infinity());
  kernels::fill(Arch{}, x + hi, n - hi, -std::numeric_limits<C>::infinity());
  if constexpr (B::has_values) {
    std::size_t j = lo;
#if POSENC_HAS_XSIMD
    if constexpr (!std::is_same<Arch, scalar_arch>::value) {
      if (r.exact) {
        if constexpr (!posenc::detail::is_16bit_storage<T>()) {
          using V = xsimd::batch<C, Arch>;
          constexpr std::size_t N = V::size;
          const V io = kernels::detail::iota<C, Arch>();
          for (; j + N <= hi; j += N) {
            const V jv = V(static_cast<C>(j)) + io;
            (V::load_unaligned(x + j) + B::template lanes<Arch>(r, j, 1, jv))
                .store_unaligned(x + j);
          }
        } else {
          using F = xsimd::batch<float, Arch>;
          using U = xsimd::batch<std::uint32_t, Arch>;
          using H = xsimd::batch<std::uint16_t, Arch>;
          constexpr std::size_t N = F::size;
          const F io2 = kernels::detail::iota<float, Arch>(2.0f);
          std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
          for (; j + 2 * N <= hi; j += 2 * N) {
            const F je = F(static_cast<float>(j)) + io2;
            F a, c;
            kernels::detail::unpack16<T, Arch>(xsimd::bitwise_cast<U>(H::load_unaligned(x16 + j)),
                                               a, c);
            a = a + B::template lanes<Arch>(r, j, 2, je);
            c = c + B::template lanes<Arch>(r, j + 1, 2, je + F(1.0f));
            xsimd::bitwise_cast<H>(kernels::detail::pack16<T, Arch>(a, c)).store_unaligned(x16 + j);
          }
        }
      }
    }
#endif
    fused_values_ref<B, decltype(r), T, Arch>(r, x + j, j, hi - j);
  }
}
}  // namespace detail

/**
 * A bias multiplied by a constant factor > 0: value = C(factor) · inner value (masks stay −∞).
 * E.g. Falcon-style pre-scale addition of any bias: scaled{bias, 1/√head_dim}.
 */
template <class B>
class scaled {
  using inner_t = detail::unwrap_bias_t<B>;
  using term_t = detail::fused_term_t<inner_t>;

 public:
  /// Throws std::invalid_argument if factor is not finite and > 0.
  scaled(B bias, double factor) : bias_(std::move(bias)), factor_(factor) {
    if (!std::isfinite(factor_) || !(factor_ > 0.0))
      detail::invalid("posenc::scaled", "factor", factor_, "must be finite and > 0");
  }
  double factor() const noexcept { return factor_; }
  const inner_t& inner() const noexcept { return detail::get_bias(bias_); }

  template <class C = float>
  C value(std::size_t head, std::int64_t q, std::int64_t k) const noexcept {
    return static_cast<C>(factor_) * detail::bias_value<C>(inner(), head, q, k);
  }
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t head, std::int64_t q_pos, std::int64_t k_first, T* logits,
                  std::size_t n_keys) const noexcept {
    detail::fused_add_row<Arch>(*this, head, q_pos, k_first, logits, n_keys);
  }
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) const noexcept {
    for (std::size_t r = 0; r < block.rows; ++r)
      add_to_row<Arch>(head, q_first + static_cast<std::int64_t>(r), k_first, block.row(r),
                       block.cols);
  }

  static constexpr bool has_values = term_t::has_values;
  template <class C>
  struct row_type {
    typename term_t::template row_type<C> inner;
    C factor = C(1);
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t head, std::int64_t q, std::int64_t k_first,
                  std::size_t n) const noexcept {
    const auto& t = detail::fused_term<inner_t>::make(inner());  // no copy of the inner bias
    row_type<C> r{t.template row<C>(head, q, k_first, n), static_cast<C>(factor_), 0, 0, true};
    r.lo = r.inner.lo;
    r.hi = r.inner.hi;
    r.exact = r.inner.exact;
    return r;
  }
  template <class C>
  static C lane(const row_type<C>& r, std::size_t j) noexcept {
    return r.factor * term_t::lane(r.inner, j);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C>
  static xsimd::batch<C, Arch> lanes(const row_type<C>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return xsimd::batch<C, Arch>(r.factor) * term_t::template lanes<Arch>(r.inner, j0, step, jv);
  }
#endif

 private:
  B bias_;
  double factor_;
};

template <class B>
scaled(B, double) -> scaled<B>;

/**
 * The sum of several biases, applied in one pass over a row or a tile: each logit is read and
 * written once, with every part evaluated in registers.
 *
 * Semantics: logit = T(C(logit) + (v_1 + v_2 + …)) over the parts that add values, summed
 * left to right in C (a single part adds exactly its own value, so sum_bias{alibi} gives the
 * same bits as alibi itself), and −∞ where any part masks. Parts are stored by value; pass
 * std::cref(b) to share a functor (e.g. one whose slopes change with set_slopes).
 * A part may be any bias of the protocol above, including a user type with only value().
 *
 * Example:
 *     posenc::sum_bias bias{std::cref(alibi), posenc::causal_mask{.window = 4096}, my_bias};
 *     bias.add_to(tile, head, q0, k0);
 */
template <class... Bs>
class sum_bias {
  static_assert(sizeof...(Bs) > 0, "posenc::sum_bias: at least one part");
  template <class B>
  using term_t = detail::fused_term_t<detail::unwrap_bias_t<B>>;

 public:
  explicit sum_bias(Bs... parts) : parts_(std::move(parts)...) {}

  /// Part i (unwrapped).
  template <std::size_t I>
  const auto& part() const noexcept {
    return detail::get_bias(std::get<I>(parts_));
  }

  /// The scalar definition: Σ values in C, left to right (−∞ if any part masks).
  template <class C = float>
  C value(std::size_t head, std::int64_t q, std::int64_t k) const noexcept {
    return value_impl<C>(head, q, k, std::index_sequence_for<Bs...>{});
  }

  /// One pass over a row of n_keys keys at k_first, k_first + 1, ….
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t head, std::int64_t q_pos, std::int64_t k_first, T* logits,
                  std::size_t n_keys) const noexcept {
    static_assert(!std::is_const<T>::value, "posenc::sum_bias: logits are written");
    add_to<Arch>(make_logits_view(logits, 1, n_keys), head, q_pos, k_first);
  }
  /**
   * One pass over a tile: row r is the query at q_first + r, column c the key at k_first + c.
   * When exactly one part adds values and it has a masked tile path (alibi_bias::add_to_masked),
   * the other parts' masks are handed to it and the tile goes through that path (ALiBi's
   * add_ramp_2d loop nest); otherwise every part is evaluated lane-parallel per row.
   */
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) const noexcept {
    static_assert(!std::is_const<T>::value, "posenc::sum_bias: logits are written");
    constexpr std::size_t vi = first_value_part();
    if constexpr (value_parts() == 1 && single_value_tile_path<vi, T>()) {
      using C = coef_t<T>;
      detail::get_bias(std::get<vi>(parts_))
          .template add_to_masked<Arch>(block, head, q_first, k_first, [&](std::size_t r) {
            return masks_visible<C>(head, q_first + static_cast<std::int64_t>(r), k_first,
                                    block.cols, std::index_sequence_for<Bs...>{});
          });
    } else {
      for (std::size_t r = 0; r < block.rows; ++r)
        detail::fused_add_row<Arch>(*this, head, q_first + static_cast<std::int64_t>(r), k_first,
                                    block.row(r), block.cols);
    }
  }

  static constexpr bool has_values = (term_t<Bs>::has_values || ...);
  template <class C>
  struct row_type {
    std::tuple<typename term_t<Bs>::template row_type<C>...> parts;
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t head, std::int64_t q, std::int64_t k_first,
                  std::size_t n) const noexcept {
    return row_impl<C>(head, q, k_first, n, std::index_sequence_for<Bs...>{});
  }
  template <class C>
  static C lane(const row_type<C>& r, std::size_t j) noexcept {
    return lane_impl<C>(r, j, std::index_sequence_for<Bs...>{});
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C>
  static xsimd::batch<C, Arch> lanes(const row_type<C>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return lanes_impl<Arch, C>(r, j0, step, jv, std::index_sequence_for<Bs...>{});
  }
#endif

 private:
  static constexpr std::size_t value_parts() noexcept {
    return (std::size_t{term_t<Bs>::has_values} + ...);
  }
  static constexpr std::size_t first_value_part() noexcept {
    constexpr bool hv[] = {term_t<Bs>::has_values...};
    for (std::size_t i = 0; i < sizeof...(Bs); ++i)
      if (hv[i]) return i;
    return 0;
  }
  template <std::size_t I, class T>
  static constexpr bool single_value_tile_path() noexcept {
    using U = detail::unwrap_bias_t<std::tuple_element_t<I, std::tuple<Bs...>>>;
    return detail::has_add_to_masked<U, T>::value;
  }
  /// [lo, hi) left visible by the mask parts for one row.
  template <class C, std::size_t... I>
  std::pair<std::size_t, std::size_t> masks_visible(std::size_t head, std::int64_t q,
                                                    std::int64_t k_first, std::size_t n,
                                                    std::index_sequence<I...>) const noexcept {
    std::size_t lo = 0, hi = n;
    const auto merge = [&](auto idx) {
      constexpr std::size_t k = decltype(idx)::value;
      using B = std::tuple_element_t<k, std::tuple<Bs...>>;
      if constexpr (!term_t<B>::has_values) {
        const auto& part = detail::fused_term<detail::unwrap_bias_t<B>>::make(
            detail::get_bias(std::get<k>(parts_)));
        const auto r = part.template row<C>(head, q, k_first, n);
        lo = r.lo > lo ? r.lo : lo;
        hi = r.hi < hi ? r.hi : hi;
      }
    };
    (merge(std::integral_constant<std::size_t, I>{}), ...);
    return {lo, hi};
  }

  template <class C, std::size_t... I>
  C value_impl(std::size_t head, std::int64_t q, std::int64_t k,
               std::index_sequence<I...> seq) const noexcept {
    bool masked = false;
    const auto check = [&](const auto& b) {
      if (detail::bias_value<C>(b, head, q, k) == -std::numeric_limits<C>::infinity())
        masked = true;
    };
    (check(detail::get_bias(std::get<I>(parts_))), ...);
    if (masked) return -std::numeric_limits<C>::infinity();
    if constexpr (!has_values) {
      (void)seq;
      return C(0);
    } else {
      // The same sum as the fused pass: the value parts only, left to right.
      return sum_values<C>(
          [&](auto idx) -> C {
            return detail::bias_value<C>(detail::get_bias(std::get<decltype(idx)::value>(parts_)),
                                         head, q, k);
          },
          seq);
    }
  }

  template <class C, std::size_t... I>
  row_type<C> row_impl(std::size_t head, std::int64_t q, std::int64_t k_first, std::size_t n,
                       std::index_sequence<I...>) const noexcept {
    row_type<C> r{std::make_tuple(detail::fused_term<detail::unwrap_bias_t<Bs>>::make(
                                      detail::get_bias(std::get<I>(parts_)))
                                      .template row<C>(head, q, k_first, n)...),
                  0, n, true};
    const auto merge = [&](std::size_t lo, std::size_t hi, bool exact) {
      r.lo = lo > r.lo ? lo : r.lo;
      r.hi = hi < r.hi ? hi : r.hi;
      r.exact = r.exact && exact;
    };
    (merge(std::get<I>(r.parts).lo, std::get<I>(r.parts).hi, std::get<I>(r.parts).exact), ...);
    return r;
  }

  // Σ of the value parts, left to right, without adding a leading zero.
  template <class V, class F, std::size_t... I>
  static V sum_values(const F& f, std::index_sequence<I...>) noexcept {
    bool any = false;
    V sum{};
    const auto add = [&](auto has, auto idx) {
      if constexpr (decltype(has)::value) {
        const V v = f(idx);
        sum = any ? V(sum + v) : v;
        any = true;
      }
    };
    (add(std::integral_constant<bool, term_t<Bs>::has_values>{},
         std::integral_constant<std::size_t, I>{}),
     ...);
    return sum;
  }

  template <class C, std::size_t... I>
  static C lane_impl(const row_type<C>& r, std::size_t j, std::index_sequence<I...> seq) noexcept {
    return sum_values<C>(
        [&](auto idx) -> C {
          constexpr std::size_t k = decltype(idx)::value;
          using Tk = term_t<std::tuple_element_t<k, std::tuple<Bs...>>>;
          return Tk::lane(std::get<k>(r.parts), j);
        },
        seq);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, std::size_t... I>
  static xsimd::batch<C, Arch> lanes_impl(const row_type<C>& r, std::size_t j0, std::size_t step,
                                          const xsimd::batch<C, Arch>& jv,
                                          std::index_sequence<I...> seq) noexcept {
    return sum_values<xsimd::batch<C, Arch>>(
        [&](auto idx) -> xsimd::batch<C, Arch> {
          constexpr std::size_t k = decltype(idx)::value;
          using Tk = term_t<std::tuple_element_t<k, std::tuple<Bs...>>>;
          return Tk::template lanes<Arch>(std::get<k>(r.parts), j0, step, jv);
        },
        seq);
  }
#endif

  std::tuple<Bs...> parts_;
};

template <class... Bs>
sum_bias(Bs...) -> sum_bias<Bs...>;

namespace detail {
template <class Arch, class U, class T, class = void>
struct has_add_to : std::false_type {};
template <class Arch, class U, class T>
struct has_add_to<
    Arch, U, T,
    std::void_t<decltype(std::declval<const U&>().template add_to<Arch>(
        std::declval<logits_view<T>>(), std::size_t{}, std::int64_t{}, std::int64_t{}))>>
    : std::true_type {};
}  // namespace detail

/**
 * Adds any bias to a [rows × cols] tile (row r = query q_first + r, column c = key
 * k_first + c): the bias's own add_to when it has one, otherwise the fused one-pass evaluation
 * of its value(). This is what reference_attention calls per tile.
 */
template <class Arch = default_arch, class B, class T>
void add_bias(const B& bias, logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) noexcept {
  const auto& b = detail::get_bias(bias);
  using U = std::remove_cv_t<std::remove_reference_t<decltype(b)>>;
  if constexpr (detail::has_add_to<Arch, U, T>::value) {
    b.template add_to<Arch>(block, head, q_first, k_first);
  } else {
    const auto& t = detail::fused_term<U>::make(b);
    for (std::size_t r = 0; r < block.rows; ++r)
      detail::fused_add_row<Arch>(t, head, q_first + static_cast<std::int64_t>(r), k_first,
                                  block.row(r), block.cols);
  }
}

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

}  // namespace posenc

#endif  // POSENC_COMPOSE_HPP
