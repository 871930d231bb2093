// posenc tests — include/posenc/bipe.hpp: the segmenter against the oracle
// (tests/oracle/gen_bipe.py: consecutive delimiters, a delimiter first and last, none, only
// delimiters, the clamp, packed sequences), streaming over every split, lengths and boundaries;
// BiPE-RoPE and BiPE-ALiBi through reference_attention against float64 attention, decode over a KV
// cache against the full pass, the row-invariant form, the fused rows over segment positions on
// every architecture; bad input. SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/attention.hpp>
#include <posenc/bipe.hpp>
#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/scaling.hpp>
#include <posenc/sinusoidal.hpp>

#include "support/arch_types.hpp"

namespace {

// ---- the oracle's file: "key v v v ..." lines, "case NAME" starting a segmenter case ----------
struct seg_case {
  std::string name;
  std::vector<std::int64_t> delims, ids, seg, intra;
  std::int64_t clamp = -1;
};
struct oracle_data {
  std::vector<seg_case> cases;
  std::map<std::string, std::vector<double>> rec;  // packed / attention records
  std::size_t T = 0, H = 0, D = 0;
  double mult = 0;
};

template <class V>
std::vector<V> parse_rest(std::istringstream& is) {
  std::vector<V> v;
  V x;
  while (is >> x) v.push_back(x);
  return v;
}

const oracle_data& data() {
  static const oracle_data d = [] {
    oracle_data o;
    const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/bipe.txt";
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::string line, prefix;
    while (std::getline(f, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream is(line);
      std::string key;
      is >> key;
      if (key == "case") {
        o.cases.emplace_back();
        is >> o.cases.back().name;
        prefix.clear();
      } else if (key == "packed") {
        prefix = "packed_";
      } else if (key == "attention") {
        is >> o.T >> o.H >> o.D >> o.mult;
        prefix = "att_";
      } else if (prefix.empty() && !o.cases.empty()) {
        seg_case& c = o.cases.back();
        if (key == "clamp") is >> c.clamp;
        auto v = parse_rest<std::int64_t>(is);
        if (key == "delims") c.delims = v;
        if (key == "ids") c.ids = v;
        if (key == "seg") c.seg = v;
        if (key == "intra") c.intra = v;
      } else {
        o.rec[prefix + key] = parse_rest<double>(is);
      }
    }
    if (o.cases.size() < 9 || o.T == 0) throw std::runtime_error("truncated " + path);
    return o;
  }();
  return d;
}

posenc::bipe_segmenter make_segmenter(const seg_case& c) {
  return posenc::bipe_segmenter(c.delims.data(), c.delims.size(),
                                c.clamp < 0 ? posenc::bipe_segmenter::no_clamp : c.clamp);
}

template <class P>
std::vector<std::int64_t> widen(const std::vector<P>& v) {
  return std::vector<std::int64_t>(v.begin(), v.end());
}

TEST(BipeSegmenter, MatchesOracle) {
  for (const seg_case& c : data().cases) {
    const auto s = make_segmenter(c);
    std::vector<std::int64_t> seg(c.ids.size()), intra(c.ids.size());
    s.segment(c.ids.data(), c.ids.size(), seg.data(), intra.data());
    EXPECT_EQ(seg, c.seg) << c.name;
    EXPECT_EQ(intra, c.intra) << c.name;
    // int32 ids and positions
    std::vector<std::int32_t> ids32(c.ids.begin(), c.ids.end()), s32(c.ids.size()),
        i32(c.ids.size());
    s.segment(ids32.data(), ids32.size(), s32.data(), i32.data());
    EXPECT_EQ(widen(s32), c.seg) << c.name;
    EXPECT_EQ(widen(i32), c.intra) << c.name;
  }
}

TEST(BipeSegmenter, StreamingEverySplitEqualsOnePass) {
  for (const seg_case& c : data().cases) {
    const auto s = make_segmenter(c);
    const std::size_t n = c.ids.size();
    // every split into two chunks, and token by token
    for (std::size_t cut = 0; cut <= n; ++cut) {
      std::vector<std::int64_t> seg(n, -1), intra(n, -1);
      posenc::bipe_segmenter::state st;
      s.segment(c.ids.data(), cut, seg.data(), intra.data(), st);
      s.segment(c.ids.data() + cut, n - cut, seg.data() + cut, intra.data() + cut, st);
      ASSERT_EQ(seg, c.seg) << c.name << " cut " << cut;
      ASSERT_EQ(intra, c.intra) << c.name << " cut " << cut;
    }
    std::mt19937 rng(7);
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<std::int32_t> seg(n, -1), intra(n, -1);
      posenc::bipe_segmenter::state st;
      for (std::size_t t = 0; t < n;) {
        const std::size_t len = std::min<std::size_t>(n - t, rng() % 9);
        s.segment(c.ids.data() + t, len, seg.data() + t, intra.data() + t, st);
        t += len;
      }
      ASSERT_EQ(widen(seg), c.seg) << c.name;
      ASSERT_EQ(widen(intra), c.intra) << c.name;
    }
  }
}

TEST(BipeSegmenter, PackedSequencesRestart) {
  const auto& r = data().rec;
  const std::vector<std::int64_t> ids(r.at("packed_ids").begin(), r.at("packed_ids").end());
  const std::vector<std::int64_t> cu(r.at("packed_cu").begin(), r.at("packed_cu").end());
  const std::vector<std::int64_t> seg_ref(r.at("packed_seg").begin(), r.at("packed_seg").end());
  const std::vector<std::int64_t> intra_ref(r.at("packed_intra").begin(),
                                            r.at("packed_intra").end());
  const posenc::bipe_segmenter s({{13}});
  std::vector<std::int64_t> seg(ids.size()), intra(ids.size());
  s.segment_packed(ids.data(), ids.size(), cu.data(), cu.size() - 1, seg.data(), intra.data());
  EXPECT_EQ(seg, seg_ref);
  EXPECT_EQ(intra, intra_ref);
}

TEST(BipeSegmenter, LengthsAndBoundsEqualDelimiters) {
  // Delimiters at the last token of each segment give the same positions as the lengths.
  const std::vector<std::int64_t> lengths = {3, 1, 0, 5, 2};
  std::vector<std::int64_t> ids, bounds = {0};
  for (std::int64_t len : lengths) {
    for (std::int64_t i = 0; i + 1 < len; ++i) ids.push_back(1);
    if (len > 0) ids.push_back(13);
    bounds.push_back(bounds.back() + len);
  }
  const std::size_t n = ids.size();
  std::vector<std::int64_t> s1(n), i1(n), s2(n), i2(n);
  posenc::bipe_segmenter::from_lengths(lengths.data(), lengths.size(), n, s1.data(), i1.data(), 2);
  posenc::bipe_segmenter::from_bounds(bounds.data(), lengths.size(), n, s2.data(), i2.data(), 2);
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(i1, i2);
  // Against the delimiter form: the empty segment shifts later segment indices by one.
  std::vector<std::int64_t> s3(n), i3(n);
  posenc::bipe_segmenter({{13}, 2}).segment(ids.data(), n, s3.data(), i3.data());
  EXPECT_EQ(i1, i3);
  for (std::size_t t = 0; t < n; ++t) EXPECT_EQ(s1[t], s3[t] + (s3[t] >= 2 ? 1 : 0)) << t;
}

TEST(BipeSegmenter, BadInput) {
  const std::int64_t none[1] = {0};
  const auto names = [](auto&& f, const char* field) {
    try {
      f();
      ADD_FAILURE() << "no exception for " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  names([&] { posenc::bipe_segmenter(none, 0); }, "delimiters");
  names([&] { posenc::bipe_segmenter({{13}, 0}); }, "intra_clamp");
  names([&] { posenc::bipe_segmenter({{-1}}); }, "delimiters");
  names([&] { posenc::bipe_segmenter({{std::int64_t{1} << 40}}); }, "delimiters");
  names([&] { posenc::bipe_segmenter(posenc::bipe_segmenter::config{}); }, "delimiters");
  std::vector<std::int64_t> seg(4), intra(4);
  const std::int64_t lengths[2] = {1, 2};
  names([&] { posenc::bipe_segmenter::from_lengths(lengths, 2, 4, seg.data(), intra.data()); },
        "lengths");
  const std::int64_t neg[2] = {5, -1};
  names([&] { posenc::bipe_segmenter::from_lengths(neg, 2, 4, seg.data(), intra.data()); },
        "lengths");
  const std::int64_t bounds[3] = {0, 3, 2};
  names([&] { posenc::bipe_segmenter::from_bounds(bounds, 2, 2, seg.data(), intra.data()); },
        "bounds");
  const std::int64_t cu[3] = {0, 2, 5};
  const std::int64_t ids[4] = {1, 2, 3, 4};
  names(
      [&] {
        posenc::bipe_segmenter({{13}}).segment_packed(ids, 4, cu, 2, seg.data(), intra.data());
      },
      "cu_seqlens");
  // positions that would not fit int32
  posenc::bipe_segmenter::state st{std::numeric_limits<std::int32_t>::max(), 0};
  std::vector<std::int32_t> s32(4), i32(4);
  names([&] { posenc::bipe_segmenter({{13}}).segment(ids, 4, s32.data(), i32.data(), st); }, "n");
  names([&] { posenc::make_bipe_alibi({4, 8.0, 0.0}); }, "slope_multiplier");
  names([&] { posenc::make_bipe_alibi({0, 8.0, 96.0}); }, "num_heads");
  std::vector<float> x(8), table(8);
  const std::int32_t p[1] = {0};
  names(
      [&] {
        posenc::bipe_add_intra_table(posenc::make_embed_view(x.data(), 1, 8), table.data(), 1, 4,
                                     p);
      },
      "dim");
}

// ---- attention ---------------------------------------------------------------------------------
struct att {
  std::size_t T, H, D;
  std::vector<float> q, k, v;
  std::vector<std::int32_t> seg;
  std::vector<double> out_alibi, out_rope;
};
att load_att() {
  const auto& d = data();
  att a{d.T, d.H, d.D, {}, {}, {}, {}, d.rec.at("att_out_alibi"), d.rec.at("att_out_rope")};
  for (double x : d.rec.at("att_q")) a.q.push_back(static_cast<float>(x));
  for (double x : d.rec.at("att_k")) a.k.push_back(static_cast<float>(x));
  for (double x : d.rec.at("att_v")) a.v.push_back(static_cast<float>(x));
  // the segment indices come from our segmenter over the oracle's ids (checked against its seg)
  const auto& ids = d.rec.at("att_ids");
  std::vector<std::int64_t> id64(ids.begin(), ids.end());
  std::vector<std::int32_t> intra(a.T);
  a.seg.resize(a.T);
  posenc::bipe_segmenter({{0}}).segment(id64.data(), a.T, a.seg.data(), intra.data());
  const auto& sref = d.rec.at("att_seg");
  for (std::size_t t = 0; t < a.T; ++t) EXPECT_EQ(a.seg[t], static_cast<std::int32_t>(sref[t]));
  return a;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

TEST(BipeAlibi, AttentionMatchesFloat64Oracle) {
  att a = load_att();
  const posenc::alibi_bias alibi = posenc::make_bipe_alibi({a.H, 8.0, data().mult});
  const auto bias = posenc::bipe_alibi_bias(std::cref(alibi), a.seg.data(), a.seg.size());
  std::vector<float> out(a.T * a.H * a.D);
  posenc::reference_attention(posenc::make_head_view(a.q.data(), a.T, a.H, a.D),
                              posenc::make_head_view(a.k.data(), a.T, a.H, a.D),
                              posenc::make_head_view(a.v.data(), a.T, a.H, a.D),
                              posenc::make_head_view(out.data(), a.T, a.H, a.D),
                              posenc::identity_rotation{}, bias);
  // Bound: each float bias value C(s·m)·C(e) is within 1 ulp (2^-23 relative) of the exact
  // s·m·e (two roundings); a logit perturbation δ moves a softmax-weighted mean by at most
  // 2·max|δ|·max|v|; the output is rounded once to float.
  double bmax = 0;
  for (std::size_t h = 0; h < a.H; ++h)
    bmax = std::max(bmax, alibi.effective_slope(h) * static_cast<double>(a.seg.back()));
  const double tol_abs = 2.0 * std::ldexp(bmax, -23) * max_abs(a.v);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double ref = a.out_alibi[i];
    EXPECT_NEAR(out[i], ref, tol_abs + std::ldexp(std::fabs(ref), -24) + 1e-300) << i;
  }
}

TEST(BipeAlibi, RowInvariantFormGivesTheSameAttention) {
  att a = load_att();
  const posenc::alibi_bias rel = posenc::make_bipe_alibi({a.H, 8.0, 96.0});
  const posenc::alibi_bias ri =
      posenc::make_bipe_alibi({a.H, 8.0, 96.0, posenc::alibi_form::key_offset});
  std::vector<float> o1(a.T * a.H * a.D), o2(o1.size());
  const auto run = [&](const posenc::alibi_bias& al, std::vector<float>& o) {
    posenc::reference_attention(posenc::make_head_view(a.q.data(), a.T, a.H, a.D),
                                posenc::make_head_view(a.k.data(), a.T, a.H, a.D),
                                posenc::make_head_view(a.v.data(), a.T, a.H, a.D),
                                posenc::make_head_view(o.data(), a.T, a.H, a.D),
                                posenc::identity_rotation{},
                                posenc::bipe_alibi_bias(std::cref(al), a.seg.data(), a.T));
  };
  run(rel, o1);
  run(ri, o2);
  // The two forms differ by a per-row constant s·m·seg_q (exact in double); their float values
  // each carry ≤ 1 ulp of the largest |value| of either form, so the outputs agree within
  // 2·(2·2^-23·max|value|)·max|v| plus one output rounding each.
  double vmax = 0;
  for (std::size_t h = 0; h < a.H; ++h)
    vmax = std::max(vmax, rel.effective_slope(h) * static_cast<double>(a.seg.back()));
  const double tol = 4.0 * std::ldexp(vmax, -23) * max_abs(a.v);
  for (std::size_t i = 0; i < o1.size(); ++i)
    EXPECT_NEAR(o1[i], o2[i], tol + std::ldexp(std::fabs(o1[i]), -23)) << i;
  // and the raw values do differ (so the test could fail)
  EXPECT_NE(rel.value<float>(0, 3, 1), ri.value<float>(0, 3, 1));
}

TEST(BipeAlibi, DecodeOverKvCacheEqualsFullPass) {
  att a = load_att();
  const posenc::alibi_bias alibi = posenc::make_bipe_alibi({a.H, 8.0, 96.0});
  const auto& ids = data().rec.at("att_ids");
  // full pass
  std::vector<float> full(a.T * a.H * a.D);
  posenc::reference_attention(
      posenc::make_head_view(a.q.data(), a.T, a.H, a.D),
      posenc::make_head_view(a.k.data(), a.T, a.H, a.D),
      posenc::make_head_view(a.v.data(), a.T, a.H, a.D),
      posenc::make_head_view(full.data(), a.T, a.H, a.D), posenc::identity_rotation{},
      posenc::sum_bias{posenc::bipe_alibi_bias(std::cref(alibi), a.seg.data(), a.T),
                       posenc::causal_mask{}});
  // decode: the streaming segmenter extends the segment array one token at a time
  const posenc::bipe_segmenter s({{0}});
  posenc::bipe_segmenter::state st;
  std::vector<std::int32_t> seg, intra;
  for (std::size_t t = 0; t < a.T; ++t) {
    const std::int64_t id = static_cast<std::int64_t>(ids[t]);
    seg.push_back(0);
    intra.push_back(0);
    s.segment(&id, 1, seg.data() + t, intra.data() + t, st);
    std::vector<float> o(a.H * a.D);
    posenc::reference_attention(posenc::make_head_view(a.q.data() + t * a.H * a.D, 1, a.H, a.D),
                                posenc::make_head_view(a.k.data(), t + 1, a.H, a.D),
                                posenc::make_head_view(a.v.data(), t + 1, a.H, a.D),
                                posenc::make_head_view(o.data(), 1, a.H, a.D),
                                posenc::identity_rotation{},
                                posenc::bipe_alibi_bias(std::cref(alibi), seg.data(), seg.size()));
    for (std::size_t i = 0; i < o.size(); ++i)
      ASSERT_EQ(o[i], full[t * a.H * a.D + i]) << "step " << t << " element " << i;
  }
}

TEST(BipeRope, AttentionMatchesFloat64Oracle) {
  att a = load_att();
  posenc::rope_config cfg;
  cfg.head_dim = a.D;
  const posenc::rope rope(cfg);
  std::vector<float> out(a.T * a.H * a.D);
  posenc::reference_attention(posenc::make_head_view(a.q.data(), a.T, a.H, a.D),
                              posenc::make_head_view(a.k.data(), a.T, a.H, a.D),
                              posenc::make_head_view(a.v.data(), a.T, a.H, a.D),
                              posenc::make_head_view(out.data(), a.T, a.H, a.D),
                              posenc::bipe_rope(rope, a.seg.data(), a.seg.size()));
  // Bound: q and k rotated in float: each rotated element within (2u + 2u·1)·(|a·c| + |b·s|)
  // ≤ 4u·(pair norm)·√2 of the exact rotation (u = 2^-24, cos/sin within 1 ulp); the logit
  // scale·Σ q_d k_d then errs by ≤ scale·Σ_d (|δq_d|·|k_d| + |q_d|·|δk_d|) ≤
  // scale·2·4√2·u·Σ_pairs ‖q‖·‖k‖·2; the softmax moves the output by ≤ 2·max|δ|·max|v|.
  const double u = std::ldexp(1.0, -24), scale = 1.0 / std::sqrt(static_cast<double>(a.D));
  double dmax = 0;
  for (std::size_t i = 0; i < a.T; ++i)
    for (std::size_t j = 0; j <= i; ++j)
      for (std::size_t h = 0; h < a.H; ++h) {
        double s = 0;
        for (std::size_t p = 0; p < a.D / 2; ++p) {
          const auto nrm = [&](const std::vector<float>& x, std::size_t t) {
            const float* r = x.data() + (t * a.H + h) * a.D;
            return std::hypot(static_cast<double>(r[p]), static_cast<double>(r[p + a.D / 2]));
          };
          s += nrm(a.q, i) * nrm(a.k, j);
        }
        dmax = std::max(dmax, scale * 16.0 * std::sqrt(2.0) * u * s);
      }
  const double tol_abs = 2.0 * dmax * max_abs(a.v);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const double ref = a.out_rope[i];
    EXPECT_NEAR(out[i], ref, tol_abs + std::ldexp(std::fabs(ref), -24)) << i;
  }
}

TEST(BipeRope, OneSegmentIsTheApeAlone) {
  att a = load_att();
  posenc::rope_config cfg;
  cfg.head_dim = a.D;
  const posenc::rope rope(cfg);
  const std::vector<std::int32_t> zero(a.T, 0);
  std::vector<float> o1(a.T * a.H * a.D), o2(o1.size());
  const auto qv = posenc::make_head_view(a.q.data(), a.T, a.H, a.D);
  const auto kv = posenc::make_head_view(a.k.data(), a.T, a.H, a.D);
  const auto vv = posenc::make_head_view(a.v.data(), a.T, a.H, a.D);
  posenc::reference_attention(qv, kv, vv, posenc::make_head_view(o1.data(), a.T, a.H, a.D),
                              posenc::bipe_rope(rope, zero.data(), zero.size()));
  posenc::reference_attention(qv, kv, vv, posenc::make_head_view(o2.data(), a.T, a.H, a.D),
                              posenc::identity_rotation{});
  EXPECT_EQ(o1, o2);
  // and with several segments it is not the identity
  posenc::reference_attention(qv, kv, vv, posenc::make_head_view(o1.data(), a.T, a.H, a.D),
                              posenc::bipe_rope(rope, a.seg.data(), a.seg.size()));
  EXPECT_NE(o1, o2);
}

TEST(BipeRope, YarnOverSegmentsIsTheRopeAtSegmentIndices) {
  // YaRN with the original length counted in segments: the BiPE adapter gives, bit for bit,
  // the cached YaRN rope applied directly to the segment indices.
  posenc::rope_config cfg;
  cfg.head_dim = 64;
  cfg.base = 10000.0;
  posenc::yarn_scaling y;
  y.factor = 4.0;
  y.original_max_position = 64;  // segments
  const posenc::rope rope(cfg, y);
  const posenc::rope_cache<float> cache(rope, 512);
  const std::size_t T = 300, H = 3;
  std::vector<std::int64_t> ids(T), seg(T), intra(T), tok(T);
  std::mt19937 rng(3);
  for (std::size_t t = 0; t < T; ++t) ids[t] = rng() % 5, tok[t] = static_cast<std::int64_t>(t);
  posenc::bipe_segmenter({{4}}).segment(ids.data(), T, seg.data(), intra.data());
  std::vector<float> x(T * H * 64);
  for (float& e : x) e = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
  std::vector<float> y1 = x, y2 = x;
  cache.apply(posenc::make_head_view(y1.data(), T, H, 64), seg.data());
  posenc::bipe_rope(cache, seg.data(), T)
      .apply(posenc::make_head_view(y2.data(), T, H, 64), tok.data());
  EXPECT_EQ(y1, y2);
  // inverse undoes it within rounding, and differs from the token-position rope
  std::vector<float> y3 = x;
  cache.apply(posenc::make_head_view(y3.data(), T, H, 64), tok.data());
  EXPECT_NE(y1, y3);
}

TEST(BipeIntra, LearnedTableClampsAndAdds) {
  const std::size_t rows = 4, dim = 3, T = 6;
  const std::vector<float> table = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0};  // last row zero
  const std::int32_t intra[T] = {0, 1, 2, 3, 4, 100};
  std::vector<float> x(T * dim, 0.5f);
  posenc::bipe_add_intra_table(posenc::make_embed_view(x.data(), T, dim), table.data(), rows, dim,
                               intra);
  const float expect[T][3] = {{1.5f, 2.5f, 3.5f}, {4.5f, 5.5f, 6.5f}, {7.5f, 8.5f, 9.5f},
                              {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < dim; ++i) EXPECT_EQ(x[t * dim + i], expect[t][i]) << t << ' ' << i;
}

TEST(BipeIntra, SinusoidalOverIntraPositions) {
  posenc::sinusoidal_config sc;
  sc.dim = 16;
  const posenc::sinusoidal_embedding pe(sc);
  const std::int64_t ids[6] = {1, 2, 13, 3, 4, 5};
  std::int64_t seg[6], intra[6];
  posenc::bipe_segmenter({{13}}).segment(ids, 6, seg, intra);
  std::vector<float> x(6 * 16, 0.0f), ref(6 * 16, 0.0f);
  pe.add_to(posenc::make_embed_view(x.data(), 6, 16), intra);
  for (std::size_t t = 0; t < 6; ++t)
    pe.fill(posenc::make_embed_view(ref.data() + t * 16, 1, 16), intra[t]);
  EXPECT_EQ(x, ref);
  // tokens 0 and 3 both start a segment: same position vector
  for (std::size_t i = 0; i < 16; ++i) EXPECT_EQ(x[i], x[3 * 16 + i]);
}

// ---- the lane-parallel segmenter against its scalar reference, every architecture --------------
template <class Arch>
class BipeSegmenterArch : public ::testing::Test {};
TYPED_TEST_SUITE(BipeSegmenterArch, posenc_test::arch_types, posenc_test::arch_names);

template <class Arch, class P>
void check_against_ref(const posenc::bipe_segmenter& sg, const std::vector<P>& ids) {
  const std::size_t n = ids.size();
  std::vector<P> s1(n), i1(n), s2(n), i2(n);
  posenc::bipe_segmenter::state a{5, 2}, b{5, 2};  // continuing an earlier chunk
  sg.template segment<Arch>(ids.data(), n, s1.data(), i1.data(), a);
  sg.segment_ref(ids.data(), n, s2.data(), i2.data(), b);
  ASSERT_EQ(s1, s2);
  ASSERT_EQ(i1, i2);
  ASSERT_EQ(a.segment, b.segment);
  ASSERT_EQ(a.intra, b.intra);
  // streaming in odd chunks gives the same
  std::vector<P> s3(n), i3(n);
  posenc::bipe_segmenter::state c{5, 2};
  for (std::size_t t = 0; t < n; t += 13)
    sg.template segment<Arch>(ids.data() + t, std::min<std::size_t>(13, n - t), s3.data() + t,
                              i3.data() + t, c);
  ASSERT_EQ(s3, s2);
  ASSERT_EQ(i3, i2);
}

TYPED_TEST(BipeSegmenterArch, LaneParallelEqualsReference) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  std::mt19937 rng(5);
  // densities from none to every token, blocks with 0, 1 and several delimiters; 2, 5, 8 and
  // 9 delimiter ids (≤ 4 and ≤ 8: the two compare paths; 9: the bitmap loop alone, with ids
  // at its word boundaries), clamps small and none; other ids around those boundaries, past
  // the bitmap, negative and at the int32 extremes
  constexpr std::int32_t hi = std::numeric_limits<std::int32_t>::max(), lo = -hi - 1;
  const std::int32_t others[] = {0,   1,   30, 31, 33,   62,  65,   95,   96, 127,
                                 128, 870, -1, -2, -869, -64, 1000, 4095, hi, lo};
  for (const std::size_t every :
       {std::size_t{1000000}, std::size_t{40}, std::size_t{9}, std::size_t{3}, std::size_t{1}}) {
    for (const std::size_t nd : {std::size_t{2}, std::size_t{5}, std::size_t{8}, std::size_t{9}}) {
      std::vector<std::int64_t> delims = {13, 869, 7, 8, 9, 31, 32, 63, 64};
      delims.resize(nd);
      for (const std::int64_t clamp : {std::int64_t{3}, posenc::bipe_segmenter::no_clamp}) {
        const posenc::bipe_segmenter sg(posenc::bipe_segmenter::config{delims, clamp});
        std::vector<std::int32_t> ids32(517);
        for (auto& id : ids32)
          id = rng() % every == 0 ? static_cast<std::int32_t>(delims[rng() % nd])
               : rng() % 4 == 0   ? others[rng() % (sizeof(others) / sizeof(others[0]))]
                                  : static_cast<std::int32_t>(100 + rng() % 5000);
        check_against_ref<Arch>(sg, ids32);
        check_against_ref<Arch>(sg, std::vector<std::int64_t>(ids32.begin(), ids32.end()));
      }
    }
  }
}

#if POSENC_HAS_XSIMD
/// The lane scans under the segmenter's vector pass: slide_up by every K, the prefix sum and
/// maximum, and lane_bits, for int32 and int64 lanes, against plain loops.
TYPED_TEST(BipeSegmenterArch, LaneScansEqualLoops) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  std::mt19937 rng(11);
  const auto check = [&rng](auto tag) {  // (scalar_arch has no xsimd batch)
    using T = decltype(tag);
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t N = B::size;
    alignas(64) T x[N], out[N];
    for (int trial = 0; trial < 100; ++trial) {
      std::uint32_t bits = 0;
      for (std::size_t l = 0; l < N; ++l) {
        x[l] = static_cast<T>(rng() % 1000);
        if (rng() % 3 == 0) bits |= 1u << l;
      }
      const B v = B::load_aligned(x);
      const auto slid = [&](auto k) {
        constexpr std::size_t K = decltype(k)::value;
        if constexpr (K < N) {
          posenc::simd::slide_up<K, Arch>(v).store_aligned(out);
          for (std::size_t l = 0; l < N; ++l) ASSERT_EQ(out[l], l < K ? T(0) : x[l - K]) << K;
        }
      };
      slid(std::integral_constant<std::size_t, 1>{});
      slid(std::integral_constant<std::size_t, 2>{});
      slid(std::integral_constant<std::size_t, 3>{});
      slid(std::integral_constant<std::size_t, 4>{});
      slid(std::integral_constant<std::size_t, 7>{});
      slid(std::integral_constant<std::size_t, 8>{});
      slid(std::integral_constant<std::size_t, 15>{});
      posenc::simd::prefix_sum<Arch>(v).store_aligned(out);
      T sum = 0, mx = 0;
      for (std::size_t l = 0; l < N; ++l) ASSERT_EQ(out[l], sum += x[l]) << l;
      posenc::simd::prefix_max<Arch>(v).store_aligned(out);
      for (std::size_t l = 0; l < N; ++l) ASSERT_EQ(out[l], mx = std::max(mx, x[l])) << l;
      alignas(64) T w[N];
      for (std::size_t l = 0; l < N; ++l) w[l] = static_cast<T>((bits >> l) & 1u);
      ASSERT_EQ(posenc::simd::lane_bits<Arch>(B::load_aligned(w) != B(T(0))), bits);
      if (bits != 0) {
        std::uint32_t hi = 31;
        while ((bits >> hi) == 0) --hi;
        ASSERT_EQ(posenc::simd::highest_bit<Arch>(bits), hi);
      }
      ASSERT_EQ(posenc::simd::popcount<Arch>(bits),
                static_cast<unsigned>(std::bitset<32>(bits).count()));
    }
  };
  if constexpr (!std::is_same<Arch, posenc::scalar_arch>::value) {
    check(std::int32_t{});
    check(std::int64_t{});
  }
}
#endif

// ---- the fused rows at segment positions, every architecture -----------------------------------
template <class Arch>
class BipeFusedRows : public ::testing::Test {};
TYPED_TEST_SUITE(BipeFusedRows, posenc_test::arch_types, posenc_test::arch_names);

TYPED_TEST(BipeFusedRows, TileAndRowsEqualValue) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const std::size_t T = 2600;
  std::vector<std::int64_t> ids(T);
  std::mt19937 rng(11);
  // segments of ~7 tokens (positioned evaluates the bias row key by key) and of ~23 (runs of
  // keys: one value per segment, broadcast), for every bias form
  for (const unsigned every : {7u, 23u})
    for (const auto form : {posenc::alibi_form::relative, posenc::alibi_form::key_offset}) {
      for (auto& id : ids) id = rng() % every;
      std::vector<std::int32_t> seg(T), intra(T);
      posenc::bipe_segmenter(posenc::bipe_segmenter::config{{0}, 3})
          .segment(ids.data(), T, seg.data(), intra.data());
      std::vector<std::int64_t> seg64(seg.begin(), seg.end());
      const posenc::alibi_bias alibi = posenc::make_bipe_alibi({12, 8.0, 96.0, form});
      const auto b32 = posenc::bipe_alibi_bias(std::cref(alibi), seg.data(), T);
      const auto b64 = posenc::bipe_alibi_bias(std::cref(alibi), seg64.data(), T);
      const posenc::sum_bias both{b32, posenc::causal_mask{}};
      // (q0, k0, rows, cols): a tile across the diagonal, a tall tile over many query segments,
      // a wide one, and one wider than the 2048-column chunk of positioned's cached rows.
      const std::size_t shapes[4][4] = {
          {57, 3, 40, 150}, {700, 0, 300, 600}, {1250, 5, 9, 1100}, {2550, 5, 6, 2300}};
      for (std::size_t h : {std::size_t{0}, std::size_t{11}}) {
        for (const auto& sh : shapes) {
          const std::size_t q0 = sh[0], k0 = sh[1], R = sh[2], N = sh[3];
          std::vector<float> t1(R * N), t2(R * N), t3(R * N);
          for (std::size_t i = 0; i < t1.size(); ++i)
            t1[i] = t2[i] = t3[i] = static_cast<float>(rng() % 1000) / 256.0f;
          const std::vector<float> x0 = t1;
          both.template add_to<Arch>(posenc::make_logits_view(t1.data(), R, N), h, q0, k0);
          b64.template add_to<Arch>(posenc::make_logits_view(t2.data(), R, N), h, q0, k0);
          posenc::causal_mask{}.template add_to<Arch>(posenc::make_logits_view(t2.data(), R, N), h,
                                                      q0, k0);
          for (std::size_t r = 0; r < R; ++r)
            for (std::size_t c = 0; c < N; ++c) {
              const auto q = static_cast<std::int64_t>(q0 + r),
                         k = static_cast<std::int64_t>(k0 + c);
              const float v = both.template value<float>(h, q, k);
              const float expect =
                  v == -std::numeric_limits<float>::infinity() ? v : x0[r * N + c] + v;
              ASSERT_EQ(t1[r * N + c], expect) << r << ' ' << c;
              ASSERT_EQ(t2[r * N + c], expect) << r << ' ' << c;
              // the segment-level value is ALiBi at the segment indices
              if (k <= q) {
                ASSERT_EQ(v, alibi.value<float>(h, seg[static_cast<std::size_t>(q)],
                                                seg[static_cast<std::size_t>(k)]));
              }
            }
        }
      }
    }
}

// ---- the shifted path: one bias row per tile for a shift-invariant bias (alibi's relative
// form) over consecutive segment indices; rows of ≤ window_regs registers held in registers ----

#if POSENC_HAS_XSIMD
/// simd::window_gather returns w[p[l] − p0] in every lane, for windows placed anywhere in
/// [0, 2L); its lane count is what each architecture promises.
TYPED_TEST(BipeFusedRows, WindowGatherPicksItsLanes) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const auto check = [](auto tag) {
    using C = decltype(tag);
    constexpr std::size_t L = posenc::simd::window_lanes<Arch, C>();
    constexpr bool avx512 = std::is_base_of<xsimd::avx512f, Arch>::value;
    constexpr bool avx2 = std::is_base_of<xsimd::avx2, Arch>::value;
    const std::size_t expect =
        avx512 ? 64 / sizeof(C) : (avx2 && std::is_same<C, float>::value ? 8 : 0);
    ASSERT_EQ(L, expect);
    if constexpr (L != 0) {
      alignas(64) C w[2 * L];
      for (std::size_t i = 0; i < 2 * L; ++i) w[i] = static_cast<C>(i) * C(1.5) - C(7);
      std::mt19937 rng(3);
      for (int trial = 0; trial < 200; ++trial) {
        const std::int32_t p0 = static_cast<std::int32_t>(rng() % 100000);
        std::int32_t p[L];
        for (std::size_t l = 0; l < L; ++l) p[l] = p0 + static_cast<std::int32_t>(rng() % (2 * L));
        alignas(64) C out[L];
        posenc::simd::window_gather<Arch>(w, p, p0).store_aligned(out);
        for (std::size_t l = 0; l < L; ++l) ASSERT_EQ(out[l], w[p[l] - p0]) << trial << ' ' << l;
      }
    }
  };
  check(float{});
  check(double{});
}
#endif

/// alibi_bias declares shift invariance in its relative form only; a bias without the member
/// is not shift-invariant.
TEST(BipeShift, ShiftInvariantIsDeclared) {
  const posenc::alibi_bias rel = posenc::make_bipe_alibi({4});
  const posenc::alibi_bias off =
      posenc::make_bipe_alibi({4, 8.0, 96.0, posenc::alibi_form::key_offset});
  EXPECT_TRUE(posenc::detail::shift_invariant(rel));
  EXPECT_FALSE(posenc::detail::shift_invariant(off));
  EXPECT_FALSE(posenc::detail::shift_invariant(posenc::causal_mask{}));
  // and the promise holds for the relative form: value(h, q + t, k + t) == value(h, q, k)
  for (std::int64_t q : {0, 5, 40, 1000})
    for (std::int64_t k : {0, 3, 5, 39, 2000})
      for (std::int64_t t : {1, 7, 123456})
        for (std::size_t h : {std::size_t{0}, std::size_t{3}})
          ASSERT_EQ(rel.value<float>(h, q + t, k + t), rel.value<float>(h, q, k));
}

/// An ALiBi that counts its fused rows (and may claim shift invariance): tells how often
/// positioned evaluates the inner bias.
struct counting_alibi {
  const posenc::alibi_bias* a;
  bool invariant;
  mutable std::size_t rows = 0;
  template <class C = float>
  C value(std::size_t h, std::int64_t q, std::int64_t k) const noexcept {
    return a->value<C>(h, q, k);
  }
  bool shift_invariant() const noexcept { return invariant; }
  static constexpr bool has_values = true;
  template <class C, class Keys>
  using row_type = posenc::alibi_bias::row_type<C, Keys>;
  template <class C, class Keys>
  row_type<C, Keys> row(std::size_t h, std::int64_t q, const Keys& keys,
                        std::size_t n) const noexcept {
    ++rows;
    return a->row<C>(h, q, keys, n);
  }
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    return posenc::alibi_bias::lane(r, j);
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>& jv) noexcept {
    return posenc::alibi_bias::lanes<Arch>(r, j0, step, jv);
  }
#endif
};

/// counting_alibi that also declares offset_lanes (as alibi_bias does).
struct counting_offset_alibi : counting_alibi {
  static constexpr bool offset_lanes = true;
};

template <class Arch, class C, class B>
void check_tile(const B& bias, std::size_t h, std::size_t q0, std::size_t k0, std::size_t R,
                std::size_t N, std::mt19937& rng) {
  std::vector<C> t(R * N);
  for (auto& e : t) e = static_cast<C>(rng() % 1000) / C(256);
  const std::vector<C> x0 = t;
  bias.template add_to<Arch>(posenc::make_logits_view(t.data(), R, N), h,
                             static_cast<std::int64_t>(q0), static_cast<std::int64_t>(k0));
  for (std::size_t r = 0; r < R; ++r)
    for (std::size_t c = 0; c < N; ++c) {
      const C v = bias.template value<C>(h, static_cast<std::int64_t>(q0 + r),
                                         static_cast<std::int64_t>(k0 + c));
      const C expect = v == -std::numeric_limits<C>::infinity() ? v : x0[r * N + c] + v;
      ASSERT_EQ(t[r * N + c], expect)
          << "tile " << q0 << ',' << k0 << ' ' << R << 'x' << N << " at " << r << ',' << c;
    }
}

/// Tiles as wide as the register rows allow and just beyond (every register count, a scalar
/// tail, partly masked rows across the diagonal, rows wholly visible), float and double, both
/// ALiBi forms and the causal mask or none: the tile equals value() element by element.
TYPED_TEST(BipeFusedRows, ShiftedRowsEqualValue) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const std::size_t T = 2400;
  std::mt19937 rng(17);
  std::vector<std::int64_t> ids(T);
  for (auto& id : ids) id = rng() % 19;
  std::vector<std::int32_t> seg(T), intra(T);
  posenc::bipe_segmenter(posenc::bipe_segmenter::config{{0}, 3})
      .segment(ids.data(), T, seg.data(), intra.data());
  for (const auto form : {posenc::alibi_form::relative, posenc::alibi_form::key_offset}) {
    const posenc::alibi_bias alibi = posenc::make_bipe_alibi({12, 8.0, 96.0, form});
    const auto b = posenc::bipe_alibi_bias(std::cref(alibi), seg.data(), T);
    const posenc::sum_bias masked{b, posenc::causal_mask{}};
    // queries whose segments come in no order (rows of one position apart): a q map of its own
    std::vector<std::int32_t> qseg(T);
    for (std::size_t t = 0; t < T; ++t)
      qseg[t] = static_cast<std::int32_t>(40 + (t * 7919 + t / 3) % 23);
    const posenc::positioned scattered(std::cref(alibi),
                                       posenc::position_map<std::int32_t>{qseg.data(), T},
                                       posenc::position_map<std::int32_t>{seg.data(), T});
    for (const std::size_t N :
         {1, 7, 8, 15, 16, 17, 33, 100, 128, 135, 136, 137, 200, 256, 263, 270, 271, 272, 300}) {
      for (const std::size_t R : {std::size_t{1}, std::size_t{37}}) {
        // below the diagonal (every key visible), across it (rows partly masked)
        check_tile<Arch, float>(b, 5, 900, 300, R, N, rng);
        check_tile<Arch, double>(b, 5, 900, 300, R, N, rng);
        // no mask but keys in later segments than the queries (−∞ values in the shared row)
        check_tile<Arch, float>(b, 5, 300, 290, R, N, rng);
        check_tile<Arch, double>(b, 5, 300, 290, R, N, rng);
        check_tile<Arch, float>(masked, 11, 500, 480, R, N, rng);
        check_tile<Arch, double>(masked, 11, 500, 480, R, N, rng);
        check_tile<Arch, float>(scattered, 2, 700, 100, R, N, rng);
        check_tile<Arch, double>(scattered, 2, 700, 100, R, N, rng);
      }
    }
    // every key visible and up to four blocks of 16 registers (computed_tile: float blocks of
    // 256 keys, double of 128), just below, at and above its widest tile, a scalar tail
    for (const std::size_t N : {255, 257, 383, 511, 512, 513, 520, 700, 1023, 1024, 1025, 1031})
      for (const std::size_t R : {std::size_t{1}, std::size_t{37}}) {
        check_tile<Arch, float>(b, 7, 1800, 100, R, N, rng);
        check_tile<Arch, double>(b, 7, 1800, 100, R, N, rng);
        check_tile<Arch, float>(scattered, 2, 1800, 100, R, N, rng);
        check_tile<Arch, double>(scattered, 2, 1800, 100, R, N, rng);
      }
  }
}

/// The shifted path is taken where it can be: with a shift-invariant bias, int32 segment
/// indices and a window permute on Arch, a tile of ≤ window_regs registers evaluates the
/// inner bias once; otherwise once per query segment (or per row).
TYPED_TEST(BipeFusedRows, ShiftedPathEvaluatesOneRowPerTile) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const std::size_t T = 1000;
  std::vector<std::int32_t> seg(T);
  for (std::size_t t = 0; t < T; ++t) seg[t] = static_cast<std::int32_t>(t / 20);  // 20 a segment
  const posenc::alibi_bias alibi = posenc::make_bipe_alibi({4});
  for (const bool invariant : {true, false}) {
    const counting_alibi c{&alibi, invariant};
    const posenc::positioned b(std::cref(c), posenc::position_map<std::int32_t>{seg.data(), T});
    std::vector<float> t(100 * 128, 0.0f);
    c.rows = 0;
    b.template add_to<Arch>(posenc::make_logits_view(t.data(), 100, 128), 1, 600, 200);
#if POSENC_HAS_XSIMD
    const bool window = posenc::simd::window_lanes<Arch, float>() != 0;
#else
    const bool window = false;
#endif
    // 100 rows from query 600: segments 30 … 34, five of them
    EXPECT_EQ(c.rows, invariant && window ? 1u : 5u);
    for (std::size_t r = 0; r < 100; ++r)
      for (std::size_t k = 0; k < 128; ++k)
        ASSERT_EQ(t[r * 128 + k], alibi.value<float>(1, seg[600 + r], seg[200 + k]));
  }
}

/// With offset_lanes (alibi_bias declares it) a tile with every key visible, at most four
/// blocks of 16 registers wide, takes computed_tile on every SIMD architecture: two rows to
/// check the tile's extreme query positions, then one per query position (five segments) in
/// each column block; wider tiles and the scalar build keep the paths above (one per query
/// segment here, shift-invariant or not: N = 600 is wider than the window path's rows). Same
/// values either way.
TYPED_TEST(BipeFusedRows, ComputedTileEvaluatesOneRowPerQuerySegment) {
  using Arch = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(Arch);
  const std::size_t T = 1000;
  std::vector<std::int32_t> seg(T);
  for (std::size_t t = 0; t < T; ++t) seg[t] = static_cast<std::int32_t>(t / 20);
  const posenc::alibi_bias alibi = posenc::make_bipe_alibi({4});
  for (const bool invariant : {true, false}) {
    const counting_offset_alibi c{{&alibi, invariant}};
    const posenc::positioned b(std::cref(c), posenc::position_map<std::int32_t>{seg.data(), T});
    for (const std::size_t N : {std::size_t{128}, std::size_t{600}}) {
      std::vector<float> t(100 * N, 0.0f);
      c.rows = 0;
      b.template add_to<Arch>(posenc::make_logits_view(t.data(), 100, N), 1, 700, 0);
#if POSENC_HAS_XSIMD
      // column blocks of 16 registers, at most four
      std::size_t W = 0;
      if constexpr (!std::is_same<Arch, posenc::scalar_arch>::value)
        W = 16 * xsimd::batch<float, Arch>::size;
      const bool computed = W != 0 && N <= 4 * W;
      const std::size_t blocks = computed ? (N + W - 1) / W : 0;
#else
      const bool computed = false;
      const std::size_t blocks = 0;
#endif
      if (computed) {
        EXPECT_EQ(c.rows, 2u + 5u * blocks) << N;
      } else {
        EXPECT_EQ(c.rows, 5u) << N;  // one per query segment (run_values or window path)
      }
      for (std::size_t r = 0; r < 100; ++r)
        for (std::size_t k = 0; k < N; ++k)
          ASSERT_EQ(t[r * N + k], alibi.value<float>(1, seg[700 + r], seg[k])) << N;
    }
  }
}

}  // namespace
