// posenc tests — include/posenc/kernels/sincos.hpp: cos/sin coefficients from double angles,
// on every architecture this TU was compiled for plus scalar_arch, float and double outputs.
// SPDX-License-Identifier: Apache-2.0
//
// What is checked, and against what:
//  * kernels::sincos(Arch{}, ...) equals kernels::sincos_ref bit for bit (the header promises
//    it under any -ffp-contract and -ffast-math; the tests build with the compiler's defaults,
//    and CI once with -Ofast), over lengths around the
//    double lane count, misaligned angle and output pointers, finite and non-finite angles.
//  * Accuracy against glibc's long double cosl/sinl (64-bit significand, argument reduction
//    with enough bits of π for any double; spot-checked against mpmath at 300 bits). Its
//    error, ≤ 2^-63 relative, is 2^-39 float ulp and 2^-10 double ulp: negligible, and
//    allowed for below.
//  * Quadrant edges, negative angles (exact symmetry), 0 and ±tiny angles, and the magnitude
//    m applied before the one rounding to C.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/kernels/sincos.hpp>

#include "support/arch_types.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc_test::same_bits;

using posenc_test::guarded_buffer;
using posenc_test::ulp_of;

const long double kPi = std::acos(-1.0L);

template <class C>
const char* cname() {
  return std::is_same<C, float>::value ? "float" : "double";
}

std::string hex(long double v) {
  std::ostringstream os;
  os << std::hexfloat << static_cast<double>(v);
  return os.str();
}

// ---- angle sets ---------------------------------------------------------------------------------

/// |theta| ≤ 1e5: 2^17 uniform on [−1e5, 1e5] and 2^16 with log-uniform magnitude in
/// [2^-30, 1e5] and a random sign (small angles, where sin is tiny and cos near 1).
const std::vector<double>& accuracy_angles() {
  static const std::vector<double> v = [] {
    std::mt19937_64 rng = posenc_test::make_rng(0x51c05);
    std::uniform_real_distribution<double> uni(-1e5, 1e5);
    std::uniform_real_distribution<double> lg(-30.0, std::log2(1e5));
    std::vector<double> out;
    for (int i = 0; i < (1 << 17); ++i) out.push_back(uni(rng));
    for (int i = 0; i < (1 << 16); ++i) {
      const double t = std::exp2(lg(rng));
      out.push_back((rng() & 1u) ? -t : t);
    }
    return out;
  }();
  return v;
}

/// Doubles near k·π/2, k up to 2^31: the double nearest k·π/2 (computed in long double) and
/// its neighbours up to 3 ulp away, for k = 0..64, 2^j and 2^j ± 1 (j ≤ 31), 2^31 − 1 and 200
/// random k < 2^31; both signs.
const std::vector<double>& edge_angles() {
  static const std::vector<double> v = [] {
    std::vector<std::int64_t> ks;
    for (std::int64_t k = 0; k <= 64; ++k) ks.push_back(k);
    for (int j = 1; j <= 31; ++j) {
      const std::int64_t p = std::int64_t{1} << j;
      ks.push_back(p - 1);
      ks.push_back(p);
      if (j < 31) ks.push_back(p + 1);
    }
    std::mt19937_64 rng = posenc_test::make_rng(0xed6e);
    for (int i = 0; i < 200; ++i) ks.push_back(static_cast<std::int64_t>(rng() % (1ULL << 31)));
    std::vector<double> out;
    for (std::int64_t k : ks) {
      const double t0 = static_cast<double>(static_cast<long double>(k) * kPi / 2);
      double up = t0, down = t0;
      out.push_back(t0);
      for (int i = 0; i < 3; ++i) {
        up = std::nextafter(up, HUGE_VAL);
        down = std::nextafter(down, -HUGE_VAL);
        out.push_back(up);
        out.push_back(down);
      }
    }
    const std::size_t n = out.size();
    for (std::size_t i = 0; i < n; ++i) out.push_back(-out[i]);
    return out;
  }();
  return v;
}

/// Everything the bit-for-bit comparison feeds: the two sets above (a sample), ±0, ±tiny,
/// subnormals, huge angles beyond the accurate range, ±Inf and NaN.
std::vector<double> mixed_angles(std::size_t n, std::uint64_t stream) {
  std::mt19937_64 rng = posenc_test::make_rng(stream);
  const auto& acc = accuracy_angles();
  const auto& edge = edge_angles();
  const double specials[] = {0.0,
                             -0.0,
                             1e-300,
                             -1e-300,
                             std::numeric_limits<double>::denorm_min(),
                             -std::numeric_limits<double>::denorm_min(),
                             1e-20,
                             1e15,
                             -3e18,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN()};
  std::vector<double> out(n);
  for (double& t : out) {
    const unsigned pick = static_cast<unsigned>(rng() % 8);
    if (pick == 0) {
      t = specials[rng() % (sizeof specials / sizeof specials[0])];
    } else if (pick <= 2) {
      t = edge[rng() % edge.size()];
    } else {
      t = acc[rng() % acc.size()];
    }
  }
  return out;
}

/// Long double cos and sin of a set of angles, computed once.
struct ld_cos_sin {
  std::vector<long double> c, s;
  explicit ld_cos_sin(const std::vector<double>& th) : c(th.size()), s(th.size()) {
    // Through volatile pointers: under -ffast-math GCC expands cosl / sinl to the x87 fcos /
    // fsin instructions (66-bit π, inaccurate near multiples of π/2); this calls glibc's.
    static long double (*volatile cosl_fn)(long double) = ::cosl;
    static long double (*volatile sinl_fn)(long double) = ::sinl;
    for (std::size_t i = 0; i < th.size(); ++i) {
      c[i] = cosl_fn(static_cast<long double>(th[i]));
      s[i] = sinl_fn(static_cast<long double>(th[i]));
    }
  }
};
const ld_cos_sin& accuracy_refs() {
  static const ld_cos_sin r(accuracy_angles());
  return r;
}
const ld_cos_sin& edge_refs() {
  static const ld_cos_sin r(edge_angles());
  return r;
}

template <class Arch, class C>
void run_kernel(const std::vector<double>& th, std::vector<C>& c, std::vector<C>& s,
                double m = 1.0) {
  c.assign(th.size(), C(0));
  s.assign(th.size(), C(0));
  posenc::kernels::sincos(Arch{}, th.data(), c.data(), s.data(), th.size(), m);
}

// ---- bounds -------------------------------------------------------------------------------------

/**
 * Double output: |out − f(θ)| ≤ ulp(f) + 2u·|r| + |q|·2^-116 + 2^-62·|f|, f = cos or sin,
 * u = 2^-53, q the nearest integer to θ·2/π and r = θ − q·π/2 the exact reduced argument.
 *   Polynomial: the fdlibm minimax kernels on [−π/4, π/4] and their evaluation in double,
 *     fed an exact argument, are within 1 ulp (fdlibm's bound for k_sin / k_cos).
 *   Reduction r̂ = θ − q·(P1 + P2 + P3 + P4): q·P1, q·P2, q·P3 are exact (21-bit parts, |q| <
 *     2^32) and so are θ − q·P1 and the next subtraction (Sterbenz / exact alignment). Two
 *     roundings remain: r3 = RN(r2 − q·P3) and r̂ = RN(r3 − RN(q·P4)), each ≤ u·(|r| +
 *     |q|·2^-65), plus the truncation |π/2 − ΣP| ≤ ulp(P4)/2 = 2^-119 times |q| and the
 *     rounding of q·P4 (≤ u·|q|·2^-65.9): |r̂ − r| ≤ 2u·|r| + |q|·(2^-117 + 2^-119) (+ smaller)
 *     < 2u·|r| + |q|·2^-116. Since |f'| ≤ 1 that is also the error it causes in f.
 *     The kernel carries no tail of r̂ (fdlibm's y[1]), so the 2u·|r| term is real: r̂ is
 *     correct to ~1 ulp of r, and where |f| < |r| falls in a lower binade (e.g. sin r ≈ 0.248
 *     for r ≈ 0.2504) that is up to 2 ulp of f. With the polynomial's ≤ 1 ulp, ≤ 3 ulp in
 *     total; measured here 2.25 ulp (and 2.39 ulp over 10^7 random |θ| ≤ 1e5).
 *   The |q|·2^-116 term (2^-85 at |q| = 2^31, the header's "~2^-86") only matters where f
 *     itself is tiny, i.e. θ within ~2^-30 of a multiple of π/2.
 *   Oracle: ≤ 2^-63 relative, allowed as 2^-62·|f|.
 * |r| is computed here in long double as θ − q·(π/2)_ld, whose error ≤ |θ|·2^-63 is added to
 * it (an over-estimate only widens the bound by ~2^-116·|θ|).
 */
long double double_bound(double theta, long double f) {
  const long double th = theta;
  const long double q = std::nearbyint(th * 2 / kPi);
  const long double r = std::fabs(th - q * (kPi / 2)) + std::ldexp(std::fabs(th), -63);
  return ulp_of<double>(f) + std::ldexp(r, -52) + std::fabs(q) * std::ldexp(1.0L, -116) +
         std::ldexp(std::fabs(f), -62);
}

/// Double output error in units of ulp(f), for the report.
long double double_ulps(double out, long double f) {
  return std::fabs(static_cast<long double>(out) - f) / ulp_of<double>(f);
}

/**
 * Float output: within 1 ulp of the correctly rounded float, i.e. ulp_distance(out,
 * RN_f(f)) ≤ 1. The double value before the conversion is within ~2 double ulp (above), which
 * is 2^-28 float ulp, so the conversion picks RN_f(f) or, when f lies within 2^-28 ulp of a
 * float midpoint, its neighbour. RN_f(f) is computed as (float)f_ld: a double rounding
 * through long double can only move it when f is within 2^-40 ulp of a midpoint.
 */
std::int64_t float_ulps(float out, long double f) {
  return posenc_test::ulp_distance(out, static_cast<float>(f));
}

template <class TypeParam>
class SincosKernel : public ::testing::Test {};
TYPED_TEST_SUITE(SincosKernel, posenc_test::arch_types, posenc_test::arch_names);

// ---- 1. SIMD == reference, bit for bit ----------------------------------------------------------

template <class Arch, class C>
void check_bitwise(double m, std::size_t& compared) {
  constexpr std::size_t nd = posenc::lane_count<double, Arch>();
  constexpr std::size_t nc = posenc::lane_count<C, Arch>();
  std::size_t shown = 0;
  for (std::size_t n : posenc_test::lane_sweep({nd})) {
    for (std::size_t mt : posenc_test::misalignments(nd)) {
      for (std::size_t mo : posenc_test::misalignments(nc)) {
        const std::vector<double> th = mixed_angles(n, n * 1000 + mt * 10 + mo);
        guarded_buffer<double> theta(n, mt);
        for (std::size_t i = 0; i < n; ++i) theta.set(i, th[i]);
        guarded_buffer<C> c(n, mo), s(n, mo);
        std::vector<C> cr(n), sr(n);
        posenc::kernels::sincos(Arch{}, theta.data(), c.data(), s.data(), n, m);
        posenc::kernels::sincos_ref<C>(th.data(), cr.data(), sr.data(), n, m);
        const std::string ctx = std::string(Arch::name()) + " " + cname<C>() +
                                " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                                " mis_theta=" + std::to_string(mt) +
                                " mis_out=" + std::to_string(mo);
        EXPECT_TRUE(c.guards_intact() && s.guards_intact()) << ctx << ": wrote outside c/s";
        bool theta_same = theta.guards_intact();
        for (std::size_t i = 0; i < n; ++i)
          theta_same = theta_same && same_bits(theta.get(i), th[i]);
        EXPECT_TRUE(theta_same) << ctx << ": theta (read-only) changed";
        for (std::size_t i = 0; i < n; ++i) {
          ++compared;
          if (!same_bits(c.get(i), cr[i]) || !same_bits(s.get(i), sr[i])) {
            if (++shown <= 8) {
              ADD_FAILURE() << ctx << " i=" << i << " theta=" << hex(th[i]) << ": kernel ("
                            << hex(c.get(i)) << ", " << hex(s.get(i)) << ") != reference ("
                            << hex(cr[i]) << ", " << hex(sr[i]) << ")";
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(shown, 0u) << "kernel != sincos_ref in " << shown << " elements (" << Arch::name()
                       << ", " << cname<C>() << ", m=" << m << ")";
}

TYPED_TEST(SincosKernel, MatchesReferenceBitForBit) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  std::size_t compared = 0;
  // m = 1 (no attention factor), a YaRN mscale (0.1·ln 8 + 1), and an arbitrary m < 1.
  for (double m : {1.0, 1.2079441541679836, 0.7371}) {
    check_bitwise<TypeParam, float>(m, compared);
    check_bitwise<TypeParam, double>(m, compared);
  }
  // One long call: the body runs many iterations before the tail.
  const std::vector<double> th = mixed_angles(4099, 77);
  std::vector<float> cf, sf, cfr(th.size()), sfr(th.size());
  run_kernel<TypeParam, float>(th, cf, sf);
  posenc::kernels::sincos_ref<float>(th.data(), cfr.data(), sfr.data(), th.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < th.size(); ++i)
    bad += !same_bits(cf[i], cfr[i]) || !same_bits(sf[i], sfr[i]);
  EXPECT_EQ(bad, 0u) << "n = 4099";
  EXPECT_GT(compared, 0u);
}

// ---- 2. accuracy for |theta| ≤ 1e5 --------------------------------------------------------------

TYPED_TEST(SincosKernel, FloatOutputWithinOneUlpOfCorrectlyRounded) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const auto& th = accuracy_angles();
  const auto& ref = accuracy_refs();
  std::vector<float> c, s;
  run_kernel<TypeParam, float>(th, c, s);
  std::int64_t worst = 0;
  std::size_t not_cr = 0, shown = 0;
  for (std::size_t i = 0; i < th.size(); ++i) {
    const std::int64_t dc = float_ulps(c[i], ref.c[i]), ds = float_ulps(s[i], ref.s[i]);
    worst = std::max({worst, dc, ds});
    not_cr += (dc != 0) + (ds != 0);
    if ((dc > 1 || ds > 1) && ++shown <= 8) {
      ADD_FAILURE() << TypeParam::name() << " theta=" << hex(th[i]) << ": (" << hex(c[i]) << ", "
                    << hex(s[i]) << ") vs cosl/sinl (" << hex(ref.c[i]) << ", " << hex(ref.s[i])
                    << "): " << dc << ", " << ds << " ulp";
    }
  }
  EXPECT_LE(worst, 1);
  std::cout << "[ measured ] float sincos " << TypeParam::name() << ", |theta| <= 1e5: max "
            << worst << " ulp; not correctly rounded: " << not_cr << " of " << 2 * th.size()
            << "\n";
}

TYPED_TEST(SincosKernel, DoubleOutputWithinDerivedBound) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const auto& th = accuracy_angles();
  const auto& ref = accuracy_refs();
  std::vector<double> c, s;
  run_kernel<TypeParam, double>(th, c, s);
  long double worst = 0, worst_ratio = 0;
  double worst_theta = 0;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < th.size(); ++i) {
    const long double ec = std::fabs(c[i] - ref.c[i]), es = std::fabs(s[i] - ref.s[i]);
    const long double bc = double_bound(th[i], ref.c[i]), bs = double_bound(th[i], ref.s[i]);
    const long double u = std::max(double_ulps(c[i], ref.c[i]), double_ulps(s[i], ref.s[i]));
    if (u > worst) {
      worst = u;
      worst_theta = th[i];
    }
    worst_ratio = std::max({worst_ratio, ec / bc, es / bs});
    if ((ec > bc || es > bs) && ++shown <= 8) {
      ADD_FAILURE() << TypeParam::name() << " theta=" << hex(th[i]) << ": (" << hex(c[i]) << ", "
                    << hex(s[i]) << ") vs cosl/sinl (" << hex(ref.c[i]) << ", " << hex(ref.s[i])
                    << ")";
    }
  }
  EXPECT_EQ(shown, 0u);
  std::cout << "[ measured ] double sincos " << TypeParam::name() << ", |theta| <= 1e5: max "
            << static_cast<double>(worst) << " ulp (theta " << hex(worst_theta)
            << "); max err/bound " << static_cast<double>(worst_ratio) << "\n";
}

// ---- 3. quadrant edges, signs, zero and tiny angles ---------------------------------------------

TYPED_TEST(SincosKernel, QuadrantEdgesUpToTwoToThe31) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const auto& th = edge_angles();
  const auto& ref = edge_refs();
  std::vector<float> cf, sf;
  std::vector<double> cd, sd;
  run_kernel<TypeParam, float>(th, cf, sf);
  run_kernel<TypeParam, double>(th, cd, sd);
  std::int64_t worst_f = 0;
  long double worst_ratio = 0, worst_d = 0;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < th.size(); ++i) {
    const std::int64_t fc = float_ulps(cf[i], ref.c[i]), fs = float_ulps(sf[i], ref.s[i]);
    worst_f = std::max({worst_f, fc, fs});
    const long double ec = std::fabs(cd[i] - ref.c[i]), es = std::fabs(sd[i] - ref.s[i]);
    const long double bc = double_bound(th[i], ref.c[i]), bs = double_bound(th[i], ref.s[i]);
    worst_ratio = std::max({worst_ratio, ec / bc, es / bs});
    worst_d = std::max({worst_d, double_ulps(cd[i], ref.c[i]), double_ulps(sd[i], ref.s[i])});
    if ((fc > 1 || fs > 1 || ec > bc || es > bs) && ++shown <= 8) {
      ADD_FAILURE() << TypeParam::name() << " theta=" << hex(th[i]) << ": float (" << hex(cf[i])
                    << ", " << hex(sf[i]) << ") " << fc << "/" << fs << " ulp; double ("
                    << hex(cd[i]) << ", " << hex(sd[i]) << ") vs (" << hex(ref.c[i]) << ", "
                    << hex(ref.s[i]) << ")";
    }
  }
  EXPECT_LE(worst_f, 1);
  EXPECT_EQ(shown, 0u);
  std::cout << "[ measured ] quadrant edges " << TypeParam::name() << " (" << th.size()
            << " angles): float max " << worst_f << " ulp; double max "
            << static_cast<double>(worst_d) << " ulp, max err/bound "
            << static_cast<double>(worst_ratio) << "\n";
}

/// cos is even and sin odd, and the kernel is exactly symmetric: q, the reduced r and the
/// polynomials all change sign with theta (round-to-nearest is symmetric), and q mod 4 is
/// read correctly for negative q. So sincos(−θ) = (c, −s) bit for bit for θ ≠ 0.
template <class Arch, class C>
void check_symmetry() {
  std::vector<double> th = accuracy_angles();
  th.insert(th.end(), edge_angles().begin(), edge_angles().end());
  th.erase(std::remove(th.begin(), th.end(), 0.0), th.end());
  std::vector<double> neg(th.size());
  for (std::size_t i = 0; i < th.size(); ++i) neg[i] = -th[i];
  std::vector<C> c, s, cn, sn;
  run_kernel<Arch, C>(th, c, s);
  run_kernel<Arch, C>(neg, cn, sn);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < th.size(); ++i) {
    if (!same_bits(cn[i], c[i]) || !same_bits(sn[i], static_cast<C>(-s[i]))) {
      if (++bad <= 8)
        ADD_FAILURE() << Arch::name() << " " << cname<C>() << " theta=" << hex(th[i]) << ": ("
                      << hex(c[i]) << ", " << hex(s[i]) << ") but at -theta (" << hex(cn[i]) << ", "
                      << hex(sn[i]) << ")";
    }
  }
  EXPECT_EQ(bad, 0u);
}

TYPED_TEST(SincosKernel, NegativeAnglesAreExactlySymmetric) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_symmetry<TypeParam, float>();
  check_symmetry<TypeParam, double>();
}

template <class Arch, class C>
void check_zero_and_tiny() {
  const double dmin = std::numeric_limits<double>::denorm_min();
  const std::vector<double> th = {0.0,   -0.0,   dmin,    -dmin,    1e-300, -1e-300,
                                  1e-40, -1e-40, 0x1p-27, -0x1p-27, 1e-20,  -1e-20};
  std::vector<C> c, s;
  run_kernel<Arch, C>(th, c, s);
  for (std::size_t i = 0; i < th.size(); ++i) {
    // |θ| ≤ 2^-27: cos θ = 1 − θ²/2 rounds to 1, sin θ = θ − θ³/6 rounds to θ (then to C).
    EXPECT_EQ(c[i], C(1)) << Arch::name() << " " << cname<C>() << " theta=" << hex(th[i]);
    EXPECT_EQ(s[i], static_cast<C>(th[i]))
        << Arch::name() << " " << cname<C>() << " theta=" << hex(th[i]);
    if (th[i] != 0) {
      EXPECT_EQ(std::signbit(s[i]), std::signbit(th[i]))
          << Arch::name() << " " << cname<C>() << " theta=" << hex(th[i]);
    }
  }
}

TYPED_TEST(SincosKernel, ZeroAndTinyAngles) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_zero_and_tiny<TypeParam, float>();
  check_zero_and_tiny<TypeParam, double>();
}

// ---- 4. the magnitude m is applied in double, before the one rounding to C ----------------------

TYPED_TEST(SincosKernel, MagnitudeAppliedBeforeTheOneRounding) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  const auto& th = accuracy_angles();
  const auto& ref = accuracy_refs();
  std::vector<double> c1, s1;
  run_kernel<TypeParam, double>(th, c1, s1);  // m = 1: cos, sin in double
  std::size_t distinguishing = 0;
  for (double m : {1.2079441541679836, 0.7371, 0.1, 3.0}) {
    std::vector<float> cf, sf;
    std::vector<double> cd, sd;
    run_kernel<TypeParam, float>(th, cf, sf, m);
    run_kernel<TypeParam, double>(th, cd, sd, m);
    std::size_t bad_bits = 0, bad_acc = 0;
    // Bits: every angle. Accuracy (slow long-double bounds): every 7th angle, ~28k per m.
    for (std::size_t i = 0; i < th.size(); ++i) {
      // Definition: C(m · cos) with m·cos formed in double from the m = 1 double values.
      const float ef = static_cast<float>(m * c1[i]), es = static_cast<float>(m * s1[i]);
      bad_bits += !same_bits(cf[i], ef) || !same_bits(sf[i], es) || !same_bits(cd[i], m * c1[i]) ||
                  !same_bits(sd[i], m * s1[i]);
      // The alternative (round to float, then scale in float) differs somewhere: the check
      // above can tell the two orders apart.
      const float mf = static_cast<float>(m);
      distinguishing += !same_bits(ef, mf * static_cast<float>(c1[i])) ||
                        !same_bits(es, mf * static_cast<float>(s1[i]));
      if (i % 7 != 0) continue;
      // Accuracy. Float: within 1 ulp of RN_f(m·f) (m·f in long double, exact to 2^-63).
      // Double: m·cos is formed from the m = 1 double value (error ≤ double_bound) and
      // rounded once: ≤ |m|·double_bound + half an ulp of m·cv.
      const long double mc = m * ref.c[i], ms = m * ref.s[i];
      const bool f_ok = float_ulps(cf[i], mc) <= 1 && float_ulps(sf[i], ms) <= 1;
      const auto d_bound = [&](long double mf, long double f) {
        const long double e = std::fabs(m) * double_bound(th[i], f);
        return e + ulp_of<double>(std::fabs(mf) + e) / 2;  // the binade of m·cv, not of m·f
      };
      const bool d_ok = std::fabs(cd[i] - mc) <= d_bound(mc, ref.c[i]) &&
                        std::fabs(sd[i] - ms) <= d_bound(ms, ref.s[i]);
      bad_acc += !(f_ok && d_ok);
      if (!(f_ok && d_ok) && bad_acc <= 4) {
        ADD_FAILURE() << TypeParam::name() << " m=" << m << " theta=" << hex(th[i]) << ": float ("
                      << hex(cf[i]) << ", " << hex(sf[i]) << "), double (" << hex(cd[i]) << ", "
                      << hex(sd[i]) << ") vs m·cosl/sinl (" << hex(mc) << ", " << hex(ms) << ")";
      }
    }
    EXPECT_EQ(bad_bits, 0u) << "m=" << m << ": output != C(m·cos) formed in double";
    EXPECT_EQ(bad_acc, 0u) << "m=" << m;
  }
  EXPECT_GT(distinguishing, 0u);
}

}  // namespace
