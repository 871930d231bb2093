// posenc — rotary position embedding (RoPE): the rotation functor with on-the-fly angles.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_ROPE_HPP
#define POSENC_ROPE_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "posenc/config.hpp"
#include "posenc/detail/angle_range.hpp"
#include "posenc/detail/apply_interface.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/detail/rope_apply.hpp"
#include "posenc/detail/rope_apply_to.hpp"
#include "posenc/detail/rope_check.hpp"
#include "posenc/frequency.hpp"
#include "posenc/kernels/sincos.hpp"
#include "posenc/scaling.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

/// Largest head_dim (and rotary_dim) a rope accepts: real models use at most a few hundred
/// channels per head; the bound keeps construction (a long-double pow per pair) cheap whatever a
/// config file says.
inline constexpr std::size_t rope_max_head_dim = 65536;

/// Configuration of a rope functor (an aggregate: designated initialisers work in C++20).
struct rope_config {
  std::size_t head_dim = 0;    ///< channels per head (D)
  std::size_t rotary_dim = 0;  ///< rotated leading channels (even); 0 means head_dim
  double base = 10000.0;       ///< rope_theta
  rope_layout layout = rope_layout::half_split;
  rope_precision precision = rope_precision::exact;
  /// Multiply cos and sin by the scaling's attention factor (HF and vLLM do; the q·k logits
  /// then scale by its square). When false, attention_factor() is only reported.
  bool fold_attention_factor = true;
};

/**
 * Rotary position embedding, RoFormer (Su et al. 2021, arXiv 2104.09864).
 *
 * Formula: for pair k < r/2 of a head at position p, with θ_k = base^(−2k/r) (after scaling):
 *     (a, b) ← (a·cos(p·θ_k) − b·sin(p·θ_k),  a·sin(p·θ_k) + b·cos(p·θ_k))
 * Layout: see rope_layout ([ccss0000] half_split, [cscs0000] interleaved); channels r..D−1
 * pass through untouched (partial rotary, e.g. GPT-NeoX's 25 %).
 * Numerics: see rope_precision. Angles are never formed in float in exact mode: a position of
 * 2^31 − 1 gets float cos/sin within 1 ulp (double within 2 ulp) of the correctly rounded value
 * of its double angle.
 * Position range: every position in [0, INT64_MAX] (any int64 for cos_sin and coefficients)
 * gives a rotation (cos² + sin² = magnitude², within rounding). Positions are exact in double up
 * to 2^53; beyond, double(p) is the nearest double, so the angle is that of a position up to
 * 2^(e−53) away (p < 2^e): the rotation is well-formed but no longer that of p. Angles of 2^32
 * rad and more (|p|·θ_k ≥ 2^32, e.g. p ≥ 2^32 at θ_0 = 1) are reduced by the C library's full
 * reduction (std::cos / std::sin) instead of the kernel's, on every path alike (one max over a
 * chunk's angles keeps the kernel path for every realistic position).
 * Storage: float, double (coefficients in double), bfloat16_t / float16_t (math in float,
 * one rounding per output), Eigen::half / Eigen::bfloat16 via posenc/eigen.hpp.
 * Threads: none are started; apply takes a token_range so an engine can split the work. A rope
 * is immutable after construction: every member may be called from several threads at once.
 *
 * Example (C++17; C++20 may write rope_config{.head_dim = 128, .base = 500000.0}):
 *     posenc::rope_config cfg;
 *     cfg.head_dim = 128;
 *     cfg.base = 500000.0;
 *     posenc::rope rope(cfg);
 *     rope.apply(posenc::make_head_view(q, T, 32, 128), posenc::make_head_view(k, T, 8, 128), pos);
 *     rope.apply_token(q1, 32, k1, 8, step);                   // one decode step
 *     rope.apply_to(posenc::make_head_view(k_f32, T, 8, 128),  // k rotated into a bf16 cache
 *                   posenc::make_head_view(k_bf16, T, 8, 128), pos);
 * 16-bit types of an engine (ggml_bf16_t, at::BFloat16, __nv_bfloat16 on the host): they hold
 * the same bits as posenc::bfloat16_t / float16_t, so view them through a reinterpret_cast
 * pointer (reinterpret_cast<posenc::bfloat16_t*>(p)), or specialise posenc::storage_traits for
 * the type (a standard-layout struct whose one member is the 16 bits; see storage.hpp and
 * posenc/eigen.hpp). A raw std::uint16_t buffer is rejected at compile time: it has no format.
 *
 * This functor computes angles on the fly (vectorised sincos in double; cost: bench/README.md);
 * rope_cache precomputes them for a range of positions.
 */
class rope : public detail::rope_apply_interface<rope> {
  friend class detail::rope_apply_interface<rope>;

 public:
  /// Validates the configuration and the scaling, then computes the frequency table once.
  /// Throws std::invalid_argument naming the field and its value.
  template <class Scaling = no_scaling>
  explicit rope(const rope_config& cfg, const Scaling& scaling = Scaling{}) : cfg_(cfg) {
    constexpr const char* who = "posenc::rope";
    if (cfg_.head_dim == 0) detail::invalid(who, "head_dim", cfg_.head_dim, "must be > 0");
    if (cfg_.head_dim > rope_max_head_dim)
      detail::invalid(who, "head_dim", cfg_.head_dim,
                      "must be <= 65536 (posenc::rope_max_head_dim)");
    if (cfg_.rotary_dim == 0) cfg_.rotary_dim = cfg_.head_dim;
    if (cfg_.rotary_dim % 2 != 0)
      detail::invalid(who, "rotary_dim", cfg_.rotary_dim, "must be even (it defaults to head_dim)");
    if (cfg_.rotary_dim > cfg_.head_dim)
      detail::invalid(who, "rotary_dim", cfg_.rotary_dim, "must be <= head_dim");
    if (!detail::is_finite_bits(cfg_.base) || !(cfg_.base > 1.0))
      detail::invalid(who, "base", cfg_.base, "must be finite and > 1");
    if (!detail::is_finite_bits(static_cast<float>(cfg_.base)))
      detail::invalid(
          who, "base", cfg_.base,
          "must be finite in float (<= 3.4e38): the hf_f32 frequencies use float(base)");
    if (cfg_.layout != rope_layout::half_split && cfg_.layout != rope_layout::interleaved)
      detail::invalid(who, "layout", static_cast<int>(cfg_.layout), "is not a rope_layout");
    if (cfg_.precision != rope_precision::exact && cfg_.precision != rope_precision::hf_f32)
      detail::invalid(who, "precision", static_cast<int>(cfg_.precision),
                      "is not a rope_precision");
    const rope_dims d = dims();
    scaling.validate(d);
    scaling_name_ = scaling.name();
    inv_freq_.assign(d.pairs(), 0.0);
    inv_freq_f32_.assign(d.pairs(), 0.0f);
    scaling.inv_freq(d, inv_freq_.data());
    scaling.inv_freq_f32(d, inv_freq_f32_.data());
    const std::string why =
        std::string("must be finite and > 0: check the parameters of scaling ") + scaling.name();
    for (std::size_t k = 0; k < d.pairs(); ++k) {
      if (!detail::is_finite_bits(inv_freq_[k]) || !(inv_freq_[k] > 0.0)) {
        const std::string f = "inv_freq[" + std::to_string(k) + "] (after scaling)";
        detail::invalid(who, f.c_str(), inv_freq_[k], why.c_str());
      }
      if (!detail::is_finite_bits(inv_freq_f32_[k]) || !(inv_freq_f32_[k] > 0.0f)) {
        const std::string f = "inv_freq_f32[" + std::to_string(k) + "] (after scaling)";
        detail::invalid(who, f.c_str(), inv_freq_f32_[k], why.c_str());
      }
    }
    attention_factor_ = scaling.attention_factor(d);
    if (!detail::is_finite_bits(attention_factor_) || !(attention_factor_ > 0.0) ||
        !detail::is_finite_bits(static_cast<float>(attention_factor_)) ||
        !(static_cast<float>(attention_factor_) > 0.0f)) {
      const std::string f = std::string("attention_factor (of scaling ") + scaling.name() + ")";
      detail::invalid(who, f.c_str(), attention_factor_,
                      "must be finite and > 0 in float (the coefficient type of float storage)");
    }
    magnitude_ = cfg_.fold_attention_factor ? attention_factor_ : 1.0;
  }

  const rope_config& config() const noexcept { return cfg_; }
  rope_dims dims() const noexcept { return rope_dims{cfg_.head_dim, cfg_.rotary_dim, cfg_.base}; }
  std::size_t head_dim() const noexcept { return cfg_.head_dim; }
  std::size_t rotary_dim() const noexcept { return cfg_.rotary_dim; }
  std::size_t pairs() const noexcept { return cfg_.rotary_dim / 2; }
  rope_layout layout() const noexcept { return cfg_.layout; }
  rope_precision precision() const noexcept { return cfg_.precision; }
  const std::string& scaling_name() const noexcept { return scaling_name_; }

  /// All θ_k after scaling (pairs() entries), in double (exact mode) and in HF's float32.
  /// A std::vector (a std::span<const double> converts from it in C++20).
  [[nodiscard]] const std::vector<double>& inv_freqs() const noexcept { return inv_freq_; }
  [[nodiscard]] const std::vector<float>& inv_freqs_f32() const noexcept { return inv_freq_f32_; }
  /// θ_k after scaling, in double (exact mode).
  [[nodiscard]] double inv_freq(std::size_t pair) const noexcept { return inv_freq_[pair]; }
  /// θ_k after scaling, in HF's float32 arithmetic (hf_f32 mode).
  [[nodiscard]] float inv_freq_f32(std::size_t pair) const noexcept { return inv_freq_f32_[pair]; }
  /// The scaling's attention factor (YaRN mscale; 1 for the others).
  [[nodiscard]] double attention_factor() const noexcept { return attention_factor_; }
  /// What multiplies cos and sin: attention_factor() if folded, else 1.
  [[nodiscard]] double magnitude() const noexcept { return magnitude_; }

  /**
   * The scalar definition of the coefficients of pair k at position pos: {cos, sin}, each
   * multiplied by magnitude(). exact: C(m·cos(double(pos)·θ_k)) with one rounding;
   * hf_f32: float angle (float)pos·θ_k^f32, float cos/sin, × (float)m in float, then to C.
   * Every other path (SIMD, cache) must give these values.
   */
  template <class C = float, class P>
  [[nodiscard]] std::pair<C, C> cos_sin(P pos, std::size_t pair) const noexcept {
    double cv, sv;
    if (cfg_.precision == rope_precision::exact) {
      detail::sincos_angle(static_cast<double>(pos) * inv_freq_[pair], cv, sv);
      return {static_cast<C>(magnitude_ * cv), static_cast<C>(magnitude_ * sv)};
    }
    const float angle = static_cast<float>(pos) * inv_freq_f32_[pair];
    detail::sincos_angle(static_cast<double>(angle), cv, sv);
    float cf = static_cast<float>(cv), sf = static_cast<float>(sv);
    if (magnitude_ != 1.0) {
      cf *= static_cast<float>(magnitude_);
      sf *= static_cast<float>(magnitude_);
    }
    return {static_cast<C>(cf), static_cast<C>(sf)};
  }

  /// The angle of pair k at pos as this precision mode forms it: double(pos)·θ_k in double
  /// (exact), or the float product (float)pos·θ_k^f32 widened to double (hf_f32).
  template <class P>
  [[nodiscard]] double angle(P pos, std::size_t pair) const noexcept {
    if (cfg_.precision == rope_precision::exact) return static_cast<double>(pos) * inv_freq_[pair];
    return static_cast<double>(static_cast<float>(pos) * inv_freq_f32_[pair]);
  }

  /**
   * Coefficients of pairs [k0, k0 + n) at position pos into c[0..n), s[0..n) (vectorised;
   * same values as cos_sin). n ≤ pairs() − k0.
   */
  template <class Arch = default_arch, class C, class P>
  void coefficients(P pos, std::size_t k0, std::size_t n, C* c, C* s) const noexcept {
    POSENC_ASSERT(k0 + n <= pairs(), "posenc::rope::coefficients: pair range out of bounds");
    for (std::size_t done = 0; done < n; done += detail::rope_chunk) {
      const std::size_t m = std::min(detail::rope_chunk, n - done);
      fill_chunk<Arch>(pos, k0 + done, m, c + done, s + done);
    }
  }

  /**
   * Gathered coefficients, for multi-axis RoPE (posenc/mrope.hpp): entry i is pair pair[i] at
   * position pos[i], i < n, written to c[i], s[i]. The values are those of cos_sin(pos[i],
   * pair[i]) (same angle arithmetic, same sincos kernel as coefficients). pair[i] < pairs().
   */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
  // aarch64-linux-gnu-g++ 12 -O2, with this inlined into mrope_cache's out-of-table gather,
  // reports theta "may be used uninitialized" at finish_chunk(theta, m, …): every one of the m
  // entries it reads is written by the loop just before (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  template <class Arch = default_arch, class C, class P>
  void coefficients_gathered(const P* pos, const std::uint32_t* pair, std::size_t n, C* c,
                             C* s) const noexcept {
    alignas(64) double theta[detail::rope_chunk];
    for (std::size_t done = 0; done < n; done += detail::rope_chunk) {
      const std::size_t m = std::min(detail::rope_chunk, n - done);
      if (cfg_.precision == rope_precision::exact) {
        for (std::size_t i = 0; i < m; ++i) {
          POSENC_ASSERT(pair[done + i] < pairs(), "posenc::rope: gathered pair out of range");
          theta[i] = static_cast<double>(pos[done + i]) * inv_freq_[pair[done + i]];
        }
      } else {
        for (std::size_t i = 0; i < m; ++i) {
          POSENC_ASSERT(pair[done + i] < pairs(), "posenc::rope: gathered pair out of range");
          theta[i] = static_cast<double>(static_cast<float>(pos[done + i]) *
                                         inv_freq_f32_[pair[done + i]]);
        }
      }
      finish_chunk<Arch>(theta, m, c + done, s + done);
    }
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  // apply, apply_inverse (in place; positions as a pointer or a container), apply_token (one
  // decode step), apply_to / apply_inverse_to (out of place): detail::rope_apply_interface,
  // over run and run_to below, with check / check_to under POSENC_CHECKED.

  /// Validates a call of apply / apply_inverse in any build (what POSENC_CHECKED runs):
  /// each view's dim equals head_dim, data is non-null when it names elements, its strides do
  /// not overflow and its heads do not overlap; q and k have the same tokens; positions are
  /// present and >= 0 for the tokens in range. Throws std::invalid_argument naming the field
  /// (q.dim, k.tokens, positions[t], ...) and its value.
  template <class T, class P>
  void check(head_view<T> x, const P* pos, token_range range = {}) const {
    detail::check_view("posenc::rope::apply", "x", x, cfg_.head_dim);
    detail::check_positions("posenc::rope::apply", pos, x.tokens, range);
  }
  template <class T1, class T2, class P>
  void check(head_view<T1> q, head_view<T2> k, const P* pos, token_range range = {}) const {
    constexpr const char* who = "posenc::rope::apply";
    detail::check_view(who, "q", q, cfg_.head_dim);
    detail::check_view(who, "k", k, cfg_.head_dim);
    detail::check_same_tokens(who, "k", q, k);
    detail::check_positions(who, pos, q.tokens, range);
  }
  /// Validates a call of apply_to / apply_inverse_to (what POSENC_CHECKED runs): as check,
  /// plus dst has src's tokens and heads, and dst is src or does not overlap it.
  template <class S, class D, class P>
  void check_to(head_view<S> src, head_view<D> dst, const P* pos, token_range range = {}) const {
    constexpr const char* who = "posenc::rope::apply_to";
    detail::check_view(who, "src", src, cfg_.head_dim);
    detail::check_view(who, "dst", dst, cfg_.head_dim);
    detail::check_pair(who, "src", "dst", src, dst);
    detail::check_positions(who, pos, src.tokens, range);
  }
  template <class S1, class D1, class S2, class D2, class P>
  void check_to(head_view<S1> q_src, head_view<D1> q_dst, head_view<S2> k_src, head_view<D2> k_dst,
                const P* pos, token_range range = {}) const {
    constexpr const char* who = "posenc::rope::apply_to";
    detail::check_view(who, "q_src", q_src, cfg_.head_dim);
    detail::check_view(who, "q_dst", q_dst, cfg_.head_dim);
    detail::check_view(who, "k_src", k_src, cfg_.head_dim);
    detail::check_view(who, "k_dst", k_dst, cfg_.head_dim);
    detail::check_pair(who, "q_src", "q_dst", q_src, q_dst);
    detail::check_pair(who, "k_src", "k_dst", k_src, k_dst);
    detail::check_same_tokens(who, "k_src", q_src, k_src);
    detail::check_positions(who, pos, q_src.tokens, range);
  }

  /**
   * Out of place (apply_to, apply_inverse_to: detail::rope_apply_interface; rotate-and-store):
   * rotates src into dst, e.g. f32 activations into a bf16 KV
   * cache, in one pass. src and dst name the same tokens and heads (same dim == head_dim) and
   * may differ in storage type and strides: a paged cache is a dst view per block (see
   * tests/rope_store_test.cpp, PagedCache). Storage pairs: float, bfloat16_t, float16_t among
   * themselves (arithmetic in float), double with double; src may be a head_view<const T>.
   * Values: each output is the in-place rotation of src in the arithmetic type (float for
   * 16-bit src too: the rows are widened exactly), rounded once to dst's type; so dst is
   * bit for bit what apply on a float copy of src, then one conversion to dst's type, gives,
   * and apply_to(x, x, pos) is apply(x, pos). Partial rotary: channels r..D−1 are converted and
   * copied. Aliasing: dst is src (same data, strides and type: the in-place rotation) or does
   * not overlap it; a partial overlap gives unspecified values (never an access outside the
   * two views).
   */

  /// Convenience: rotate one head vector (head_dim elements) at one position.
  template <class Arch = default_arch, class T, class P>
  void apply_one(T* head, P pos) const noexcept {
    apply<Arch>(make_head_view(head, 1, 1, cfg_.head_dim), &pos);
  }

 private:
  template <class>
  friend class rope_cache;  // fetch, for the positions a cache does not hold

  /// Chunk fetch used by the apply loop (and by rope_cache for positions it does not hold).
  template <class Arch, class C, class P>
  void fetch(P pos, std::size_t k0, std::size_t n, C* cbuf, C* sbuf, const C*& c,
             const C*& s) const noexcept {
    fill_chunk<Arch>(pos, k0, n, cbuf, sbuf);
    c = cbuf;
    s = sbuf;
  }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// g++ 12 warns that theta "may be used uninitialized" when it is passed as const double* with
// n possibly 0; every element the callee reads (i < n) was written just before.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
  template <class Arch, class C, class P>
  void fill_chunk(P pos, std::size_t k0, std::size_t n, C* c, C* s) const noexcept {
    alignas(64) double theta[detail::rope_chunk];
    if (cfg_.precision == rope_precision::exact) {
      kernels::position_angles<Arch>(static_cast<double>(pos), inv_freq_.data() + k0, theta, n);
    } else {
      kernels::position_angles_f32<Arch>(static_cast<float>(pos), inv_freq_f32_.data() + k0, theta,
                                         n);
    }
    finish_chunk<Arch>(theta, n, c, s);
  }

  // cos/sin of n ≤ rope_chunk angles formed by this precision mode, times the magnitude. Angles
  // of 2^32 rad or more (positions far beyond any context) take the cold full-reduction path;
  // the check is one max over the chunk's angles.
  template <class Arch, class C>
  void finish_chunk(const double* theta, std::size_t n, C* c, C* s) const noexcept {
    Arch arch{};
    const bool in_range = detail::angles_in_kernel_range<Arch>(theta, n);
    if (cfg_.precision == rope_precision::exact) {
      if (in_range) {
        kernels::sincos(arch, theta, c, s, n, magnitude_);
      } else {
        large_angles<Arch>(theta, n, c, s, magnitude_);
      }
    } else {
      alignas(64) float cf[detail::rope_chunk];
      alignas(64) float sf[detail::rope_chunk];
      if (in_range) {
        kernels::sincos(arch, theta, cf, sf, n, 1.0);
      } else {
        large_angles<Arch>(theta, n, cf, sf, 1.0);
      }
      const float mf = static_cast<float>(magnitude_);
      for (std::size_t i = 0; i < n; ++i) {
        c[i] = static_cast<C>(magnitude_ != 1.0 ? cf[i] * mf : cf[i]);
        s[i] = static_cast<C>(magnitude_ != 1.0 ? sf[i] * mf : sf[i]);
      }
    }
  }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  /// Cold path of finish_chunk: the angles below the kernel's limit by the scalar kernel, the
  /// others by the full reduction (the same values as cos_sin, element by element).
  template <class Arch, class C>
  static void large_angles(const double* theta, std::size_t n, C* c, C* s, double m) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      double cv, sv;
      detail::sincos_angle<Arch>(theta[i], cv, sv);
      c[i] = static_cast<C>(m * cv);
      s[i] = static_cast<C>(m * sv);
    }
  }

  const rope& checker() const noexcept { return *this; }

  template <class Arch, bool Inverse, class T, class P>
  void run(const head_view<T>* views, std::size_t nviews, const P* pos,
           token_range range) const noexcept {
    using C = coef_t<T>;
    auto fetch_fn = [this](P p, std::size_t k0, std::size_t n, C* cb, C* sb, const C*& c,
                           const C*& s) { this->fetch<Arch>(p, k0, n, cb, sb, c, s); };
    detail::rope_apply<Arch, Inverse>(fetch_fn, cfg_.layout, cfg_.head_dim, pairs(), views, nviews,
                                      pos, range);
  }

  template <class Arch, bool Inverse, class P, class V0, class... V>
  void run_to(const P* pos, token_range range, const V0& v0, const V&... vp) const noexcept {
    using S0 = std::remove_pointer_t<decltype(v0.src.data)>;
    if constexpr (detail::storage_ok<S0, false>() && detail::positions_ok<P>())
      run_to_checked<Arch, Inverse>(pos, range, v0, vp...);
  }
  template <class Arch, bool Inverse, class P, class V0, class... V>
  void run_to_checked(const P* pos, token_range range, const V0& v0,
                      const V&... vp) const noexcept {
    using C = coef_t<std::remove_const_t<std::remove_pointer_t<decltype(v0.src.data)>>>;
    auto fetch_fn = [this](P p, std::size_t k0, std::size_t n, C* cb, C* sb, const C*& c,
                           const C*& s) { this->fetch<Arch>(p, k0, n, cb, sb, c, s); };
    detail::rope_apply_to<Arch, Inverse, C>(fetch_fn, cfg_.layout, cfg_.head_dim, pairs(), pos,
                                            range, v0, vp...);
  }

  rope_config cfg_;
  std::string scaling_name_;
  std::vector<double> inv_freq_;
  std::vector<float> inv_freq_f32_;
  double attention_factor_ = 1.0;
  double magnitude_ = 1.0;
};

}  // namespace posenc

#endif  // POSENC_ROPE_HPP
