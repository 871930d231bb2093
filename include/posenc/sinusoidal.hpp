// posenc — sinusoidal absolute position embeddings (Vaswani et al. 2017) in the three
// conventions real models use: fill a table or add in place to [tokens × dim] embeddings.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SINUSOIDAL_HPP
#define POSENC_SINUSOIDAL_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "posenc/config.hpp"
#include "posenc/detail/angle_range.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/kernels/sincos.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

/// Largest sinusoidal_config::dim accepted: 2^20 channels per token (real models use up to
/// ~2^15); keeps the frequency table small whatever a configuration says.
inline constexpr std::size_t sinusoidal_max_dim = std::size_t{1} << 20;

/**
 * Where sin and cos of frequency i go in a row of d channels (n_f frequencies, see
 * sinusoidal_frequencies; d = 8 drawn, s = sin, c = cos):
 *
 *     interleaved  [scscscsc]   channel 2i = sin(p·ω_i), 2i+1 = cos(p·ω_i)
 *                               (Vaswani §3.5 text; HF XLM / DistilBERT / FlauBERT; OpenNMT-py)
 *     concat       [sssscccc]   channels [0, n_f) = sin, [n_f, n_f + ⌊d/2⌋) = cos
 *                               (tensor2tensor, fairseq, M2M100, Whisper, Marian, Pegasus)
 */
enum class sinusoidal_layout { interleaved, concat };

/**
 * The frequency ladder ω_i = base^(−e_i).
 * - paper: e_i = 2i/d, i < ⌈d/2⌉ (Vaswani; XLM; Marian / Pegasus). Odd d: one more sin
 *          channel than cos channels (the last channel is a sin: XLM's last column, Marian's
 *          ⌈d/2⌉ sin columns).
 * - t2t:   e_i = i / max(⌊d/2⌋ − 1, 1), i < ⌊d/2⌋ (tensor2tensor `get_timing_signal_1d`,
 *          fairseq, M2M100, Whisper): the lowest frequency is exactly base^−1. Odd d: a zero
 *          channel is appended (t2t pads, fairseq appends zeros). d = 2: the max(·, 1) guard of
 *          newer t2t, i.e. ω_0 = 1 (fairseq's own formula divides by zero there and gives NaN).
 */
enum class sinusoidal_frequencies { paper, t2t };

/// Configuration of a sinusoidal_embedding (an aggregate: designated initialisers work in C++20).
struct sinusoidal_config {
  std::size_t dim = 0;  ///< d: channels per token (≥ 1; odd widths as the conventions do)
  sinusoidal_layout layout = sinusoidal_layout::interleaved;
  sinusoidal_frequencies frequencies = sinusoidal_frequencies::paper;
  double base = 10000.0;  ///< 10000 everywhere; t2t's max_timescale
  /// Added to every position given to fill/add_to (t2t's start_index; or fairseq's
  /// padding_idx + 1 when you pass 0-based token indices instead of fairseq positions).
  std::int64_t position_offset = 0;
  /// The effective position whose row is all zeros (fairseq / M2M100 padding_idx: pad tokens
  /// get position padding_idx). < 0: none.
  std::int64_t padding_position = -1;
};

/// Vaswani §3.5 as written (interleaved, 2i/d): HF XLM, DistilBERT, FlauBERT, OpenNMT-py.
inline sinusoidal_config sinusoidal_paper(std::size_t dim) {
  return sinusoidal_config{
      dim, sinusoidal_layout::interleaved, sinusoidal_frequencies::paper, 10000.0, 0, -1};
}
/// tensor2tensor / Whisper (concat, i/(d/2 − 1)), positions from 0.
inline sinusoidal_config sinusoidal_t2t(std::size_t dim) {
  return sinusoidal_config{dim, sinusoidal_layout::concat, sinusoidal_frequencies::t2t, 10000.0, 0,
                           -1};
}
/// fairseq / HF M2M100, NLLB, XGLM (concat, i/(d/2 − 1)); positions are fairseq's
/// make_positions (see make_fairseq_positions): real tokens from padding_idx + 1, pads at
/// padding_idx, whose row is zero.
inline sinusoidal_config sinusoidal_fairseq(std::size_t dim, std::int64_t padding_idx = 1) {
  return sinusoidal_config{
      dim, sinusoidal_layout::concat, sinusoidal_frequencies::t2t, 10000.0, 0, padding_idx};
}
/// HF Marian / Pegasus (concat with the paper's 2i/d frequencies), positions from 0.
inline sinusoidal_config sinusoidal_marian(std::size_t dim) {
  return sinusoidal_config{
      dim, sinusoidal_layout::concat, sinusoidal_frequencies::paper, 10000.0, 0, -1};
}

/**
 * fairseq `make_positions` / HF M2M100 `create_position_ids_from_input_ids`: for tokens
 * t < n with is_token[t] != 0 (real) or 0 (pad),
 *     out[t] = is_token[t] ? padding_idx + past_length + (number of real tokens in [0, t]) :
 * padding_idx so left padding does not shift real tokens and pads read the zero row. The sum
 * saturates at INT64_MAX / INT64_MIN instead of overflowing; it is then converted to P.
 */
namespace detail {
template <class IsToken, class P>
void fairseq_positions(const IsToken& is_token, std::size_t n, std::int64_t padding_idx,
                       std::int64_t past_length, P* out) noexcept {
  std::int64_t count = 0;
  const std::int64_t base = saturating_add(padding_idx, past_length);
  for (std::size_t t = 0; t < n; ++t) {
    if (is_token(t)) {
      ++count;
      out[t] = static_cast<P>(saturating_add(base, count));
    } else {
      out[t] = static_cast<P>(padding_idx);
    }
  }
}
}  // namespace detail

template <class P>
void make_fairseq_positions(const unsigned char* is_token, std::size_t n, std::int64_t padding_idx,
                            std::int64_t past_length, P* out) noexcept {
  detail::fairseq_positions([is_token](std::size_t t) { return is_token[t] != 0; }, n, padding_idx,
                            past_length, out);
}

/**
 * fairseq `utils.make_positions(tensor, padding_idx)` from the token ids themselves:
 *     mask = tokens.ne(padding_idx);  positions = cumsum(mask) * mask + padding_idx
 * i.e. make_fairseq_positions with is_token[t] = (token_ids[t] != padding_idx), plus
 * past_length (0 for a whole sequence; the cached length in incremental decoding).
 */
template <class Id, class P>
void make_fairseq_positions_from_ids(const Id* token_ids, std::size_t n, std::int64_t padding_idx,
                                     std::int64_t past_length, P* out) noexcept {
  static_assert(std::is_integral<Id>::value, "posenc: token ids are integers");
  detail::fairseq_positions(
      [token_ids, padding_idx](std::size_t t) {
        return static_cast<std::int64_t>(token_ids[t]) != padding_idx;
      },
      n, padding_idx, past_length, out);
}

/**
 * Sinusoidal absolute position embedding: PE(p, ·) for effective position p = pos + offset.
 *
 * Formula: ω_i = base^(−e_i) (sinusoidal_frequencies), channels per sinusoidal_layout:
 *     sin(p·ω_i), cos(p·ω_i); zero for the padding position (and t2t's odd pad channel).
 * Reference: Vaswani et al., "Attention Is All You Need", §3.5; fairseq
 * `SinusoidalPositionalEmbedding.get_embedding` (modules/sinusoidal_positional_embedding.py) and
 * tensor2tensor `get_timing_signal_1d` for the concatenated conventions.
 *
 * Numerics: ω_i is computed in long double and rounded once to double; the angle is p·ω_i in
 * double (one rounding; p exact below 2^53); cos/sin use posenc's double-reduced kernel
 * (kernels/sincos.hpp) and are rounded once to C = coef_t<T> (float for float and 16-bit
 * storage, double for double). So a float entry is within 1 ulp of sin/cos of the double angle
 * at every position, and the double angle is within p·ω_i·2^−53 of the ideal one: 1e-9 rad at
 * p = 10^7 (never a recurrence: its error grows with p). add_to computes
 * x = T(C(x) + C(PE)). Position range: pos + position_offset saturates at INT64_MAX /
 * INT64_MIN (no overflow); every int64 gives bounded values: beyond 2^53 the position is rounded
 * to double, and angles of 2^32 rad or more use the C library's full reduction (std::cos /
 * std::sin) on every path alike (see rope's position range). Anchors compute the table in float32
 * (error up to 2e-7 at d = 16, and growing with p·ω), so they differ from posenc in the last bits
 * by design.
 *
 * Threads: none started; const members may be called concurrently.
 *
 * Example:
 *     posenc::sinusoidal_embedding pe(posenc::sinusoidal_fairseq(512));
 *     pe.add_to(posenc::make_embed_view(x, T, 512), positions);   // x += PE(positions)
 */
class sinusoidal_embedding {
 public:
  /// Validates the configuration and computes the frequency table once.
  /// Throws std::invalid_argument naming the field and its value.
  explicit sinusoidal_embedding(const sinusoidal_config& cfg) : cfg_(cfg) {
    constexpr const char* who = "posenc::sinusoidal_embedding";
    if (cfg_.dim == 0) detail::invalid(who, "dim", cfg_.dim, "must be > 0");
    if (cfg_.dim > sinusoidal_max_dim)
      detail::invalid(who, "dim", cfg_.dim, "must be <= 2^20 (posenc::sinusoidal_max_dim)");
    if (cfg_.layout != sinusoidal_layout::interleaved && cfg_.layout != sinusoidal_layout::concat)
      detail::invalid(who, "layout", static_cast<int>(cfg_.layout), "is not a sinusoidal_layout");
    if (cfg_.frequencies != sinusoidal_frequencies::paper &&
        cfg_.frequencies != sinusoidal_frequencies::t2t)
      detail::invalid(who, "frequencies", static_cast<int>(cfg_.frequencies),
                      "is not a sinusoidal_frequencies");
    if (!detail::is_finite_bits(cfg_.base) || !(cfg_.base > 1.0))
      detail::invalid(who, "base", cfg_.base, "must be finite and > 1");
    const std::size_t d = cfg_.dim;
    n_cos_ = d / 2;
    n_freq_ = cfg_.frequencies == sinusoidal_frequencies::paper ? (d + 1) / 2 : d / 2;
    freq_.resize(n_freq_);
    const long double lb = std::log2(static_cast<long double>(cfg_.base));
    for (std::size_t i = 0; i < n_freq_; ++i) {
      long double e;
      if (cfg_.frequencies == sinusoidal_frequencies::paper) {
        e = static_cast<long double>(2 * i) / static_cast<long double>(d);
      } else {
        const std::size_t den = n_cos_ > 2 ? n_cos_ - 1 : 1;
        e = static_cast<long double>(i) / static_cast<long double>(den);
      }
      freq_[i] = static_cast<double>(std::exp2(-e * lb));
      max_freq_ = std::max(max_freq_, freq_[i]);
    }
  }

  const sinusoidal_config& config() const noexcept { return cfg_; }
  std::size_t dim() const noexcept { return cfg_.dim; }
  /// Number of frequencies n_f (= sin channels).
  std::size_t frequencies() const noexcept { return n_freq_; }
  /// ω_i in double.
  [[nodiscard]] double frequency(std::size_t i) const noexcept {
    POSENC_ASSERT(i < n_freq_, "posenc::sinusoidal_embedding: frequency index out of range");
    return freq_[i];
  }

  /**
   * The scalar definition: channel `channel` of the row of position pos (offset applied), in
   * C. Every other path gives these values bit for bit.
   */
  template <class C = float>
  [[nodiscard]] C value(std::int64_t pos, std::size_t channel) const noexcept {
    POSENC_ASSERT(channel < cfg_.dim, "posenc::sinusoidal_embedding: channel out of range");
    const std::int64_t p = detail::saturating_add(pos, cfg_.position_offset);
    if (p == cfg_.padding_position && cfg_.padding_position >= 0) return C(0);
    std::size_t i = 0;
    bool is_cos = false;
    if (cfg_.layout == sinusoidal_layout::interleaved) {
      i = channel / 2;
      is_cos = channel % 2 == 1;
      if (!is_cos && i >= n_freq_) return C(0);  // t2t odd pad channel
    } else if (channel < n_freq_) {
      i = channel;
    } else if (channel < n_freq_ + n_cos_) {
      i = channel - n_freq_;
      is_cos = true;
    } else {
      return C(0);  // t2t odd pad channel
    }
    double cv, sv;
    detail::sincos_angle(static_cast<double>(p) * freq_[i], cv, sv);
    return static_cast<C>(is_cos ? cv : sv);
  }

  /// Writes PE(pos[t]) into row t of `out` for the tokens in `range` (pos: int32 or int64).
  template <class Arch = default_arch, class T, class P>
  void fill(embed_view<T> out, const P* pos, token_range range = {}) const noexcept {
    run<Arch, false>(out, pos, std::int64_t{0}, range);
  }
  /// Writes PE(first + t) into row t: a table of positions [first, first + out.tokens).
  template <class Arch = default_arch, class T>
  void fill(embed_view<T> out, std::int64_t first = 0) const noexcept {
    run<Arch, false>(out, static_cast<const std::int64_t*>(nullptr), first, token_range{});
  }
  /// x[t] += PE(pos[t]) for the tokens in `range`, in place.
  template <class Arch = default_arch, class T, class P>
  void add_to(embed_view<T> x, const P* pos, token_range range = {}) const noexcept {
    run<Arch, true>(x, pos, std::int64_t{0}, range);
  }
  /// x[t] += PE(first + t), in place (prefill from position `first`, e.g. the cache length).
  template <class Arch = default_arch, class T>
  void add_to(embed_view<T> x, std::int64_t first) const noexcept {
    run<Arch, true>(x, static_cast<const std::int64_t*>(nullptr), first, token_range{});
  }

 private:
  template <class>
  friend class sinusoidal_table;  // row, to build its rows and for positions it does not hold

  /// One row, effective position p (offset already applied), written or added (`x` has dim()
  /// elements). Users get one row with fill(make_embed_view(x, 1, dim()), pos).
  template <class Arch, bool Add, class T>
  void row(T* x, std::int64_t p) const noexcept {
    using C = coef_t<T>;
    const Arch arch{};
    if (p == cfg_.padding_position && cfg_.padding_position >= 0) {
      if (!Add) kernels::fill(arch, x, cfg_.dim, C(0));
      return;
    }
    const double pd = static_cast<double>(p);
    // One compare per row: every angle below the sincos kernel's limit (else the scalar
    // definition's full reduction, element by element).
    const bool in_kernel_range = std::fabs(pd) * max_freq_ < detail::sincos_kernel_limit;
    const bool interleaved = cfg_.layout == sinusoidal_layout::interleaved;
    alignas(64) double theta[chunk];
    alignas(64) C s[chunk];
    alignas(64) C c[chunk];
    alignas(64) C buf[2 * chunk];
    for (std::size_t i0 = 0; i0 < n_freq_; i0 += chunk) {
      const std::size_t m = std::min(chunk, n_freq_ - i0);
      const std::size_t mc = i0 < n_cos_ ? std::min(m, n_cos_ - i0) : 0;  // cos of this chunk
      kernels::position_angles<Arch>(pd, freq_.data() + i0, theta, m);
      if (in_kernel_range) {
        kernels::sincos(arch, theta, c, s, m);
      } else {
        for (std::size_t k = 0; k < m; ++k) {
          double cv, sv;
          detail::sincos_angle<Arch>(theta[k], cv, sv);
          c[k] = static_cast<C>(cv);
          s[k] = static_cast<C>(sv);
        }
      }
      if (interleaved) {
        const std::size_t n = m + mc;  // channels [2·i0, 2·i0 + n)
        for (std::size_t k = 0; k < m; ++k) buf[kernels::split16_index<T>(2 * k, n)] = s[k];
        for (std::size_t k = 0; k < mc; ++k) buf[kernels::split16_index<T>(2 * k + 1, n)] = c[k];
        put<Arch, Add>(x + 2 * i0, buf, n);
      } else {
        scatter<T>(s, m, buf);
        put<Arch, Add>(x + i0, buf, m);
        scatter<T>(c, mc, buf);
        put<Arch, Add>(x + n_freq_ + i0, buf, mc);
      }
    }
    if (!Add && n_freq_ + n_cos_ < cfg_.dim) kernels::fill(arch, x + cfg_.dim - 1, 1, C(0));
  }

  static constexpr std::size_t chunk = 128;  // frequencies per stack chunk

  template <class T, class C>
  static void scatter(const C* v, std::size_t n, C* buf) noexcept {
    for (std::size_t k = 0; k < n; ++k) buf[kernels::split16_index<T>(k, n)] = v[k];
  }
  template <class Arch, bool Add, class T, class C>
  static void put(T* x, const C* buf, std::size_t n) noexcept {
    if constexpr (Add) {
      kernels::add_values(Arch{}, x, buf, n);
    } else {
      kernels::store_values(Arch{}, x, buf, n);
    }
  }

  template <class Arch, bool Add, class T, class P>
  void run(embed_view<T> x, const P* pos, std::int64_t first, token_range range) const noexcept {
    static_assert(storage_traits<T>::supported,
                  "posenc::sinusoidal_embedding: unsupported storage type (float, double, "
                  "bfloat16_t, float16_t; Eigen::half / Eigen::bfloat16 with posenc/eigen.hpp)");
    static_assert(std::is_integral<P>::value, "posenc: positions are integers (int32 or int64)");
    POSENC_ASSERT(x.dim == cfg_.dim, "posenc::sinusoidal_embedding: view dim != config dim");
    POSENC_ASSERT(x.data != nullptr || x.tokens == 0, "posenc::sinusoidal_embedding: null view");
    const std::size_t last = std::min(range.last, x.tokens);
    for (std::size_t t = range.first; t < last; ++t) {
      const std::int64_t p0 = pos != nullptr
                                  ? static_cast<std::int64_t>(pos[t])
                                  : detail::saturating_add(first, static_cast<std::int64_t>(t));
      row<Arch, Add>(x.row(t), detail::saturating_add(p0, cfg_.position_offset));
    }
  }

  sinusoidal_config cfg_;
  std::size_t n_freq_ = 0;
  std::size_t n_cos_ = 0;
  double max_freq_ = 0.0;  // max ω_i: the per-row angle-range check
  std::vector<double> freq_;
};

/**
 * A precomputed sinusoidal table for storage type T: rows for the effective positions
 * [0, capacity()), computed once by sinusoidal_embedding (same values), then add_to / fill are
 * a plain vectorised add / copy per token (the embedding-table lookup the anchors do, without
 * their float32 table error). Positions outside the table are computed on the fly (same
 * values). Rows are kept in the split16 order of kernels/bias.hpp for T (natural order for float
 * and double).
 *
 * Why the storage type T keys this table, while rope_cache<C> is keyed on the coefficient type:
 * rope_cache's rows are natural-order cos/sin that every storage type with coef_t<T> == C reads
 * (one float cache serves float, bfloat16_t and float16_t views, and prepare() reorders per
 * storage type at run time), whereas these rows are stored in the order the add/store kernel
 * reads for T (split16 order for 16-bit T), so that add_to is one plain pass per row.
 *
 * Growth is explicit (reserve); nothing grows inside a const call.
 *
 * Example:
 *     posenc::sinusoidal_table<float> table(pe, 4096);
 *     table.add_to(posenc::make_embed_view(x, T, 512), positions);
 */
template <class T>
class sinusoidal_table {
  using C = coef_t<T>;

 public:
  template <class Arch = default_arch>
  sinusoidal_table(const sinusoidal_embedding& pe, std::size_t capacity, Arch arch = Arch{})
      : pe_(pe) {
    reserve(capacity, arch);
  }

  /// Grows the table to effective positions [0, capacity); never shrinks. Allocates; not to be
  /// called while another thread reads this table (the one non-thread-safe member).
  /// Throws std::length_error, before allocating, when capacity > max_table_positions (2^53) or
  /// the table's bytes do not fit in size_t.
  template <class Arch = default_arch>
  void reserve(std::size_t capacity, Arch = Arch{}) {
    if (capacity <= capacity_) return;
    const std::size_t d = pe_.dim();
    detail::check_table_size<Arch>("posenc::sinusoidal_table", capacity, d, sizeof(C));
    table_.resize(capacity * d);
    std::vector<C> natural(d);
    for (std::size_t p = capacity_; p < capacity; ++p) {
      pe_.template row<Arch, false>(natural.data(), static_cast<std::int64_t>(p));
      C* row = table_.data() + p * d;
      for (std::size_t i = 0; i < d; ++i) row[kernels::split16_index<T>(i, d)] = natural[i];
    }
    capacity_ = capacity;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  const sinusoidal_embedding& embedding() const noexcept { return pe_; }
  std::size_t bytes() const noexcept { return table_.size() * sizeof(C); }

  /// Same as sinusoidal_embedding::add_to, reading the table.
  template <class Arch = default_arch, class P>
  void add_to(embed_view<T> x, const P* pos, token_range range = {}) const noexcept {
    run<Arch, true>(x, pos, 0, range);
  }
  template <class Arch = default_arch>
  void add_to(embed_view<T> x, std::int64_t first) const noexcept {
    run<Arch, true>(x, static_cast<const std::int64_t*>(nullptr), first, token_range{});
  }
  /// Same as sinusoidal_embedding::fill, reading the table.
  template <class Arch = default_arch, class P>
  void fill(embed_view<T> out, const P* pos, token_range range = {}) const noexcept {
    run<Arch, false>(out, pos, 0, range);
  }
  template <class Arch = default_arch>
  void fill(embed_view<T> out, std::int64_t first = 0) const noexcept {
    run<Arch, false>(out, static_cast<const std::int64_t*>(nullptr), first, token_range{});
  }

 private:
  template <class Arch, bool Add, class P>
  void run(embed_view<T> x, const P* pos, std::int64_t first, token_range range) const noexcept {
    static_assert(std::is_integral<P>::value, "posenc: positions are integers (int32 or int64)");
    POSENC_ASSERT(x.dim == pe_.dim(), "posenc::sinusoidal_table: view dim != config dim");
    const std::size_t d = pe_.dim();
    const std::int64_t off = pe_.config().position_offset;
    const std::size_t last = std::min(range.last, x.tokens);
    for (std::size_t t = range.first; t < last; ++t) {
      const std::int64_t p = detail::saturating_add(
          pos != nullptr ? static_cast<std::int64_t>(pos[t])
                         : detail::saturating_add(first, static_cast<std::int64_t>(t)),
          off);
      T* row = x.row(t);
      if (p >= 0 && static_cast<std::uint64_t>(p) < capacity_) {
        const C* v = table_.data() + static_cast<std::size_t>(p) * d;
        if constexpr (Add) {
          kernels::add_values(Arch{}, row, v, d);
        } else {
          kernels::store_values(Arch{}, row, v, d);
        }
      } else {
        pe_.template row<Arch, Add>(row, p);
      }
    }
  }

  sinusoidal_embedding pe_;
  std::vector<C> table_;
  std::size_t capacity_ = 0;
};

}  // namespace posenc

#endif  // POSENC_SINUSOIDAL_HPP
