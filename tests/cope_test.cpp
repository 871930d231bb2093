// posenc tests — CoPE (posenc/cope.hpp, posenc/contextual.hpp): the row kernel on every
// architecture and reference_attention with cope_bias, against tests/data/cope_attention.txt
// (tests/oracle/gen_cope.py: float64 numpy from the paper's listing), plus properties.
// SPDX-License-Identifier: Apache-2.0
#include "posenc/cope.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/alibi.hpp"
#include "posenc/attention.hpp"
#include "posenc/compose.hpp"
#include "posenc/contextual.hpp"
#include "posenc/storage.hpp"

#include "support/arch_types.hpp"

namespace {

// ---- the oracle data ----------------------------------------------------------------------------
struct cope_record {
  std::string name;
  std::size_t T = 0, H = 0, Hkv = 0, D = 0, npos = 0, tables = 0;
  bool nodiv = false, sepkey = false, alibi = false;
  std::vector<double> q, k, v, kc, E, pos, poslog, wt, out;
};

std::vector<cope_record> load_cope() {
  const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/cope_attention.txt";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<cope_record> recs;
  std::string line;
  std::size_t lineno = 0, declared = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.rfind("# records:", 0) == 0) declared = std::stoul(line.substr(10));
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    cope_record r;
    int nodiv = 0, sepkey = 0, alibi = 0;
    if (!(ss >> r.name >> r.T >> r.H >> r.Hkv >> r.D >> r.npos >> r.tables >> nodiv >> sepkey >>
          alibi))
      throw std::runtime_error(path + ":" + std::to_string(lineno) + ": bad header");
    r.nodiv = nodiv != 0;
    r.sepkey = sepkey != 0;
    r.alibi = alibi != 0;
    const auto read = [&](std::vector<double>& v, std::size_t n) {
      v.resize(n);
      std::string tok;
      for (std::size_t i = 0; i < n; ++i) {
        if (!(ss >> tok)) throw std::runtime_error(path + ":" + std::to_string(lineno) + ": short");
        char* end = nullptr;
        v[i] = std::strtod(tok.c_str(), &end);
        if (end == tok.c_str() || *end != '\0')
          throw std::runtime_error(path + ":" + std::to_string(lineno) + ": bad float " + tok);
      }
    };
    read(r.q, r.T * r.H * r.D);
    read(r.k, r.T * r.Hkv * r.D);
    read(r.v, r.T * r.Hkv * r.D);
    if (r.sepkey) read(r.kc, r.T * r.Hkv * r.D);
    read(r.E, r.tables * r.D * r.npos);
    read(r.pos, r.H * r.T * r.T);
    read(r.poslog, r.H * r.T * r.T);
    read(r.wt, r.H * r.T * r.T);
    read(r.out, r.T * r.H * r.D);
    std::string extra;
    if (ss >> extra) throw std::runtime_error(path + ":" + std::to_string(lineno) + ": trailing");
    recs.push_back(std::move(r));
  }
  if (recs.size() != declared || declared != 10)
    throw std::runtime_error(path + ": header declares " + std::to_string(declared) +
                             " records, read " + std::to_string(recs.size()) + " (expected 10)");
  return recs;
}

const std::vector<cope_record>& records() {
  static const std::vector<cope_record> r = load_cope();
  return r;
}

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  std::vector<T> o(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) o[i] = static_cast<T>(v[i]);
  return o;
}

// The test's own σ and naive reverse scan without the saturation shortcut (paper order).
template <class C>
void naive_row(const C* g, C* x, std::size_t n, const C* L, std::size_t pmax) {
  C s = C(0);
  for (std::size_t j = n; j-- > 0;) {
    s += C(1) / (C(1) + std::exp(-g[j]));
    const C p = std::min(s, static_cast<C>(pmax));
    const C f = std::floor(p), w = p - f;
    x[j] = x[j] + (L[static_cast<std::size_t>(std::ceil(p))] * w +
                   L[static_cast<std::size_t>(f)] * (C(1) - w));
  }
}

template <class C>
constexpr double unit() {
  return std::ldexp(1.0, -std::numeric_limits<C>::digits);
}

// ---- typed kernel tests -----------------------------------------------------------------------
template <class Arch>
class CopeKernel : public ::testing::Test {};
TYPED_TEST_SUITE(CopeKernel, posenc_test::arch_types, posenc_test::arch_names);

/**
 * Bounds (u = unit roundoff of C). The kernel's inputs are the oracle's logits rounded to C
 * (|Δz| ≤ u|z|, the dot products themselves taken in double). A gate σ(z) = 1/(1 + e^{−z}) is
 * then within |Δz|/4 (σ' ≤ 1/4) plus 8u (exp within 4 ulp, one add, one divide) of the exact
 * one. A position is a sum of n = i − j + 1 gates, in any association: |Δp| ≤ Σ|Δg| +
 * γ_n·p with γ_n = n·u/(1 − n·u); the clamp is 1-Lipschitz. The interpolation
 * L[c]·w + L[f]·(1 − w) is Lipschitz with the largest step of L, plus 4u·max|L| of rounding,
 * and L = q·E itself is within γ_D·Σ_i |q_i E_ip| (+ u for the 1/√d factor).
 */
template <class Arch, class C>
void check_oracle_rows() {
  const double u = unit<C>();
  for (const cope_record& r : records()) {
    SCOPED_TRACE(r.name);
    const double scale = 1.0 / std::sqrt(static_cast<double>(r.D));
    const std::size_t group = r.H / r.Hkv, pmax = r.npos - 1;
    std::vector<C> z(r.T), gz(r.T), x(r.T), Lid(r.npos), L(r.npos), qc(r.D);
    std::vector<double> dz(r.T);
    for (std::size_t p = 0; p < r.npos; ++p) Lid[p] = static_cast<C>(p);
    const std::vector<C> Ec = as<C>(r.E);
    for (std::size_t h = 0; h < r.H; ++h) {
      const std::size_t g = h / group, th = r.tables == 1 ? 0 : h;
      for (std::size_t i = 0; i < r.T; ++i) {
        const std::size_t n = i + 1;
        for (std::size_t d = 0; d < r.D; ++d) qc[d] = static_cast<C>(r.q[(i * r.H + h) * r.D + d]);
        for (std::size_t j = 0; j < n; ++j) {
          double a = 0, b = 0;
          for (std::size_t d = 0; d < r.D; ++d) {
            a += r.q[(i * r.H + h) * r.D + d] * r.k[(j * r.Hkv + g) * r.D + d];
            if (r.sepkey) b += r.q[(i * r.H + h) * r.D + d] * r.kc[(j * r.Hkv + g) * r.D + d];
          }
          z[j] = static_cast<C>(scale * a);
          gz[j] = r.sepkey ? static_cast<C>(scale * b) : z[j];
          dz[j] = u * std::fabs(static_cast<double>(gz[j])) + 1e-15;
        }
        // Positions through L = identity, x = 0.
        std::fill(x.begin(), x.end(), C(0));
        posenc::kernels::cope_row(Arch{}, gz.data(), x.data(), n, Lid.data(), pmax, C(0));
        std::vector<double> tolp(n);
        double sumdg = 0;
        for (std::size_t j = n; j-- > 0;) {
          sumdg += dz[j] / 4 + 8 * u;
          const double pr = r.pos[(h * r.T + i) * r.T + j];
          const double m = static_cast<double>(n - j);
          tolp[j] = sumdg + m * u / (1 - m * u) * pr;
          EXPECT_NEAR(static_cast<double>(x[j]), pr, tolp[j] + 4 * u * (pr + 1))
              << "position h=" << h << " i=" << i << " j=" << j;
        }
        // Position logits.
        const C factor = r.nodiv ? C(1) / std::sqrt(static_cast<C>(r.D)) : C(1);
        posenc::kernels::cope_position_logits(Arch{}, qc.data(), r.D, Ec.data() + th * r.D * r.npos,
                                              static_cast<std::ptrdiff_t>(r.npos), factor, L.data(),
                                              r.npos);
        double step = 0, lmax = 0, dl = 0;
        for (std::size_t p = 0; p < r.npos; ++p) {
          double sa = 0;
          for (std::size_t d = 0; d < r.D; ++d)
            sa += std::fabs(r.q[(i * r.H + h) * r.D + d] * r.E[(th * r.D + d) * r.npos + p]);
          if (r.nodiv) sa /= std::sqrt(static_cast<double>(r.D));
          const double gD = r.D * u / (1 - r.D * u);
          dl = std::max(dl, gD * sa + 2 * u * sa);
          lmax = std::max(lmax, std::fabs(static_cast<double>(L[p])));
          if (p + 1 < r.npos)
            step = std::max(step, std::fabs(static_cast<double>(L[p + 1]) - L[p]));
        }
        std::fill(x.begin(), x.end(), C(0));
        posenc::kernels::cope_row(Arch{}, gz.data(), x.data(), n, L.data(), pmax, C(0));
        for (std::size_t j = 0; j < n; ++j) {
          const double tol = step * tolp[j] + dl + 4 * u * lmax + 1e-15;
          EXPECT_NEAR(static_cast<double>(x[j]), r.poslog[(h * r.T + i) * r.T + j], tol)
              << "position logit h=" << h << " i=" << i << " j=" << j;
        }
        // Final weights: z + position logits (+ ALiBi), softmax in double.
        std::vector<C> zz(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(n));
        posenc::kernels::cope_row(Arch{}, r.sepkey ? gz.data() : zz.data(), zz.data(), n, L.data(),
                                  pmax, C(0));
        std::vector<double> lg(n);
        double mx = -INFINITY, dmax = 0;
        for (std::size_t j = 0; j < n; ++j) {
          lg[j] = static_cast<double>(zz[j]);
          if (r.alibi)
            lg[j] -= std::ldexp(1.0, 0) * std::pow(2.0, -8.0 * static_cast<double>(h + 1) / r.H) *
                     static_cast<double>(i - j);
          mx = std::max(mx, lg[j]);
          dmax = std::max(dmax, dz[j] + step * tolp[j] + dl + 4 * u * lmax +
                                    u * std::fabs(static_cast<double>(zz[j])));
        }
        double sum = 0;
        for (std::size_t j = 0; j < n; ++j) sum += (lg[j] = std::exp(lg[j] - mx));
        for (std::size_t j = 0; j < n; ++j) {
          const double w = r.wt[(h * r.T + i) * r.T + j];
          EXPECT_NEAR(lg[j] / sum, w, w * std::expm1(2 * dmax) + 1e-14)
              << "weight h=" << h << " i=" << i << " j=" << j;
        }
      }
    }
  }
}

TYPED_TEST(CopeKernel, OracleGatesPositionsLogitsWeightsFloat) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_oracle_rows<TypeParam, float>();
}
TYPED_TEST(CopeKernel, OracleGatesPositionsLogitsWeightsDouble) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_oracle_rows<TypeParam, double>();
}

// All gates 1 (logits +∞: σ = 1 exactly) ⇒ p_ij = i − j + 1, exact, and clamped exactly.
// Every npos_max from 1 to 140 and 300: the clamp saturates in each register of the vector
// kernel's blocks of four (N = 2 … 16 keys per register), in the one-register loop after them,
// in the scalar tail, or never.
template <class Arch, class C>
void check_all_gates_one() {
  std::vector<std::size_t> sizes{300};
  for (std::size_t npos = 1; npos <= 140; ++npos) sizes.push_back(npos);
  for (const std::size_t npos : sizes) {
    for (const std::size_t n :
         {std::size_t{1}, std::size_t{5}, std::size_t{37}, std::size_t{200}, std::size_t{203}}) {
      std::vector<C> g(n, std::numeric_limits<C>::infinity()), x(n, C(0)), L(npos);
      for (std::size_t p = 0; p < npos; ++p) L[p] = static_cast<C>(p);
      posenc::kernels::cope_row(Arch{}, g.data(), x.data(), n, L.data(), npos - 1, C(0));
      for (std::size_t j = 0; j < n; ++j)
        EXPECT_EQ(x[j], static_cast<C>(std::min(n - j, npos - 1)))
            << "npos=" << npos << " n=" << n << " j=" << j;
    }
  }
}
TYPED_TEST(CopeKernel, AllGatesOneGivesCountExactly) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_all_gates_one<TypeParam, float>();
  check_all_gates_one<TypeParam, double>();
}

// Random rows in a dense and a sparse gate regime: the kernel (with its saturation shortcut,
// tree sums in registers) against the test's naive loop without shortcut. scalar_arch is the
// same arithmetic in the same order: bit-identical. Vector architectures: the sums associate
// differently, |Δp| ≤ γ_n·p + n·8u (each σ: exp within 4 ulp), so the added term is within
// step·|Δp| + 4u·max|L|, plus u·|x| for the add.
template <class Arch, class C>
void check_against_naive(double bias, std::size_t npos) {
  const double u = unit<C>();
  const std::size_t n = 1000;
  std::vector<C> g(n), L(npos), x0(n);
  for (std::size_t j = 0; j < n; ++j) {
    g[j] = static_cast<C>(bias + std::sin(0.37 * static_cast<double>(j)) * 2);
    x0[j] = static_cast<C>(std::cos(0.11 * static_cast<double>(j)));
  }
  double step = 0, lmax = 0;
  for (std::size_t p = 0; p < npos; ++p) {
    L[p] = static_cast<C>(std::sin(0.7 * static_cast<double>(p)));
    lmax = std::max(lmax, std::fabs(static_cast<double>(L[p])));
    if (p) step = std::max(step, std::fabs(static_cast<double>(L[p]) - L[p - 1]));
  }
  std::vector<C> xr = x0, xk = x0;
  naive_row(g.data(), xr.data(), n, L.data(), npos - 1);
  posenc::kernels::cope_row(Arch{}, g.data(), xk.data(), n, L.data(), npos - 1, C(0));
  for (std::size_t j = 0; j < n; ++j) {
    if (std::is_same<Arch, posenc::scalar_arch>::value) {
      EXPECT_EQ(xk[j], xr[j]) << "j=" << j;
    } else {
      const double m = static_cast<double>(n - j);
      const double dp = m * u / (1 - m * u) * double(npos) + m * 8 * u;
      EXPECT_NEAR(xk[j], xr[j], step * dp + 4 * u * lmax + u * (std::fabs(xr[j]) + 1)) << "j=" << j;
    }
  }
}
TYPED_TEST(CopeKernel, SaturationShortcutMatchesNaiveScanDenseAndSparse) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  // npos_max 64 and 100, 16 and 32 (AVX-512: table in registers up to 64 floats / 32 doubles,
  // hardware gather beyond; AVX2: gather; others lane by lane).
  for (const std::size_t npos :
       {std::size_t{16}, std::size_t{32}, std::size_t{64}, std::size_t{100}}) {
    SCOPED_TRACE(npos);
    check_against_naive<TypeParam, float>(4.0, npos);   // dense: saturates after ~1.1·npos keys
    check_against_naive<TypeParam, float>(-6.0, npos);  // sparse: no saturation in 1000 keys
    check_against_naive<TypeParam, float>(-2.0, npos);  // between: saturates after ~5·npos keys
    check_against_naive<TypeParam, double>(4.0, npos);
    check_against_naive<TypeParam, double>(-6.0, npos);
    check_against_naive<TypeParam, double>(-2.0, npos);
  }
}

// Blocks newest first with the carry (any block size), and split-KV (gate sums, carry_in,
// blocks processed oldest first) give the one-pass row within the rounding of the sums:
// both sum the same gates in different associations, |Δp| ≤ 2·γ_n·p + n·16u.
template <class Arch, class C>
void check_tiling() {
  const double u = unit<C>();
  const std::size_t npos = 40, n = 517, d = 4;
  std::vector<C> E(d * npos), q(d);
  for (std::size_t i = 0; i < E.size(); ++i) E[i] = static_cast<C>(std::sin(0.3 * double(i)));
  for (std::size_t i = 0; i < d; ++i) q[i] = static_cast<C>(0.5 + 0.1 * double(i));
  const posenc::cope_bias<C> cope{posenc::make_head_view(E.data(), d, 1, npos), {npos}};
  std::vector<C> z(n), scratch(npos);
  for (std::size_t j = 0; j < n; ++j)
    z[j] = static_cast<C>(-3.5 + std::sin(0.9 * static_cast<double>(j)) * 1.5);
  std::vector<C> one = z;
  cope.template add_to_row<Arch>(0, 0, q.data(), C(1), one.data(), n, scratch.data());
  posenc::contextual_query<C> cq{0, 0, q.data(), C(1), scratch.data(), C(0)};
  cope.template begin_query<Arch>(cq, n);
  double step = 0, lmax = 0;
  for (std::size_t p = 0; p < npos; ++p) {
    lmax = std::max(lmax, std::fabs(double(scratch[p])));
    if (p) step = std::max(step, std::fabs(double(scratch[p]) - scratch[p - 1]));
  }
  const auto tol = [&](std::size_t j) {
    const double m = static_cast<double>(n - j);
    return step * (2 * m * u / (1 - m * u) * double(npos) + m * 16 * u) + 8 * u * lmax +
           2 * u * (std::fabs(double(one[j])) + 1);
  };
  for (const std::size_t bk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{100}}) {
    std::vector<C> x = z;
    cope.template begin_query<Arch>(cq, n);
    for (std::size_t end = n; end > 0;) {
      const std::size_t begin = end > bk ? end - bk : 0;
      cope.template add_contextual<Arch>(cq, x.data() + begin, begin, 0, end - begin);
      end = begin;
    }
    for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(x[j], one[j], tol(j)) << "bk=" << bk;
    // Split-KV.
    const std::size_t nb = (n + bk - 1) / bk;
    std::vector<C> sums(nb), carry(nb);
    for (std::size_t b = 0; b < nb; ++b) {
      const std::size_t b0 = b * bk, b1 = std::min(n, b0 + bk);
      sums[b] = cope.template gate_sum<Arch>(cq, z.data() + b0, b0, 0, b1 - b0);
    }
    posenc::contextual_carry_in(sums.data(), nb, carry.data());
    std::vector<C> y = z;
    for (std::size_t b = 0; b < nb; ++b) {  // oldest first: order no longer matters
      const std::size_t b0 = b * bk, b1 = std::min(n, b0 + bk);
      cq.carry = carry[b];
      cope.template add_contextual<Arch>(cq, y.data() + b0, b0, 0, b1 - b0);
    }
    for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(y[j], one[j], tol(j)) << "split bk=" << bk;
  }
}
TYPED_TEST(CopeKernel, TileSizeOrderAndSplitKV) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_tiling<TypeParam, float>();
  check_tiling<TypeParam, double>();
}

// ---- reference_attention ---------------------------------------------------------------------

template <class T>
std::vector<double> attention_with(const cope_record& r,
                                   const posenc::attention_options& opt = {}) {
  const std::vector<T> q = as<T>(r.q), k = as<T>(r.k), v = as<T>(r.v), E = as<T>(r.E),
                       kc = as<T>(r.kc);
  std::vector<double> out(r.T * r.H * r.D);
  const auto qv = posenc::make_head_view(q.data(), r.T, r.H, r.D);
  const auto kv = posenc::make_head_view(k.data(), r.T, r.Hkv, r.D);
  const auto vv = posenc::make_head_view(v.data(), r.T, r.Hkv, r.D);
  const auto ov = posenc::make_head_view(out.data(), r.T, r.H, r.D);
  const auto table =
      posenc::make_head_view(E.data(), r.D, r.tables, r.npos, static_cast<std::ptrdiff_t>(r.npos),
                             static_cast<std::ptrdiff_t>(r.D * r.npos));
  const posenc::cope_options co{r.npos, r.nodiv};
  const posenc::cope_bias<T> cope =
      r.sepkey ? posenc::cope_bias<T>(table, co, posenc::make_head_view(kc.data(), r.T, r.Hkv, r.D))
               : posenc::cope_bias<T>(table, co);
  if (r.alibi) {
    const posenc::alibi_bias alibi({r.H});
    posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{},
                                posenc::sum_bias{std::cref(cope), std::cref(alibi)}, opt);
  } else {
    posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{}, cope, opt);
  }
  return out;
}

/**
 * reference_attention computes in double: every logit (q·k over D terms, q·E over D terms,
 * a position sum over at most T gates, the interpolation and the adds) is within
 * Δℓ = (2D + T + 8)·u₆₄·M of exact, M bounding the magnitudes involved; softmax weights are then
 * within a factor e^{±2Δℓ}, the output within 2Δℓ·max|v|·(1 + 2Δℓ) + D·u₆₄·max|v|.
 */
TEST(CopeAttention, MatchesOracleOutputs) {
  for (const cope_record& r : records()) {
    SCOPED_TRACE(r.name);
    const std::vector<double> out = attention_with<float>(r);
    double M = r.T + r.npos, vmax = 0;
    for (double x : r.q)
      for (double y : r.k) M = std::max(M, std::fabs(x * y) * r.D);
    for (double x : r.E) M = std::max(M, std::fabs(x) * r.D * 4);
    for (double x : r.v) vmax = std::max(vmax, std::fabs(x));
    const double dl = (2.0 * r.D + r.T + 8) * unit<double>() * M;
    const double tol = 2 * dl * vmax * (1 + 2 * dl) + r.D * unit<double>() * vmax;
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], r.out[i], tol) << "i=" << i;
  }
}

// Decode row by row (one query over the cache of keys 0..t, nothing carried between steps)
// reproduces the prefill exactly: same key tiles, same arithmetic per row.
TEST(CopeAttention, DecodeRowByRowEqualsPrefill) {
  for (const cope_record& r : records()) {
    SCOPED_TRACE(r.name);
    const std::vector<double> full = attention_with<float>(r);
    const std::vector<float> q = as<float>(r.q), k = as<float>(r.k), v = as<float>(r.v),
                             E = as<float>(r.E), kc = as<float>(r.kc);
    const auto table =
        posenc::make_head_view(E.data(), r.D, r.tables, r.npos, static_cast<std::ptrdiff_t>(r.npos),
                               static_cast<std::ptrdiff_t>(r.D * r.npos));
    const posenc::cope_options co{r.npos, r.nodiv};
    const posenc::cope_bias<float> cope =
        r.sepkey ? posenc::cope_bias<float>(table, co,
                                            posenc::make_head_view(kc.data(), r.T, r.Hkv, r.D))
                 : posenc::cope_bias<float>(table, co);
    const posenc::alibi_bias alibi({r.H});
    for (std::size_t t = 0; t < r.T; ++t) {
      std::vector<double> o(r.H * r.D);
      const auto qv = posenc::make_head_view(q.data() + t * r.H * r.D, 1, r.H, r.D);
      const auto kv = posenc::make_head_view(k.data(), t + 1, r.Hkv, r.D);
      const auto vv = posenc::make_head_view(v.data(), t + 1, r.Hkv, r.D);
      const auto ov = posenc::make_head_view(o.data(), 1, r.H, r.D);
      if (r.alibi)
        posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{},
                                    posenc::sum_bias{std::cref(cope), std::cref(alibi)});
      else
        posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{}, cope);
      for (std::size_t i = 0; i < r.H * r.D; ++i)
        ASSERT_EQ(o[i], full[t * r.H * r.D + i]) << "t=" << t << " i=" << i;
    }
  }
}

// bfloat16 / binary16 storage of q, k, v, E, gate keys: the same values held in float give the
// same results bit for bit (every conversion is exact; the arithmetic is double).
template <class T>
void check_storage() {
  for (const cope_record& r : records()) {
    SCOPED_TRACE(r.name);
    cope_record rr = r;
    for (auto* vec : {&rr.q, &rr.k, &rr.v, &rr.E, &rr.kc})
      for (double& x : *vec) {
        x = static_cast<double>(posenc::to_coef(posenc::storage_cast<T>(static_cast<float>(x))));
      }
    const std::vector<double> a = attention_with<float>(rr);
    std::vector<T> dummy;
    // Through the 16-bit type: as<T> uses static_cast, so convert explicitly.
    const auto conv = [](const std::vector<double>& v) {
      std::vector<T> o(v.size());
      for (std::size_t i = 0; i < v.size(); ++i)
        o[i] = posenc::storage_cast<T>(static_cast<float>(v[i]));
      return o;
    };
    const std::vector<T> q = conv(rr.q), k = conv(rr.k), v = conv(rr.v), E = conv(rr.E),
                         kc = conv(rr.kc);
    std::vector<double> out(r.T * r.H * r.D);
    const auto table =
        posenc::make_head_view(E.data(), r.D, r.tables, r.npos, static_cast<std::ptrdiff_t>(r.npos),
                               static_cast<std::ptrdiff_t>(r.D * r.npos));
    const posenc::cope_options co{r.npos, r.nodiv};
    const posenc::cope_bias<T> cope =
        r.sepkey
            ? posenc::cope_bias<T>(table, co, posenc::make_head_view(kc.data(), r.T, r.Hkv, r.D))
            : posenc::cope_bias<T>(table, co);
    const auto qv = posenc::make_head_view(q.data(), r.T, r.H, r.D);
    const auto kv = posenc::make_head_view(k.data(), r.T, r.Hkv, r.D);
    const auto vv = posenc::make_head_view(v.data(), r.T, r.Hkv, r.D);
    const auto ov = posenc::make_head_view(out.data(), r.T, r.H, r.D);
    if (r.alibi) {
      const posenc::alibi_bias alibi({r.H});
      posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{},
                                  posenc::sum_bias{std::cref(cope), std::cref(alibi)});
    } else {
      posenc::reference_attention(qv, kv, vv, ov, posenc::identity_rotation{}, cope);
    }
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], a[i]) << "i=" << i;
  }
}
TEST(CopeAttention, SixteenBitStorageEqualsFloatOfSameValues) {
  check_storage<posenc::bfloat16_t>();
  check_storage<posenc::float16_t>();
}

// A contextual part is neutral in sum_bias's position pass: sum_bias{cope, alibi} adds exactly
// what alibi adds (the CoPE term goes through the contextual protocol only).
TEST(CopeAttention, NeutralInPositionPass) {
  std::vector<float> E(4 * 3, 0.5f);
  const posenc::cope_bias<float> cope{posenc::make_head_view(E.data(), 4, 1, 3), {3}};
  const posenc::alibi_bias alibi({4});
  const posenc::sum_bias both{std::cref(cope), std::cref(alibi)};
  static_assert(posenc::is_contextual_bias_v<posenc::cope_bias<float>>, "contextual");
  static_assert(!posenc::is_contextual_bias_v<posenc::alibi_bias>, "not contextual");
  static_assert(posenc::has_contextual_part_v<std::decay_t<decltype(both)>>, "has part");
  EXPECT_EQ(&posenc::contextual_part(both), &cope);
  std::vector<float> a(20 * 30), b(20 * 30);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = b[i] = std::sin(0.1f * float(i));
  for (std::size_t h = 0; h < 4; ++h) {
    both.add_to(posenc::make_logits_view(a.data(), 20, 30), h, 40, 25);
    alibi.add_to(posenc::make_logits_view(b.data(), 20, 30), h, 40, 25);
  }
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "i=" << i;
}

// Gates count only the keys the masks leave visible. Here the bias alone masks
// (attention_options::causal = false, sum_bias{cope, causal_mask{W}}): future keys must get gate
// 0 from the bias's visible range, and the window limits the softmax (older keys outside it
// cannot change a visible key's position: positions sum the gates of newer keys). Checked
// against the test's own double evaluation of the listing with that mask; both compute in
// double, in different orders: Δℓ ≤ (2D + T + 8)·u₆₄·M as in MatchesOracleOutputs.
TEST(CopeAttention, SlidingWindowMasksGates) {
  const std::size_t T = 70, H = 2, D = 8, NP = 6, W = 9;
  std::vector<float> q(T * H * D), k(T * H * D), v(T * H * D), E(D * NP);
  for (std::size_t i = 0; i < q.size(); ++i) {
    q[i] = 0.8f * std::sin(0.37f * float(i)) + 0.3f;
    k[i] = 0.8f * std::cos(0.23f * float(i)) + 0.3f;
    v[i] = std::sin(0.11f * float(i));
  }
  for (std::size_t i = 0; i < E.size(); ++i) E[i] = 0.5f * std::cos(0.7f * float(i));
  const posenc::cope_bias<float> cope{posenc::make_head_view(E.data(), D, 1, NP), {NP}};
  std::vector<double> out(T * H * D);
  posenc::reference_attention(
      posenc::make_head_view(q.data(), T, H, D), posenc::make_head_view(k.data(), T, H, D),
      posenc::make_head_view(v.data(), T, H, D), posenc::make_head_view(out.data(), T, H, D),
      posenc::identity_rotation{}, posenc::sum_bias{std::cref(cope), posenc::causal_mask{W}},
      posenc::attention_options{0.0, false});
  const double sc = 1.0 / std::sqrt(double(D));
  double maxdiff = 0;
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t i = 0; i < T; ++i) {
      const std::size_t j0 = i + 1 >= W ? i + 1 - W : 0;
      std::vector<double> l(i + 1, -INFINITY), e(NP, 0.0);
      for (std::size_t p = 0; p < NP; ++p)
        for (std::size_t d = 0; d < D; ++d) e[p] += double(q[(i * H + h) * D + d]) * E[d * NP + p];
      double S = 0, mx = -INFINITY;
      for (std::size_t j = i + 1; j-- > j0;) {
        double z = 0;
        for (std::size_t d = 0; d < D; ++d)
          z += double(q[(i * H + h) * D + d]) * double(k[(j * H + h) * D + d]);
        z *= sc;
        S += 1 / (1 + std::exp(-z));
        const double p = std::min(S, double(NP - 1)), f = std::floor(p), w = p - f;
        l[j] = z + e[std::size_t(std::ceil(p))] * w + e[std::size_t(f)] * (1 - w);
        mx = std::max(mx, l[j]);
      }
      double sum = 0;
      std::vector<double> o(D, 0.0);
      for (std::size_t j = j0; j <= i; ++j) {
        const double pj = std::exp(l[j] - mx);
        sum += pj;
        for (std::size_t d = 0; d < D; ++d) o[d] += pj * v[(j * H + h) * D + d];
      }
      for (std::size_t d = 0; d < D; ++d)
        maxdiff = std::max(maxdiff, std::fabs(o[d] / sum - out[(i * H + h) * D + d]));
    }
  // M ≤ D·1.1² + Σ|q||E| + T: logits and positions below 100; |v| ≤ 1.
  const double dl = (2.0 * D + T + 8) * unit<double>() * 100;
  EXPECT_LE(maxdiff, 2 * dl * (1 + 2 * dl) + D * unit<double>());
  // And the window matters: without it the outputs differ.
  std::vector<double> nowin(T * H * D);
  posenc::reference_attention(
      posenc::make_head_view(q.data(), T, H, D), posenc::make_head_view(k.data(), T, H, D),
      posenc::make_head_view(v.data(), T, H, D), posenc::make_head_view(nowin.data(), T, H, D),
      posenc::identity_rotation{}, cope);
  double d2 = 0;
  for (std::size_t i = 0; i < out.size(); ++i) d2 = std::max(d2, std::fabs(out[i] - nowin[i]));
  EXPECT_GT(d2, 1e-3);
}

// ---- bad input ---------------------------------------------------------------------------------
template <class F>
void expect_invalid(F f, const std::string& field) {
  try {
    f();
    ADD_FAILURE() << "no exception, expected one naming " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(CopeBadInput, ThrowsNamingTheField) {
  std::vector<float> E(8 * 4, 0.f), gk(10 * 2 * 6, 0.f);
  const auto t84 = posenc::make_head_view(E.data(), 8, 1, 4);
  expect_invalid([&] { posenc::cope_bias<float> c(t84, {0}); }, "npos_max");
  expect_invalid([&] { posenc::cope_bias<float> c(t84, {5}); }, "table.dim");
  expect_invalid(
      [&] { posenc::cope_bias<float> c(posenc::make_head_view(E.data(), 0, 1, 4), {4}); },
      "table.tokens");
  expect_invalid(
      [&] { posenc::cope_bias<float> c(t84, {4}, posenc::make_head_view(gk.data(), 10, 2, 6)); },
      "gate_keys.dim");
  // d mismatch: attention head_dim 6 vs table rows 8.
  std::vector<float> q(3 * 2 * 6, 0.f), o(3 * 2 * 6);
  const posenc::cope_bias<float> c(t84, {4});
  const auto v6 = posenc::make_head_view(q.data(), 3, 2, 6);
  expect_invalid(
      [&] {
        posenc::reference_attention(v6, v6, v6, posenc::make_head_view(o.data(), 3, 2, 6),
                                    posenc::identity_rotation{}, c);
      },
      "head_dim");
  // Per-head tables must match the query heads.
  std::vector<float> E3(3 * 8 * 4, 0.f), q8(3 * 2 * 8, 0.f), o8(3 * 2 * 8);
  const posenc::cope_bias<float> c3(posenc::make_head_view(E3.data(), 8, 3, 4, 4, 32), {4});
  const auto v8 = posenc::make_head_view(q8.data(), 3, 2, 8);
  expect_invalid(
      [&] {
        posenc::reference_attention(v8, v8, v8, posenc::make_head_view(o8.data(), 3, 2, 8),
                                    posenc::identity_rotation{}, c3);
      },
      "table.heads");
}

}  // namespace
