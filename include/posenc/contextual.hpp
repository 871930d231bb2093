// posenc — the contextual-bias protocol: biases that read the attention logits and the query
// (CoPE, posenc/cope.hpp) beside the position-only biases of compose.hpp, and the pieces an
// attention loop needs to apply them (streaming newest to oldest, or split-KV).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_CONTEXTUAL_HPP
#define POSENC_CONTEXTUAL_HPP

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "posenc/bias_protocol.hpp"
#include "posenc/compose.hpp"
#include "posenc/types.hpp"

namespace posenc {

/**
 * Per-query state of a contextual bias inside an attention loop. The caller fills head,
 * kv_head, q, scale and scratch (contextual_scratch() elements of C it owns), calls
 * begin_query once, then add_contextual for the query's key blocks, newest first; `carry` is
 * the running state carried between the blocks (for CoPE: the gate sum of the newer keys).
 */
template <class C, class Q = C>
struct contextual_query {
  std::size_t head = 0;     ///< query head
  std::size_t kv_head = 0;  ///< its key/value head (GQA: head / (q_heads / kv_heads))
  const Q* q = nullptr;     ///< the query vector the logits were computed from (rotated, if any)
  C scale = C(1);           ///< the attention's logit scale (logit = scale · q·k)
  C* scratch = nullptr;     ///< contextual_scratch() elements owned by the caller
  C carry = C(0);           ///< state carried from newer key blocks; 0 before the newest
};

/**
 * The contextual-bias protocol. Unlike the position biases of compose.hpp, whose value
 * depends on (head, q_pos, k_pos) only, a contextual bias reads a query's row of *scaled
 * attention logits before any other bias is added* and the query vector, and adds to that row.
 * A type B is contextual when it has
 *
 *     std::size_t contextual_scratch() const;          // C elements of per-query scratch
 *     void check_contextual(std::size_t head_dim, std::size_t q_heads, std::size_t kv_heads,
 *                           std::size_t keys) const;   // throws std::invalid_argument
 *     template <class Arch, class C, class Q>
 *     void begin_query(contextual_query<C, Q>& cq, std::size_t max_keys) const;
 *     template <class Arch, class C, class Q>
 *     void add_contextual(contextual_query<C, Q>& cq, C* logits, std::size_t key0,
 *                         std::size_t lo, std::size_t hi) const;
 *     template <class Arch, class C, class Q>
 *     C gate_sum(const contextual_query<C, Q>& cq, const C* logits, std::size_t key0,
 *                std::size_t lo, std::size_t hi) const;
 *
 * Calling order an attention loop must follow, per (head, query):
 *  1. begin_query(cq, max_keys) once (max_keys bounds the keys the query can see);
 *  2. per key block, *newest block first*: compute the scaled logits of the block
 *     (logits[c] = scale·q·k of key key0 + c), set the masked ones to −∞ (or pass the visible
 *     columns [lo, hi)), call add_contextual(cq, logits, key0, lo, hi) — it adds the
 *     contextual term to logits[lo, hi) and advances cq.carry — and only then add the position
 *     biases (add_bias: a contextual part of a sum_bias is neutral there) and run the online
 *     softmax, which is order-independent.
 * The newest-to-oldest order is what lets one pass suffice: CoPE's position of key j sums the
 * gates of the keys from j to the query, i.e. of the newer keys, which the carry holds.
 * Split-KV (flash-decoding): a first pass of gate_sum per block, contextual_carry_in for each
 * block's carry (the sum over the newer blocks), then the blocks in any order or in parallel.
 *
 * A contextual bias also implements the fused rows protocol (posenc/bias_protocol.hpp) as a
 * neutral mask-only part (has_values = false, every key visible), so it can be a part of
 * sum_bias{...} beside ALiBi and masks, whose position pass then ignores it;
 * reference_attention finds it with contextual_part() (through sum_bias::part<I>()).
 */
template <class B, class = void>
struct is_contextual_bias : std::false_type {};
template <class B>
struct is_contextual_bias<B, std::void_t<decltype(std::declval<const B&>().contextual_scratch())>>
    : std::true_type {};
template <class B>
inline constexpr bool is_contextual_bias_v =
    is_contextual_bias<std::remove_cv_t<std::remove_reference_t<B>>>::value;

namespace detail {
template <class B>
struct contextual_parts {  // B alone (or a std::reference_wrapper of it)
  using U = unwrap_bias_t<B>;
  static constexpr std::size_t count = is_contextual_bias_v<U> ? 1 : 0;
  static const auto& get(const B& b) noexcept { return get_bias(b); }
};
template <class... Bs>
constexpr std::size_t first_contextual_index() noexcept {
  constexpr bool flags[] = {is_contextual_bias_v<unwrap_bias_t<Bs>>...};
  for (std::size_t i = 0; i < sizeof...(Bs); ++i)
    if (flags[i]) return i;
  return 0;
}
template <class... Bs>
struct contextual_parts<sum_bias<Bs...>> {
  static constexpr std::size_t count = (std::size_t{is_contextual_bias_v<unwrap_bias_t<Bs>>} + ...);
  static constexpr std::size_t index = first_contextual_index<Bs...>();
  // Uses sum_bias's public part<I>() accessor.
  static const auto& get(const sum_bias<Bs...>& b) noexcept { return b.template part<index>(); }
};
}  // namespace detail

/// Number of contextual parts of a bias: 1 for a contextual bias, the count of contextual
/// parts for a sum_bias, 0 otherwise.
template <class B>
inline constexpr std::size_t contextual_part_count_v = detail::contextual_parts<B>::count;

/// B is contextual or a sum_bias with a contextual part.
template <class B>
inline constexpr bool has_contextual_part_v = contextual_part_count_v<B> != 0;

/// The contextual part of a bias (the bias itself, or the sum_bias part). At most one per bias.
template <class B>
const auto& contextual_part(const B& bias) noexcept {
  static_assert(contextual_part_count_v<B> == 1,
                "posenc::contextual_part: the bias needs exactly one contextual part");
  return detail::contextual_parts<B>::get(bias);
}

/**
 * Split-KV: from per-block gate sums (block 0 oldest, block n−1 newest), each block's carry,
 * the exclusive sum over the newer blocks: carry_in[b] = Σ_{b' > b} sums[b'].
 */
template <class C>
void contextual_carry_in(const C* sums, std::size_t n, C* carry_in) noexcept {
  C s = C(0);
  for (std::size_t b = n; b-- > 0;) {
    carry_in[b] = s;
    s += sums[b];
  }
}

namespace detail {
/// Columns [lo, hi) of a row of n keys at k_first that a bias leaves visible (its fused
/// protocol's range; every column for a bias without it).
template <class C, class Bias>
std::pair<std::size_t, std::size_t> bias_visible(const Bias& bias, std::size_t head,
                                                 std::int64_t q_pos, std::int64_t k_first,
                                                 std::size_t n) noexcept {
  const auto& b = get_bias(bias);
  using U = std::remove_cv_t<std::remove_reference_t<decltype(b)>>;
  if constexpr (has_fused_rows_v<U, affine_keys>) {
    const auto r = b.template row<C>(head, q_pos, affine_keys{k_first}, n);
    const std::size_t hi = r.hi < n ? r.hi : n;
    return {r.lo < hi ? r.lo : hi, hi};
  } else {
    return {0, n};
  }
}
}  // namespace detail

}  // namespace posenc

#endif  // POSENC_CONTEXTUAL_HPP
