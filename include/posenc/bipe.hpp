// posenc — BiPE, bilevel positional encoding: the segmenter (token ids, lengths, boundaries,
// packed batches, streaming for KV-cache decode), the intra-segment absolute encoding (learned
// table or sinusoidal), BiPE-RoPE (RoPE over segment indices) and BiPE-ALiBi (ALiBi over
// segment distance, causal mask over tokens), built from posenc's RoPE, ALiBi and compose.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_BIPE_HPP
#define POSENC_BIPE_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "posenc/alibi.hpp"
#include "posenc/compose.hpp"
#include "posenc/config.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/rotation.hpp"
#include "posenc/storage.hpp"
#include "posenc/view.hpp"

namespace posenc {

/**
 * BiPE (He et al., "Two Stones Hit One Bird: Bilevel Positional Encoding for Better Length
 * Extrapolation", ICML 2024; code: github.com/zhenyuhe00/BiPE, LlamaModel.get_bilevel_ids)
 * gives token t two positions:
 *
 *     seg(t)   = number of delimiters strictly before t        (segment index, from 0)
 *     intra(t) = t − (index of the first token of t's segment) (offset inside it, from 0)
 *
 * A delimiter belongs to the segment it ends (it takes the segment's last intra position); the
 * token after it starts a new segment at intra 0. Equivalently, token by token:
 *
 *     seg(t) = seg(t−1) + d(t−1),   intra(t) = d(t−1) ? 0 : intra(t−1) + 1,   d = is delimiter
 *
 * Example (delimiters {869, 13}, the released code's: Llama-2's '▁.' and newline):
 *     ids   1 450 4996 869 13 306 763 29889 869 869 13 22172 3186 13 13 3869
 *     intra 0   1    2   3  0   0   1     2   3   0  0     0    1  2  0    0
 *     seg   0   0    0   0  1   2   2     2   2   3  4     5    5  5  6    7
 *
 * The written intra position is min(intra, intra_clamp) (the released code clamps at 1023 =
 * train_scale − 1 and never clamps the segment index); by default there is no clamp.
 */
class bipe_segmenter {
 public:
  static constexpr std::int64_t no_clamp = std::numeric_limits<std::int64_t>::max();
  /// Largest delimiter id (exclusive): the membership test is a bitmap of this many bits at
  /// most (8 MiB); vocabularies are far smaller.
  static constexpr std::int64_t max_delimiter_id = std::int64_t{1} << 26;

  /// The position the next token gets, before the clamp: a decode step or a prefill chunk
  /// continues from it and gives what one pass over the whole sequence gives. Copyable, 16 bytes.
  struct state {
    std::int64_t segment = 0;
    std::int64_t intra = 0;
  };

  /// The delimiter ids (≥ 1, each in [0, max_delimiter_id)) and the clamp (≥ 1, or no_clamp).
  struct config {
    std::vector<std::int64_t> delimiters;
    std::int64_t intra_clamp = no_clamp;
  };

  /// E.g. bipe_segmenter(bipe_segmenter::config{{869, 13}, 1023}) for the released code. Throws
  /// std::invalid_argument naming the field.
  explicit bipe_segmenter(const config& cfg) : clamp_(cfg.intra_clamp) {
    init(cfg.delimiters.data(), cfg.delimiters.size());
  }
  bipe_segmenter(const std::int64_t* delimiters, std::size_t count,
                 std::int64_t intra_clamp = no_clamp)
      : clamp_(intra_clamp) {
    init(delimiters, count);
  }

  std::int64_t intra_clamp() const noexcept { return clamp_; }
  bool is_delimiter(std::int64_t id) const noexcept {
    const std::uint64_t u = static_cast<std::uint64_t>(id);
    return u < nbits_ && ((bits_[u >> 6] >> (u & 63)) & 1u) != 0;
  }

  /**
   * Segments ids[0..n) continuing `st` (a fresh state for a sequence start) and advances it:
   * seg[t], intra[t] for t < n (Id, P: int32 or int64). Throws std::invalid_argument if a
   * position would not fit P; otherwise allocates nothing and writes only seg[0..n), intra[0..n).
   * With ids and positions of one type and at most 8 delimiter ids, whole registers are done
   * lane-parallel (Arch: 4 or 8 compares per register); the rest by segment_ref's loop.
   */
  template <class Arch = default_arch, class Id, class P>
  void segment(const Id* ids, std::size_t n, P* seg, P* intra, state& st) const {
    static_assert(std::is_integral<Id>::value, "posenc::bipe_segmenter: token ids are integers");
    check_output<P>(st, n);
    std::int64_t s = st.segment, start = -st.intra;
    std::size_t t = 0;
#if POSENC_HAS_XSIMD
    if constexpr (!std::is_same<Arch, scalar_arch>::value && std::is_same<Id, P>::value) {
      using B = xsimd::batch<P, Arch>;
      // K compares per register (K = 4 or 8; unused slots repeat the first delimiter)
      const auto with = [&](auto k) {
        constexpr std::size_t K = decltype(k)::value;
        B dv[K];
        for (std::size_t j = 0; j < K; ++j) dv[j] = B(static_cast<P>(small_[j]));
        return scan_simd<Arch>(ids, n, seg, intra, s, start, [&dv](const B& x) {
          auto m = x == dv[0];
          for (std::size_t j = 1; j < K; ++j) m = m | (x == dv[j]);
          return m;
        });
      };
      if (nsmall_ != 0)
        t = nsmall_ <= 4 ? with(std::integral_constant<std::size_t, 4>{})
                         : with(std::integral_constant<std::size_t, 8>{});
    }
#endif
    scan<Arch>(ids, t, n, seg, intra, s, start);
    st.segment = s;
    st.intra = static_cast<std::int64_t>(n) - start;
  }
  /// The scalar reference of segment (same results, one token at a time).
  template <class Id, class P>
  void segment_ref(const Id* ids, std::size_t n, P* seg, P* intra, state& st) const {
    segment<scalar_arch>(ids, n, seg, intra, st);
  }
  /// One pass over a whole sequence; returns the state after it.
  template <class Id, class P>
  state segment(const Id* ids, std::size_t n, P* seg, P* intra) const {
    state st;
    segment(ids, n, seg, intra, st);
    return st;
  }

  /**
   * Packed sequences (varlen attention's cu_seqlens): sequence s is ids[cu[s] .. cu[s+1]), each
   * restarting at segment 0, intra 0. cu has num_seqs + 1 entries, cu[0] = 0, non-decreasing,
   * cu[num_seqs] = n. Throws std::invalid_argument naming the field.
   */
  template <class Id, class L, class P>
  void segment_packed(const Id* ids, std::size_t n, const L* cu_seqlens, std::size_t num_seqs,
                      P* seg, P* intra) const {
    check_bounds("posenc::bipe_segmenter::segment_packed", "cu_seqlens", cu_seqlens, num_seqs, n);
    for (std::size_t s = 0; s < num_seqs; ++s) {
      const auto b = static_cast<std::size_t>(cu_seqlens[s]);
      const auto e = static_cast<std::size_t>(cu_seqlens[s + 1]);
      segment(ids + b, e - b, seg + b, intra + b);
    }
  }

  /**
   * Segments given by their boundaries instead of delimiters (a caller's own rule):
   * bounds[0] = 0 < … ≤ bounds[count] = n, segment s = tokens [bounds[s], bounds[s+1]) (empty
   * segments are allowed and still count). The clamp is applied as above.
   */
  template <class L, class P>
  static void from_bounds(const L* bounds, std::size_t count, std::size_t n, P* seg, P* intra,
                          std::int64_t intra_clamp = no_clamp) {
    constexpr const char* who = "posenc::bipe_segmenter::from_bounds";
    check_clamp(who, intra_clamp);
    check_bounds(who, "bounds", bounds, count, n);
    check_output<P>(state{}, n);
    if (count > static_cast<std::uint64_t>(std::numeric_limits<P>::max()))
      detail::invalid(who, "count", count, "segment indices do not fit the position type");
    for (std::size_t s = 0; s < count; ++s) {
      const auto b = static_cast<std::size_t>(bounds[s]);
      const auto e = static_cast<std::size_t>(bounds[s + 1]);
      for (std::size_t t = b; t < e; ++t) {
        const auto i = static_cast<std::int64_t>(t - b);
        seg[t] = static_cast<P>(s);
        intra[t] = static_cast<P>(i < intra_clamp ? i : intra_clamp);
      }
    }
  }
  /// Segments given by their lengths (Σ lengths = n; zero lengths allowed and counted).
  template <class L, class P>
  static void from_lengths(const L* lengths, std::size_t count, std::size_t n, P* seg, P* intra,
                           std::int64_t intra_clamp = no_clamp) {
    constexpr const char* who = "posenc::bipe_segmenter::from_lengths";
    static_assert(std::is_integral<L>::value, "posenc::bipe_segmenter: lengths are integers");
    check_clamp(who, intra_clamp);
    std::uint64_t total = 0;
    for (std::size_t s = 0; s < count; ++s) {
      if (lengths[s] < 0) detail::invalid(who, "lengths[i]", lengths[s], "must be >= 0");
      total += static_cast<std::uint64_t>(lengths[s]);
      if (total > n) break;
    }
    if (total != n)
      detail::invalid(who, "lengths", total, "(their sum) must equal the token count");
    check_output<P>(state{}, n);
    if (count > static_cast<std::uint64_t>(std::numeric_limits<P>::max()))
      detail::invalid(who, "count", count, "segment indices do not fit the position type");
    std::size_t t = 0;
    for (std::size_t s = 0; s < count; ++s) {
      const auto len = static_cast<std::size_t>(lengths[s]);
      for (std::size_t i = 0; i < len; ++i, ++t) {
        seg[t] = static_cast<P>(s);
        const auto ii = static_cast<std::int64_t>(i);
        intra[t] = static_cast<P>(ii < intra_clamp ? ii : intra_clamp);
      }
    }
  }

 private:
  /// Tokens [t0, n) one at a time. Token t's intra position is t − start (start: the chunk
  /// index of its segment's first token, negative when the segment began in an earlier chunk);
  /// the loop-carried work is one add (s) and one conditional move (start).
  template <class Arch, class Id, class P>
  void scan(const Id* ids, std::size_t t0, std::size_t n, P* seg, P* intra, std::int64_t& s,
            std::int64_t& start) const noexcept {
    const std::int64_t c = clamp_;
    const std::uint64_t* bits = bits_.data();
    const std::uint64_t last = bits_.size() - 1;  // an all-zero word: ids past the bitmap read it
    for (std::size_t t = t0; t < n; ++t) {
      const auto u = static_cast<std::uint64_t>(static_cast<std::int64_t>(ids[t]));
      const std::uint64_t w = (u >> 6) < last ? (u >> 6) : last;
      const auto d = static_cast<std::int64_t>((bits[w] >> (u & 63)) & 1u);
      const auto tt = static_cast<std::int64_t>(t);
      const std::int64_t i = tt - start;
      seg[t] = static_cast<P>(s);
      intra[t] = static_cast<P>(i < c ? i : c);
      s += d;
      start = d != 0 ? tt + 1 : start;
    }
  }
#if POSENC_HAS_XSIMD
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// g++ 12 warns inside xsimd 8.1's AVX-512F integer helpers (split_avx512: the upper half of an
// _mm512_undefined register extracted before it is written); a false positive of the intrinsic
// headers, not of this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  /// Whole registers of tokens (is_delimiter: the register's delimiter lanes), any number of
  /// delimiters in each: one branch (does the register hold a delimiter?), then no branch on
  /// the data. With r = t − start (token t's intra position if no delimiter intervenes) and
  /// d_l = 1 where lane l is a delimiter: seg = s + (prefix sum of d) − d; intra = l + r −
  /// a_{l−1}, a the prefix maximum of d_l·(l + 1 + r) (a delimiter at lane l restarts the count
  /// at lane l + 1; all terms ≥ 0, and ≤ st.intra + n: check_output). The carry to the next
  /// register is the delimiters' count and the last one's lane. Returns where scan continues
  /// (n mod N tokens).
  template <class Arch, class P, class IsDelimiter>
  std::size_t scan_simd(const P* ids, std::size_t n, P* seg, P* intra, std::int64_t& s,
                        std::int64_t& start, const IsDelimiter& is_delimiter) const noexcept {
    using B = xsimd::batch<P, Arch>;
    constexpr std::size_t N = B::size;
    alignas(64) P io[N];
    for (std::size_t j = 0; j < N; ++j) io[j] = static_cast<P>(j);
    const B iota = B::load_aligned(io), one(P(1)), zero(P(0));
    const B cv(static_cast<P>(clamp_ < static_cast<std::int64_t>(std::numeric_limits<P>::max())
                                  ? clamp_
                                  : static_cast<std::int64_t>(std::numeric_limits<P>::max())));
    std::size_t t = 0;
    for (; t + N <= n; t += N) {
      const auto m = is_delimiter(B::load_unaligned(ids + t));
      const B r = iota + B(static_cast<P>(static_cast<std::int64_t>(t) - start));
      if (!xsimd::any(m)) {  // the common register (~20-token sentences): no scan
        B(static_cast<P>(s)).store_unaligned(seg + t);
        xsimd::min(r, cv).store_unaligned(intra + t);
        continue;
      }
      const B d = simd::select_int<Arch>(m, one, zero);
      const B a = simd::prefix_max<Arch>(simd::select_int<Arch>(m, r + one, zero));
      (B(static_cast<P>(s)) + simd::prefix_sum<Arch>(d) - d).store_unaligned(seg + t);
      xsimd::min(r - simd::slide_up<1, Arch>(a), cv).store_unaligned(intra + t);
      const std::uint32_t bits = simd::lane_bits<Arch>(m);
      s += static_cast<std::int64_t>(simd::popcount<Arch>(bits));
      const auto last = static_cast<std::int64_t>(t + simd::highest_bit<Arch>(bits | 1u));
      start = bits != 0 ? last + 1 : start;
    }
    return t;
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

  template <class D>
  void init(const D* delimiters, std::size_t count) {
    constexpr const char* who = "posenc::bipe_segmenter";
    check_clamp(who, clamp_);
    if (count == 0 || delimiters == nullptr)
      detail::invalid(who, "delimiters", "{}", "must hold at least one token id");
    std::int64_t top = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::int64_t id = static_cast<std::int64_t>(delimiters[i]);
      if (id < 0 || id >= max_delimiter_id)
        detail::invalid(who, "delimiters[i]", id, "must be in [0, 2^26)");
      top = std::max(top, id);
    }
    nbits_ = static_cast<std::uint64_t>(top) + 1;
    // One word past the last delimiter's stays zero: segment() reads it for every larger id.
    bits_.assign(static_cast<std::size_t>(nbits_ / 64 + 2), 0u);
    for (std::size_t i = 0; i < count; ++i) {
      const auto u = static_cast<std::uint64_t>(delimiters[i]);
      bits_[u >> 6] |= std::uint64_t{1} << (u & 63);
    }
    // Up to 8 distinct delimiters: the lane-parallel compares (unused slots repeat the first).
    nsmall_ = 0;
    for (std::uint64_t u = 0; u < nbits_; ++u)
      if ((bits_[u >> 6] >> (u & 63)) & 1u) {
        if (nsmall_ == 8) {
          nsmall_ = 0;
          break;
        }
        small_[nsmall_++] = static_cast<std::int64_t>(u);
      }
    for (std::size_t j = nsmall_; j < 8; ++j) small_[j] = small_[0];
  }
  static void check_clamp(const char* who, std::int64_t c) {
    if (c < 1) detail::invalid(who, "intra_clamp", c, "must be >= 1 (or bipe_segmenter::no_clamp)");
  }
  template <class P>
  static void check_output(const state& st, std::size_t n) {
    static_assert(std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value,
                  "posenc::bipe_segmenter: positions are int32_t or int64_t");
    constexpr auto pmax = static_cast<std::uint64_t>(std::numeric_limits<P>::max());
    if (st.segment < 0 || st.intra < 0)
      detail::invalid("posenc::bipe_segmenter", "state", st.segment, "must be >= 0");
    // The values computed are below st.segment + n and st.intra + n (the intra position is
    // clamped after it is computed in P).
    if (n > pmax || static_cast<std::uint64_t>(st.segment) > pmax - n ||
        static_cast<std::uint64_t>(st.intra) > pmax - n)
      detail::invalid("posenc::bipe_segmenter", "n", n,
                      "tokens: the positions would not fit the position type");
  }
  template <class L>
  static void check_bounds(const char* who, const char* field, const L* b, std::size_t count,
                           std::size_t n) {
    static_assert(std::is_integral<L>::value, "posenc::bipe_segmenter: bounds are integers");
    if (b == nullptr) detail::invalid(who, field, "null", "must point to count + 1 entries");
    if (b[0] != 0) detail::invalid(who, field, b[0], "must start at 0");
    for (std::size_t s = 0; s < count; ++s)
      if (b[s + 1] < b[s]) detail::invalid(who, field, b[s + 1], "must be non-decreasing");
    if (static_cast<std::uint64_t>(b[count]) != n)
      detail::invalid(who, field, b[count], "must end at the token count");
  }

  std::int64_t clamp_;
  std::size_t nsmall_ = 0;
  std::int64_t small_[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::uint64_t nbits_ = 0;
  std::vector<std::uint64_t> bits_;
};

/**
 * BiPE's intra-segment absolute encoding with a learned table (the released code's choice:
 * nn.Embedding(train_scale, hidden)): x[t] += table[min(intra[t], rows − 1)], added once to the
 * token embeddings. In the released code the table's last row (row 1023, its padding_idx = −1)
 * is zero and never trained, so every token at intra ≥ 1023 gets no position vector: keep that
 * row zero to reproduce it. Arithmetic: each element T(C(x) + C(table)), C = coef_t<T>.
 * For a sinusoidal intra encoding use sinusoidal_embedding::add_to(x, intra) (any preset).
 * Throws std::invalid_argument if the table does not match x (dim) or is empty.
 */
template <class T, class P>
void bipe_add_intra_table(embed_view<T> x, const T* table, std::size_t rows, std::size_t dim,
                          const P* intra) {
  constexpr const char* who = "posenc::bipe_add_intra_table";
  static_assert(!std::is_const<T>::value, "posenc::bipe_add_intra_table: x is written");
  if (rows == 0 || table == nullptr) detail::invalid(who, "rows", rows, "must be > 0");
  if (dim != x.dim) detail::invalid(who, "dim", dim, "must equal x.dim");
  using C = coef_t<T>;
  const auto last = static_cast<std::int64_t>(rows - 1);
  for (std::size_t t = 0; t < x.tokens; ++t) {
    const auto p = static_cast<std::int64_t>(intra[t]);
    POSENC_ASSERT(p >= 0, "posenc::bipe_add_intra_table: intra positions are >= 0");
    const T* e = table + static_cast<std::size_t>(p < last ? (p < 0 ? 0 : p) : last) * dim;
    T* r = x.row(t);
    for (std::size_t i = 0; i < dim; ++i)
      posenc::detail::store_elem<C>(
          r[i], posenc::detail::load_elem<C>(r[i]) + posenc::detail::load_elem<C>(e[i]));
  }
}

/**
 * BiPE-RoPE: q and k rotated by their segment index, so q_i·k_j depends on seg(i) − seg(j) and
 * tokens of one segment are told apart only by the intra encoding (one segment ⇒ the rotation
 * is the identity). Any rope / rope_cache and any scaling of posenc/scaling serves, with lengths
 * counted in segments: YaRN's or Llama-3's original length, and dynamic NTK's current length,
 * are segment counts (the paper's BiPE + YaRN; the released code cannot run it).
 *
 * An engine that holds the segment indices calls the rotation with them directly:
 *     cache.apply(q, k, seg);                      // seg[t]: segment index of token t
 * This adapter rotates by seg[p] where p is the token position passed (reference_attention,
 * code written for token positions).
 */
template <class Rotation, class P>
positioned_rotation<Rotation, P> bipe_rope(const Rotation& rotation, const P* seg,
                                           std::size_t size) noexcept {
  return positioned_rotation<Rotation, P>(rotation, seg, size);
}

/// Configuration of BiPE-ALiBi.
struct bipe_alibi_config {
  std::size_t num_heads = 0;
  double max_bias = 8.0;  ///< the standard ladder (alibi_slopes)
  /// s in −s·m_h·(seg_q − seg_k). Default 96: the released code's `_init_alibi_mul96`, which
  /// every released BiPE-ALiBi checkpoint was trained with (the slopes of get_slopes(H), the
  /// extra heads of non-power-of-two H included, times 96). 1 gives plain ALiBi slopes.
  double slope_multiplier = 96.0;
  /// relative: −s·m·(seg_q − seg_k) (default, exact with any offset); key_offset: the released
  /// code's row-invariant +s·m·seg_k (equal softmax under the causal mask).
  alibi_form form = alibi_form::relative;
};

/**
 * The ALiBi functor of BiPE-ALiBi: causal alibi_bias with bias_scale = slope_multiplier, to be
 * evaluated at segment indices through bipe_alibi_bias (below). slope(h) is m_h;
 * effective_slope(h) = s·m_h (rounded once to C for the arithmetic). Throws
 * std::invalid_argument naming the field.
 */
inline alibi_bias make_bipe_alibi(const bipe_alibi_config& cfg) {
  if (!detail::is_finite_bits(cfg.slope_multiplier) || !(cfg.slope_multiplier > 0.0))
    detail::invalid("posenc::make_bipe_alibi", "slope_multiplier", cfg.slope_multiplier,
                    "must be finite and > 0");
  alibi_config a;
  a.num_heads = cfg.num_heads;
  a.max_bias = cfg.max_bias;
  a.mode = alibi_mode::causal;
  a.form = cfg.form;
  a.key_origin = 0;
  a.bias_scale = cfg.slope_multiplier;
  return alibi_bias(a);
}

/**
 * BiPE-ALiBi as an attention bias over token positions: value(h, i, j) = ALiBi at (seg[i],
 * seg[j]). Combine it with a causal mask over tokens — sum_bias{bipe_alibi_bias(...),
 * causal_mask{}} or reference_attention's causal option — so that a later key in the same
 * segment is masked although its segment distance is 0. seg holds one segment index per token
 * position 0 .. size−1 (the streaming segmenter's output over a KV cache); int32 indices take
 * the vector path.
 */
template <class B, class P>
positioned<B, P> bipe_alibi_bias(B alibi, const P* seg, std::size_t size) {
  return positioned<B, P>(std::move(alibi), position_map<P>{seg, size});
}

}  // namespace posenc

#endif  // POSENC_BIPE_HPP
