// posenc — the attention-bias protocol: what a type must provide to be added to attention logits
// by sum_bias, add_bias and reference_attention; the key-position maps a row is evaluated over;
// traits that check a type against the protocol.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_BIAS_PROTOCOL_HPP
#define POSENC_BIAS_PROTOCOL_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "posenc/config.hpp"

namespace posenc {

/**
 * Positions of the n keys of a row, as a bias sees them.
 * - affine_keys{first}:   key j is at position first + j (a tile column, a KV-cache row);
 * - explicit_keys<P>{pos}: key j is at pos[j] (int32 or int64, any order: KV cells after a
 *   sequence shift, BiPE segment indices, a paged cache's gathered positions).
 */
struct affine_keys {
  std::int64_t first = 0;
  std::int64_t at(std::size_t j) const noexcept { return first + static_cast<std::int64_t>(j); }
};
template <class P>
struct explicit_keys {
  static_assert(std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value,
                "posenc::explicit_keys: positions are int32_t or int64_t");
  const P* pos = nullptr;
  std::int64_t at(std::size_t j) const noexcept { return static_cast<std::int64_t>(pos[j]); }
};

/**
 * The attention-bias protocol (version 2).
 *
 * A *bias* is any type with
 *
 *     C value(std::size_t head, std::int64_t q_pos, std::int64_t k_pos) const;   // −∞ = masked
 *
 * (a template on C = float or double, like alibi_bias::value<C>, or returning double). That
 * alone is enough for sum_bias, add_bias and reference_attention: the value is then evaluated
 * per element inside their single pass. Positions are absolute (≥ 0): a KV-cache offset is part
 * of them.
 *
 * A bias evaluated lane-parallel inside that pass implements the *fused rows* protocol too
 * (no_bias, causal_mask, alibi_bias, scaled, sum_bias, positioned do):
 *
 *     static constexpr bool has_values;   // false: a pure mask (adds −∞ or nothing)
 *     template <class C, class Keys> struct row_type;   // per-row state with members
 *                                         //   std::size_t lo, hi;  keys [lo, hi) visible
 *                                         //   bool exact;          lanes() may be used
 *     template <class C, class Keys>
 *     row_type<C, Keys> row(std::size_t head, std::int64_t q_pos, const Keys& keys,
 *                           std::size_t n) const;
 *
 * for Keys = affine_keys (required) and, optionally, explicit_keys<P> (a part that does not
 * accept explicit keys is evaluated through value() where they are needed). Keys outside
 * [lo, hi) are masked. A part with has_values also provides
 *
 *     template <class C, class Keys> static C lane(const row_type<C, Keys>&, std::size_t j);
 *     template <class Arch, class C, class Keys> static xsimd::batch<C, Arch>
 *         lanes(const row_type<C, Keys>&, std::size_t j0, std::size_t step,
 *               const xsimd::batch<C, Arch>& jv);   // keys j0, j0 + step, …; jv = those j in C
 *
 * (lanes() gives exactly lane()'s values; a lane may be −∞ for a key masked inside [lo, hi),
 * e.g. a causal bias over explicit positions), and may provide its own vector loop for the
 * visible range, used when it is the only part of a row:
 *
 *     template <class Arch, class T, class C, class Keys>
 *     void add_row_values(const row_type<C, Keys>&, T* x, std::size_t lo, std::size_t hi) const;
 *                                         // x[j] = T(C(x[j]) + lane(j)) for j in [lo, hi)
 *
 * A bias may also declare that it is *shift-invariant* (optional; absent means no):
 *
 *     bool shift_invariant() const;       // value(h, q + t, k + t) == value(h, q, k), bit for
 *                                         // bit, for every shift t (a function of k − q, its
 *                                         // mask included): alibi_bias's relative form
 *
 * positioned then evaluates one row per tile and reads every query's row as a window of it
 * (BiPE-ALiBi: one evaluation per tile instead of one per query segment).
 *
 * And that its affine rows take any offsets (optional; absent means no):
 *
 *     static constexpr bool offset_lanes = true;
 *         // lanes(row(h, q, affine_keys{f}, n), 0, 1, jv) is value(h, q, f + jv[i]) in every
 *         // lane i, for any integers jv[i] in [0, n) (not only 0, 1, …), wherever the row is
 *         // exact with [lo, hi) = [0, n); and when that holds at two query positions it holds
 *         // at every query position between them (alibi_bias)
 *
 * positioned then computes each query position's row of a tile over mapped keys directly in
 * registers from the keys' offsets (BiPE-ALiBi's tiles: no table, no gather).
 *
 * A *contextual* bias (one whose values depend on the content of q and k, e.g. CoPE) reads a
 * row of scaled logits before the position biases are added (CoPE's gates are σ(q·k/√d));
 * it takes part in the position pass as a neutral part (has_values = false, all keys visible)
 * and is applied by its own stage (posenc/contextual.hpp).
 */

namespace detail {
template <class B, class = void>
struct has_double_value : std::false_type {};
template <class B>
struct has_double_value<B, std::void_t<decltype(std::declval<const B&>().value(
                               std::size_t{}, std::int64_t{}, std::int64_t{}))>> : std::true_type {
};
template <class B, class C, class = void>
struct has_template_value : std::false_type {};
template <class B, class C>
struct has_template_value<B, C,
                          std::void_t<decltype(std::declval<const B&>().template value<C>(
                              std::size_t{}, std::int64_t{}, std::int64_t{}))>> : std::true_type {};

template <class B, class Keys, class = void>
struct has_rows_for : std::false_type {};
template <class B, class Keys>
struct has_rows_for<
    B, Keys,
    std::void_t<decltype(B::has_values),
                decltype(std::declval<const B&>().template row<float>(
                    std::size_t{}, std::int64_t{}, std::declval<const Keys&>(), std::size_t{}))>>
    : std::true_type {};

template <class B, class = void>
struct has_shift_invariant : std::false_type {};
template <class B>
struct has_shift_invariant<B,
                           std::void_t<decltype(bool(std::declval<const B&>().shift_invariant()))>>
    : std::true_type {};
template <class B, class = void>
struct has_offset_lanes : std::false_type {};
template <class B>
struct has_offset_lanes<B, std::void_t<decltype(B::offset_lanes)>>
    : std::integral_constant<bool, B::offset_lanes> {};

/// b.shift_invariant() where B declares it, false otherwise.
template <class B>
bool shift_invariant(const B& b) noexcept {
  if constexpr (has_shift_invariant<B>::value) {
    return b.shift_invariant();
  } else {
    (void)b;
    return false;
  }
}
}  // namespace detail

/// B implements the fused rows protocol for keys of type Keys.
template <class B, class Keys = affine_keys>
inline constexpr bool has_fused_rows_v = detail::has_rows_for<B, Keys>::value;

/// B is an attention bias: it has value(head, q_pos, k_pos), or fused rows over affine keys.
template <class B>
inline constexpr bool is_attention_bias_v =
    detail::has_double_value<B>::value || detail::has_template_value<B, float>::value ||
    has_fused_rows_v<B, affine_keys>;

/**
 * The neutral part of the fused rows protocol: every key visible, nothing added, value() 0.
 * no_bias derives from it, and so does a contextual bias (cope_bias), whose own term is
 * applied through the contextual protocol while the position pass sees it as neutral.
 */
struct neutral_rows {
  template <class C = float>
  C value(std::size_t, std::int64_t, std::int64_t) const noexcept {
    return C(0);
  }
  static constexpr bool has_values = false;
  template <class C, class Keys = affine_keys>
  struct row_type {
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C, class Keys>
  row_type<C, Keys> row(std::size_t, std::int64_t, const Keys&, std::size_t n) const noexcept {
    return row_type<C, Keys>{0, n, true};
  }
};

}  // namespace posenc

#endif  // POSENC_BIAS_PROTOCOL_HPP
