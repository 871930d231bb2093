// posenc — reference_attention: plain exact softmax attention over strided Q/K/V with a
// rotation (RoPE or identity) and a bias stack, for prefill and for decode over a KV cache.
// For tests, examples and users' own checks; accumulates in double.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_ATTENTION_HPP
#define POSENC_ATTENTION_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include "posenc/compose.hpp"
#include "posenc/config.hpp"
#include "posenc/contextual.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/rotation.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

namespace posenc {

/// Options of reference_attention.
struct attention_options {
  /// Softmax scale applied to q·k before the bias is added; 0 means 1/√head_dim. A contextual
  /// bias (CoPE) reads these scaled logits: its gates are σ(scale·q·k).
  double scale = 0.0;
  /// Mask keys whose position is after the query's (decoders). A causal bias (alibi_bias in
  /// causal mode, causal_mask) masks them too; both together are harmless.
  bool causal = true;
  /// Position of query 0. < 0 (default): k_first + k.tokens − q.tokens, i.e. the queries are
  /// the last q.tokens of the keys — prefill (q.tokens == k.tokens → 0) and decode over a KV
  /// cache of L tokens (1 query → position L) alike.
  std::int64_t q_first = -1;
  /// Position of key 0.
  std::int64_t k_first = 0;
  /// The keys are already rotated (a KV cache stores rotated keys): only q is rotated.
  bool keys_rotated = false;
};

namespace detail {
template <class B, class = void>
struct has_num_heads : std::false_type {};
template <class B>
struct has_num_heads<B, std::void_t<decltype(std::declval<const B&>().num_heads())>>
    : std::true_type {};
template <class B, class = void>
struct has_inner_bias : std::false_type {};
template <class B>
struct has_inner_bias<B, std::void_t<decltype(std::declval<const B&>().inner())>> : std::true_type {
};
template <class B, class = void>
struct has_parts : std::false_type {};
template <class B>
struct has_parts<
    B, std::void_t<decltype(B::size()), decltype(std::declval<const B&>().template part<0>())>>
    : std::true_type {};

template <class B, std::size_t... I>
std::size_t parts_num_heads(const B& b, std::index_sequence<I...>) noexcept;

/// The number of heads a bias has values for (the smallest over its parts); SIZE_MAX when it
/// does not say (masks, user biases).
template <class B>
std::size_t bias_num_heads(const B& b) noexcept {
  if constexpr (has_num_heads<B>::value) {
    return static_cast<std::size_t>(b.num_heads());
  } else if constexpr (has_inner_bias<B>::value) {
    return bias_num_heads(get_bias(b.inner()));
  } else if constexpr (has_parts<B>::value) {
    return parts_num_heads(b, std::make_index_sequence<B::size()>{});
  } else {
    (void)b;
    return static_cast<std::size_t>(-1);
  }
}
template <class B, std::size_t... I>
std::size_t parts_num_heads(const B& b, std::index_sequence<I...>) noexcept {
  std::size_t h = static_cast<std::size_t>(-1);
  ((h = std::min(h, bias_num_heads(get_bias(b.template part<I>())))), ...);
  return h;
}

template <class T>
double to_double(const T& x) noexcept {
  using C = coef_t<std::remove_const_t<T>>;
  return static_cast<double>(posenc::detail::load_elem<C>(x));
}
template <class T>
void from_double(T& x, double v) noexcept {
  using C = coef_t<T>;
  posenc::detail::store_elem<C>(x, static_cast<C>(v));
}
}  // namespace detail

namespace detail {

/// The shapes, options, rotation and bias of a reference_attention call checked against each
/// other; returns the position of query 0.
template <class Rotation, class Bias, class Q, class K, class V, class O>
std::int64_t attention_check(head_view<Q> q, head_view<K> k, head_view<V> v, head_view<O> out,
                             const Rotation& rotation, const Bias& bias,
                             const attention_options& opt) {
  constexpr const char* who = "posenc::reference_attention";
  if (q.dim == 0) invalid(who, "q.dim", q.dim, "must be > 0");
  if (k.dim != q.dim) invalid(who, "k.dim", k.dim, "must equal q.dim");
  if (v.tokens != k.tokens) invalid(who, "v.tokens", v.tokens, "must equal k.tokens");
  if (v.heads != k.heads) invalid(who, "v.heads", v.heads, "must equal k.heads");
  if (out.tokens != q.tokens) invalid(who, "out.tokens", out.tokens, "must equal q.tokens");
  if (out.heads != q.heads) invalid(who, "out.heads", out.heads, "must equal q.heads");
  if (out.dim != v.dim) invalid(who, "out.dim", out.dim, "must equal v.dim");
  if (k.heads == 0 || q.heads % k.heads != 0)
    invalid(who, "k.heads", k.heads, "must be > 0 and divide q.heads");
  if (opt.k_first < 0) invalid(who, "k_first", opt.k_first, "must be >= 0");
  if (!is_finite_bits(opt.scale) || opt.scale < 0.0)
    invalid(who, "scale", opt.scale, "must be finite and >= 0 (0: 1/sqrt(head_dim))");
  // Every position q_first + i, k_first + j must be an int64 (no overflow anywhere below).
  constexpr std::int64_t pmax = std::numeric_limits<std::int64_t>::max();
  if (k.tokens > static_cast<std::uint64_t>(pmax) ||
      opt.k_first > pmax - static_cast<std::int64_t>(k.tokens > 0 ? k.tokens - 1 : 0))
    invalid(who, "k_first", opt.k_first, "+ k.tokens - 1 must not exceed INT64_MAX");
  if (q.tokens > static_cast<std::uint64_t>(pmax))
    invalid(who, "q.tokens", q.tokens, "must not exceed INT64_MAX");
  const std::int64_t q_first =
      opt.q_first >= 0
          ? opt.q_first
          : opt.k_first + static_cast<std::int64_t>(k.tokens) - static_cast<std::int64_t>(q.tokens);
  if (q_first < 0) invalid(who, "q_first", q_first, "must be >= 0 (more queries than keys?)");
  if (q_first > pmax - static_cast<std::int64_t>(q.tokens > 0 ? q.tokens - 1 : 0))
    invalid(who, "q_first", q_first, "+ q.tokens - 1 must not exceed INT64_MAX");
  // The rotation and the bias against the shapes (a mismatch would read or write out of bounds).
  if (const std::size_t rd = rotation_head_dim(rotation); rd != 0 && rd != q.dim) {
    std::ostringstream why;
    why << "(of the rotation) must equal q.dim = " << q.dim;
    invalid(who, "head_dim", rd, why.str().c_str());
  }
  if (const std::size_t bh = bias_num_heads(get_bias(bias)); bh < q.heads) {
    std::ostringstream why;
    why << "(of the bias) must be >= q.heads = " << q.heads;
    invalid(who, "num_heads", bh, why.str().c_str());
  }
  return q_first;
}

/// A tensor's rows copied into dense [tokens × heads × dim] storage of its own type.
template <class T>
std::vector<std::remove_const_t<T>> dense_copy(head_view<T> x) {
  std::vector<std::remove_const_t<T>> d(x.tokens * x.heads * x.dim);
  for (std::size_t t = 0; t < x.tokens; ++t)
    for (std::size_t h = 0; h < x.heads; ++h)
      std::copy(x.row(t, h), x.row(t, h) + x.dim, d.data() + (t * x.heads + h) * x.dim);
  return d;
}
template <class T>
std::vector<double> to_doubles(const std::vector<T>& x) {
  std::vector<double> d(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) d[i] = to_double(x[i]);
  return d;
}

/// The inputs of the tiled loop: q and k rotated in their storage type (the numerics an engine
/// has: q at q_first + i, k at k_first + j unless the keys are already rotated), then in
/// double, with v; dense [tokens × heads × dim].
struct attention_inputs {
  std::vector<double> q, k, v;
};
template <class Rotation, class Q, class K, class V>
attention_inputs attention_rotated(head_view<Q> q, head_view<K> k, head_view<V> v,
                                   const Rotation& rotation, std::int64_t q_first,
                                   const attention_options& opt) {
  auto qs = dense_copy(q);
  auto ks = dense_copy(k);
  std::vector<std::int64_t> qpos(q.tokens), kpos(k.tokens);
  for (std::size_t t = 0; t < q.tokens; ++t) qpos[t] = q_first + static_cast<std::int64_t>(t);
  for (std::size_t t = 0; t < k.tokens; ++t) kpos[t] = opt.k_first + static_cast<std::int64_t>(t);
  if (q.tokens > 0)
    rotation.apply(make_head_view(qs.data(), q.tokens, q.heads, q.dim), qpos.data());
  if (k.tokens > 0 && !opt.keys_rotated)
    rotation.apply(make_head_view(ks.data(), k.tokens, k.heads, k.dim), kpos.data());
  return {to_doubles(qs), to_doubles(ks), to_doubles(dense_copy(v))};
}

/// The tiled online-softmax loop of reference_attention over rotated inputs (see there).
template <class Bias>
class attention_loop {
 public:
  static constexpr std::size_t BQ = 16, BK = 64;
  static constexpr bool contextual = has_contextual_part_v<Bias>;
  static constexpr double ninf = -std::numeric_limits<double>::infinity();

  attention_loop(const attention_inputs& in, const Bias& bias, std::size_t Tq, std::size_t Tk,
                 std::size_t Hq, std::size_t Hkv, std::size_t D, std::size_t Dv, double scale,
                 std::int64_t q_first, const attention_options& opt)
      : in_(in),
        bias_(bias),
        Tq_(Tq),
        Tk_(Tk),
        Hq_(Hq),
        Hkv_(Hkv),
        D_(D),
        Dv_(Dv),
        scale_(scale),
        q_first_(q_first),
        opt_(opt),
        s_(BQ * BK),
        acc_(BQ * Dv),
        m_(BQ),
        l_(BQ) {
    if constexpr (contextual) {
      cscratch_n_ = contextual_part(bias_).contextual_scratch();
      cscratch_.resize(BQ * cscratch_n_);
      cq_.resize(BQ);
    }
  }

  /// out rows [i0, i0 + nq) of query head h.
  template <class O>
  void query_tile(head_view<O> out, std::size_t h, std::size_t i0) {
    const std::size_t nq = std::min(BQ, Tq_ - i0);
    std::fill(acc_.begin(), acc_.end(), 0.0);
    std::fill(m_.begin(), m_.end(), ninf);
    std::fill(l_.begin(), l_.end(), 0.0);
    if constexpr (contextual) begin_queries(h, i0, nq);
    const std::int64_t qlast = q_first_ + static_cast<std::int64_t>(i0 + nq - 1);
    const std::size_t ntiles = (Tk_ + BK - 1) / BK;
    for (std::size_t t = 0; t < ntiles; ++t) {
      const std::size_t j0 = (contextual ? ntiles - 1 - t : t) * BK;  // contextual: newest first
      if (opt_.causal && opt_.k_first + static_cast<std::int64_t>(j0) > qlast) {  // future tile
        if (contextual) continue;
        break;  // and so is every later one
      }
      key_tile(h, i0, nq, j0);
    }
    for (std::size_t r = 0; r < nq; ++r) {
      O* o = out.row(i0 + r, h);
      const double inv = l_[r] > 0.0 ? 1.0 / l_[r] : 0.0;
      for (std::size_t i = 0; i < Dv_; ++i) from_double(o[i], acc_[r * Dv_ + i] * inv);
    }
  }

 private:
  std::size_t kv_head(std::size_t h) const noexcept { return h / (Hq_ / Hkv_); }

  void begin_queries(std::size_t h, std::size_t i0, std::size_t nq) {
    for (std::size_t r = 0; r < nq; ++r) {
      const std::int64_t seen = q_first_ + static_cast<std::int64_t>(i0 + r) - opt_.k_first + 1;
      const std::size_t max_keys = !opt_.causal ? Tk_
                                   : seen <= 0  ? 0
                                                : std::min(Tk_, static_cast<std::size_t>(seen));
      cq_[r] = contextual_query<double>{h,
                                        kv_head(h),
                                        in_.q.data() + ((i0 + r) * Hq_ + h) * D_,
                                        scale_,
                                        cscratch_.data() + r * cscratch_n_,
                                        0.0};
      contextual_part(bias_).template begin_query<scalar_arch>(cq_[r], max_keys);
    }
  }

  /// Scores of queries [i0, i0 + nq) against keys [j0, j0 + nk): scale·q·k, then the causal
  /// mask, the contextual part (keys the bias leaves visible) and the position parts.
  void score_tile(std::size_t h, std::size_t i0, std::size_t nq, std::size_t j0, std::size_t nk) {
    const std::size_t g = kv_head(h);
    for (std::size_t r = 0; r < nq; ++r) {
      const double* qv = in_.q.data() + ((i0 + r) * Hq_ + h) * D_;
      for (std::size_t c = 0; c < nk; ++c) {
        const double* kv = in_.k.data() + ((j0 + c) * Hkv_ + g) * D_;
        double dot = 0.0;
        for (std::size_t i = 0; i < D_; ++i) dot += qv[i] * kv[i];
        s_[r * BK + c] = scale_ * dot;
      }
    }
    const logits_view<double> tile{s_.data(), nq, nk, static_cast<std::ptrdiff_t>(BK)};
    const std::int64_t q0 = q_first_ + static_cast<std::int64_t>(i0);
    const std::int64_t k0 = opt_.k_first + static_cast<std::int64_t>(j0);
    const causal_mask mask{};
    if (opt_.causal) mask.add_to<scalar_arch>(tile, h, q0, k0);
    if constexpr (contextual) {
      for (std::size_t r = 0; r < nq; ++r) {
        const std::int64_t qp = q0 + static_cast<std::int64_t>(r);
        auto vis = bias_visible<double>(bias_, h, qp, k0, nk);
        if (opt_.causal) {
          const auto m = bias_visible<double>(mask, h, qp, k0, nk);
          vis = {std::max(vis.first, m.first), std::min(vis.second, m.second)};
        }
        contextual_part(bias_).template add_contextual<scalar_arch>(cq_[r], s_.data() + r * BK, j0,
                                                                    vis.first, vis.second);
      }
    }
    add_bias(bias_, tile, h, q0, k0);
  }

  /// One key tile into the running softmax of each query row.
  void key_tile(std::size_t h, std::size_t i0, std::size_t nq, std::size_t j0) {
    const std::size_t nk = std::min(BK, Tk_ - j0), g = kv_head(h);
    score_tile(h, i0, nq, j0, nk);
    for (std::size_t r = 0; r < nq; ++r) {
      const double* sr = s_.data() + r * BK;
      double mt = ninf;
      for (std::size_t c = 0; c < nk; ++c) mt = std::max(mt, sr[c]);
      if (mt == ninf) continue;  // nothing visible in this tile for this query
      const double mnew = std::max(m_[r], mt);
      const double alpha = m_[r] == ninf ? 0.0 : std::exp(m_[r] - mnew);
      double* ar = acc_.data() + r * Dv_;
      for (std::size_t i = 0; i < Dv_; ++i) ar[i] *= alpha;
      double l = l_[r] * alpha;
      for (std::size_t c = 0; c < nk; ++c) {
        if (sr[c] == ninf) continue;
        const double p = std::exp(sr[c] - mnew);
        l += p;
        const double* vv = in_.v.data() + ((j0 + c) * Hkv_ + g) * Dv_;
        for (std::size_t i = 0; i < Dv_; ++i) ar[i] += p * vv[i];
      }
      l_[r] = l;
      m_[r] = mnew;
    }
  }

  const attention_inputs& in_;
  const Bias& bias_;
  std::size_t Tq_, Tk_, Hq_, Hkv_, D_, Dv_;
  double scale_;
  std::int64_t q_first_;
  const attention_options& opt_;
  std::vector<double> s_, acc_, m_, l_;  // score tile; per query: output sum, max, denominator
  std::size_t cscratch_n_ = 0;           // contextual part: per-query scratch and state
  std::vector<double> cscratch_;
  std::vector<contextual_query<double>> cq_;
};

}  // namespace detail

/**
 * Exact softmax attention, one query head at a time:
 *
 *     s(i, j) = scale · ⟨R(p_i) q_i, R(p_j) k_j⟩ + bias(h, p_i, p_j)      (−∞ when masked)
 *     out_i   = Σ_j softmax_j(s(i, ·)) · v_j
 *
 * Shapes: q [Tq × Hq × D], k [Tk × Hkv × D], v [Tk × Hkv × Dv], out [Tq × Hq × Dv] (any strides
 * of head_view; GQA/MQA: query head h reads kv head h / (Hq / Hkv)). Query i is at position
 * q_first + i, key j at k_first + j (attention_options). Rotation: posenc::rope,
 * posenc::rope_cache or identity_rotation, applied in the storage type T to copies of q and k
 * (q and k are never modified) — the numerics an engine has. Bias: any bias of compose.hpp's
 * protocol (alibi_bias, sum_bias{...}, causal_mask, a user type with value()), added after
 * the scale as every anchor but Falcon does (see alibi_config::bias_scale).
 *
 * Computation: in double after the rotation. Keys are visited in tiles of 64 (16 queries per
 * tile) with an online softmax; each score tile gets the bias through add_bias — the fused
 * tile path of an engine, never a T×T matrix — and fully masked tiles are skipped. A query
 * that sees no key at all gets a zero output. The output is rounded once to O (16-bit via
 * float). Allocates scratch (q, k copies and one tile): a checking tool, not a hot path.
 *
 * Contextual bias (posenc/contextual.hpp, e.g. posenc::cope_bias), alone or as one part of a
 * sum_bias: key tiles are then visited newest to oldest; per query tile and key tile the
 * scaled logits are computed, the causal mask applied, then the contextual part adds its term
 * to the keys the bias leaves visible (carrying its per-query state, e.g. CoPE's running gate
 * sum, from tile to tile), and only then the position parts are added (add_bias). The online
 * softmax does not depend on the order. One pass, no T×T matrix.
 *
 * Throws std::invalid_argument naming the field when the shapes do not fit.
 *
 * Example (decode step over a cache of L tokens, ALiBi + RoPE). A KV cache holds rotated keys
 * (rope.apply_to wrote them): say so, or they would be rotated a second time.
 *     posenc::attention_options opt;
 *     opt.keys_rotated = true;
 *     posenc::reference_attention(q1, k_cache, v_cache, out1, rope, alibi, opt);  // q1: 1 token
 */
template <class Rotation = identity_rotation, class Bias = no_bias, class Q, class K, class V,
          class O>
void reference_attention(head_view<Q> q, head_view<K> k, head_view<V> v, head_view<O> out,
                         const Rotation& rotation = Rotation{}, const Bias& bias = Bias{},
                         const attention_options& opt = attention_options{}) {
  static_assert(!std::is_const<O>::value, "posenc::reference_attention: out is written");
  const std::int64_t q_first = detail::attention_check(q, k, v, out, rotation, bias, opt);
  if constexpr (has_contextual_part_v<Bias>)
    contextual_part(bias).check_contextual(q.dim, q.heads, k.heads, k.tokens);
  const double scale = opt.scale > 0.0 ? opt.scale : 1.0 / std::sqrt(static_cast<double>(q.dim));
  const detail::attention_inputs in = detail::attention_rotated(q, k, v, rotation, q_first, opt);
  detail::attention_loop<Bias> loop(in, bias, q.tokens, k.tokens, q.heads, k.heads, q.dim, v.dim,
                                    scale, q_first, opt);
  for (std::size_t h = 0; h < q.heads; ++h)
    for (std::size_t i0 = 0; i0 < q.tokens; i0 += loop.BQ) loop.query_tile(out, h, i0);
}

/**
 * reference_attention with explicit positions: query i at q_positions[i], key j at
 * k_positions[j] (int32 or int64, >= 0, q.tokens and k.tokens of them) instead of q_first + i
 * and k_first + j: keys gathered from a paged cache, or any order. The rotation turns q and k
 * by those positions (k only when !opt.keys_rotated), the bias sees them
 * (positioned<Bias, P>), and opt.causal masks key j for query i when k_positions[j] >
 * q_positions[i] (positioned<causal_mask, P>); opt.q_first and opt.k_first are ignored.
 * Packed sequences (cu_seqlens) need a mask between sequences besides: pass it in the bias.
 * A contextual bias (CoPE) counts keys in index order, newest last, and is not supported here
 * (static_assert). Same values as the affine call when the positions are q_first + i and
 * k_first + j (tests/attention_test.cpp).
 */
template <class Rotation = identity_rotation, class Bias = no_bias, class Q, class K, class V,
          class O, class P>
void reference_attention(head_view<Q> q, head_view<K> k, head_view<V> v, head_view<O> out,
                         const Rotation& rotation, const Bias& bias, const P* q_positions,
                         const P* k_positions, attention_options opt = attention_options{}) {
  constexpr const char* who = "posenc::reference_attention";
  static_assert(std::is_same<P, std::int32_t>::value || std::is_same<P, std::int64_t>::value,
                "posenc::reference_attention: positions are int32_t or int64_t");
  static_assert(!has_contextual_part_v<Bias>,
                "posenc::reference_attention: a contextual bias counts keys in index order; "
                "explicit positions are not supported with it");
  if (q.tokens > 0 && q_positions == nullptr)
    detail::invalid(who, "q_positions", "null", "with q.tokens > 0");
  if (k.tokens > 0 && k_positions == nullptr)
    detail::invalid(who, "k_positions", "null", "with k.tokens > 0");
  if (k.dim != q.dim) detail::invalid(who, "k.dim", k.dim, "must equal q.dim");
  const auto check_positions = [&](const P* p, std::size_t n, const char* field) {
    for (std::size_t t = 0; t < n; ++t)
      if (p[t] < 0) detail::invalid(who, field, static_cast<std::int64_t>(p[t]), "must be >= 0");
  };
  check_positions(q_positions, q.tokens, "q_positions[i]");
  check_positions(k_positions, k.tokens, "k_positions[j]");
  // Rotated copies at the given positions; the affine call below then works in index space.
  auto qs = detail::dense_copy(q);
  auto ks = detail::dense_copy(k);
  const auto qv = make_head_view(qs.data(), q.tokens, q.heads, q.dim);
  const auto kv = make_head_view(ks.data(), k.tokens, k.heads, k.dim);
  if (const std::size_t rd = detail::rotation_head_dim(rotation); rd != 0 && rd != q.dim) {
    std::ostringstream why;
    why << "(of the rotation) must equal q.dim = " << q.dim;
    detail::invalid(who, "head_dim", rd, why.str().c_str());
  }
  if (q.tokens > 0) rotation.apply(qv, q_positions);
  if (k.tokens > 0 && !opt.keys_rotated) rotation.apply(kv, k_positions);
  const position_map<P> qm{q_positions, q.tokens}, km{k_positions, k.tokens};
  const bool causal = opt.causal;
  opt.causal = false;
  opt.keys_rotated = true;
  opt.q_first = 0;
  opt.k_first = 0;
  if (causal) {
    const sum_bias both{positioned<std::reference_wrapper<const Bias>, P>(std::cref(bias), qm, km),
                        positioned<causal_mask, P>(causal_mask{}, qm, km)};
    reference_attention(qv, kv, v, out, identity_rotation{}, both, opt);
  } else {
    const positioned<std::reference_wrapper<const Bias>, P> pb(std::cref(bias), qm, km);
    reference_attention(qv, kv, v, out, identity_rotation{}, pb, opt);
  }
}

}  // namespace posenc

#endif  // POSENC_ATTENTION_HPP
