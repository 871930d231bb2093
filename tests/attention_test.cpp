// posenc tests — include/posenc/attention.hpp: reference_attention against exact attention in
// mpmath (tests/data/bias_attention.txt: none, RoPE + GQA, ALiBi, ALiBi + RoPE with a position
// offset, NTK-ALiBi, symmetric ALiBi, sinusoidal APE), in double and float storage with error
// bounds derived from the conditioning; decoding row by row over a KV cache equals prefill for
// every method; the row-invariant ALiBi forms give the relative form's outputs; GQA; shapes.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/attention.hpp>
#include <posenc/compose.hpp>
#include <posenc/ntk_alibi.hpp>
#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/sinusoidal.hpp>

#include "support/bias_data.hpp"
#include "support/sizes.hpp"

namespace {

using posenc::alibi_bias;
using posenc::attention_options;
using posenc::make_head_view;
using posenc::reference_attention;

constexpr double kU = 0x1p-53;  // unit roundoff of double

double norm2(const double* x, std::size_t n) {
  long double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<long double>(x[i]) * x[i];
  return static_cast<double>(std::sqrt(s));
}

// ---- against the exact oracle ----------------------------------------------------------------

/**
 * Error bound for one output element of reference_attention against the exact attention.
 *
 * Inputs to the dot products (rotated q, k; or embeddings + PE) carry a relative error ε_in on
 * their 2-norm: RoPE's double angle is p·θ rounded twice (≤ p·2^-52 rad), its cos/sin are within
 * 2 ulp of that angle's and the rotation adds ≤ 2u per element, then the result is rounded to
 * the storage (u_s); each element of a pair is off by ≤ (|a| + |b|)·e ≤ √2·‖pair‖·e. PE adds
 * ≤ p·ω·2^-52 + 2u_s per element (|PE| ≤ 1). A dot product of D terms in double adds
 * ≤ D·u·Σ|q'_i k'_i| ≤ D·u·‖q‖‖k‖ (rotations preserve 2-norms). So logit j is within
 *     δ_j = scale·(2√2·ε_in + (D + 2)·u)·‖q‖·‖k_j‖ + 4u·|bias_j|
 * (the bias: slope within 1 ulp, product and addition). First order, softmax weights then move by
 * |Δp_j| ≤ 2δ·p_j and, as Σ Δp_j = 0, out_i by ≤ 2δ·Σ_j p_j|v_j,i − out_i| = 2δ·vdev_i; the
 * softmax arithmetic itself (exp, a sum of Tk terms, a division, in double) adds (Tk + 6)·u·vabs_i;
 * perturbed values (APE adds PE to v) add ε_v·(vabs_i + 1); the final rounding u_s·|out_i|.
 * The bound uses 2.2δ for the second-order terms (δ ≪ 1 here).
 */
struct bound_inputs {
  double eps_in = 0;   // relative 2-norm error of the transformed q and k
  double eps_v = 0;    // absolute error per v element relative to (|v| + 1)
  double u_store = 0;  // unit roundoff of the storage type
};

double worst_ratio[2] = {0, 0};  // largest |error| / bound, float and double storage

template <class T>
void check_case(const posenc_test::attention_case& c) {
  const std::size_t Tn = static_cast<std::size_t>(c.tokens), H = static_cast<std::size_t>(c.heads),
                    G = static_cast<std::size_t>(c.kv_heads), D = static_cast<std::size_t>(c.dim);
  std::vector<T> q(c.q.begin(), c.q.end()), k(c.k.begin(), c.k.end()), v(c.v.begin(), c.v.end());
  std::vector<T> out(Tn * H * D);
  attention_options opt;
  opt.causal = c.causal;
  opt.k_first = c.k_first;
  const posenc::rope rope({D});
  alibi_bias alibi({H, 8.0, c.causal ? posenc::alibi_mode::causal : posenc::alibi_mode::symmetric});
  if (c.alibi == "ntk") alibi.set_slopes(posenc::ntk_alibi_slopes{2.0});
  const std::int64_t pmax = c.k_first + c.tokens - 1;
  const double u_s = std::is_same<T, double>::value ? kU : 0x1p-24;
  bound_inputs b;
  b.u_store = u_s;
  if (c.rope) b.eps_in = static_cast<double>(pmax) * 0x1p-52 + 4 * u_s + 2 * kU;
  if (c.ape) {
    // x = e + PE(p) in storage, added to q, k and v (every head row of token t gets PE(p)):
    // PE within p·ω·2^-52 + 2u_s of the exact one (ω ≤ 1), the sum rounded once (u_s).
    const posenc::sinusoidal_embedding pe(posenc::sinusoidal_paper(D));
    for (std::size_t t = 0; t < Tn; ++t) {
      const std::int64_t p = c.k_first + static_cast<std::int64_t>(t);
      std::vector<std::int64_t> ph(H, p), pg(G, p);
      pe.add_to(posenc::make_embed_view(q.data() + t * H * D, H, D), ph.data());
      pe.add_to(posenc::make_embed_view(k.data() + t * G * D, G, D), pg.data());
      pe.add_to(posenc::make_embed_view(v.data() + t * G * D, G, D), pg.data());
    }
    b.eps_in = static_cast<double>(pmax) * 0x1p-52 + 3 * u_s;
    b.eps_v = b.eps_in;
  }
  const auto qv = make_head_view<const T>(q.data(), Tn, H, D);
  const auto kv = make_head_view<const T>(k.data(), Tn, G, D);
  const auto vv = make_head_view<const T>(v.data(), Tn, G, D);
  const auto ov = make_head_view(out.data(), Tn, H, D);
  const posenc::identity_rotation none;
  const posenc::no_bias nob;
  if (c.rope && c.alibi != "none")
    reference_attention(qv, kv, vv, ov, rope, alibi, opt);
  else if (c.rope)
    reference_attention(qv, kv, vv, ov, rope, nob, opt);
  else if (c.alibi != "none")
    reference_attention(qv, kv, vv, ov, none, alibi, opt);
  else
    reference_attention(qv, kv, vv, ov, none, nob, opt);

  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (std::size_t t = 0; t < Tn; ++t) {
    for (std::size_t h = 0; h < H; ++h) {
      const std::size_t g = h / (H / G);
      // ‖q‖ and max_j ‖k_j‖ over visible keys (of the exact inputs, + √D for APE's |PE| ≤ 1).
      const double extra = c.ape ? std::sqrt(static_cast<double>(D)) : 0.0;
      const double qn = norm2(c.q.data() + (t * H + h) * D, D) + extra;
      double delta = 0;
      for (std::size_t j = 0; j < Tn; ++j) {
        if (c.causal && j > t) break;
        const double kn = norm2(c.k.data() + (j * G + g) * D, D) + extra;
        double bias = 0;
        if (c.alibi != "none")
          bias = alibi.slope(h) * std::fabs(static_cast<double>(static_cast<std::int64_t>(t) -
                                                                static_cast<std::int64_t>(j)));
        const double dj =
            scale * (2 * std::sqrt(2.0) * b.eps_in + (static_cast<double>(D) + 2) * kU) * qn * kn +
            4 * kU * bias;
        delta = std::max(delta, dj);
      }
      for (std::size_t i = 0; i < D; ++i) {
        const std::size_t e = (t * H + h) * D + i;
        const double want = c.out[e];
        const double got = static_cast<double>(out[e]);
        double vmax = 0;
        for (std::size_t j = 0; j < Tn; ++j)
          vmax = std::max(vmax, std::fabs(c.v[(j * G + g) * D + i]));
        const double bound = 2.2 * delta * c.vdev[e] +
                             (static_cast<double>(Tn) + 6) * kU * c.vabs[e] + b.eps_v * (vmax + 1) +
                             b.u_store * std::fabs(want);
        double& wr = worst_ratio[std::is_same<T, double>::value ? 1 : 0];
        wr = std::max(wr, std::fabs(got - want) / bound);
        ASSERT_LE(std::fabs(got - want), bound)
            << c.name << " " << (std::is_same<T, double>::value ? "double" : "float") << " t=" << t
            << " h=" << h << " i=" << i << ": " << got << " vs " << want << " (δ = " << delta
            << ")";
      }
    }
  }
}

TEST(AttentionOracle, EveryMethodInDoubleAndFloatStorage) {
  const auto cases = posenc_test::load_attention_cases();
  ASSERT_EQ(cases.size(), 7u);
  for (const auto& c : cases) {
    check_case<double>(c);
    check_case<float>(c);
  }
  RecordProperty("worst_error_over_bound_float", std::to_string(worst_ratio[0]));
  RecordProperty("worst_error_over_bound_double", std::to_string(worst_ratio[1]));
}

// ---- decode row by row equals prefill -----------------------------------------------------------

struct qkv {
  std::size_t T, H, G, D;
  std::vector<float> q, k, v;
};

qkv random_qkv(std::size_t T, std::size_t H, std::size_t G, std::size_t D, std::uint64_t seed) {
  auto rng = posenc_test::make_rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  qkv x{T,
        H,
        G,
        D,
        std::vector<float>(T * H * D),
        std::vector<float>(T * G * D),
        std::vector<float>(T * G * D)};
  for (auto& e : x.q) e = u(rng);
  for (auto& e : x.k) e = u(rng);
  for (auto& e : x.v) e = 2.0f * u(rng);
  return x;
}

/**
 * Prefill all tokens at once, then decode: token t alone against the cache of tokens 0..t
 * (its position t + k_first comes from the cache length). The outputs must be identical, bit
 * for bit: every query row sees the same keys in the same tiles (masked keys contribute
 * nothing), the bias of a row is the same whether a tile has 1 row or 16 (the row kernel and
 * the Toeplitz tile path share one contract), and the rotation of a token does not depend on
 * the others. Any position mix-up (query index instead of cache position, a bias built from
 * the query length, as keras-hub's Falcon did) breaks the equality.
 */
template <class Rotation, class Bias>
void decode_equals_prefill(const qkv& x, const Rotation& rot, const Bias& bias, const char* name,
                           std::int64_t k_first = 0, bool rotated_cache = false) {
  const std::size_t T = x.T, H = x.H, G = x.G, D = x.D;
  std::vector<float> pre(T * H * D), dec(T * H * D);
  attention_options opt;
  opt.k_first = k_first;
  reference_attention(make_head_view<const float>(x.q.data(), T, H, D),
                      make_head_view<const float>(x.k.data(), T, G, D),
                      make_head_view<const float>(x.v.data(), T, G, D),
                      make_head_view(pre.data(), T, H, D), rot, bias, opt);
  std::vector<float> kcache;  // rotated keys, appended one token per step
  for (std::size_t t = 0; t < T; ++t) {
    attention_options o = opt;  // q_first defaults to k_first + cache length
    const float* keys = x.k.data();
    if (rotated_cache) {
      kcache.insert(kcache.end(), x.k.begin() + static_cast<std::ptrdiff_t>(t * G * D),
                    x.k.begin() + static_cast<std::ptrdiff_t>((t + 1) * G * D));
      const std::int64_t p = k_first + static_cast<std::int64_t>(t);
      rot.apply(make_head_view(kcache.data() + t * G * D, 1, G, D), &p);
      keys = kcache.data();
      o.keys_rotated = true;
    }
    reference_attention(make_head_view<const float>(x.q.data() + t * H * D, 1, H, D),
                        make_head_view<const float>(keys, t + 1, G, D),
                        make_head_view<const float>(x.v.data(), t + 1, G, D),
                        make_head_view(dec.data() + t * H * D, 1, H, D), rot, bias, o);
  }
  for (std::size_t i = 0; i < pre.size(); ++i)
    ASSERT_EQ(std::memcmp(&pre[i], &dec[i], sizeof(float)), 0)
        << name << ": token " << i / (H * D) << " head " << (i / D) % H << " channel " << i % D
        << ": prefill " << pre[i] << " vs decode " << dec[i];
}

/// A user bias with only value(): penalise keys by a per-head constant past distance 5.
struct user_bias {
  double value(std::size_t head, std::int64_t q, std::int64_t k) const {
    return q - k > 5 ? -0.25 * static_cast<double>(head + 1) : 0.0;
  }
};

TEST(AttentionDecode, EqualsPrefillForEveryMethod) {
  const qkv x = random_qkv(70, 4, 2, 16, 1);  // 70 tokens: more than one 64-key tile
  const posenc::identity_rotation none;
  const posenc::no_bias nob;
  const posenc::rope rope({16});
  const posenc::rope_cache<float> cache(rope, 40);  // positions ≥ 40 computed on the fly
  const alibi_bias alibi({4});
  const alibi_bias ntk({4}, posenc::ntk_alibi_slopes{4.0});
  posenc::alibi_config bc{4};
  bc.form = posenc::alibi_form::key_offset;
  const alibi_bias bloom(bc);
  decode_equals_prefill(x, none, nob, "none");
  decode_equals_prefill(x, rope, nob, "rope");
  decode_equals_prefill(x, cache, nob, "rope_cache");
  decode_equals_prefill(x, none, alibi, "alibi");
  decode_equals_prefill(x, rope, alibi, "alibi+rope", 1000);
  decode_equals_prefill(x, rope, alibi, "alibi+rope, rotated KV cache", 1000, true);
  decode_equals_prefill(x, none, ntk, "ntk-alibi");
  decode_equals_prefill(x, none, bloom, "alibi key_offset (BLOOM)");
  decode_equals_prefill(x, rope,
                        posenc::sum_bias{std::cref(alibi), posenc::causal_mask{24}, user_bias{}},
                        "alibi + sliding window + user bias + rope");
}

TEST(AttentionDecode, EqualsPrefillForSinusoidalAtTheEmbeddingLevel) {
  // APE is added to the token embeddings before attention: prefill adds PE(0..T−1) to all
  // tokens, decode adds PE(t) to token t when it arrives and appends it to the cache.
  const std::size_t T = 33, H = 2, D = 12;
  qkv e = random_qkv(T, H, H, D, 2);
  const posenc::sinusoidal_embedding pe(posenc::sinusoidal_t2t(D));
  qkv pre = e;
  for (auto* buf : {&pre.q, &pre.k, &pre.v})
    for (std::size_t h = 0; h < H; ++h) {
      // row (t, h) of a [T][H][D] buffer: token stride H·D
      pe.add_to(
          posenc::make_embed_view(buf->data() + h * D, T, D, static_cast<std::ptrdiff_t>(H * D)),
          std::int64_t{0});
    }
  qkv dec = e;
  for (std::size_t t = 0; t < T; ++t) {
    const std::int64_t p = static_cast<std::int64_t>(t);
    for (auto* buf : {&dec.q, &dec.k, &dec.v}) {
      const std::int64_t ph[2] = {p, p};
      pe.add_to(posenc::make_embed_view(buf->data() + t * H * D, H, D), ph);
    }
  }
  ASSERT_EQ(pre.q, dec.q);
  decode_equals_prefill(dec, posenc::identity_rotation{}, posenc::causal_mask{}, "sinusoidal");
}

TEST(AttentionProperties, RowInvariantAlibiFormsGiveTheSameOutputs) {
  // relative vs +m·k (BLOOM/FA2) vs m·(k − last) (MPT): softmax-equivalent under the causal
  // mask. In double each biased logit is within 3u·(|s| + |bias|) of its exact value, so the
  // outputs differ by at most 2·(δ_rel + δ_other)·max_j|v_j − out| (first order, ×1.1).
  const qkv x = random_qkv(50, 2, 2, 8, 3);
  std::vector<double> q(x.q.begin(), x.q.end()), k(x.k.begin(), x.k.end()),
      v(x.v.begin(), x.v.end());
  const std::int64_t k_first = 5000;
  const alibi_bias rel({2});
  posenc::alibi_config cb{2};
  cb.form = posenc::alibi_form::key_offset;
  const alibi_bias bloom(cb);
  cb.key_origin = k_first + 49;
  const alibi_bias mpt(cb);
  attention_options opt;
  opt.k_first = k_first;
  std::vector<double> o_rel(q.size()), o_b(q.size()), o_m(q.size());
  const auto run = [&](const alibi_bias& b, std::vector<double>& o) {
    reference_attention(make_head_view<const double>(q.data(), 50, 2, 8),
                        make_head_view<const double>(k.data(), 50, 2, 8),
                        make_head_view<const double>(v.data(), 50, 2, 8),
                        make_head_view(o.data(), 50, 2, 8), posenc::identity_rotation{}, b, opt);
  };
  run(rel, o_rel);
  run(bloom, o_b);
  run(mpt, o_m);
  const double smax = 8 * 1.0 / std::sqrt(8.0);  // |q·k|/√d ≤ Σ|q_i k_i|/√8 ≤ 8/√8
  const double bmax = 0.25 * static_cast<double>(k_first + 50);  // |m·k| for head 0 (m = 1/4)
  const double delta = 3 * kU * (smax + bmax);
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double bound = 2.2 * 2 * delta * 4.0;  // |v_j − out| ≤ 4 (|v| ≤ 2)
    ASSERT_LE(std::fabs(o_b[i] - o_rel[i]), bound) << i;
    ASSERT_LE(std::fabs(o_m[i] - o_rel[i]), bound) << i;
  }
  // And they are not trivially the same code path: the raw biases differ.
  EXPECT_NE(rel.value<double>(0, 5010, 5000), bloom.value<double>(0, 5010, 5000));
}

// Explicit positions (the overload taking q_positions / k_positions): the affine positions
// written out give the affine call's bits; keys in another order (a paged cache's block table)
// give the same attention up to the order of the double sums, then one rounding to float.
TEST(AttentionPositions, ExplicitAffinePositionsEqualTheAffineCall) {
  const qkv x = random_qkv(70, 4, 2, 16, 11);
  const posenc::rope rope({16});
  const alibi_bias alibi({4});
  const auto bias = posenc::sum_bias{std::cref(alibi), posenc::causal_mask{24}};
  std::vector<std::int64_t> pos(70);
  for (std::size_t t = 0; t < 70; ++t) pos[t] = 1000 + static_cast<std::int64_t>(t);
  for (const bool causal : {true, false}) {
    attention_options opt;
    opt.causal = causal;
    opt.k_first = 1000;
    std::vector<float> a(70 * 4 * 16), b(70 * 4 * 16);
    const auto q = make_head_view<const float>(x.q.data(), 70, 4, 16);
    const auto k = make_head_view<const float>(x.k.data(), 70, 2, 16);
    const auto v = make_head_view<const float>(x.v.data(), 70, 2, 16);
    reference_attention(q, k, v, make_head_view(a.data(), 70, 4, 16), rope, bias, opt);
    reference_attention(q, k, v, make_head_view(b.data(), 70, 4, 16), rope, bias, pos.data(),
                        pos.data(), opt);
    EXPECT_EQ(a, b) << "causal " << causal;
  }
}

TEST(AttentionPositions, PagedKeysInAnyOrderGiveTheSameAttention) {
  const std::size_t T = 70, H = 4, G = 2, D = 16, B = 8;  // blocks of 8 tokens
  const qkv x = random_qkv(T, H, G, D, 12);
  const posenc::rope rope({16});
  const alibi_bias alibi({4});
  // Block table: the cache holds the blocks in reverse order (the last one partly filled).
  std::vector<std::size_t> order;
  for (std::size_t b0 = ((T - 1) / B) * B;; b0 -= B) {
    for (std::size_t t = b0; t < std::min(T, b0 + B); ++t) order.push_back(t);
    if (b0 == 0) break;
  }
  ASSERT_EQ(order.size(), T);
  std::vector<float> kp(T * G * D), vp(T * G * D);
  std::vector<std::int32_t> kpos(T), qpos(T);
  for (std::size_t j = 0; j < T; ++j) {
    std::copy(x.k.begin() + order[j] * G * D, x.k.begin() + (order[j] + 1) * G * D,
              kp.begin() + j * G * D);
    std::copy(x.v.begin() + order[j] * G * D, x.v.begin() + (order[j] + 1) * G * D,
              vp.begin() + j * G * D);
    kpos[j] = static_cast<std::int32_t>(order[j]);
  }
  for (std::size_t t = 0; t < T; ++t) qpos[t] = static_cast<std::int32_t>(t);
  std::vector<float> a(T * H * D), b(T * H * D);
  const auto q = make_head_view<const float>(x.q.data(), T, H, D);
  reference_attention(q, make_head_view<const float>(x.k.data(), T, G, D),
                      make_head_view<const float>(x.v.data(), T, G, D),
                      make_head_view(a.data(), T, H, D), rope, alibi);
  reference_attention(q, make_head_view<const float>(kp.data(), T, G, D),
                      make_head_view<const float>(vp.data(), T, G, D),
                      make_head_view(b.data(), T, H, D), rope, alibi, qpos.data(), kpos.data());
  // Both compute in double (the same terms, summed in another order: relative differences of a
  // few 2^-53 on outputs that are convex combinations of |v| <= 1) and round once to float:
  // at most one float ulp apart.
  std::size_t differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(std::fabs(a[i] - b[i]), std::ldexp(std::fabs(a[i]), -23) + 0x1p-149) << i;
    differing += a[i] != b[i];
  }
  EXPECT_LT(differing, a.size() / 4) << "reordering should rarely change a float";
}

TEST(AttentionPositions, NegativeOrNullPositionsThrowNamingTheField) {
  const qkv x = random_qkv(4, 2, 1, 8, 13);
  std::vector<float> o(4 * 2 * 8);
  const auto q = make_head_view<const float>(x.q.data(), 4, 2, 8);
  const auto k = make_head_view<const float>(x.k.data(), 4, 1, 8);
  const auto v = make_head_view<const float>(x.v.data(), 4, 1, 8);
  const auto out = make_head_view(o.data(), 4, 2, 8);
  const std::int64_t good[4] = {0, 1, 2, 3}, bad[4] = {0, 1, -5, 3};
  const posenc::identity_rotation none;
  const posenc::no_bias nob;
  const auto message = [&](const std::int64_t* qp, const std::int64_t* kp) {
    try {
      reference_attention(q, k, v, out, none, nob, qp, kp);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message(bad, good).find("q_positions[i]"), std::string::npos) << message(bad, good);
  EXPECT_NE(message(good, bad).find("k_positions[j]"), std::string::npos) << message(good, bad);
  EXPECT_NE(message(nullptr, good).find("q_positions"), std::string::npos);
  EXPECT_EQ(message(good, good), "no exception");
}

TEST(AttentionProperties, GroupedQueryHeadsEqualRepeatedKvHeads) {
  const qkv x = random_qkv(20, 4, 1, 8, 4);
  std::vector<float> krep(20 * 4 * 8), vrep(20 * 4 * 8);
  for (std::size_t t = 0; t < 20; ++t)
    for (std::size_t h = 0; h < 4; ++h)
      for (std::size_t i = 0; i < 8; ++i) {
        krep[(t * 4 + h) * 8 + i] = x.k[t * 8 + i];
        vrep[(t * 4 + h) * 8 + i] = x.v[t * 8 + i];
      }
  const posenc::rope rope({8});
  const alibi_bias alibi({4});
  std::vector<float> a(20 * 4 * 8), b(20 * 4 * 8);
  reference_attention(make_head_view<const float>(x.q.data(), 20, 4, 8),
                      make_head_view<const float>(x.k.data(), 20, 1, 8),
                      make_head_view<const float>(x.v.data(), 20, 1, 8),
                      make_head_view(a.data(), 20, 4, 8), rope, alibi);
  reference_attention(make_head_view<const float>(x.q.data(), 20, 4, 8),
                      make_head_view<const float>(krep.data(), 20, 4, 8),
                      make_head_view<const float>(vrep.data(), 20, 4, 8),
                      make_head_view(b.data(), 20, 4, 8), rope, alibi);
  EXPECT_EQ(a, b);
}

TEST(AttentionProperties, QueryThatSeesNoKeyGetsZeros) {
  struct mask_all {
    double value(std::size_t, std::int64_t, std::int64_t) const {
      return -std::numeric_limits<double>::infinity();
    }
  };
  const qkv x = random_qkv(5, 1, 1, 4, 5);
  std::vector<float> o(5 * 4, 9.0f);
  reference_attention(make_head_view<const float>(x.q.data(), 5, 1, 4),
                      make_head_view<const float>(x.k.data(), 5, 1, 4),
                      make_head_view<const float>(x.v.data(), 5, 1, 4),
                      make_head_view(o.data(), 5, 1, 4), posenc::identity_rotation{}, mask_all{});
  for (float e : o) EXPECT_EQ(e, 0.0f);
}

TEST(AttentionShapes, MismatchesThrowNamingTheField) {
  std::vector<float> a(64), o(64);
  const auto msg = [&](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("<no exception>");
  };
  EXPECT_NE(msg([&] {
              reference_attention(make_head_view<const float>(a.data(), 2, 2, 4),
                                  make_head_view<const float>(a.data(), 2, 2, 8),
                                  make_head_view<const float>(a.data(), 2, 2, 4),
                                  make_head_view(o.data(), 2, 2, 4));
            }).find("k.dim = 8"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              reference_attention(make_head_view<const float>(a.data(), 2, 3, 4),
                                  make_head_view<const float>(a.data(), 2, 2, 4),
                                  make_head_view<const float>(a.data(), 2, 2, 4),
                                  make_head_view(o.data(), 2, 3, 4));
            }).find("k.heads = 2"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              reference_attention(make_head_view<const float>(a.data(), 3, 1, 4),
                                  make_head_view<const float>(a.data(), 2, 1, 4),
                                  make_head_view<const float>(a.data(), 2, 1, 4),
                                  make_head_view(o.data(), 3, 1, 4));
            }).find("q_first = -1"),
            std::string::npos);
  EXPECT_NE(msg([&] {
              reference_attention(make_head_view<const float>(a.data(), 2, 1, 4),
                                  make_head_view<const float>(a.data(), 2, 1, 4),
                                  make_head_view<const float>(a.data(), 3, 1, 4),
                                  make_head_view(o.data(), 2, 1, 4));
            }).find("v.tokens = 3"),
            std::string::npos);
}

}  // namespace
