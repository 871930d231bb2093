// Tests of posenc/mrope.hpp: M-RoPE (sectioned, interleaved), 2-D vision RoPE, the position-id
// helper, the vision patch / window orders and Llama-4's NoPE temperature, against
// tests/data/mrope_*.txt (tests/oracle/gen_mrope.py, written from HF transformers' reference
// code), and the reduction to 1-D RoPE (bit for bit) when the axes are equal; ggml's four-axis
// modes, GLM-4.1V and Qwen3-VL's ViT against tests/oracle/gen_mrope_models.py (ggml ops.cpp,
// HF modeling_glm4v.py, modeling_qwen3_vl.py).
#include "posenc/mrope.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/rope_cache.hpp"

#include "support/arch_types.hpp"
#include "support/formats.hpp"
#include "support/tolerance.hpp"

#ifndef POSENC_TEST_DATA_DIR
#error "POSENC_TEST_DATA_DIR must be defined by the build"
#endif

namespace {

using posenc_test::from_double;
using posenc_test::same_bits;
using posenc_test::to_double;

using posenc::mrope;
using posenc::mrope_cache;
using posenc::mrope_item;
using posenc::mrope_mode;
using posenc::rope;
using posenc::rope_config;
using posenc::rope_layout;
using posenc::rope_precision;

// ---- data loading (whitespace-separated records; '#' comments; hex floats via strtod) -------
std::vector<std::vector<std::string>> records(const std::string& file) {
  const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::vector<std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::vector<std::string> f;
    std::string w;
    while (ss >> w) f.push_back(w);
    out.push_back(f);
  }
  if (out.empty()) throw std::runtime_error("no records in " + path);
  return out;
}
double num(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') throw std::runtime_error("bad number " + s);
  return v;
}
std::int64_t inum(const std::string& s) { return static_cast<std::int64_t>(std::stoll(s)); }

struct variant {
  std::size_t head_dim;
  double base;
  std::array<std::size_t, 3> section;
  mrope_mode mode;
};
const std::map<std::string, variant>& variants() {
  static const std::map<std::string, variant> v = {
      {"qwen2vl_sectioned", {128, 1000000.0, {16, 24, 24}, mrope_mode::sectioned}},
      {"qwen3vl_interleaved", {128, 5000000.0, {24, 20, 20}, mrope_mode::interleaved}}};
  return v;
}
mrope make_mrope(const std::string& name, rope_layout layout = rope_layout::half_split,
                 rope_precision prec = rope_precision::exact) {
  const variant& v = variants().at(name);
  rope_config c;
  c.head_dim = v.head_dim;
  c.base = v.base;
  c.layout = layout;
  c.precision = prec;
  return mrope(rope(c), v.section, v.mode);
}

// The layouts of mrope_positions.txt, as the oracle lists them.
std::vector<mrope_item> layout_items(const std::string& name, posenc::mrope_index_options& o) {
  o = {};
  if (name == "qwen2vl")
    return {mrope_item::text(3), mrope_item::image(1, 4, 6), mrope_item::text(2),
            mrope_item::video(3, 4, 4, 1.0), mrope_item::text(3)};
  if (name == "qwen25vl") {
    o.tokens_per_second = 2.0;
    return {mrope_item::text(3),
            mrope_item::image(1, 4, 6),
            mrope_item::text(2),
            mrope_item::video(3, 4, 4, 1.0),
            mrope_item::video(4, 2, 4, 0.25),
            mrope_item::text(3)};
  }
  if (name == "qwen3vl")
    return {mrope_item::text(2),        mrope_item::video(1, 4, 4), mrope_item::text(1),
            mrope_item::video(1, 4, 4), mrope_item::image(1, 6, 4), mrope_item::text(2)};
  if (name == "leading_image")
    return {mrope_item::image(1, 2, 2), mrope_item::image(2, 4, 2), mrope_item::text(1)};
  throw std::runtime_error("unknown layout " + name);
}

// ---- position ids --------------------------------------------------------------------------

TEST(MropePositions, MatchGetRopeIndexOracle) {
  std::map<std::string, std::vector<std::int64_t>> want;
  std::map<std::string, std::int64_t> next;
  for (const auto& r : records("mrope_positions.txt")) {
    if (r[0] == "pos") {
      auto& v = want[r[1]];
      ASSERT_EQ(static_cast<std::size_t>(inum(r[4])), v.size() / 3);
      v.insert(v.end(), {inum(r[5]), inum(r[6]), inum(r[7])});
    } else if (r[0] == "next") {
      next[r[1]] = inum(r[2]);
    }
  }
  ASSERT_EQ(want.size(), 4u);
  for (const auto& kv : want) {
    posenc::mrope_index_options o;
    const auto items = layout_items(kv.first, o);
    std::vector<std::int64_t> got;
    const std::int64_t n = posenc::mrope_position_ids(items, o, got);
    EXPECT_EQ(got, kv.second) << kv.first;
    EXPECT_EQ(n, next.at(kv.first)) << kv.first;
  }
}

TEST(MropePositions, AppendsAndValidates) {
  std::vector<std::int64_t> out = {7, 7, 7};
  EXPECT_EQ(posenc::mrope_position_ids({mrope_item::text(2)}, {}, out), 2);
  EXPECT_EQ(out, (std::vector<std::int64_t>{7, 7, 7, 0, 0, 0, 1, 1, 1}));
  EXPECT_THROW(posenc::mrope_position_ids({mrope_item::image(1, 3, 4)}, {}, out),
               std::invalid_argument);
  try {
    posenc::mrope_position_ids({mrope_item::image(1, 4, 5)}, {}, out);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("grid w = 5"), std::string::npos) << e.what();
  }
  posenc::mrope_index_options o;
  o.spatial_merge_size = 0;
  EXPECT_THROW(posenc::mrope_position_ids({}, o, out), std::invalid_argument);
}

// ---- pair -> axis, cos/sin -------------------------------------------------------------------

struct cs_row {
  std::string variant;
  std::int64_t pos[3];
  std::size_t pair, axis;
  double c32, s32, c64, s64, chf, shf;
};
const std::vector<cs_row>& cs_rows() {
  static const std::vector<cs_row> rows = [] {
    std::vector<cs_row> v;
    for (const auto& r : records("mrope_cos_sin.txt")) {
      if (r.size() != 13) throw std::runtime_error("mrope_cos_sin.txt: bad record");
      cs_row x;
      x.variant = r[0];
      x.pos[0] = inum(r[2]);
      x.pos[1] = inum(r[3]);
      x.pos[2] = inum(r[4]);
      x.pair = static_cast<std::size_t>(inum(r[5]));
      x.axis = static_cast<std::size_t>(inum(r[6]));
      x.c32 = num(r[7]);
      x.s32 = num(r[8]);
      x.c64 = num(r[9]);
      x.s64 = num(r[10]);
      x.chf = num(r[11]);
      x.shf = num(r[12]);
      v.push_back(x);
    }
    return v;
  }();
  return rows;
}

TEST(Mrope, PairAxesMatchReference) {
  for (const auto& kv : variants()) {
    const mrope m = make_mrope(kv.first);
    std::size_t seen = 0;
    for (const cs_row& r : cs_rows())
      if (r.variant == kv.first && r.pos[0] == 0) {  // token 0
        EXPECT_EQ(m.axis(r.pair), r.axis) << kv.first << " pair " << r.pair;
        EXPECT_EQ(m.frequency_index(r.pair), r.pair);
        ++seen;
      }
    EXPECT_EQ(seen, 64u) << kv.first;
  }
  // Spot checks written from the model code by hand: Qwen2-VL [16,24,24] sections; Qwen3-VL
  // [24,20,20]: t h w repeating for 60 pairs, then t.
  const mrope s = make_mrope("qwen2vl_sectioned");
  EXPECT_EQ(s.axis(15), 0u);
  EXPECT_EQ(s.axis(16), 1u);
  EXPECT_EQ(s.axis(39), 1u);
  EXPECT_EQ(s.axis(40), 2u);
  const mrope i = make_mrope("qwen3vl_interleaved");
  EXPECT_EQ(i.axis(0), 0u);
  EXPECT_EQ(i.axis(1), 1u);
  EXPECT_EQ(i.axis(2), 2u);
  EXPECT_EQ(i.axis(58), 1u);
  EXPECT_EQ(i.axis(59), 2u);
  EXPECT_EQ(i.axis(61), 0u);
  EXPECT_EQ(i.axis(62), 0u);
}

TEST(Mrope, CosSinMatchOracle) {
  std::size_t n = 0;
  for (const auto& kv : variants()) {
    const mrope ex = make_mrope(kv.first);
    const mrope hf = make_mrope(kv.first, rope_layout::half_split, rope_precision::hf_f32);
    for (const cs_row& r : cs_rows()) {
      if (r.variant != kv.first) continue;
      const auto f = ex.cos_sin<float>(r.pos, r.pair);
      const auto d = ex.cos_sin<double>(r.pos, r.pair);
      const auto h = hf.cos_sin<float>(r.pos, r.pair);
      // exact mode: float within 1 ulp, double within 3 ulp of the correctly rounded value
      // (rope's contract); hf_f32: within 1 ulp of RN32(cos(float angle)).
      EXPECT_LE(posenc_test::ulp_distance(f.first, static_cast<float>(r.c32)), 1);
      EXPECT_LE(posenc_test::ulp_distance(f.second, static_cast<float>(r.s32)), 1);
      EXPECT_LE(posenc_test::ulp_distance(d.first, r.c64), 3);
      EXPECT_LE(posenc_test::ulp_distance(d.second, r.s64), 3);
      EXPECT_LE(posenc_test::ulp_distance(h.first, static_cast<float>(r.chf)), 1);
      EXPECT_LE(posenc_test::ulp_distance(h.second, static_cast<float>(r.shf)), 1);
      ++n;
    }
  }
  EXPECT_EQ(n, cs_rows().size());
  EXPECT_GT(n, 3000u);
}

TEST(Mrope, ConfigurationErrorsNameTheField) {
  rope_config c;
  c.head_dim = 128;
  const rope r(c);
  try {
    mrope(r, {16, 24, 16}, mrope_mode::sectioned);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mrope_section (sum) = 56"), std::string::npos)
        << e.what();
  }
  // h gets every third pair below 3*s_h: 40 h pairs do not fit in 64.
  EXPECT_THROW(mrope(r, {4, 40, 20}, mrope_mode::interleaved), std::invalid_argument);
  EXPECT_THROW(mrope(r, {32, 16, 16}, static_cast<mrope_mode>(7)), std::invalid_argument);
  EXPECT_THROW(mrope::vision_2d(78), std::invalid_argument);
  EXPECT_THROW(mrope::vision_2d(0), std::invalid_argument);
}

// ---- per-architecture ----------------------------------------------------------------------

template <class Arch>
class MropeArch : public ::testing::Test {};
TYPED_TEST_SUITE(MropeArch, posenc_test::arch_types, posenc_test::arch_names);

template <class T>
std::vector<T> random_heads(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-4.0, 4.0);
  std::vector<T> v(n);
  for (T& x : v) x = from_double<T>(u(g));
  return v;
}

// Vectorised, gathered coefficients equal the scalar definition bit for bit.
TYPED_TEST(MropeArch, CoefficientsEqualScalarDefinition) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  std::vector<mrope> ms = {
      make_mrope("qwen2vl_sectioned"),
      make_mrope("qwen3vl_interleaved", rope_layout::interleaved, rope_precision::hf_f32),
      mrope::vision_2d(80), mrope::vision_2d(80, 10000.0, rope_precision::hf_f32)};
  for (const mrope& m : ms) {
    std::vector<float> cf(m.pairs()), sf(m.pairs());
    std::vector<double> cd(m.pairs()), sd(m.pairs());
    const std::int64_t cases[][3] = {{0, 0, 0}, {5, 7, 9}, {4095, 3, 70000}, {16777217, 1, 2}};
    for (const auto& p : cases) {
      m.coefficients<TypeParam>(p, cf.data(), sf.data());
      m.coefficients<TypeParam>(p, cd.data(), sd.data());
      for (std::size_t k = 0; k < m.pairs(); ++k) {
        ASSERT_EQ(cf[k], m.cos_sin<float>(p, k).first) << k;
        ASSERT_EQ(sf[k], m.cos_sin<float>(p, k).second) << k;
        ASSERT_EQ(cd[k], m.cos_sin<double>(p, k).first) << k;
        ASSERT_EQ(sd[k], m.cos_sin<double>(p, k).second) << k;
      }
    }
  }
}

// Rotated q/k of the oracle's text, image, video and decode tokens (f32 storage), through
// mrope (on the fly) and mrope_cache (capacity 8: some axes beyond the table, some inside).
TYPED_TEST(MropeArch, RotationMatchesOracle) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const double u = posenc_test::unit_roundoff(24);
  std::size_t checked = 0;
  for (const auto& r : records("mrope_rotate.txt")) {
    ASSERT_EQ(r.size(), 6u + 3u * 128u);
    const rope_layout layout =
        r[1] == "half_split" ? rope_layout::half_split : rope_layout::interleaved;
    const mrope m = make_mrope(r[0], layout);
    const std::int64_t pos[3] = {inum(r[3]), inum(r[4]), inum(r[5])};
    std::vector<float> x(128);
    for (std::size_t i = 0; i < 128; ++i) x[i] = static_cast<float>(num(r[6 + i]));
    for (std::size_t cap : {0u, 8u, 64u}) {
      // q: 3 heads of this token; k: 1 head (GQA), rotated in one pass.
      std::vector<float> q(3 * 128), k(128);
      for (std::size_t h = 0; h < 3; ++h) std::copy(x.begin(), x.end(), q.begin() + h * 128);
      std::copy(x.begin(), x.end(), k.begin());
      const auto pp = posenc::make_mrope_positions(pos);
      if (cap == 0) {
        m.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 3, 128),
                           posenc::make_head_view(k.data(), 1, 1, 128), pp);
      } else {
        const mrope_cache<float> mc(m, cap, TypeParam{});
        mc.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 3, 128),
                            posenc::make_head_view(k.data(), 1, 1, 128), pp);
      }
      for (std::size_t i = 0; i < 128; ++i) {
        const double y = num(r[6 + 128 + i]), scale = num(r[6 + 256 + i]);
        const double bound = posenc_test::rotation_bound(scale, u, 1.0);
        for (std::size_t h = 0; h < 3; ++h)
          ASSERT_LE(std::fabs(q[h * 128 + i] - y), bound)
              << r[0] << ' ' << r[1] << " token " << r[2] << " cap " << cap << " i " << i;
        ASSERT_EQ(k[i], q[i]);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 16u * 3u);
}

// Every storage type, both layouts: M-RoPE (on the fly and cached) equals the scalar
// reference rotation with the coefficients of mrope::cos_sin, bit for bit, for a mixed
// text / image / video sequence (positions from the helper) with positions in and beyond the
// table.
template <class Arch, class T>
void check_against_reference(const mrope& m, const std::vector<std::int64_t>& pos3,
                             std::size_t cap) {
  using C = posenc::coef_t<T>;
  const std::size_t tokens = pos3.size() / m.axes(), heads = 2, d = m.head_dim();
  const std::vector<T> x = random_heads<T>(tokens * heads * d, 3);
  std::vector<T> a = x, b = x, ref = x;
  const auto pp = posenc::make_mrope_positions(pos3.data(), m.axes());
  m.apply<Arch>(posenc::make_head_view(a.data(), tokens, heads, d), pp);
  const mrope_cache<C> mc(m, cap, Arch{});
  mc.template apply<Arch>(posenc::make_head_view(b.data(), tokens, heads, d), pp);
  std::vector<C> c(m.pairs()), s(m.pairs());
  for (std::size_t t = 0; t < tokens; ++t) {
    for (std::size_t k = 0; k < m.pairs(); ++k) {
      const auto cs = m.cos_sin<C>(pos3.data() + t * m.axes(), k);
      c[k] = cs.first;
      s[k] = cs.second;
    }
    for (std::size_t h = 0; h < heads; ++h) {
      T* row = ref.data() + (t * heads + h) * d;
      if (m.layout() == rope_layout::half_split)
        posenc::kernels::rotate_half_split_ref<false, T, C, Arch>(row, row + m.pairs(), c.data(),
                                                                  s.data(), m.pairs());
      else
        posenc::kernels::rotate_interleaved_ref<false, T, C, Arch>(row, c.data(), s.data(),
                                                                   m.pairs());
    }
  }
  EXPECT_TRUE(same_bits(a, ref)) << "on the fly, " << sizeof(T) << "-byte storage";
  EXPECT_TRUE(same_bits(b, ref)) << "cache " << cap << ", " << sizeof(T) << "-byte storage";
  // apply_inverse undoes the rotation up to rounding
  mc.template apply_inverse<Arch>(posenc::make_head_view(b.data(), tokens, heads, d), pp);
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(to_double(b[i]), to_double(x[i]), sizeof(T) >= 4 ? 1e-4 : 0.1) << i;
}

TYPED_TEST(MropeArch, AllStorageTypesEqualScalarReference) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  posenc::mrope_index_options o;
  const auto items = layout_items("qwen25vl", o);
  std::vector<std::int64_t> pos3;
  const std::int64_t next = posenc::mrope_position_ids(items, o, pos3);
  for (std::int64_t i = 0; i < 3; ++i) pos3.insert(pos3.end(), {next + i, next + i, next + i});
  for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved}) {
    for (const char* v : {"qwen2vl_sectioned", "qwen3vl_interleaved"}) {
      const mrope m = make_mrope(v, layout);
      for (std::size_t cap : {4u, 1024u}) {
        check_against_reference<TypeParam, float>(m, pos3, cap);
        check_against_reference<TypeParam, double>(m, pos3, cap);
        check_against_reference<TypeParam, posenc::bfloat16_t>(m, pos3, cap);
        check_against_reference<TypeParam, posenc::float16_t>(m, pos3, cap);
      }
    }
  }
  // head_dim 512 (256 pairs: two coefficient chunks, the per-chunk gather path), partial
  // rotary 384 of 512 (192 pairs), both modes, rows in and beyond the table
  for (std::size_t rot : {512u, 384u}) {
    rope_config c;
    c.head_dim = 512;
    c.rotary_dim = rot;
    c.base = 1000000.0;
    const rope r(c);
    const std::size_t P = rot / 2;
    const std::array<std::size_t, 3> sec = {P - 2 * (P / 3 - 1), P / 3 - 1, P / 3 - 1};
    for (mrope_mode mode : {mrope_mode::sectioned, mrope_mode::interleaved}) {
      const mrope m(r, sec, mode);
      check_against_reference<TypeParam, float>(m, pos3, 6);
      check_against_reference<TypeParam, posenc::float16_t>(m, pos3, 6);
      check_against_reference<TypeParam, double>(m, pos3, 1024);
    }
  }
  // vision 2-D over a 4x6 grid in merge order
  std::vector<std::int32_t> vp;
  posenc::vision_patch_positions(1, 4, 6, 2, vp);
  std::vector<std::int64_t> vp64(vp.begin(), vp.end());
  const mrope v = mrope::vision_2d(80);
  check_against_reference<TypeParam, float>(v, vp64, 3);
  check_against_reference<TypeParam, posenc::bfloat16_t>(v, vp64, 16);
  check_against_reference<TypeParam, double>(v, vp64, 16);
}

// With the three axes equal, M-RoPE is 1-D RoPE bit for bit (rope vs mrope, rope_cache vs
// mrope_cache), every storage type, both layouts, a scaling, positions in and beyond the table.
template <class Arch, class T>
void check_reduction(const rope& r, const mrope& m, bool planes) {
  using C = posenc::coef_t<T>;
  const std::size_t tokens = 9, hq = 4, hk = 2, d = r.head_dim();
  const std::int64_t pos[tokens] = {0, 1, 2, 17, 63, 64, 100, 4095, 70000};
  std::vector<std::int64_t> pos3;
  for (std::int64_t p : pos) pos3.insert(pos3.end(), {p, p, p});
  const auto pp = planes ? posenc::make_mrope_positions(pos, pos, pos)
                         : posenc::make_mrope_positions(pos3.data());
  const std::vector<T> q0 = random_heads<T>(tokens * hq * d, 11);
  const std::vector<T> k0 = random_heads<T>(tokens * hk * d, 12);
  std::vector<T> q1 = q0, k1 = k0, q2 = q0, k2 = k0, q3 = q0, k3 = k0, q4 = q0, k4 = k0;
  r.apply<Arch>(posenc::make_head_view(q1.data(), tokens, hq, d),
                posenc::make_head_view(k1.data(), tokens, hk, d), pos);
  m.apply<Arch>(posenc::make_head_view(q2.data(), tokens, hq, d),
                posenc::make_head_view(k2.data(), tokens, hk, d), pp);
  const posenc::rope_cache<C> rc(r, 100, Arch{});
  const mrope_cache<C> mc(m, 100, Arch{});
  rc.template apply<Arch>(posenc::make_head_view(q3.data(), tokens, hq, d),
                          posenc::make_head_view(k3.data(), tokens, hk, d), pos);
  mc.template apply<Arch>(posenc::make_head_view(q4.data(), tokens, hq, d),
                          posenc::make_head_view(k4.data(), tokens, hk, d), pp);
  EXPECT_TRUE(same_bits(q1, q2) && same_bits(k1, k2)) << "rope vs mrope";
  EXPECT_TRUE(same_bits(q3, q4) && same_bits(k3, k4)) << "rope_cache vs mrope_cache";
  EXPECT_TRUE(same_bits(q1, q3)) << "on the fly vs cached";
  EXPECT_FALSE(same_bits(q0, q1));
}

TYPED_TEST(MropeArch, EqualAxesReduceToRopeBitForBit) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  for (rope_layout layout : {rope_layout::half_split, rope_layout::interleaved}) {
    for (rope_precision prec : {rope_precision::exact, rope_precision::hf_f32}) {
      rope_config c;
      c.head_dim = 128;
      c.base = 1000000.0;
      c.layout = layout;
      c.precision = prec;
      const rope plain(c);
      const rope yarn(c, [] {
        posenc::yarn_scaling y;
        y.factor = 4.0;
        y.original_max_position = 32768;
        return y;
      }());
      for (const rope* r : {&plain, &yarn}) {
        for (mrope_mode mode : {mrope_mode::sectioned, mrope_mode::interleaved}) {
          const mrope m(*r, {24, 20, 20}, mode);
          check_reduction<TypeParam, float>(*r, m, false);
          check_reduction<TypeParam, double>(*r, m, true);
          check_reduction<TypeParam, posenc::bfloat16_t>(*r, m, false);
          check_reduction<TypeParam, posenc::float16_t>(*r, m, true);
        }
      }
    }
  }
  // partial rotary: rotary_dim 64 of head_dim 128, sections over 32 pairs
  rope_config c;
  c.head_dim = 128;
  c.rotary_dim = 64;
  const rope r(c);
  check_reduction<TypeParam, float>(r, mrope(r, {8, 12, 12}, mrope_mode::sectioned), false);
}

// Decode over a KV cache: prefill the prompt's keys with the helper's positions, then decode
// one token at a time at next, next+1, …: each step's key equals rotating the whole sequence
// at once, and decode tokens (equal axes) equal 1-D RoPE at the same position.
TYPED_TEST(MropeArch, DecodeOverKvCache) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  posenc::mrope_index_options o;
  const auto items = layout_items("qwen2vl", o);
  std::vector<std::int64_t> pos3;
  const std::int64_t next = posenc::mrope_position_ids(items, o, pos3);
  const std::size_t prompt = pos3.size() / 3, steps = 4, kv = 2, d = 128;
  std::vector<std::int64_t> all = pos3;
  for (std::size_t i = 0; i < steps; ++i) {
    const std::int64_t p = next + static_cast<std::int64_t>(i);
    all.insert(all.end(), {p, p, p});
  }
  const std::size_t total = prompt + steps;
  const std::vector<float> keys = random_heads<float>(total * kv * d, 5);
  const mrope m = make_mrope("qwen2vl_sectioned");
  const mrope_cache<float> mc(m, 16, TypeParam{});  // decode positions run past the table
  std::vector<float> whole = keys, cache = keys;
  mc.template apply<TypeParam>(posenc::make_head_view(whole.data(), total, kv, d),
                               posenc::make_mrope_positions(all.data()));
  mc.template apply<TypeParam>(posenc::make_head_view(cache.data(), prompt, kv, d),
                               posenc::make_mrope_positions(pos3.data()));
  const rope& r = m.frequencies();
  for (std::size_t i = 0; i < steps; ++i) {
    float* row = cache.data() + (prompt + i) * kv * d;
    std::vector<float> one(row, row + kv * d);
    const std::int64_t p3[3] = {next + static_cast<std::int64_t>(i),
                                next + static_cast<std::int64_t>(i),
                                next + static_cast<std::int64_t>(i)};
    mc.template apply<TypeParam>(posenc::make_head_view(row, 1, kv, d),
                                 posenc::make_mrope_positions(p3));
    r.apply<TypeParam>(posenc::make_head_view(one.data(), 1, kv, d), p3);
    for (std::size_t j = 0; j < kv * d; ++j) ASSERT_EQ(row[j], one[j]) << "step " << i;
  }
  EXPECT_TRUE(same_bits(whole, cache));
}

// ---- vision 2-D ------------------------------------------------------------------------------

TEST(MropeVision, PatchAndWindowOrderMatchOracle) {
  std::vector<std::int32_t> patches;
  std::vector<std::int64_t> window, cu;
  for (const auto& r : records("mrope_vision.txt")) {
    if (r[0] == "patch") {
      patches.push_back(static_cast<std::int32_t>(inum(r[2])));
      patches.push_back(static_cast<std::int32_t>(inum(r[3])));
    } else if (r[0] == "window") {
      window.push_back(inum(r[2]));
    } else if (r[0] == "cu") {
      cu.push_back(inum(r[2]));
    }
  }
  std::vector<std::int32_t> got;
  posenc::vision_patch_positions(1, 8, 12, 2, got);
  EXPECT_EQ(got, patches);
  std::vector<std::int64_t> idx, cus;
  posenc::vision_window_index(1, 8, 12, 2, 2, 0, idx, cus);
  EXPECT_EQ(idx, window);
  EXPECT_EQ(cus, cu);
  EXPECT_THROW(posenc::vision_patch_positions(1, 7, 12, 2, got), std::invalid_argument);
}

TEST(MropeVision, CosSinMatchOracle) {
  const mrope ex = mrope::vision_2d(80);
  const mrope hf = mrope::vision_2d(80, 10000.0, rope_precision::hf_f32);
  ASSERT_EQ(ex.pairs(), 40u);
  ASSERT_EQ(ex.axes(), 2u);
  std::vector<std::int32_t> patches;
  posenc::vision_patch_positions(1, 8, 12, 2, patches);
  std::size_t n = 0;
  for (const auto& r : records("mrope_vision.txt")) {
    if (r[0] != "cs") continue;
    const std::size_t i = static_cast<std::size_t>(inum(r[1]));
    const std::size_t k = static_cast<std::size_t>(inum(r[2]));
    ASSERT_EQ(ex.axis(k), static_cast<std::size_t>(inum(r[3])));
    const std::int64_t p[2] = {patches[2 * i], patches[2 * i + 1]};
    const auto f = ex.cos_sin<float>(p, k);
    const auto d = ex.cos_sin<double>(p, k);
    const auto h = hf.cos_sin<float>(p, k);
    EXPECT_LE(posenc_test::ulp_distance(f.first, static_cast<float>(num(r[4]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(f.second, static_cast<float>(num(r[5]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(d.first, num(r[6])), 3);
    EXPECT_LE(posenc_test::ulp_distance(d.second, num(r[7])), 3);
    EXPECT_LE(posenc_test::ulp_distance(h.first, static_cast<float>(num(r[8]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(h.second, static_cast<float>(num(r[9]))), 1);
    ++n;
  }
  EXPECT_EQ(n, 96u * 40u);
}

// ---- llama.cpp / ggml: four position axes (tests/data/mrope_ggml.txt) ------------------------

struct ggml_case {
  std::size_t head_dim, n_dims;
  double base;
  std::array<std::size_t, 4> sections;
  posenc::ggml_rope_mode mode;
};
const std::map<std::string, ggml_case>& ggml_cases() {
  static const std::map<std::string, ggml_case> cases = [] {
    std::map<std::string, ggml_case> m;
    for (const auto& r : records("mrope_ggml.txt")) {
      if (r[0] != "case") continue;
      ggml_case c;
      c.head_dim = static_cast<std::size_t>(inum(r[2]));
      c.n_dims = static_cast<std::size_t>(inum(r[3]));
      c.base = num(r[4]);
      for (std::size_t a = 0; a < 4; ++a) c.sections[a] = static_cast<std::size_t>(inum(r[5 + a]));
      c.mode = r[9] == "mrope"    ? posenc::ggml_rope_mode::mrope
               : r[9] == "imrope" ? posenc::ggml_rope_mode::imrope
                                  : posenc::ggml_rope_mode::vision;
      m[r[1]] = c;
    }
    return m;
  }();
  return cases;
}
mrope make_ggml(const ggml_case& c, rope_precision prec = rope_precision::exact) {
  rope_config rc;
  const bool vision = c.mode == posenc::ggml_rope_mode::vision;
  rc.head_dim = vision ? c.n_dims : c.head_dim;
  rc.rotary_dim = c.n_dims;
  rc.base = c.base;
  rc.precision = prec;
  return mrope::ggml(rope(rc), c.sections, c.mode);
}

// Axis and frequency of every pair, exact-mode coefficients, and the distance to ggml's own
// float32 recurrence, per token of each case.
TEST(MropeGgml, PairMapAndCosSinMatchOracle) {
  ASSERT_EQ(ggml_cases().size(), 6u);
  std::map<std::string, std::size_t> rows;
  for (const auto& r : records("mrope_ggml.txt")) {
    if (r[0] != "cs") continue;
    ASSERT_EQ(r.size(), 16u);
    const ggml_case& c = ggml_cases().at(r[1]);
    const mrope m = make_ggml(c);
    ASSERT_EQ(m.axes(), 4u);
    ASSERT_EQ(m.head_dim(), c.head_dim);
    const std::int64_t p[4] = {inum(r[3]), inum(r[4]), inum(r[5]), inum(r[6])};
    const std::size_t k = static_cast<std::size_t>(inum(r[7]));
    ASSERT_EQ(m.axis(k), static_cast<std::size_t>(inum(r[8]))) << r[1] << " pair " << k;
    ASSERT_EQ(m.frequency_index(k), static_cast<std::size_t>(inum(r[9]))) << r[1] << ' ' << k;
    const auto f = m.cos_sin<float>(p, k);
    const auto d = m.cos_sin<double>(p, k);
    EXPECT_LE(posenc_test::ulp_distance(f.first, static_cast<float>(num(r[10]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(f.second, static_cast<float>(num(r[11]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(d.first, num(r[12])), 3);
    EXPECT_LE(posenc_test::ulp_distance(d.second, num(r[13])), 3);
    // ggml: θ = RN32(p) times RN32(base^(−2/n_dims)) j times in float32 (j = frequency index).
    // Relative error of the step: |ln base|·(2/n_dims)·u (rounded exponent) + u (powf) + u
    // (RN32); each of the j products adds u: |Δθ| <= θ·(j·(|ln base|·2/n_dims + 3) + 1)·u,
    // u = 2^-24; cos/sin are 1-Lipschitz, plus each side's rounding of cos/sin (u + 1 ulp).
    const double u = std::ldexp(1.0, -24);
    const std::size_t j = m.frequency_index(k);
    const double theta =
        static_cast<double>(p[m.axis(k)]) *
        std::pow(c.base, -2.0 * static_cast<double>(j) / static_cast<double>(c.n_dims));
    const double rel =
        static_cast<double>(j) *
            (std::fabs(std::log(c.base)) * 2.0 / static_cast<double>(c.n_dims) + 3.0) +
        1.0;
    const double bound = theta * rel * u * 1.01 + 3.0 * u;
    EXPECT_LE(std::fabs(static_cast<double>(f.first) - num(r[14])), bound) << r[1] << ' ' << k;
    EXPECT_LE(std::fabs(static_cast<double>(f.second) - num(r[15])), bound) << r[1] << ' ' << k;
    ++rows[r[1]];
  }
  EXPECT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows.at("qwen2vl_mrope"), 11u * 64u);
  EXPECT_EQ(rows.at("qwen2vl_vision"), 7u * 40u);
  // Written by hand from ggml_mrope_cache_init: IMROPE {24, 20, 20, 0} sends pairs 61 and 62
  // to e (HF Qwen3-VL: t) and 63 to t; VISION {20, 20, 20, 20} over 40 pairs: row pairs 0..19
  // with frequencies 0..19, column pairs 20..39 with frequencies 0..19.
  const mrope im = make_ggml(ggml_cases().at("qwen3vl_imrope"));
  EXPECT_EQ(im.axis(60), 0u);
  EXPECT_EQ(im.axis(61), 3u);
  EXPECT_EQ(im.axis(62), 3u);
  EXPECT_EQ(im.axis(63), 0u);
  EXPECT_TRUE(im.uses_axis(3));
  const mrope vi = make_ggml(ggml_cases().at("qwen2vl_vision"));
  EXPECT_EQ(vi.axis(19), 0u);
  EXPECT_EQ(vi.axis(20), 1u);
  EXPECT_EQ(vi.frequency_index(20), 0u);
  EXPECT_EQ(vi.frequency_index(39), 19u);
  EXPECT_FALSE(vi.uses_axis(2));
}

TEST(MropeGgml, ConfigurationErrorsNameTheField) {
  rope_config c;
  c.head_dim = 128;
  c.base = 10000.0;
  const rope r(c);
  using posenc::ggml_rope_mode;
  try {
    mrope::ggml(r, {0, 0, 0, 4}, ggml_rope_mode::mrope);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sections (t + h + w) = 0"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(mrope::ggml(r, {64, 64, 1, 0}, ggml_rope_mode::mrope), std::invalid_argument);
  EXPECT_THROW(mrope::ggml(r, {16, 24, 24, 0}, static_cast<ggml_rope_mode>(9)),
               std::invalid_argument);
  rope_config ci = c;
  ci.layout = rope_layout::interleaved;
  EXPECT_THROW(mrope::ggml(rope(ci), {16, 24, 24, 0}, ggml_rope_mode::mrope),
               std::invalid_argument);
  rope_config cp = c;
  cp.rotary_dim = 64;  // vision needs a full rope over n_dims
  EXPECT_THROW(mrope::ggml(rope(cp), {16, 16, 16, 16}, ggml_rope_mode::vision),
               std::invalid_argument);
  // vision: a 40-pair section asks for frequency 39 of a rope with 32
  rope_config cv;
  cv.head_dim = 64;
  EXPECT_THROW(mrope::ggml(rope(cv), {40, 24, 0, 0}, ggml_rope_mode::vision),
               std::invalid_argument);
}

// Rotated vectors (exact-mode coefficients), through mrope::ggml on the fly and mrope_cache
// (table too small, partly, and large), with ggml's axis-major position tensor.
TYPED_TEST(MropeArch, GgmlRotationMatchesOracle) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const double u = posenc_test::unit_roundoff(24);
  std::size_t checked = 0;
  std::map<std::pair<std::string, std::int64_t>, std::array<std::int64_t, 4>> token_pos;
  for (const auto& r : records("mrope_ggml.txt"))
    if (r[0] == "cs")
      token_pos[{r[1], inum(r[2])}] = {inum(r[3]), inum(r[4]), inum(r[5]), inum(r[6])};
  for (const auto& r : records("mrope_ggml.txt")) {
    if (r[0] != "rot") continue;
    const ggml_case& c = ggml_cases().at(r[1]);
    const std::size_t d = c.head_dim;
    ASSERT_EQ(r.size(), 3u + 3u * d);
    const mrope m = make_ggml(c);
    const auto& p4 = token_pos.at({r[1], inum(r[2])});
    // ggml's pos tensor for one token: t, h, w, e (axis-major with n_tokens = 1)
    const std::int64_t pos[4] = {p4[0], p4[1], p4[2], p4[3]};
    std::vector<float> x(d);
    for (std::size_t i = 0; i < d; ++i) x[i] = static_cast<float>(num(r[3 + i]));
    for (std::size_t cap : {0u, 8u, 2048u}) {
      std::vector<float> q = x;
      const auto pp = posenc::make_mrope_positions_ggml(pos, 1);
      if (cap == 0) {
        m.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 1, d), pp);
      } else {
        const mrope_cache<float> mc(m, cap, TypeParam{});
        mc.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 1, d), pp);
      }
      for (std::size_t i = 0; i < d; ++i) {
        const double y = num(r[3 + d + i]), scale = num(r[3 + 2 * d + i]);
        ASSERT_LE(std::fabs(q[i] - y), posenc_test::rotation_bound(scale, u, 1.0))
            << r[1] << " token " << r[2] << " cap " << cap << " i " << i;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6u * 3u * 3u);
}

// The row selects of mrope_cache's gather (kernels::select_axis / select_axis4):
// out[i] = row[sel[i]][i] exactly, vector bodies and scalar tails (lengths not
// multiples of any register), every architecture.
template <class Arch, class C>
void check_selects(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<std::vector<C>> rows(4, std::vector<C>(n));
  for (auto& row : rows)
    for (C& x : row) x = static_cast<C>(u(g));
  const C* r[4] = {rows[0].data(), rows[1].data(), rows[2].data(), rows[3].data()};
  for (std::size_t count : {3u, 4u}) {
    std::vector<C> sel(n), out(n, C(-7));
    std::uniform_int_distribution<int> pick(0, static_cast<int>(count) - 1);
    for (C& v : sel) v = static_cast<C>(pick(g));
    if (count == 3) posenc::kernels::select_axis(Arch{}, r, sel.data(), out.data(), n);
    if (count == 4) posenc::kernels::select_axis4(Arch{}, r, sel.data(), out.data(), n);
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ(out[i], rows[static_cast<std::size_t>(sel[i])][i])
          << "rows " << count << " n " << n << " i " << i;
  }
}
TYPED_TEST(MropeArch, SelectsPickTheirRow) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  unsigned seed = 1;
  for (std::size_t n : {1u, 7u, 16u, 37u, 64u, 128u, 131u}) {
    check_selects<TypeParam, float>(n, seed++);
    check_selects<TypeParam, double>(n, seed++);
  }
}

// Every storage type through the four-axis gather (cache rows in and beyond the table): equal
// to the scalar reference rotation with mrope::cos_sin's coefficients, bit for bit.
TYPED_TEST(MropeArch, GgmlAllStorageTypesEqualScalarReference) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  std::vector<std::int64_t> pos4;
  for (std::int64_t i = 0; i < 6; ++i) pos4.insert(pos4.end(), {i, i, i, 0});  // llama.cpp text
  for (std::int64_t y = 0; y < 2; ++y)
    for (std::int64_t x = 0; x < 3; ++x) pos4.insert(pos4.end(), {6, 6 + y, 6 + x, 0});
  pos4.insert(pos4.end(), {9, 9, 9, 9});
  pos4.insert(pos4.end(), {20, 3, 40, 7});
  for (const auto& kv : ggml_cases()) {
    const mrope m = make_ggml(kv.second);
    for (std::size_t cap : {5u, 1024u}) {
      check_against_reference<TypeParam, float>(m, pos4, cap);
      check_against_reference<TypeParam, double>(m, pos4, cap);
      check_against_reference<TypeParam, posenc::bfloat16_t>(m, pos4, cap);
      check_against_reference<TypeParam, posenc::float16_t>(m, pos4, cap);
    }
  }
  // 256 pairs (two coefficient chunks, the per-chunk gather path), IMROPE with a used e axis
  rope_config c;
  c.head_dim = 512;
  c.base = 1000000.0;
  const mrope big = mrope::ggml(rope(c), {60, 60, 60, 76}, posenc::ggml_rope_mode::imrope);
  ASSERT_TRUE(big.uses_axis(3));
  check_against_reference<TypeParam, float>(big, pos4, 7);
  check_against_reference<TypeParam, double>(big, pos4, 1024);
}

// ---- the four-axis gather of mrope_cache against the four-row select ----------------------
//
// mrope_cache gathers a ggml token's coefficients as the t/h/w select with the e row blended
// only into the registers that hold e pairs (kernels::select_pairs_e). It must equal the
// four-row select (kernels::select_axis4) slot for slot: kernel level over vector bodies and
// scalar tails, then through apply, every architecture.

// select_pairs_e (both forms) against select_axis4 over the cos and the sin halves of random
// rows, with e pairs (sel = 3) only in [lo, hi).
template <class Arch, class C>
void check_select_pairs_e(std::size_t n, std::size_t lo, std::size_t hi, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::size_t half = n + 3;  // sin at + half (a chunk of a longer row)
  std::vector<std::vector<C>> rows(4, std::vector<C>(2 * half));
  for (auto& row : rows)
    for (C& x : row) x = static_cast<C>(u(g));
  std::vector<C> sel(n);
  std::uniform_int_distribution<int> pick3(0, 2), pick4(0, 3);
  for (std::size_t i = 0; i < n; ++i)
    sel[i] = static_cast<C>(i >= lo && i < hi ? pick4(g) : pick3(g));
  for (bool same : {false, true}) {
    const C* r[4] = {rows[0].data(), same ? rows[0].data() : rows[1].data(),
                     same ? rows[0].data() : rows[2].data(), rows[3].data()};
    const C* rs[4] = {r[0] + half, r[1] + half, r[2] + half, r[3] + half};
    std::vector<C> ec(n), es(n), oc(n, C(-7)), os(n, C(-7));
    posenc::kernels::select_axis4(Arch{}, r, sel.data(), ec.data(), n);
    posenc::kernels::select_axis4(Arch{}, rs, sel.data(), es.data(), n);
    if (same) {
      posenc::kernels::select_pairs_e<true>(Arch{}, r, half, sel.data(), oc.data(), os.data(), n,
                                            lo, hi);
    } else {
      posenc::kernels::select_pairs_e<false>(Arch{}, r, half, sel.data(), oc.data(), os.data(), n,
                                             lo, hi);
    }
    ASSERT_TRUE(same_bits(oc, ec))
        << "cos, n " << n << " e [" << lo << ", " << hi << ") same " << same;
    ASSERT_TRUE(same_bits(os, es))
        << "sin, n " << n << " e [" << lo << ", " << hi << ") same " << same;
  }
}
TYPED_TEST(MropeArch, SelectPairsEEqualsFourRowSelect) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  unsigned seed = 100;
  for (std::size_t n : {1u, 3u, 7u, 16u, 37u, 64u, 71u, 128u, 131u}) {
    // e pairs: none, the first, in the middle, the last few (the tail of most registers),
    // IMROPE {24, 20, 20, 0}'s 61 and 62, everywhere
    const std::size_t ranges[][2] = {{0, 0},     {0, 1},   {n / 3, n / 3 + 2},
                                     {n - 3, n}, {61, 63}, {0, n}};
    for (const auto& lh : ranges) {
      const std::size_t lo = std::min<std::size_t>(lh[0], n), hi = std::min<std::size_t>(lh[1], n);
      check_select_pairs_e<TypeParam, float>(n, lo, hi, seed++);
      check_select_pairs_e<TypeParam, double>(n, lo, hi, seed++);
    }
  }
}

// Through apply: a head holding 1 in the first half of every rotary pair and 0 in the second
// rotates to (cos, sin) of each pair exactly (1·c − 0·s, 1·s + 0·c), so the output is the
// gathered row. It must equal select_axis4 of the table rows of the token's four positions
// (rows beyond the capacity: mrope::coefficients with all four axes at that position, the
// values the table would hold), bit for bit, for image tokens (t, h, w apart, e elsewhere),
// llama.cpp's text tokens (t = h = w, e apart), e = t, all equal, and tokens partly or wholly
// beyond the table. Tokens with e = 0 read the cache's second table (rows (p, p, p, 0), in place
// for text tokens; MROPE / IMROPE only): making its rows with e ≠ 0 fails this test (and the
// oracle tests) on every architecture.
template <class Arch, class C>
void check_four_axis_gather(const mrope& m, std::size_t cap) {
  const std::size_t P = m.pairs(), d = m.head_dim();
  const std::int64_t toks[][4] = {{30, 31, 45, 0}, {5, 9, 2, 17},   {12, 12, 12, 0},
                                  {7, 7, 7, 40},   {9, 9, 9, 9},    {20, 3, 40, 20},
                                  {44, 3, 60, 1},  {70, 70, 70, 0}, {100, 101, 102, 103}};
  const std::size_t T = sizeof(toks) / sizeof(toks[0]);
  std::vector<std::int64_t> pos4;
  for (const auto& p : toks) pos4.insert(pos4.end(), {p[0], p[1], p[2], p[3]});
  std::vector<C> y(T * d, C(0));
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t k = 0; k < P; ++k) y[t * d + k] = C(1);
  const mrope_cache<C> mc(m, cap, Arch{});
  mc.template apply<Arch>(posenc::make_head_view(y.data(), T, 1, d),
                          posenc::make_mrope_positions(pos4.data(), 4));
  std::size_t e_differs = 0;  // e slots whose value is not the t row's (the blend is seen)
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<std::vector<C>> row(4, std::vector<C>(2 * P));
    const C* rc[4];
    const C* rs[4];
    for (std::size_t a = 0; a < 4; ++a) {
      const std::int64_t q = toks[t][a];
      if (static_cast<std::size_t>(q) < mc.capacity()) {
        std::copy(mc.cos_row(static_cast<std::size_t>(q)),
                  mc.cos_row(static_cast<std::size_t>(q)) + P, row[a].begin());
        std::copy(mc.sin_row(static_cast<std::size_t>(q)),
                  mc.sin_row(static_cast<std::size_t>(q)) + P, row[a].begin() + P);
      } else {
        const std::int64_t same[4] = {q, q, q, q};
        m.coefficients<Arch>(same, row[a].data(), row[a].data() + P);
      }
      rc[a] = row[a].data();
      rs[a] = row[a].data() + P;
    }
    std::vector<C> ec(P), es(P);
    posenc::kernels::select_axis4(Arch{}, rc, m.selector<C>(), ec.data(), P);
    posenc::kernels::select_axis4(Arch{}, rs, m.selector<C>(), es.data(), P);
    const std::vector<C> gc(y.begin() + t * d, y.begin() + t * d + P);
    const std::vector<C> gs(y.begin() + t * d + P, y.begin() + t * d + 2 * P);
    ASSERT_TRUE(same_bits(gc, ec)) << "cos, token " << t << ", " << P << " pairs, cap " << cap;
    ASSERT_TRUE(same_bits(gs, es)) << "sin, token " << t << ", " << P << " pairs, cap " << cap;
    for (std::size_t k = 0; k < P; ++k)
      if (m.axis(k) == 3 && (ec[k] != rc[0][k] || es[k] != rs[0][k])) ++e_differs;
  }
  EXPECT_GT(e_differs, 0u) << "no token tells the e row from the t row";
}
TYPED_TEST(MropeArch, GgmlFourAxisGatherEqualsFourRowSelect) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  using posenc::ggml_rope_mode;
  struct cfg {
    std::size_t head_dim;
    std::array<std::size_t, 4> sections;
    ggml_rope_mode mode;
  };
  // e pairs: {24, 20, 20, 0} imrope 61, 62 (Qwen3-VL in llama.cpp); {10, 10, 10, 2} 30, 31,
  // 62, 63 (two registers apart); 71 pairs {22, 22, 22, 5}: 66..70 (one chunk gathered as two
  // halves, e in the scalar tail of wide registers); 135 pairs {44, 44, 44, 3}: 132..134 (the
  // 7-pair second chunk); a real fourth section {16, 16, 16, 16}: 48..63; 256 pairs imrope
  // {60, 60, 60, 76}: e spread over the head
  const cfg cfgs[] = {{128, {24, 20, 20, 0}, ggml_rope_mode::imrope},
                      {128, {10, 10, 10, 2}, ggml_rope_mode::mrope},
                      {142, {22, 22, 22, 5}, ggml_rope_mode::mrope},
                      {270, {44, 44, 44, 3}, ggml_rope_mode::mrope},
                      {128, {16, 16, 16, 16}, ggml_rope_mode::mrope},
                      {512, {60, 60, 60, 76}, ggml_rope_mode::imrope}};
  for (const cfg& c : cfgs) {
    rope_config rc;
    rc.head_dim = c.head_dim;
    rc.base = 1000000.0;
    const mrope m = mrope::ggml(rope(rc), c.sections, c.mode);
    ASSERT_TRUE(m.uses_axis(3));
    for (std::size_t cap : {48u, 1024u}) {
      check_four_axis_gather<TypeParam, float>(m, cap);
      check_four_axis_gather<TypeParam, double>(m, cap);
    }
  }
  // ggml's vision mode with a fourth section (pairs (k, k + n_dims) over the whole head)
  rope_config vc;
  vc.head_dim = 64;
  vc.base = 10000.0;
  const mrope v = mrope::ggml(rope(vc), {10, 10, 10, 2}, ggml_rope_mode::vision);
  ASSERT_TRUE(v.uses_axis(3));
  check_four_axis_gather<TypeParam, float>(v, 48);
  check_four_axis_gather<TypeParam, double>(v, 1024);
}

// The second table (rows (p, p, p, 0)) exists exactly for ggml MROPE / IMROPE with some pair on
// e, and bytes() counts it: IMROPE {24, 20, 20, 0} (61, 62 on e) twice the rows of one table;
// MROPE {16, 24, 24, 0} (no pair on e), HF sectioned and VISION with e pairs one table.
TEST(MropeCache, SecondTableOnlyForGgmlTextWithEPairs) {
  rope_config c;
  c.head_dim = 128;
  c.base = 1000000.0;
  const rope r(c);
  const std::size_t cap = 40;
  // bytes() in units of one table of cap rows (2·pairs values each)
  auto tables = [&](const mrope& m) {
    const std::size_t one = cap * 2 * m.pairs() * sizeof(float);
    const std::size_t b = mrope_cache<float>(m, cap).bytes();
    EXPECT_EQ(b % one, 0u);
    return b / one;
  };
  using posenc::ggml_rope_mode;
  EXPECT_EQ(tables(mrope::ggml(r, {24, 20, 20, 0}, ggml_rope_mode::imrope)), 2u);
  EXPECT_EQ(tables(mrope::ggml(r, {10, 10, 10, 2}, ggml_rope_mode::mrope)), 2u);
  EXPECT_EQ(tables(mrope::ggml(r, {16, 24, 24, 0}, ggml_rope_mode::mrope)), 1u);
  EXPECT_EQ(tables(mrope(r, {16, 24, 24}, mrope_mode::sectioned)), 1u);
  EXPECT_EQ(tables(mrope::ggml(r, {16, 16, 16, 16}, ggml_rope_mode::vision)), 1u);
  mrope_cache<double> grown(mrope::ggml(r, {24, 20, 20, 0}, ggml_rope_mode::imrope), cap);
  grown.reserve(2 * cap);
  EXPECT_EQ(grown.bytes(), 2 * 2 * cap * 128 * sizeof(double));
}

// Where ggml and HF agree, bit for bit: MROPE {16, 24, 24, 0} is HF's sectioned M-RoPE
// whatever e holds; IMROPE {24, 20, 20, 0} is HF's interleaved M-RoPE when e = t. With
// llama.cpp's e = 0 IMROPE differs from HF exactly in pairs 61 and 62 (channels 61, 62, 125,
// 126 of a half-split head).
TYPED_TEST(MropeArch, GgmlEqualsHfWhereTheyAgree) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  rope_config c;
  c.head_dim = 128;
  c.base = 5000000.0;
  const rope r(c);
  const std::size_t tokens = 5, heads = 2, d = 128;
  const std::int64_t p3[tokens][3] = {{0, 0, 0}, {3, 3, 4}, {3, 4, 5}, {9, 9, 9}, {70, 60, 50}};
  std::vector<std::int64_t> hf3, e_t, e_0;
  for (const auto& p : p3) {
    hf3.insert(hf3.end(), {p[0], p[1], p[2]});
    e_t.insert(e_t.end(), {p[0], p[1], p[2], p[0]});
    e_0.insert(e_0.end(), {p[0], p[1], p[2], 0});
  }
  const std::vector<float> x = random_heads<float>(tokens * heads * d, 21);
  auto run = [&](const mrope& m, const std::vector<std::int64_t>& pos) {
    std::vector<float> y = x;
    const mrope_cache<float> mc(m, 64, TypeParam{});
    mc.template apply<TypeParam>(posenc::make_head_view(y.data(), tokens, heads, d),
                                 posenc::make_mrope_positions(pos.data(), m.axes()));
    return y;
  };
  const auto hs = run(mrope(r, {16, 24, 24}, mrope_mode::sectioned), hf3);
  EXPECT_TRUE(
      same_bits(hs, run(mrope::ggml(r, {16, 24, 24, 0}, posenc::ggml_rope_mode::mrope), e_0)));
  const auto hi = run(mrope(r, {24, 20, 20}, mrope_mode::interleaved), hf3);
  const mrope gi = mrope::ggml(r, {24, 20, 20, 0}, posenc::ggml_rope_mode::imrope);
  EXPECT_TRUE(same_bits(hi, run(gi, e_t)));
  const auto g0 = run(gi, e_0);
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < d; ++i) {
        const std::size_t at = (t * heads + h) * d + i, k = i % 64;
        const bool differs = (k == 61 || k == 62) && p3[t][0] != 0;
        if (differs)
          EXPECT_NE(g0[at], hi[at]) << t << ' ' << i;
        else
          EXPECT_EQ(g0[at], hi[at]) << t << ' ' << i;
      }
}

// ---- GLM-4.1V (tests/data/mrope_glm4v.txt) --------------------------------------------------

mrope make_glm(rope_precision prec = rope_precision::exact) {
  rope_config c;  // head_dim 128, partial_rotary_factor 0.5, rope_theta 10000, GLM's pairs
  c.head_dim = 128;
  c.rotary_dim = 64;
  c.base = 10000.0;
  c.layout = rope_layout::interleaved;
  c.precision = prec;
  return mrope(rope(c), {8, 12, 12}, mrope_mode::sectioned);
}

TEST(MropeGlm4v, PositionsAxesCosSinMatchOracle) {
  std::vector<std::int64_t> want;
  std::int64_t next = -1;
  std::vector<std::size_t> axes;
  for (const auto& r : records("mrope_glm4v.txt")) {
    if (r[0] == "pos") want.insert(want.end(), {inum(r[2]), inum(r[3]), inum(r[4])});
    if (r[0] == "next") next = inum(r[1]);
    if (r[0] == "axis") axes.push_back(static_cast<std::size_t>(inum(r[2])));
  }
  // <text 3> <image 4x6> <text 2> <video start> <frame 4x4> <timestamp 2> <frame 4x4> <end>
  // <text 3>: each video frame an item of grid t = 1 (mrope_position_ids' GLM rule)
  std::vector<std::int64_t> got;
  const std::int64_t n = posenc::mrope_position_ids(
      {mrope_item::text(3), mrope_item::image(1, 4, 6), mrope_item::text(3),
       mrope_item::video(1, 4, 4), mrope_item::text(2), mrope_item::video(1, 4, 4),
       mrope_item::text(4)},
      {}, got);
  EXPECT_EQ(got, want);
  EXPECT_EQ(n, next);
  const mrope m = make_glm();
  ASSERT_EQ(axes.size(), m.pairs());
  for (std::size_t j = 0; j < axes.size(); ++j) EXPECT_EQ(m.axis(j), axes[j]) << j;
  const mrope hf = make_glm(rope_precision::hf_f32);
  want.insert(want.end(), {next, next, next});
  std::size_t rows = 0;
  for (const auto& r : records("mrope_glm4v.txt")) {
    if (r[0] != "cs") continue;
    const std::size_t t = static_cast<std::size_t>(inum(r[1])),
                      j = static_cast<std::size_t>(inum(r[2]));
    const std::int64_t* p = want.data() + 3 * t;
    const auto f = m.cos_sin<float>(p, j);
    const auto d = m.cos_sin<double>(p, j);
    const auto h = hf.cos_sin<float>(p, j);
    EXPECT_LE(posenc_test::ulp_distance(f.first, static_cast<float>(num(r[3]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(f.second, static_cast<float>(num(r[4]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(d.first, num(r[5])), 3);
    EXPECT_LE(posenc_test::ulp_distance(d.second, num(r[6])), 3);
    EXPECT_LE(posenc_test::ulp_distance(h.first, static_cast<float>(num(r[7]))), 1);
    EXPECT_LE(posenc_test::ulp_distance(h.second, static_cast<float>(num(r[8]))), 1);
    ++rows;
  }
  EXPECT_EQ(rows, 27u * 32u);
}

TYPED_TEST(MropeArch, Glm4vRotationMatchesOracle) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  std::vector<std::int64_t> pos;
  std::int64_t next = 0;
  for (const auto& r : records("mrope_glm4v.txt")) {
    if (r[0] == "pos") pos.insert(pos.end(), {inum(r[2]), inum(r[3]), inum(r[4])});
    if (r[0] == "next") next = inum(r[1]);
  }
  pos.insert(pos.end(), {next, next, next});
  const mrope m = make_glm();
  const double u = posenc_test::unit_roundoff(24);
  std::size_t checked = 0;
  for (const auto& r : records("mrope_glm4v.txt")) {
    if (r[0] != "rot") continue;
    ASSERT_EQ(r.size(), 2u + 3u * 128u);
    const std::size_t t = static_cast<std::size_t>(inum(r[1]));
    std::vector<float> x(128);
    for (std::size_t i = 0; i < 128; ++i) x[i] = static_cast<float>(num(r[2 + i]));
    for (std::size_t cap : {0u, 4u, 64u}) {
      std::vector<float> q = x;
      const auto pp = posenc::make_mrope_positions(pos.data() + 3 * t);
      if (cap == 0) {
        m.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 1, 128), pp);
      } else {
        const mrope_cache<float> mc(m, cap, TypeParam{});
        mc.apply<TypeParam>(posenc::make_head_view(q.data(), 1, 1, 128), pp);
      }
      for (std::size_t i = 0; i < 128; ++i) {
        const double y = num(r[2 + 128 + i]), scale = num(r[2 + 256 + i]);
        ASSERT_LE(std::fabs(q[i] - y), posenc_test::rotation_bound(scale, u, 1.0))
            << "token " << t << " cap " << cap << " i " << i;
        if (i >= 64) {
          ASSERT_EQ(q[i], x[i]);  // partial rotary: passed through
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4u * 3u);
}

// ---- Qwen3-VL ViT (tests/data/mrope_qwen3vl_vision.txt) --------------------------------------

TEST(MropeQwen3VlVision, PatchOrderAndPosEmbedInterpolationMatchOracle) {
  const std::map<std::string, std::array<std::size_t, 3>> grids = {{"a", {2, 4, 6}},
                                                                   {"b", {1, 6, 10}}};
  for (const auto& g : grids) {
    std::vector<std::int32_t> want;
    std::vector<std::int64_t> widx;
    std::vector<float> wwt;
    for (const auto& r : records("mrope_qwen3vl_vision.txt")) {
      if (r[1] != g.first) continue;
      if (r[0] == "patch") {
        want.push_back(static_cast<std::int32_t>(inum(r[3])));
        want.push_back(static_cast<std::int32_t>(inum(r[4])));
      } else if (r[0] == "interp") {
        for (std::size_t i = 0; i < 4; ++i) widx.push_back(inum(r[3 + i]));
        for (std::size_t i = 0; i < 4; ++i) wwt.push_back(static_cast<float>(num(r[7 + i])));
      }
    }
    const auto& s = g.second;
    std::vector<std::int32_t> got;
    posenc::vision_patch_positions(s[0], s[1], s[2], 2, got);
    EXPECT_EQ(got, want) << g.first;
    std::vector<std::int64_t> idx;
    std::vector<float> wt;
    posenc::qwen3vl_pos_embed_interpolation(s[0], s[1], s[2], 2, 48, idx, wt);
    EXPECT_EQ(idx, widx) << g.first;
    ASSERT_EQ(wt.size(), wwt.size());
    for (std::size_t i = 0; i < wt.size(); ++i) ASSERT_EQ(wt[i], wwt[i]) << g.first << ' ' << i;
    EXPECT_EQ(wt.size(), 4 * s[0] * s[1] * s[2]);
  }
  std::vector<std::int64_t> idx;
  std::vector<float> wt;
  EXPECT_THROW(posenc::qwen3vl_pos_embed_interpolation(1, 5, 4, 2, 48, idx, wt),
               std::invalid_argument);
  EXPECT_THROW(posenc::qwen3vl_pos_embed_interpolation(1, 4, 4, 2, 0, idx, wt),
               std::invalid_argument);
}

// ---- Llama-4 ---------------------------------------------------------------------------------

TEST(Llama4, NoPeLayerPattern) {
  const std::vector<bool> v = posenc::llama4_rope_layers(48);
  for (std::size_t i = 0; i < 48; ++i) EXPECT_EQ(v[i], (i % 4) != 3) << i;
  EXPECT_THROW(posenc::llama4_rope_layers(4, 0), std::invalid_argument);
}

TEST(Llama4, AttentionTemperature) {
  // scale(p) = log(floor((p + 1) / 8192) + 1) * 0.1 + 1 (HF Llama4TextAttention), evaluated
  // here in long double; float32 arithmetic in the library: within 2 ulp of float.
  for (std::int64_t p : {0LL, 1LL, 8190LL, 8191LL, 16383LL, 100000LL, 1048575LL, 10000000LL}) {
    const long double ref =
        std::log(std::floor((static_cast<long double>(p) + 1) / 8192.0L) + 1.0L) * 0.1L + 1.0L;
    const float got = posenc::llama4_attn_temperature(p);
    EXPECT_NEAR(got, static_cast<double>(ref), 2.0 * std::ldexp(1.0, -23) * 2) << p;
  }
  EXPECT_EQ(posenc::llama4_attn_temperature(8190), 1.0f);
  EXPECT_GT(posenc::llama4_attn_temperature(8191), 1.069f);
  std::vector<float> q(2 * 2 * 4, 2.0f);
  const std::int64_t pos[2] = {0, 8191};
  posenc::llama4_scale_queries(posenc::make_head_view(q.data(), 2, 2, 4), pos);
  EXPECT_EQ(q[0], 2.0f);
  EXPECT_EQ(q[8], 2.0f * posenc::llama4_attn_temperature(8191));
}

}  // namespace
