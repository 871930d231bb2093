// posenc — ALiBi (attention with linear biases): slopes for any head count, the bias functor
// with a tile interface and a per-row interface, causal and symmetric modes, and the
// compatibility forms the anchors use.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_ALIBI_HPP
#define POSENC_ALIBI_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "posenc/bias_protocol.hpp"
#include "posenc/config.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/detail/fused_bias.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {

/**
 * Which keys an ALiBi bias sees.
 * - causal:    keys after the query (pos_k > pos_q) get −∞ (decoders: BLOOM, MPT, Falcon-RW,
 *              Baichuan-13B, the paper). The visible keys get −m·(pos_q − pos_k).
 * - symmetric: every key is visible and gets −m·|pos_q − pos_k| (encoders and prefix-LM:
 *              data2vec 2.0, llm-foundry `full=True`, FlashAttention-2 non-causal,
 *              llama.cpp non-causal models such as jina-bert-v2).
 */
enum class alibi_mode { causal, symmetric };

/**
 * The raw value an ALiBi bias adds, for the anchors that use a row-invariant shortcut.
 * - relative:   −m·|pos_q − pos_k|, from absolute positions (llama.cpp, FA2 non-causal,
 *               the paper). The canonical form: exact with KV-cache offsets, meaningful for
 *               raw logits and the log-sum-exp, and it keeps local resolution in 16-bit logits
 *               (the values near the diagonal are small whatever the position).
 * - key_offset: +m·(pos_k − key_origin), the same on every query row (causal only).
 *               key_origin = 0 is BLOOM / Falcon (`build_alibi_tensor`), the ofirpress fairseq
 *               fork (+m·j) and FlashAttention-2 causal (+slope·col); key_origin = the last key's
 *               position is MPT / llm-foundry (m·(j − (Tk−1)), the last key gets 0).
 *
 * Softmax equivalence: under the causal mask, key_offset equals relative plus a per-row
 * constant m·(pos_q − key_origin), and softmax is invariant under adding a constant to a row,
 * so attention outputs agree (alibi_test checks it). They differ for anything that exposes raw
 * logits or their log-sum-exp (FA2's softmax_lse, merging split-KV partials computed with
 * different offsets, soft-capping after the bias) and in precision: m·pos_k grows with the
 * position, so float loses local resolution at long range and bf16 has a spacing of 8 at 1000
 * (the reason Falcon-RW parity needs HF's bf16 rounding of the bias, TensorRT-Model-Connect
 * #667). Without a causal mask the forms are not equivalent at all (ofirpress #5),
 * so key_offset with symmetric mode is rejected.
 */
enum class alibi_form { relative, key_offset };

/// Configuration of an alibi_bias (an aggregate: designated initialisers work in C++20).
struct alibi_config {
  std::size_t num_heads = 0;  ///< H: query heads (GQA: slopes are per query head)
  /// B: the slope ladder 2^(−B·h/n') (8 in the paper, BLOOM, Falcon, Baichuan; MPT's
  /// alibi_bias_max and llama.cpp's max_alibi_bias). 0 gives slope 1 for every head, as
  /// llama.cpp does.
  double max_bias = 8.0;
  alibi_mode mode = alibi_mode::causal;
  alibi_form form = alibi_form::relative;
  std::int64_t key_origin = 0;  ///< key_offset form only: the key position that gets 0
  /// Multiplies every slope (in double) before use. Falcon (alibi=True) adds the bias to q·k
  /// *before* the 1/√head_dim scale: reproduce it, with the bias added after the scale as
  /// everywhere else, by setting bias_scale = 1/√head_dim. slope() reports the unscaled slope.
  double bias_scale = 1.0;
};

/// The read-only part of an alibi_config that a slope policy may look at.
struct alibi_dims {
  std::size_t num_heads = 0;
  double max_bias = 8.0;
};

namespace detail {
/// n' = 2^floor(log2 H).
inline std::size_t alibi_pow2_floor(std::size_t h) noexcept {
  std::size_t p = 1;
  while (p <= h / 2) p *= 2;
  return p;
}

/// log2 of the standard ALiBi slope of head h (0-based), exact in long double for every double
/// max_bias (B·integer fits the 64-bit significand; n' is a power of two):
///   h < n':          −B·(h+1)/n'
///   h = n' + k ≥ n': −B·(2k+1)/(2n')     (the odd rungs of the 2n' ladder)
inline long double alibi_log2_slope(std::size_t h, std::size_t heads, double max_bias) noexcept {
  const std::size_t np = alibi_pow2_floor(heads);
  const long double b = static_cast<long double>(max_bias);
  if (h < np) return -b * static_cast<long double>(h + 1) / static_cast<long double>(np);
  const std::size_t k = h - np;
  return -b * static_cast<long double>(2 * k + 1) / static_cast<long double>(2 * np);
}

/// Rounds 2^x (x in long double) to double: one rounding of a long-double exp2.
inline double exp2_to_double(long double x) noexcept { return static_cast<double>(std::exp2(x)); }
}  // namespace detail

/**
 * The standard ALiBi slopes (Press et al. 2022, the reference `get_slopes` of
 * ofirpress/attention_with_linear_biases; the same map in HF BLOOM's build_alibi_tensor, MPT's
 * gen_slopes and llama.cpp's ALiBi). With n' = 2^floor(log2 H) and 0-based head h:
 *
 *     m_h = 2^(−B·(h+1)/n')                    h < n'
 *     m_h = 2^(−B·(2(h−n')+1)/(2n'))            h ≥ n'  (non-power-of-two H: interleaved extras)
 *
 * e.g. H = 8: 1/2 … 1/256; H = 12: 2^−1 … 2^−8 then 2^−0.5, 2^−1.5, 2^−2.5, 2^−3.5. Not monotone
 * for non-power-of-two H, and not the paper text's geometric 2^(−8h/H) (Baichuan2 #225, mlx #343).
 * With B = max_bias this is MPT's gen_slopes and llama.cpp's m0^(h+1) / m1^(2k+1).
 * Computed as one long-double exp2 of an exact exponent, rounded once to double.
 */
struct alibi_slopes {
  const char* name() const noexcept { return "alibi"; }
  void validate(const alibi_dims&) const noexcept {}
  void slopes(const alibi_dims& d, double* out) const noexcept {
    for (std::size_t h = 0; h < d.num_heads; ++h)
      out[h] = detail::exp2_to_double(detail::alibi_log2_slope(h, d.num_heads, d.max_bias));
  }
};

/**
 * ALiBi as an attention bias: bias(h, q, k) = −m_h·|pos_q − pos_k| (relative form), with
 * keys after the query at −∞ in causal mode. See alibi_mode and alibi_form for the variants.
 *
 * Formula: m_h from the slope policy (alibi_slopes; ntk_alibi_slopes and
 * interpolated_alibi_slopes in ntk_alibi.hpp), times config.bias_scale.
 * Reference: Press, Smith, Lewis, "Train Short, Test Long", ICLR 2022.
 *
 * Numerics (the scalar definition, value<C>): C = coef_t<T> is the arithmetic type — float for
 * float and 16-bit logits, double for double logits. The slopes are computed and kept in double
 * and rounded once to C; the bias is v = C(m · C(e)) with e = pos_k − pos_q (relative, |e|
 * exact below 2^24 in float) or pos_k − key_origin (key_offset), negated magnitude in symmetric
 * mode; then logit = T(C(logit) + v). So a float bias is within 1.5 ulp of m·|Δ| and a bf16
 * logit near the diagonal keeps full bf16 resolution at any absolute position. Masked logits
 * are set to −∞ (= adding −∞ to any finite logit).
 *
 * Memory: the bias is never materialised: add_to adds it into a caller's [rows × cols] tile
 * (the tile of an engine's attention loop, in cache) and add_to_row into one row (decode).
 * materialize() writes a block of it only when asked. Positions are absolute, so a KV-cache
 * offset is just q_first = cache length.
 *
 * Threads: none started; every member is const and may be called concurrently (set_slopes
 * excepted).
 *
 * Example:
 *     posenc::alibi_config cfg;
 *     cfg.num_heads = 32;                                             // causal, relative
 *     posenc::alibi_bias alibi(cfg);
 *     alibi.add_to(posenc::make_logits_view(S, 64, 128, ld), head, q0, k0);  // one tile
 *     alibi.add_to_row(head, cache_len, 0, scores, cache_len + 1);   // one decode row
 */
class alibi_bias : public detail::masked_tile_entry<alibi_bias> {
 public:
  /// Validates the configuration and the slope policy, then computes the slopes once.
  /// Throws std::invalid_argument naming the field and its value.
  template <class Slopes = alibi_slopes>
  explicit alibi_bias(const alibi_config& cfg, const Slopes& slopes = Slopes{}) : cfg_(cfg) {
    constexpr const char* who = "posenc::alibi_bias";
    if (cfg_.num_heads == 0) detail::invalid(who, "num_heads", cfg_.num_heads, "must be > 0");
    if (!detail::is_finite_bits(cfg_.max_bias) || cfg_.max_bias < 0.0)
      detail::invalid(who, "max_bias", cfg_.max_bias, "must be finite and >= 0");
    if (cfg_.mode != alibi_mode::causal && cfg_.mode != alibi_mode::symmetric)
      detail::invalid(who, "mode", static_cast<int>(cfg_.mode), "is not an alibi_mode");
    if (cfg_.form != alibi_form::relative && cfg_.form != alibi_form::key_offset)
      detail::invalid(who, "form", static_cast<int>(cfg_.form), "is not an alibi_form");
    if (cfg_.form == alibi_form::key_offset && cfg_.mode == alibi_mode::symmetric)
      detail::invalid(who, "form", "key_offset",
                      "needs mode = causal: the row-invariant form equals the relative one only "
                      "under a causal mask");
    if (!detail::is_finite_bits(cfg_.bias_scale) || !(cfg_.bias_scale > 0.0) ||
        !detail::is_finite_bits(static_cast<float>(cfg_.bias_scale)))
      detail::invalid(who, "bias_scale", cfg_.bias_scale, "must be finite and > 0 (also in float)");
    if (cfg_.key_origin < 0)
      detail::invalid(who, "key_origin", cfg_.key_origin,
                      "must be >= 0 (a key position: pos_k − key_origin never overflows)");
    slopes_.assign(cfg_.num_heads, 0.0);
    eff_.assign(cfg_.num_heads, 0.0);
    eff_f_.assign(cfg_.num_heads, 0.0f);
    set_slopes(slopes);
  }

  /**
   * Recomputes the slopes with another policy of the same head count, in place (no
   * allocation): e.g. dynamic NTK-ALiBi, whose factor follows the current length. Throws
   * std::invalid_argument (and leaves the slopes unchanged) if the policy rejects the
   * configuration or produces a slope that is not finite and > 0. Not thread-safe with
   * concurrent use of this object.
   */
  template <class Slopes>
  void set_slopes(const Slopes& slopes) {
    constexpr const char* who = "posenc::alibi_bias";
    const alibi_dims d = dims();
    slopes.validate(d);
    // Compute into eff_ first so a rejected policy leaves slopes_ untouched.
    slopes.slopes(d, eff_.data());
    for (std::size_t h = 0; h < cfg_.num_heads; ++h) {
      const double m = eff_[h];
      if (!detail::is_finite_bits(m) || !(m > 0.0) ||
          !detail::is_finite_bits(m * cfg_.bias_scale) ||
          !(static_cast<float>(m * cfg_.bias_scale) > 0.0f) ||
          !detail::is_finite_bits(static_cast<float>(m * cfg_.bias_scale))) {
        for (std::size_t j = 0; j < cfg_.num_heads; ++j) eff_[j] = slopes_[j] * cfg_.bias_scale;
        detail::invalid(who, "slope (from the slope policy)", m,
                        "must be finite and > 0 (also after bias_scale, in float)");
      }
    }
    for (std::size_t h = 0; h < cfg_.num_heads; ++h) {
      slopes_[h] = eff_[h];
      eff_[h] = slopes_[h] * cfg_.bias_scale;
      eff_f_[h] = static_cast<float>(eff_[h]);
    }
    slopes_name_ = slopes.name();
  }

  const alibi_config& config() const noexcept { return cfg_; }
  alibi_dims dims() const noexcept { return alibi_dims{cfg_.num_heads, cfg_.max_bias}; }
  std::size_t num_heads() const noexcept { return cfg_.num_heads; }
  alibi_mode mode() const noexcept { return cfg_.mode; }
  alibi_form form() const noexcept { return cfg_.form; }
  /// The bias protocol's shift invariance: the relative form's value (and causal mask) is a
  /// function of k_pos − q_pos, computed from that integer, so value(h, q + t, k + t) is
  /// value(h, q, k) bit for bit; the key_offset form's is not.
  bool shift_invariant() const noexcept { return cfg_.form == alibi_form::relative; }
  /// Name of the slope policy in use ("alibi", "ntk_alibi_code", ...).
  const char* slopes_name() const noexcept { return slopes_name_; }

  /// m_h from the slope policy, in double (bias_scale not applied).
  [[nodiscard]] double slope(std::size_t head) const noexcept {
    POSENC_ASSERT(head < cfg_.num_heads, "posenc::alibi_bias: head out of range");
    return slopes_[head];
  }
  /// m_h · bias_scale in double: what the kernels use, rounded once to C.
  [[nodiscard]] double effective_slope(std::size_t head) const noexcept {
    POSENC_ASSERT(head < cfg_.num_heads, "posenc::alibi_bias: head out of range");
    return eff_[head];
  }
  /// Writes effective_slope(h) rounded to C for every head (out[0 .. num_heads)): e.g.
  /// FlashAttention's `alibi_slopes` argument (float32 [num_heads]), llama.cpp-style kernels.
  template <class C>
  void write_slopes(C* out) const noexcept {
    for (std::size_t h = 0; h < cfg_.num_heads; ++h) out[h] = slope_as<C>(h);
  }

  /// effective_slope rounded to C (float or double): the slope the C arithmetic multiplies by.
  template <class C = float>
  [[nodiscard]] C slope_as(std::size_t head) const noexcept {
    POSENC_ASSERT(head < cfg_.num_heads, "posenc::alibi_bias: head out of range");
    if constexpr (std::is_same<C, double>::value) {
      return eff_[head];
    } else {
      static_assert(std::is_same<C, float>::value, "posenc::alibi_bias: C is float or double");
      return eff_f_[head];
    }
  }

  /**
   * The scalar definition: the bias of (head, q_pos, k_pos) in C (see the class comment);
   * −∞ for a future key in causal mode. Every other path gives these values bit for bit
   * (without FMA contraction).
   */
  template <class C = float>
  [[nodiscard]] C value(std::size_t head, std::int64_t q_pos, std::int64_t k_pos) const noexcept {
    if (cfg_.mode == alibi_mode::causal && k_pos > q_pos)
      return -std::numeric_limits<C>::infinity();
    return kernels::detail::ramp_value(slope_as<C>(head), k_pos - anchor(q_pos), sign());
  }

  /**
   * Adds the bias of query position q_pos to n_keys logits of keys at k_first, k_first + 1, …
   * (one decode row, or any row of a tile). In causal mode keys after q_pos are set to −∞.
   */
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t head, std::int64_t q_pos, std::int64_t k_first, T* logits,
                  std::size_t n_keys) const noexcept {
    add_to_row<Arch>(head, q_pos, affine_keys{k_first}, logits, n_keys);
  }

  /**
   * Adds the bias of query position q_pos to n_keys logits whose keys are at explicit
   * positions k_pos[0..n_keys) (int32 or int64, ≥ 0, any order: e.g. llama.cpp's KV cells
   * after a sequence shift). Vectorised for float logits with int32 positions.
   */
  template <class Arch = default_arch, class T, class P>
  void add_to_row(std::size_t head, std::int64_t q_pos, const P* k_pos, T* logits,
                  std::size_t n_keys) const noexcept {
    static_assert(std::is_integral<P>::value, "posenc::alibi_bias: positions are integers");
    POSENC_ASSERT(k_pos != nullptr || n_keys == 0, "posenc::alibi_bias: null positions");
    add_to_row<Arch>(head, q_pos, explicit_keys<P>{k_pos}, logits, n_keys);
  }

  /// Both forms above: one fused pass over a row whose keys are at `keys` (affine_keys or
  /// explicit_keys<P>).
  template <
      class Arch = default_arch, class T, class Keys,
      std::enable_if_t<!std::is_integral<Keys>::value && !std::is_pointer<Keys>::value, int> = 0>
  void add_to_row(std::size_t head, std::int64_t q_pos, const Keys& keys, T* logits,
                  std::size_t n_keys) const noexcept {
    check_types<T>();
    POSENC_ASSERT(head < cfg_.num_heads, "posenc::alibi_bias: head out of range");
    POSENC_ASSERT(logits != nullptr || n_keys == 0, "posenc::alibi_bias: null logits");
    detail::fused_add_row<Arch>(*this, head, q_pos, keys, logits, n_keys);
  }

  /*
   * add_to<Arch>(logits_view<T> block, head, q_first, k_first) (detail::masked_tile_entry:
   * add_to_masked below with every column visible): adds the bias (and, in causal mode, the
   * mask) of one head to a [rows × cols] tile whose row r is the query at q_first + r and
   * column c the key at k_first + c. The engine's tiled attention loop calls this per tile;
   * nothing outside the tile is touched.
   *
   * float/double tiles: the rows whose keys are all visible go through one loop nest
   * (kernels::add_ramp_2d: one load, one add, one store per logit; the offsets of each register
   * come from integers, so there is no loop-carried position increment and nothing else to
   * load), with the rows ahead prefetched where posenc::prefetch_enabled() (posenc/tuning.hpp);
   * fully masked row segments are only stored (−∞).
   * 16-bit tiles use the per-row kernel. Same values as add_to_row in every case.
   */
  using detail::masked_tile_entry<alibi_bias>::add_to;

  /**
   * add_to with an extra mask from other biases: visible(r) returns the half-open column range
   * [lo, hi) of block row r that they leave visible (a std::pair<std::size_t, std::size_t>);
   * columns outside it are set to −∞, and the ALiBi values are added inside it (intersected with
   * ALiBi's own causal range). sum_bias uses this to apply {alibi, masks…} in one pass through
   * the tile path.
   */
  template <class Arch = default_arch, class T, class Visible>
  void add_to_masked(logits_view<T> block, std::size_t head, std::int64_t q_first,
                     std::int64_t k_first, const Visible& visible) const noexcept {
    check_types<T>();
    POSENC_ASSERT(head < cfg_.num_heads, "posenc::alibi_bias: head out of range");
    POSENC_ASSERT(block.data != nullptr || block.rows * block.cols == 0,
                  "posenc::alibi_bias: null tile");
    if constexpr (posenc::detail::is_16bit_storage<T>()) {
      // 16-bit rows: the fused row pass on the range the other biases leave visible.
      detail::fused_add_tile_masked<Arch>(*this, block, head, q_first, k_first, visible);
    } else {
      add_tile<Arch>(block, head, q_first, k_first, visible);
    }
  }

  /// Tile form with explicit positions: row r is the query at q_pos[r], column c the key at
  /// k_pos[c] (int32 or int64, ≥ 0).
  template <class Arch = default_arch, class T, class P>
  void add_to(logits_view<T> block, std::size_t head, const P* q_pos,
              const P* k_pos) const noexcept {
    for (std::size_t r = 0; r < block.rows; ++r)
      add_to_row<Arch>(head, static_cast<std::int64_t>(q_pos[r]), k_pos, block.row(r), block.cols);
  }

  /// Writes (not adds) the bias of a block: out(r, c) = value(head, q_first + r, k_first + c)
  /// (+0 where the bias is ±0). Only for when a materialised bias is really wanted (e.g. an
  /// attention kernel that takes a dense additive mask).
  template <class Arch = default_arch, class T>
  void materialize(logits_view<T> out, std::size_t head, std::int64_t q_first,
                   std::int64_t k_first) const noexcept {
    using C = coef_t<T>;
    for (std::size_t r = 0; r < out.rows; ++r) kernels::fill(Arch{}, out.row(r), out.cols, C(0));
    add_to<Arch>(out, head, q_first, k_first);
  }

  // ---- the fused rows protocol (bias_protocol.hpp): sum_bias evaluates several biases in one
  // pass. Affine keys: a ramp v(e0 + j); explicit keys: v(k_pos[j] − anchor), −∞ above the
  // query in causal mode.
  static constexpr bool has_values = true;
  /// lanes() of an affine row computes v(e0 + jv) for any offsets jv (bias protocol); visible
  /// range and exactness are monotone in the query position.
  static constexpr bool offset_lanes = true;

  template <class C, class Keys>
  struct row_type {
    C slope = C(0);
    C e0c = C(0);         ///< affine: e0 in C (exact when `exact`)
    std::int64_t e0 = 0;  ///< affine: key offset of key 0, k_first − anchor
    std::int64_t anchor = 0;
    std::int64_t mask_above = 0;  ///< explicit: keys above it are masked
    Keys keys{};
    kernels::ramp_sign sign = kernels::ramp_sign::keep;
    bool exact = true;  ///< affine: every e0 + j (j < n) is exact in C: the SIMD lanes may be used
    std::size_t lo = 0, hi = 0;
  };

  template <class C, class Keys>
  row_type<C, Keys> row(std::size_t head, std::int64_t q_pos, const Keys& keys,
                        std::size_t n) const noexcept {
    row_type<C, Keys> r;
    r.slope = slope_as<C>(head);
    r.anchor = anchor(q_pos);
    r.sign = sign();
    r.keys = keys;
    r.lo = 0;
    if constexpr (std::is_same<Keys, affine_keys>::value) {
      r.e0 = keys.first - r.anchor;
      r.e0c = static_cast<C>(r.e0);
      r.exact = kernels::ramp_exact<C>(r.e0, n);
      r.hi = visible_end(q_pos, keys.first, n);
    } else {
      r.mask_above =
          cfg_.mode == alibi_mode::causal ? q_pos : std::numeric_limits<std::int64_t>::max();
      r.hi = n;
    }
    return r;
  }
  /// Value of key j of the row (j in [lo, hi)).
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    if constexpr (std::is_same<Keys, affine_keys>::value) {
      return kernels::detail::ramp_value(r.slope, r.e0 + static_cast<std::int64_t>(j), r.sign);
    } else {
      const std::int64_t k = r.keys.at(j);
      return k > r.mask_above ? -std::numeric_limits<C>::infinity()
                              : kernels::detail::ramp_value(r.slope, k - r.anchor, r.sign);
    }
  }
#if POSENC_HAS_XSIMD
  /// Values of keys j0, j0 + step, … (jv holds those indices in C, exact).
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    using B = xsimd::batch<C, Arch>;
    if constexpr (std::is_same<Keys, affine_keys>::value) {
      const B e = B(r.e0c) + jv;
      return r.sign == kernels::ramp_sign::neg_abs
                 ? kernels::detail::ramp_batch<true>(B(r.slope), e)
                 : kernels::detail::ramp_batch<false>(B(r.slope), e);
    } else {
      return detail::gather_lanes<Arch, C>(j0, step, [&r](std::size_t j) { return lane(r, j); });
    }
  }
#endif
  /// The row's own loop over [lo, hi): the ramp kernels (add_ramp, add_ramp_positions).
  template <class Arch, class T, class C, class Keys>
  void add_row_values(const row_type<C, Keys>& r, T* x, std::size_t lo,
                      std::size_t hi) const noexcept {
    if constexpr (std::is_same<Keys, affine_keys>::value) {
      kernels::add_ramp(Arch{}, x + lo, hi - lo, r.slope, r.e0 + static_cast<std::int64_t>(lo),
                        r.sign);
    } else {
      kernels::add_ramp_positions(Arch{}, x + lo, hi - lo, r.slope, r.anchor, r.keys.pos + lo,
                                  r.sign, r.mask_above);
    }
  }

 private:
  template <class T>
  static constexpr void check_types() noexcept {
    static_assert(storage_traits<std::remove_const_t<T>>::supported,
                  "posenc::alibi_bias: unsupported logits type (float, double, bfloat16_t, "
                  "float16_t; Eigen::half / Eigen::bfloat16 with posenc/eigen.hpp)");
    static_assert(!std::is_const<T>::value, "posenc::alibi_bias: logits are written");
  }

  std::int64_t anchor(std::int64_t q_pos) const noexcept {
    return cfg_.form == alibi_form::relative ? q_pos : cfg_.key_origin;
  }
  kernels::ramp_sign sign() const noexcept {
    return cfg_.mode == alibi_mode::symmetric ? kernels::ramp_sign::neg_abs
                                              : kernels::ramp_sign::keep;
  }
  /// The first row r of a tile (queries q0 + r, n keys from k_first) from which every row has
  /// all its keys visible (rows are wholly visible from some row on in every mode). Causal:
  /// q0 + r ≥ k_first + n − 1; computed without overflow; negative positions (outside the
  /// contract) get SIZE_MAX: the caller then looks at every row.
  std::size_t wholly_visible_from(std::int64_t q0, std::int64_t k_first,
                                  std::size_t n) const noexcept {
    if (cfg_.mode != alibi_mode::causal || n == 0) return 0;
    if (q0 < 0 || k_first < 0) return static_cast<std::size_t>(-1);
    const std::uint64_t need = n - 1;  // q − k_first ≥ n − 1
    if (q0 >= k_first) {
      const std::uint64_t g = static_cast<std::uint64_t>(q0 - k_first);
      return g >= need ? 0 : static_cast<std::size_t>(need - g);
    }
    const std::uint64_t g = static_cast<std::uint64_t>(k_first - q0);
    return g > static_cast<std::uint64_t>(-1) - need ? static_cast<std::size_t>(-1)
                                                     : static_cast<std::size_t>(need + g);
  }
  /// First masked key index of a row of n keys starting at k_first (n when none is masked).
  std::size_t visible_end(std::int64_t q_pos, std::int64_t k_first, std::size_t n) const noexcept {
    return cfg_.mode != alibi_mode::causal ? n : detail::keys_up_to(q_pos, k_first, n);
  }

  /// float/double tile: rows whose keys are all visible go through add_ramp_2d in runs (one
  /// loop nest, offsets from integers); the others get the ramp on their visible range and −∞
  /// around it.
  template <class Arch, class T, class Visible>
  void add_tile(logits_view<T> block, std::size_t head, std::int64_t q0, std::int64_t k0,
                const Visible& visible) const noexcept {
    using C = coef_t<T>;
    constexpr C ninf = -std::numeric_limits<C>::infinity();
    const C m = slope_as<C>(head);
    const std::size_t nr = block.rows, nc = block.cols;
    const std::int64_t es = cfg_.form == alibi_form::relative ? -1 : 0;  // offset step per row
    const auto offset = [&](std::size_t r) {  // k − anchor of the row's first key
      return k0 - anchor(q0 + static_cast<std::int64_t>(r));
    };
    // Causal tile entirely in the future of its last query: only −∞.
    const bool all_masked = cfg_.mode == alibi_mode::causal && nr > 0 &&
                            visible_end(q0 + static_cast<std::int64_t>(nr - 1), k0, nc) == 0;
    std::size_t run = 0;  // first row of the current run of entirely visible rows
    const auto flush = [&](std::size_t end) {
      if (end > run)
        kernels::add_ramp_2d(Arch{}, block.row(run), block.row_stride, end - run, nc, m,
                             offset(run), es, sign());
    };
    // Without other masks the rows from wholly_visible_from on need no per-row look: one run.
    const std::size_t scan = std::is_same<Visible, detail::visible_all>::value
                                 ? std::min(nr, wholly_visible_from(q0, k0, nc))
                                 : nr;
    for (std::size_t r = 0; r < scan; ++r) {
      std::size_t lo = 0, hi = nc;
      if constexpr (!std::is_same<Visible, detail::visible_all>::value) {
        const auto v = visible(r);
        hi = std::min(v.second, nc);
        lo = std::min(v.first, hi);
      }
      hi = all_masked ? 0 : std::min(hi, visible_end(q0 + static_cast<std::int64_t>(r), k0, nc));
      lo = std::min(lo, hi);
      if (lo == 0 && hi == nc) continue;  // extends the run
      flush(r);
      run = r + 1;
      T* row = block.row(r);
      kernels::fill(Arch{}, row, lo, ninf);
      if (hi > lo)
        kernels::add_ramp(Arch{}, row + lo, hi - lo, m, offset(r) + static_cast<std::int64_t>(lo),
                          sign());
      kernels::fill(Arch{}, row + hi, nc - hi, ninf);
    }
    flush(nr);
  }

  alibi_config cfg_;
  std::vector<double> slopes_;  // policy slopes
  std::vector<double> eff_;     // × bias_scale
  std::vector<float> eff_f_;    // rounded to float
  const char* slopes_name_ = "alibi";
};

}  // namespace posenc

#endif  // POSENC_ALIBI_HPP
