// posenc — building one attention bias from parts: no_bias, causal_mask (optionally
// sliding-window), scaled<B>, positioned<B> (a bias at other positions than the mask's, e.g.
// BiPE's segment indices) and sum_bias<Bs...>, evaluated in one pass over a row or tile.
// The protocol every part follows: posenc/bias_protocol.hpp.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_COMPOSE_HPP
#define POSENC_COMPOSE_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "posenc/bias_protocol.hpp"
#include "posenc/config.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/detail/fused_bias.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/simd/ops.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {

/// The bias that adds nothing ("no positional bias", NoPE / RoPE-only models).
struct no_bias : neutral_rows {
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t, std::int64_t, std::int64_t, T*, std::size_t) const noexcept {}
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T>, std::size_t, std::int64_t, std::int64_t) const noexcept {}
};

/**
 * Causal mask: −∞ for keys after the query (pos_k > pos_q), 0 otherwise. With window W > 0 it
 * is also −∞ for keys W or more positions back (pos_q − pos_k ≥ W: a sliding window of W keys
 * including the query itself, as Mistral's and Gemma-2's local attention use).
 * In FlashAttention's terms (key j visible iff i − left ≤ j ≤ i + right) this is
 * `window_size = (W − 1, 0)` with causal = true. A model config's `sliding_window` may count the
 * query or not (implementations have differed by one): check the model's own mask code.
 * Masked logits are set to −∞ (= adding −∞ to any finite logit).
 *
 * Example:
 *     posenc::causal_mask{}.add_to(tile, head, q0, k0);
 */
/// add_to_row(head, q_pos, k_first, logits, n) masks one row of keys at k_first, k_first + 1, …;
/// add_to(tile, head, q_first, k_first) a tile (row r: query q_first + r, column c: key
/// k_first + c).
struct causal_mask : detail::fused_row_entry<causal_mask>, detail::fused_tile_entry<causal_mask> {
  std::size_t window = 0;  ///< 0: unlimited

  causal_mask() = default;
  /// causal_mask{W}: a sliding window of W keys.
  explicit causal_mask(std::size_t w) noexcept : window(w) {}

  template <class C = float>
  C value(std::size_t, std::int64_t q_pos, std::int64_t k_pos) const noexcept {
    return visible(q_pos, k_pos) ? C(0) : -std::numeric_limits<C>::infinity();
  }

  static constexpr bool has_values = false;
  template <class C, class Keys = affine_keys>
  struct row_type {
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  /// Affine keys only (a range); over explicit positions the mask is evaluated by value().
  template <class C>
  row_type<C> row(std::size_t, std::int64_t q_pos, const affine_keys& keys,
                  std::size_t n) const noexcept {
    row_type<C> r;
    r.hi = detail::keys_up_to(q_pos, keys.first, n);
    r.lo = window == 0 ? 0 : detail::keys_up_to_back(q_pos, window, keys.first, n);
    if (r.lo > r.hi) r.lo = r.hi;
    return r;
  }

 private:
  bool visible(std::int64_t q, std::int64_t k) const noexcept {
    // k ≤ q, and q − k < W without overflow
    return k <= q && (window == 0 || static_cast<std::uint64_t>(q) - static_cast<std::uint64_t>(k) <
                                         static_cast<std::uint64_t>(window));
  }
};

/**
 * A bias multiplied by a constant factor > 0: value = C(factor) · inner value (masks stay −∞).
 * E.g. Falcon-style pre-scale addition of any bias: scaled{bias, 1/√head_dim}.
 */
template <class B>
class scaled : public detail::fused_row_entry<scaled<B>>,
               public detail::fused_tile_entry<scaled<B>> {
  using inner_t = detail::unwrap_bias_t<B>;
  template <class Keys>
  using term_t = detail::fused_term_t<inner_t, Keys>;

 public:
  /// Throws std::invalid_argument if factor is not finite and > 0.
  scaled(B bias, double factor) : bias_(std::move(bias)), factor_(factor) {
    detail::check_bias<inner_t>();
    if (!detail::is_finite_bits(factor_) || !(factor_ > 0.0))
      detail::invalid("posenc::scaled", "factor", factor_, "must be finite and > 0");
  }
  double factor() const noexcept { return factor_; }
  const inner_t& inner() const noexcept { return detail::get_bias(bias_); }

  template <class C = float>
  C value(std::size_t head, std::int64_t q, std::int64_t k) const noexcept {
    return static_cast<C>(factor_) * detail::bias_value<C>(inner(), head, q, k);
  }
  // add_to_row / add_to: detail::fused_row_entry / fused_tile_entry (the fused rows below).

  static constexpr bool has_values = term_t<affine_keys>::has_values;
  template <class C, class Keys>
  struct row_type {
    typename term_t<Keys>::template row_type<C, Keys> inner;
    C factor = C(1);
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C, class Keys,
            std::enable_if_t<detail::rows_consistent_v<inner_t, Keys>, int> = 0>
  row_type<C, Keys> row(std::size_t head, std::int64_t q, const Keys& keys,
                        std::size_t n) const noexcept {
    const auto& t = detail::fused_term<inner_t, Keys>::make(inner());  // no copy of the bias
    row_type<C, Keys> r{t.template row<C>(head, q, keys, n), static_cast<C>(factor_), 0, 0, true};
    detail::inherit_range(r);
    return r;
  }
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    return r.factor * term_t<Keys>::lane(r.inner, j);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return xsimd::batch<C, Arch>(r.factor) *
           term_t<Keys>::template lanes<Arch>(r.inner, j0, step, jv);
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
 *     posenc::sum_bias bias{std::cref(alibi), posenc::causal_mask{4096}, my_bias};
 *     bias.add_to(tile, head, q0, k0);
 */
template <class... Bs>
class sum_bias {
  static_assert(sizeof...(Bs) > 0, "posenc::sum_bias: at least one part");
  template <class B, class Keys = affine_keys>
  using term_t = detail::fused_term_t<detail::unwrap_bias_t<B>, Keys>;
  template <class Keys>
  static constexpr bool keys_ok = (detail::rows_consistent_v<detail::unwrap_bias_t<Bs>, Keys> &&
                                   ...);
  template <class Arch, class T, class C, class Keys>
  static constexpr bool single_value_row_loop() noexcept {
    if constexpr (value_parts() != 1) {
      return false;
    } else {
      using B = detail::unwrap_bias_t<std::tuple_element_t<first_value_part(), std::tuple<Bs...>>>;
      using R = typename term_t<B, Keys>::template row_type<C, Keys>;
      return has_fused_rows_v<B, Keys> && detail::has_add_row_values<B, Arch, T, R>::value;
    }
  }
  static constexpr std::size_t value_parts() noexcept {
    return (std::size_t{term_t<Bs>::has_values} + ...);
  }
  static constexpr std::size_t first_value_part() noexcept {
    constexpr bool hv[] = {term_t<Bs>::has_values...};
    for (std::size_t i = 0; i < sizeof...(Bs); ++i)
      if (hv[i]) return i;
    return 0;
  }

 public:
  explicit sum_bias(Bs... parts) : parts_(std::move(parts)...) {
    (detail::check_bias<detail::unwrap_bias_t<Bs>>(), ...);
  }

  /// Number of parts.
  static constexpr std::size_t size() noexcept { return sizeof...(Bs); }
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
      detail::fused_add_tile<Arch>(*this, block, head, q_first, k_first);
    }
  }

  static constexpr bool has_values = (term_t<Bs>::has_values || ...);
  template <class C, class Keys>
  struct row_type {
    std::tuple<typename term_t<Bs, Keys>::template row_type<C, Keys>...> parts;
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C, class Keys, std::enable_if_t<keys_ok<Keys>, int> = 0>
  row_type<C, Keys> row(std::size_t head, std::int64_t q, const Keys& keys,
                        std::size_t n) const noexcept {
    return row_impl<C>(head, q, keys, n, std::index_sequence_for<Bs...>{});
  }
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    return lane_impl<C>(r, j, std::index_sequence_for<Bs...>{});
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return lanes_impl<Arch, C>(r, j0, step, jv, std::index_sequence_for<Bs...>{});
  }
#endif
  /// With one value part that has its own row loop (alibi_bias), that loop does the visible
  /// range (the masks' range is already applied by the fused pass).
  template <class Arch, class T, class C, class Keys,
            std::enable_if_t<single_value_row_loop<Arch, T, C, Keys>(), int> = 0>
  void add_row_values(const row_type<C, Keys>& r, T* x, std::size_t lo,
                      std::size_t hi) const noexcept {
    constexpr std::size_t vi = first_value_part();
    detail::get_bias(std::get<vi>(parts_))
        .template add_row_values<Arch>(std::get<vi>(r.parts), x, lo, hi);
  }

 private:
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
        const auto& part = detail::fused_term<detail::unwrap_bias_t<B>, affine_keys>::make(
            detail::get_bias(std::get<k>(parts_)));
        const auto r = part.template row<C>(head, q, affine_keys{k_first}, n);
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

  template <class C, class Keys, std::size_t... I>
  row_type<C, Keys> row_impl(std::size_t head, std::int64_t q, const Keys& keys, std::size_t n,
                             std::index_sequence<I...>) const noexcept {
    row_type<C, Keys> r{std::make_tuple(detail::fused_term<detail::unwrap_bias_t<Bs>, Keys>::make(
                                            detail::get_bias(std::get<I>(parts_)))
                                            .template row<C>(head, q, keys, n)...),
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

  template <class C, class Keys, std::size_t... I>
  static C lane_impl(const row_type<C, Keys>& r, std::size_t j,
                     std::index_sequence<I...> seq) noexcept {
    return sum_values<C>(
        [&](auto idx) -> C {
          constexpr std::size_t k = decltype(idx)::value;
          using Tk = term_t<std::tuple_element_t<k, std::tuple<Bs...>>, Keys>;
          return Tk::lane(std::get<k>(r.parts), j);
        },
        seq);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys, std::size_t... I>
  static xsimd::batch<C, Arch> lanes_impl(const row_type<C, Keys>& r, std::size_t j0,
                                          std::size_t step, const xsimd::batch<C, Arch>& jv,
                                          std::index_sequence<I...> seq) noexcept {
    return sum_values<xsimd::batch<C, Arch>>(
        [&](auto idx) -> xsimd::batch<C, Arch> {
          constexpr std::size_t k = decltype(idx)::value;
          using Tk = term_t<std::tuple_element_t<k, std::tuple<Bs...>>, Keys>;
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
 * A bias evaluated at other positions than the ones the attention loop (and its masks) use:
 * value(head, q, k) = inner.value(head, q_map[q], k_map[k]). The maps are arrays indexed by the
 * loop's positions (0 .. size−1), e.g. BiPE's segment index of every token of a sequence or a
 * KV cache, so that sum_bias{positioned{alibi, seg}, causal_mask{}} applies ALiBi over segment
 * distance and the causal mask over token order. Rows go through the inner bias's rows at
 * explicit key positions (alibi_bias: a vector loop for int32 maps), or through its value().
 *
 * The maps are borrowed (pointer + size): they must outlive the calls and cover every position
 * passed (q < q_map.size, k_first + n ≤ k_map.size; asserted in debug builds). A growing KV
 * cache passes the current array each step; constructing a positioned is free.
 *
 * Example (BiPE-ALiBi over a KV cache; seg: the streaming segmenter's output, one per token):
 *     posenc::positioned bias{std::cref(alibi), posenc::position_map<std::int32_t>{seg.data(),
 *                                                                            seg.size()}};
 *     posenc::sum_bias{bias, posenc::causal_mask{}}.add_to_row(h, L, 0, scores, L + 1);
 */
template <class P>
struct position_map {
  static_assert(std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value,
                "posenc::position_map: positions are int32_t or int64_t");
  const P* data = nullptr;
  std::size_t size = 0;
  std::int64_t at(std::int64_t t) const noexcept {
    POSENC_ASSERT(t >= 0 && static_cast<std::uint64_t>(t) < size,
                  "posenc::position_map: position outside the map");
    return static_cast<std::int64_t>(data[t]);
  }
};

template <class B, class P>
class positioned : public detail::fused_row_entry<positioned<B, P>>,
                   public detail::masked_tile_entry<positioned<B, P>> {
  using inner_t = detail::unwrap_bias_t<B>;
  using keys_t = explicit_keys<P>;
  using term_t = detail::fused_term_t<inner_t, keys_t>;

 public:
  /// The same map for queries and keys (self-attention).
  positioned(B bias, position_map<P> map) : positioned(std::move(bias), map, map) {}
  positioned(B bias, position_map<P> q_map, position_map<P> k_map)
      : bias_(std::move(bias)), q_map_(q_map), k_map_(k_map) {
    detail::check_bias<inner_t>();
    if (q_map_.data == nullptr && q_map_.size != 0)
      detail::invalid("posenc::positioned", "q_map.size", q_map_.size, "with a null pointer");
    if (k_map_.data == nullptr && k_map_.size != 0)
      detail::invalid("posenc::positioned", "k_map.size", k_map_.size, "with a null pointer");
  }
  const inner_t& inner() const noexcept { return detail::get_bias(bias_); }
  const position_map<P>& q_map() const noexcept { return q_map_; }
  const position_map<P>& k_map() const noexcept { return k_map_; }

  template <class C = float>
  C value(std::size_t head, std::int64_t q, std::int64_t k) const noexcept {
    return detail::bias_value<C>(inner(), head, q_map_.at(q), k_map_.at(k));
  }
  // add_to_row: detail::fused_row_entry. add_to (tile): detail::masked_tile_entry, i.e.
  // add_to_masked with every column visible. Rows whose queries map to the same position have
  // the same bias row (BiPE: the queries of one segment), so for float/double tiles the row is
  // evaluated once (in chunks on the stack) and then added to each such row: one extra load per
  // logit instead of the inner bias's per-key work. Same values as the per-row fused pass.
  // A tile with no mask (every key visible to every row: BiPE's tiles below the diagonal) whose
  // inner bias has offset_lanes (alibi_bias) over int32 positions, at most 4 · 16 registers
  // wide: computed_tile, each query position's row computed in registers from the keys'
  // offsets. Otherwise, with a shift-invariant inner bias (bias protocol: alibi_bias's relative
  // form) over int32 positions that step by 0 or 1 from key to key (BiPE's segment indices), a
  // chunk at most window_regs registers wide (256 float keys on AVX-512) evaluates one bias row
  // for the whole tile and reads each query's row as a window of it (simd::window_gather).

  /// add_to with other biases' masks: visible(r) is the column range [lo, hi) of row r that they
  /// leave visible; the rest is set to −∞ (sum_bias{positioned, causal_mask} takes this path).
  template <class Arch = default_arch, class T, class Visible>
  void add_to_masked(logits_view<T> block, std::size_t head, std::int64_t q_first,
                     std::int64_t k_first, const Visible& visible) const noexcept {
    if constexpr (posenc::detail::is_16bit_storage<T>() || !has_values) {
      detail::fused_add_tile_masked<Arch>(*this, block, head, q_first, k_first, visible);
    } else {
      if constexpr (std::is_same<Visible, detail::visible_all>::value)
        if (computed_tile<Arch>(block, head, q_first, k_first)) return;
      for (std::size_t c0 = 0; c0 < block.cols; c0 += chunk)
        add_chunk<Arch>(block, head, q_first, k_first, c0, visible);
    }
  }

  // Fused rows over affine keys only (the loop's positions); the inner bias sees explicit ones.
  static constexpr bool has_values = term_t::has_values;
  template <class C, class Keys = affine_keys>
  struct row_type {
    typename term_t::template row_type<C, keys_t> inner;
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C>
  row_type<C> row(std::size_t head, std::int64_t q, const affine_keys& keys,
                  std::size_t n) const noexcept {
    POSENC_ASSERT(keys.first >= 0 && static_cast<std::uint64_t>(keys.first) + n <= k_map_.size,
                  "posenc::positioned: keys outside the map");
    const auto& t = detail::fused_term<inner_t, keys_t>::make(inner());
    row_type<C> r{t.template row<C>(head, q_map_.at(q), keys_t{k_map_.data + keys.first}, n), 0, 0,
                  true};
    detail::inherit_range(r);
    return r;
  }
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    return term_t::lane(r.inner, j);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return term_t::template lanes<Arch>(r.inner, j0, step, jv);
  }
#endif
  template <
      class Arch, class T, class C, class Keys,
      std::enable_if_t<detail::has_add_row_values<
                           term_t, Arch, T, typename term_t::template row_type<C, keys_t>>::value,
                       int> = 0>
  void add_row_values(const row_type<C, Keys>& r, T* x, std::size_t lo,
                      std::size_t hi) const noexcept {
    inner().template add_row_values<Arch>(r.inner, x, lo, hi);
  }

 private:
  // Slack after add_to_masked's row buffer: run_values stores whole registers from the start of
  // each run (the next run overwrites the excess).
  static constexpr std::size_t run_slack = 16;
  /// add_to_masked's key chunk, and the most runs key_runs records in one (runs of ≥ 8 keys on
  /// average).
  static constexpr std::size_t chunk = 2048, max_runs = chunk / 8 + 1;

  /// add_to_masked over columns [c0, c0 + chunk) of a float/double tile: the bias row of each
  /// distinct mapped query (run_values / row_values, or a window of the shifted path's one
  /// row), added to the consecutive rows of that query in one loop nest where the chunk is
  /// wholly visible in them (add_group), row by row with the −∞ fills otherwise (add_partial).
  template <class Arch, class T, class Visible>
  void add_chunk(logits_view<T> block, std::size_t head, std::int64_t q_first, std::int64_t k_first,
                 std::size_t c0, const Visible& visible) const noexcept {
    using C = coef_t<T>;
    chunk_state<C> st;
    st.nc = block.cols - c0 < chunk ? block.cols - c0 : chunk;
    st.kc = k_first + static_cast<std::int64_t>(c0);
    st.nruns = key_runs<Arch>(st.kc, st.nc, st.runs, st.run_pos, st.step1);
    const std::size_t nc = st.nc;
    const auto cols = [&](std::size_t r) {  // row r's visible columns, within the chunk
      const auto v = visible(r);
      const std::size_t h = v.second < block.cols ? v.second : block.cols;
      const std::size_t l = v.first < h ? v.first : h;
      const std::size_t lo = l > c0 ? (l - c0 < nc ? l - c0 : nc) : 0;
      const std::size_t hi = h > c0 ? (h - c0 < nc ? h - c0 : nc) : 0;
      return std::pair<std::size_t, std::size_t>{lo < hi ? lo : hi, hi};
    };
    const row_hint<T> hint{block, c0, nc};
    // a shift-invariant inner bias over runs of consecutive positions: one row for the tile
    st.shifted = st.nruns < nc && st.step1 && nc <= shifted_max<Arch, T>() &&
                 shift_row<Arch>(head, q_first, block.rows, st.run_pos[0], st.nruns, st.sh);
    std::int64_t cached = 0;
    for (std::size_t r = 0; r < block.rows;) {
      const std::int64_t q = q_first + static_cast<std::int64_t>(r);
      const std::int64_t qm = q_map_.at(q);
      if (r == 0 || qm != cached) {
        query_row<Arch>(st, head, q, qm);
        cached = qm;
      }
      const std::size_t r0 = r;
      r = group_end<Visible>(r, block.rows, q_first, qm, nc, cols, hint);
      if (r != r0) {
        add_group<Arch>(st, block.row(r0) + c0, block.row_stride, r - r0);
        continue;
      }
      const auto [lo, hi] = cols(r);  // row r is partly masked
      hint(r);
      add_partial<Arch>(st, block.row(r) + c0, lo, hi);
      ++r;
    }
  }

  /// The largest span (query positions' range + key runs) shift_row evaluates.
  static constexpr std::size_t shift_cap = 2 * max_runs;
  /// shift_row's row: g[i] = value(q_hi, p0 + i).
  template <class C>
  struct shift_table {
    alignas(64) C g[shift_cap + 2 * run_slack];
    std::int64_t q_hi = 0;
    std::size_t span = 0;  ///< g[0 … span) are values (the rest pads the windows)
  };
  /// add_chunk's state: the chunk's keys and their runs, the shifted path's one row, and the
  /// current query position's row (vals; under the shifted path only from vals_from on).
  template <class C>
  struct chunk_state {
    alignas(64) C vals[chunk + 2 * run_slack];
    std::uint16_t runs[max_runs];
    P run_pos[max_runs + run_slack];
    shift_table<C> sh;
    std::int64_t kc = 0;
    std::size_t nc = 0, nruns = 0;
    bool step1 = false, shifted = false;
    bool masked = false;        ///< the current row has a −∞
    std::size_t vals_from = 0;  ///< shifted: vals holds the current row from this key on
    std::int64_t off = 0;       ///< shifted: the current row's run j is sh.g[off + j]
  };

  /// A new query position qm (query q): its row into st (vals, or the shifted path's window,
  /// vals then filled only where a row needs it).
  template <class Arch, class C>
  void query_row(chunk_state<C>& st, std::size_t head, std::int64_t q,
                 std::int64_t qm) const noexcept {
    if (st.shifted) {
      st.off = st.sh.q_hi - qm;
      st.masked = detail::any_ninf<Arch>(st.sh.g + st.off, st.nruns);
      st.vals_from = st.nc;
    } else {
      st.masked = st.nruns < st.nc
                      ? run_values<Arch>(head, qm, st.nc, st.runs, st.run_pos, st.nruns, st.vals)
                      : row_values<Arch>(head, q, st.kc, st.nc, st.vals);
    }
  }
  /// The end of the group of rows from r that map to qm and see every key of the chunk (for
  /// write: each row's hint).
  template <class Visible, class Cols, class Hint>
  std::size_t group_end(std::size_t r, std::size_t rows, std::int64_t q_first, std::int64_t qm,
                        std::size_t nc, const Cols& cols, const Hint& hint) const noexcept {
    if constexpr (std::is_same<Visible, detail::visible_all>::value) {
      // every row wholly visible: the group is the rows of query position qm
      const P* qp = q_map_.data + q_first;
      for (; r < rows && qp[r] == qm; ++r) hint(r);
    } else {
      for (; r < rows; ++r) {
        const auto lh = cols(r);
        if (q_map_.at(q_first + static_cast<std::int64_t>(r)) != qm || lh.first != 0 ||
            lh.second != nc)
          break;
        hint(r);
      }
    }
    return r;
  }
  /// The current row added to `rows` wholly visible rows x, x + ld, ….
  template <class Arch, class T>
  void add_group(chunk_state<T>& st, T* x, std::ptrdiff_t ld, std::size_t rows) const noexcept {
    if (st.shifted) {
      const std::size_t from = shifted_from<Arch, T>(st.nc);
      if (st.vals_from > from) {
        shifted_values<Arch>(st.sh, st.off, st.kc, from, st.vals_from, st.run_pos[0], st.vals);
        st.vals_from = from;
      }
      shifted_rows<Arch>(st.masked, x, ld, rows, st.sh, st.off, st.kc, st.run_pos[0], st.vals,
                         st.nc);
    } else if (st.masked) {
      detail::add_values_or_mask_rows<true, Arch>(x, ld, rows, st.vals, st.nc);
    } else {
      detail::add_values_or_mask_rows<false, Arch>(x, ld, rows, st.vals, st.nc);
    }
  }
  /// The current row added to one row x whose visible keys are [lo, hi), −∞ around them.
  template <class Arch, class T>
  void add_partial(chunk_state<T>& st, T* x, std::size_t lo, std::size_t hi) const noexcept {
    constexpr T ninf = -std::numeric_limits<T>::infinity();
    if (st.vals_from != 0) {
      shifted_values<Arch>(st.sh, st.off, st.kc, 0, st.vals_from, st.run_pos[0], st.vals);
      st.vals_from = 0;
    }
    if (lo != 0) kernels::fill(Arch{}, x, lo, ninf);
    if (st.masked) {
      detail::add_values_or_mask<true, Arch>(x + lo, st.vals + lo, hi - lo);
    } else {
      detail::add_values_or_mask<false, Arch>(x + lo, st.vals + lo, hi - lo);
    }
    if (hi != st.nc) kernels::fill(Arch{}, x + hi, st.nc - hi, ninf);
  }

  /// Fills sh where the inner bias is shift-invariant (bias protocol), the keys come in runs of
  /// consecutive positions p0, p0 + 1, … (key_runs' step1) and Arch has a window permute for
  /// C: g over span = (range of the tile rows' mapped positions) + nruns values, evaluated once
  /// by the inner bias's fused row at the largest mapped query position q_hi (the value of
  /// query qm at run j is g[q_hi − qm + j] by shift invariance). One evaluation per tile instead
  /// of one per query position. false when a condition fails or the span exceeds shift_cap.
  template <class Arch, class C>
  bool shift_row([[maybe_unused]] std::size_t head, [[maybe_unused]] std::int64_t q_first,
                 [[maybe_unused]] std::size_t rows, [[maybe_unused]] P p0,
                 [[maybe_unused]] std::size_t nruns,
                 [[maybe_unused]] shift_table<C>& sh) const noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (std::is_same<P, std::int32_t>::value && simd::window_lanes<Arch, C>() != 0) {
      if (rows == 0 || !detail::shift_invariant(inner())) return false;
      POSENC_ASSERT(q_first >= 0 && static_cast<std::uint64_t>(q_first) + rows <= q_map_.size,
                    "posenc::positioned: queries outside the map");
      const auto [lo, hi] = range_of<Arch>(q_map_.data + q_first, rows);
      const std::uint64_t span =
          static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo) + nruns;
      if (span > shift_cap) return false;
      const std::size_t npad = (span + run_slack - 1) / run_slack * run_slack;
      kernels::fill(Arch{}, sh.g, npad, -C(0));
      detail::fused_add_row<Arch>(detail::fused_term<inner_t, affine_keys>::make(inner()), head, hi,
                                  affine_keys{p0}, sh.g, npad);
      kernels::fill(Arch{}, sh.g + npad, run_slack, C(0));  // lanes a window reads, never picks
      sh.q_hi = hi;
      sh.span = static_cast<std::size_t>(span);
      return true;
    }
#endif
    return false;
  }

#if POSENC_HAS_XSIMD
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// g++ 12 warns inside the AVX-512F integer min / max and vcvtdq2ps intrinsics (their
// _mm512_undefined pass-through operand, which the unmasked forms never read); a false
// positive of the intrinsic headers, not of this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  /// The smallest and largest of p[0 … n) (n ≥ 1; int32 positions), lane-parallel: two
  /// registers of each per step, then across the lanes.
  template <class Arch>
  static std::pair<P, P> range_of(const P* p, std::size_t n) noexcept {
    P lo = p[0], hi = p[0];
    std::size_t r = 0;
    using I = xsimd::batch<P, Arch>;
    constexpr std::size_t N = I::size;
    if (n >= 2 * N) {
      I lo0 = I::load_unaligned(p), hi0 = lo0, lo1 = I::load_unaligned(p + N), hi1 = lo1;
      for (r = 2 * N; r + 2 * N <= n; r += 2 * N) {
        const I v0 = I::load_unaligned(p + r), v1 = I::load_unaligned(p + r + N);
        lo0 = xsimd::min(lo0, v0);
        hi0 = xsimd::max(hi0, v0);
        lo1 = xsimd::min(lo1, v1);
        hi1 = xsimd::max(hi1, v1);
      }
      alignas(64) P l[N], h[N];
      xsimd::min(lo0, lo1).store_aligned(l);
      xsimd::max(hi0, hi1).store_aligned(h);
      for (std::size_t j = 0; j < N; ++j) {
        lo = l[j] < lo ? l[j] : lo;
        hi = h[j] > hi ? h[j] : hi;
      }
    }
    for (; r < n; ++r) {
      lo = p[r] < lo ? p[r] : lo;
      hi = p[r] > hi ? p[r] : hi;
    }
    return {lo, hi};
  }
  /// jv[c] = k[c] − base in T for c < n (each in [0, 2^31)), 0 for c in [n, n + L).
  template <class Arch, class T>
  static void offsets(const P* k, P base, std::size_t n, T* jv) noexcept {
    constexpr std::size_t L = xsimd::batch<T, Arch>::size;
    std::size_t c = 0;
    if constexpr (std::is_same<T, float>::value && std::is_same<P, std::int32_t>::value) {
      using I = xsimd::batch<std::int32_t, Arch>;
      const I b(base);
      for (; c + L <= n; c += L)
        xsimd::batch_cast<float>(I::load_unaligned(k + c) - b).store_aligned(jv + c);
    }
    for (; c < n; ++c) jv[c] = static_cast<T>(k[c] - base);
    xsimd::batch<T, Arch>(T(0)).store_unaligned(jv + n);
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

  /// A float/double tile with no mask, L … 4 · computed_regs · L keys wide, over int32
  /// positions, whose inner bias has offset_lanes (bias protocol; alibi_bias, so BiPE-ALiBi's
  /// tiles): each query position's row is computed in registers from the keys' offsets to
  /// the smallest mapped key (detail::add_computed_tile; per register one load, one add, one
  /// store, and the row's arithmetic only where the query position changes). false, with
  /// nothing done, unless the rows at the smallest and largest mapped query positions are
  /// exact and see every key (then every row between does).
  template <class Arch, class T>
  bool computed_tile([[maybe_unused]] logits_view<T> block, [[maybe_unused]] std::size_t head,
                     [[maybe_unused]] std::int64_t q_first,
                     [[maybe_unused]] std::int64_t k_first) const noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (std::is_same<P, std::int32_t>::value &&
                  detail::has_offset_lanes<inner_t>::value &&
                  !std::is_same<Arch, scalar_arch>::value) {
      using V = xsimd::batch<T, Arch>;
      constexpr std::size_t L = V::size, nmax = 4 * detail::computed_regs * L;
      const std::size_t n = block.cols;
      if (block.rows == 0 || n < L || n > nmax) return false;
      POSENC_ASSERT(q_first >= 0 && static_cast<std::uint64_t>(q_first) + block.rows <= q_map_.size,
                    "posenc::positioned: queries outside the map");
      POSENC_ASSERT(k_first >= 0 && static_cast<std::uint64_t>(k_first) + n <= k_map_.size,
                    "posenc::positioned: keys outside the map");
      const P* qp = q_map_.data + q_first;
      const P* k = k_map_.data + k_first;
      const auto qr = range_of<Arch>(qp, block.rows);
      const auto kr = range_of<Arch>(k, n);
      const auto nk = static_cast<std::size_t>(static_cast<std::int64_t>(kr.second) - kr.first) + 1;
      const affine_keys keys{kr.first};
      const inner_t& a = inner();
      const auto row = [&](P qm) { return a.template row<T>(head, qm, keys, nk); };
      const auto whole = [&](P qm) {
        const auto rw = row(qm);
        return rw.exact && rw.lo == 0 && rw.hi == nk;
      };
      if (!whole(qr.first) || !whole(qr.second)) return false;
      alignas(64) T jv[nmax + L];  // the keys' offsets (exact: nk is, by the rows' exactness)
      offsets<Arch>(k, kr.first, n, jv);
      detail::add_computed_tile<Arch>(
          block.row(0), block.row_stride, block.rows, qp, jv, n, row,
          [](const auto& rw, const V& j) { return inner_t::template lanes<Arch>(rw, 0, 1, j); },
          row_hint<T>{block, 0, n});
      return true;
    }
#endif
    return false;
  }

  /// Keys from, from + 1, … nc − 1 (from a multiple of the register width) of the row of
  /// the query at q_hi − off into vals: g[off + k[c] − p0], one window gather per register.
  template <class Arch, class C>
  void shifted_values([[maybe_unused]] const shift_table<C>& sh, [[maybe_unused]] std::int64_t off,
                      [[maybe_unused]] std::int64_t kc, [[maybe_unused]] std::size_t from,
                      [[maybe_unused]] std::size_t nc, [[maybe_unused]] P p0,
                      [[maybe_unused]] C* vals) const noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (std::is_same<P, std::int32_t>::value && simd::window_lanes<Arch, C>() != 0) {
      constexpr std::size_t L = simd::window_lanes<Arch, C>();
      const P* k = k_map_.data + kc;
      // k[c] − base indexes g; base ≥ −shift_cap (p0 ≥ 0, off < shift_cap)
      const P base = static_cast<P>(p0 - off);
      std::size_t c = from;
      for (; c + L <= nc; c += L)
        detail::window_row_reg<Arch>(sh.g, k, base, c).store_unaligned(vals + c);
      for (; c < nc; ++c) vals[c] = sh.g[k[c] - base];
    }
#endif
  }

  /// add_values_or_mask_rows with shifted_values' row, its first registers held in registers
  /// instead of stored (detail::add_window_rows); vals must hold the row from key
  /// shifted_from() on.
  template <class Arch, class T>
  void shifted_rows([[maybe_unused]] bool masked, [[maybe_unused]] T* x,
                    [[maybe_unused]] std::ptrdiff_t ld, [[maybe_unused]] std::size_t rows,
                    [[maybe_unused]] const shift_table<T>& sh, [[maybe_unused]] std::int64_t off,
                    [[maybe_unused]] std::int64_t kc, [[maybe_unused]] P p0,
                    [[maybe_unused]] const T* vals,
                    [[maybe_unused]] std::size_t nc) const noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (std::is_same<P, std::int32_t>::value && detail::window_regs<Arch, T>() != 0) {
      const P* k = k_map_.data + kc;
      const P base = static_cast<P>(p0 - off);
      if (masked) {
        detail::add_window_rows<true, Arch>(x, ld, rows, sh.g, k, base, vals, nc);
      } else {
        detail::add_window_rows<false, Arch>(x, ld, rows, sh.g, k, base, vals, nc);
      }
    }
#endif
  }
  /// The widest chunk the shifted path takes: a row that fits in detail::window_regs
  /// registers. Wider rows would be stored and reloaded per query position anyway, and then
  /// the window permutes (one per register) cost as much as run_values' broadcasts (measured
  /// on a Zen 5 at 512 keys: equal within noise), so they keep run_values.
  template <class Arch, class T>
  static constexpr std::size_t shifted_max() noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (detail::window_regs<Arch, T>() != 0)
      return detail::window_regs<Arch, T>() * simd::window_lanes<Arch, T>() +
             simd::window_lanes<Arch, T>() - 1;
#endif
    return 0;
  }
  /// The first key of a row of nc ≤ shifted_max keys that shifted_rows reads from vals (the
  /// keys after its whole registers).
  template <class Arch, class T>
  static std::size_t shifted_from([[maybe_unused]] std::size_t nc) noexcept {
#if POSENC_HAS_XSIMD
    if constexpr (detail::window_regs<Arch, T>() != 0)
      return nc - nc % simd::window_lanes<Arch, T>();
#endif
    return 0;
  }

  /// The row ~4 KiB ahead, for write (as ALiBi's tile loop): tile rows are short stretches of
  /// long rows, which the hardware prefetcher does not follow. Only where prefetch_enabled()
  /// (posenc/tuning.hpp: not on AMD Zen 3/4/5).
  template <class T>
  struct row_hint {
    logits_view<T> block;
    std::size_t c0, nc;
    std::size_t ahead = (4096 + nc * sizeof(T) - 1) / (nc * sizeof(T));
    bool on = prefetch_enabled();
    void operator()([[maybe_unused]] std::size_t r) const noexcept {
#if POSENC_HAS_XSIMD
      if (on && r + ahead < block.rows) {
        const T* p = block.row(r + ahead) + c0;
        for (std::size_t j = 0; j < nc; j += 128 / sizeof(T))
          kernels::detail::prefetch_for_write(p + j);
      }
#endif
    }
  };

  /// The bias row of query q over keys kc .. kc + nc − 1 into vals (−∞ where masked), through
  /// the fused row; whether any key is masked. −0 + v = v for every v, so the buffer holds the
  /// values exactly.
  template <class Arch, class C>
  bool row_values(std::size_t head, std::int64_t q, std::int64_t kc, std::size_t nc,
                  C* vals) const noexcept {
    kernels::fill(Arch{}, vals, nc, -C(0));
    detail::fused_add_row<Arch>(*this, head, q, affine_keys{kc}, vals, nc);
    return detail::any_ninf<Arch>(vals, nc);
  }

  /// Keys kc .. kc + nc − 1 in runs of equal mapped position (BiPE: the tokens of a segment):
  /// the start of each run into start[] and its mapped position into pos[] (padded to a
  /// multiple of run_slack with the last position), and their count;
  /// nc (no runs recorded) as soon as the runs average fewer than 8 keys, where the fused row is
  /// cheaper (so at most max_runs runs are recorded). step1: each run's position is one more
  /// than the previous run's (BiPE's segment indices), so a key's run is its position − pos[0].
  template <class Arch>
  std::size_t key_runs(std::int64_t kc, std::size_t nc, std::uint16_t* start, P* pos,
                       bool& step1) const noexcept {
    POSENC_ASSERT(kc >= 0 && static_cast<std::uint64_t>(kc) + nc <= k_map_.size,
                  "posenc::positioned: keys outside the map");
    const P* k = k_map_.data + kc;
    start[0] = 0;
    pos[0] = k[0];
    std::size_t n = 1;
    // n = run count so far; a new run starts at c when k[c] != k[c − 1]
    const auto add = [&](std::size_t c) {
      if (8 * n >= nc) return false;
      start[n] = static_cast<std::uint16_t>(c);
      pos[n++] = k[c];
      return true;
    };
    const std::size_t c = detail::find_changes<Arch>(k, nc, add);
    if (c == 0) return nc;
    for (std::size_t j = c; j < nc; ++j)
      if (k[j] != k[j - 1] && !add(j)) return nc;
    for (std::size_t j = n; j % run_slack != 0; ++j) pos[j] = pos[n - 1];  // for run_values
    step1 = true;
    for (std::size_t j = 1; j < n; ++j)
      step1 &= static_cast<std::int64_t>(pos[j]) - static_cast<std::int64_t>(pos[j - 1]) == 1;
    return n;
  }

  /// row_values when the keys come in runs: the value depends on the mapped key position only,
  /// so the inner bias's fused row is evaluated once over the runs' positions (explicit keys:
  /// the same term and arithmetic as row_values' per-key row) and each value is broadcast over
  /// its run. qm: the query's mapped position. vals needs 2·run_slack elements after nc.
  template <class Arch, class C>
  bool run_values(std::size_t head, std::int64_t qm, std::size_t nc, const std::uint16_t* start,
                  const P* pos, std::size_t nruns, C* vals) const noexcept {
    alignas(64) C rv[max_runs + run_slack];
    // whole registers (pos is padded with copies of its last position): no scalar tail
    const std::size_t npad = (nruns + run_slack - 1) / run_slack * run_slack;
    kernels::fill(Arch{}, rv, npad, -C(0));
    detail::fused_add_row<Arch>(detail::fused_term<inner_t, keys_t>::make(inner()), head, qm,
                                keys_t{pos}, rv, npad);
    const bool masked = detail::any_ninf<Arch>(rv, npad);  // the padding repeats the last
    for (std::size_t j = 0; j < nruns; ++j) {
      const std::size_t a = start[j], b = j + 1 < nruns ? start[j + 1] : nc;
      const C v = rv[j];
#if POSENC_HAS_XSIMD
      if constexpr (!std::is_same<Arch, scalar_arch>::value) {
        using V = xsimd::batch<C, Arch>;
        static_assert(V::size <= run_slack, "posenc: run_slack below the register width");
        // two registers unconditionally (vals has 2·run_slack of slack; the next run overwrites
        // the excess): no branch for runs of up to 2·N keys, whose lengths are data
        const V vb(v);
        vb.store_unaligned(vals + a);
        vb.store_unaligned(vals + a + V::size);
        for (std::size_t c = a + 2 * V::size; c < b; c += V::size) vb.store_unaligned(vals + c);
        continue;
      }
#endif
      for (std::size_t c = a; c < b; ++c) vals[c] = v;
    }
    return masked;
  }

  B bias_;
  position_map<P> q_map_, k_map_;
};

template <class B, class P>
positioned(B, position_map<P>) -> positioned<B, P>;
template <class B, class P>
positioned(B, position_map<P>, position_map<P>) -> positioned<B, P>;

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
  detail::check_bias<U>();
  if constexpr (detail::has_add_to<Arch, U, T>::value) {
    b.template add_to<Arch>(block, head, q_first, k_first);
  } else {
    detail::fused_add_tile<Arch>(detail::fused_term<U, affine_keys>::make(b), block, head, q_first,
                                 k_first);
  }
}

}  // namespace posenc

#endif  // POSENC_COMPOSE_HPP
