// posenc tests — include/posenc/storage.hpp (scalar bfloat16 / binary16 conversions) and the
// vectorised conversions of include/posenc/simd/ops.hpp, on every xsimd architecture this TU
// was compiled for.
// SPDX-License-Identifier: Apache-2.0
//
// References, written here from the format definitions and independent of include/:
//  * decode: sign · ldexp(significand, exponent) from the bit fields of every one of the 65536
//    patterns (binary16: 1/5/10, bias 15; bfloat16: 1/8/7, bias 127).
//  * encode: the nearest entry of the table of all decoded finite values (binary search),
//    ties to the even significand (the even bit pattern), with the first value past the
//    largest finite one standing for Inf (2^16 for binary16, 2^128 for bfloat16), so that
//    the overflow threshold (65520 = 65504 + half an ulp, ties to even, for binary16) falls
//    out of the same rule; NaN gives a quiet NaN.
// Inputs: all 65536 patterns; edge cases; every midpoint between neighbouring values and the
// floats just either side of it, both signs; 2^20 random floats (uniform bit patterns, and
// patterns with exponents around binary16's range: underflow, subnormals, overflow).
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

#include <posenc/simd/ops.hpp>
#include <posenc/storage.hpp>

#include "support/arch_types.hpp"
#include "support/sizes.hpp"

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
#include <xmmintrin.h>
#define POSENC_TEST_HAS_MXCSR 1
#else
#define POSENC_TEST_HAS_MXCSR 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define POSENC_TEST_NOINLINE __attribute__((noinline))
#else
#define POSENC_TEST_NOINLINE
#endif

namespace {

std::uint32_t bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
std::string hex32(std::uint32_t u) {
  std::ostringstream os;
  os << "0x" << std::hex << u;
  return os.str();
}

// ---- independent formats -----------------------------------------------------------------------

struct format16 {
  const char* name;
  int exp_bits, mant_bits;
  std::uint16_t inf_bits() const {
    return static_cast<std::uint16_t>(((1u << exp_bits) - 1u) << mant_bits);
  }
  bool is_nan(std::uint16_t h) const { return (h & 0x7fffu) > inf_bits(); }
  /// Exact value of pattern h (NaN for NaN patterns).
  double decode(std::uint16_t h) const {
    const int bias = (1 << (exp_bits - 1)) - 1;
    const unsigned e = (h >> mant_bits) & ((1u << exp_bits) - 1u);
    const unsigned m = h & ((1u << mant_bits) - 1u);
    double mag;
    if (e == (1u << exp_bits) - 1u) {
      mag = m == 0 ? std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::quiet_NaN();
    } else if (e == 0) {
      mag = std::ldexp(static_cast<double>(m), 1 - bias - mant_bits);
    } else {
      mag = std::ldexp(static_cast<double>(m + (1u << mant_bits)),
                       static_cast<int>(e) - bias - mant_bits);
    }
    return (h & 0x8000u) ? -mag : mag;
  }
};
const format16 kF16{"binary16", 5, 10};
const format16 kBF16{"bfloat16", 8, 7};

/// Round-to-nearest-even encoder by table lookup.
class nearest_encoder {
 public:
  explicit nearest_encoder(const format16& f) : f_(f) {
    // Positive patterns 0 .. Inf−1 are the finite values in increasing order; the next
    // pattern, Inf, stands at the value the exponent progression would give it (2^(emax+1)).
    for (std::uint32_t p = 0; p < f.inf_bits(); ++p)
      v_.push_back(f.decode(static_cast<std::uint16_t>(p)));
    const int bias = (1 << (f.exp_bits - 1)) - 1;
    v_.push_back(std::ldexp(1.0, bias + 1));
  }
  std::uint16_t encode(float x) const {
    const std::uint16_t sign = std::signbit(x) ? 0x8000u : 0u;
    if (std::isnan(x))
      return static_cast<std::uint16_t>(f_.inf_bits() | (1u << (f_.mant_bits - 1)));
    const double a = std::fabs(static_cast<double>(x));
    if (a >= v_.back()) return static_cast<std::uint16_t>(sign | f_.inf_bits());
    const std::size_t hi =
        static_cast<std::size_t>(std::upper_bound(v_.begin(), v_.end(), a) - v_.begin());
    const std::size_t lo = hi - 1;
    std::size_t p;
    if (v_[lo] == a) {
      p = lo;
    } else {
      // Both differences are exact near a tie (a float and two values of a narrower format in
      // the same binade); away from a tie a rounded difference cannot flip the comparison.
      const double dl = a - v_[lo], dh = v_[hi] - a;
      p = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
    }
    return static_cast<std::uint16_t>(sign | p);
  }
  const std::vector<double>& values() const { return v_; }

 private:
  format16 f_;
  std::vector<double> v_;
};

const nearest_encoder& f16_encoder() {
  static const nearest_encoder e(kF16);
  return e;
}
const nearest_encoder& bf16_encoder() {
  static const nearest_encoder e(kBF16);
  return e;
}

/// A NaN result must be a quiet NaN of the 16-bit format.
bool is_quiet_nan16(const format16& f, std::uint16_t h) {
  return f.is_nan(h) && (h & (1u << (f.mant_bits - 1))) != 0;
}

// ---- float inputs -------------------------------------------------------------------------------

std::vector<float> edge_floats() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {0.0f,
                          0x1p-24f,
                          0x1p-25f,
                          std::nextafter(0x1p-25f, 1.0f),
                          std::nextafter(0x1p-25f, 0.0f),
                          0x3p-25f,  // tie 2^-24 (odd) / 2^-23 (even) -> 2^-23
                          0x5p-25f,  // tie 2^-23 (even) / 3·2^-24 -> 2^-23
                          0x1.ff8p-15f,
                          0x1.ffcp-15f,
                          0x1p-14f,  // largest subnormal, tie to 2^-14, min normal
                          65504.0f,
                          65519.0f,
                          std::nextafter(65520.0f, 0.0f),
                          65520.0f,
                          65536.0f,
                          1e10f,
                          std::numeric_limits<float>::max(),
                          inf,
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::min(),
                          0x1.fep-127f,  // float subnormal
                          from_bits(0x7f7f7fffu),
                          from_bits(0x7f7f8000u),
                          from_bits(0x7f7f8001u),  // bf16 overflow edge
                          from_bits(0x3f808000u),
                          from_bits(0x3f818000u),  // bf16 ties to even, down and up
                          from_bits(0x00008000u),
                          from_bits(0x00018000u),
                          from_bits(0x007fffffu),  // bf16 subnormal ties
                          1.0f,
                          1.5f,
                          3.14159265f,
                          std::numeric_limits<float>::quiet_NaN(),
                          from_bits(0x7f800001u) /* signalling */,
                          from_bits(0x7fffffffu),
                          from_bits(0x7f80ffffu) /* NaN that rounds toward Inf bits */};
  const std::size_t n = v.size();
  for (std::size_t i = 0; i < n; ++i) v.push_back(-v[i]);
  return v;
}

/// Every finite value of the format, the midpoint to its successor (exact in float: at most
/// one bit more than the format) and the floats either side of the midpoint; both signs.
std::vector<float> midpoint_floats(const nearest_encoder& enc) {
  const std::vector<double>& v = enc.values();
  std::vector<float> out;
  for (std::size_t p = 0; p + 1 < v.size(); ++p) {
    const float m = static_cast<float>((v[p] + v[p + 1]) / 2);
    if (static_cast<double>(m) != (v[p] + v[p + 1]) / 2 || std::isinf(m)) continue;
    for (float x : {static_cast<float>(v[p]), m, std::nextafter(m, 0.0f),
                    std::nextafter(m, std::numeric_limits<float>::infinity())}) {
      out.push_back(x);
      out.push_back(-x);
    }
  }
  return out;
}

/// 2^20 random floats: half uniform over all bit patterns (every exponent, subnormals, NaN),
/// half with exponents 100..145 (binary16's underflow, subnormal, normal and overflow range).
std::vector<float> random_floats() {
  std::mt19937_64 rng = posenc_test::make_rng(0xf16);
  std::vector<float> out;
  for (int i = 0; i < (1 << 19); ++i) out.push_back(from_bits(static_cast<std::uint32_t>(rng())));
  for (int i = 0; i < (1 << 19); ++i) {
    const std::uint64_t r = rng();
    const std::uint32_t e = 100u + static_cast<std::uint32_t>((r >> 32) % 46u);
    out.push_back(from_bits((static_cast<std::uint32_t>(r) & 0x807fffffu) | (e << 23)));
  }
  return out;
}

std::vector<float> all_test_floats(const nearest_encoder& enc) {
  std::vector<float> v = edge_floats();
  const std::vector<float> m = midpoint_floats(enc);
  const std::vector<float> r = random_floats();
  v.insert(v.end(), m.begin(), m.end());
  v.insert(v.end(), r.begin(), r.end());
  return v;
}

// ---- scalar conversions -------------------------------------------------------------------------

/// h -> float: the exact value, signed zeros and infinities preserved, NaN -> NaN.
void check_decode_all(const format16& f, float (*conv)(std::uint16_t)) {
  std::size_t bad = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const float got = conv(h16);
    const double want = f.decode(h16);
    const bool ok = f.is_nan(h16) ? std::isnan(got)
                                  : bits(got) == bits(static_cast<float>(want));  // exact in float
    if (!ok && ++bad <= 8)
      ADD_FAILURE() << f.name << " " << hex32(h) << " -> " << hex32(bits(got)) << ", want " << want;
  }
  EXPECT_EQ(bad, 0u) << f.name;
}

TEST(Storage, Float16ToFloatAllPatterns) {
  check_decode_all(kF16, [](std::uint16_t h) { return posenc::to_float(posenc::float16_t{h}); });
}

TEST(Storage, BFloat16ToFloatAllPatterns) {
  check_decode_all(kBF16, [](std::uint16_t h) { return posenc::to_float(posenc::bfloat16_t{h}); });
}

void check_encode(const format16& f, const nearest_encoder& enc, std::uint16_t (*conv)(float),
                  const std::vector<float>& xs) {
  std::size_t bad = 0;
  for (float x : xs) {
    const std::uint16_t got = conv(x);
    const std::uint16_t want = enc.encode(x);
    const bool ok = std::isnan(x) ? is_quiet_nan16(f, got) : got == want;
    if (!ok && ++bad <= 8)
      ADD_FAILURE() << f.name << ": " << std::hexfloat << x << " [" << hex32(bits(x)) << "] -> "
                    << hex32(got) << ", want " << hex32(want);
  }
  EXPECT_EQ(bad, 0u) << f.name << ", " << xs.size() << " inputs";
}

TEST(Storage, FloatToFloat16RoundsToNearestEven) {
  const auto conv = [](float x) { return posenc::to_float16(x).bits; };
  check_encode(kF16, f16_encoder(), conv, all_test_floats(f16_encoder()));
  // A few values spelled out, so the rule itself is visible here.
  EXPECT_EQ(conv(65519.0f), 0x7bffu);         // below the overflow tie: 65504
  EXPECT_EQ(conv(65520.0f), 0x7c00u);         // the tie goes to the even pattern: Inf
  EXPECT_EQ(conv(0x1p-25f), 0x0000u);         // half the smallest subnormal: tie to 0
  EXPECT_EQ(conv(-0x3p-25f), 0x8002u);        // tie between 1 and 2 (·2^-24): 2, sign kept
  EXPECT_EQ(conv(1.0f + 0x1p-11f), 0x3c00u);  // tie: 1.0 (even)
  EXPECT_EQ(conv(1.0f + 0x3p-11f), 0x3c02u);  // tie: up to the even neighbour
}

/// The NaN rule of the binary16 conversions, which x86's vcvtps2ph / vcvtph2ps follow (the
/// AVX-512 kernels convert with them): payload kept (its upper 10 bits into binary16), quiet.
TEST(Storage, Float16NaNKeepsPayloadAndIsQuiet) {
  const auto enc = [](std::uint32_t u) { return posenc::to_float16(from_bits(u)).bits; };
  EXPECT_EQ(enc(0x7fc00000u), 0x7e00u);
  EXPECT_EQ(enc(0x7f802000u), 0x7e01u);  // signalling, payload 1 in binary16's 10 bits: quiet
  EXPECT_EQ(enc(0x7f800001u), 0x7e00u);  // payload below binary16's bits: quiet, 0
  EXPECT_EQ(enc(0xffffffffu), 0xffffu);
  EXPECT_EQ(enc(0x7fa5a000u), 0x7f2du);  // 0x25a000 >> 13 = 0x12d, | quiet bit 0x200
  const auto dec = [](std::uint16_t h) { return bits(posenc::to_float(posenc::float16_t{h})); };
  EXPECT_EQ(dec(0x7e00u), 0x7fc00000u);
  EXPECT_EQ(dec(0x7c01u), 0x7fc02000u);  // signalling binary16 NaN: quiet, payload kept
  EXPECT_EQ(dec(0xfd2du), 0xffe5a000u);
  EXPECT_EQ(dec(0x7c00u), 0x7f800000u);  // Inf stays Inf
}

TEST(Storage, FloatToBFloat16RoundsToNearestEven) {
  const auto conv = [](float x) { return posenc::to_bfloat16(x).bits; };
  check_encode(kBF16, bf16_encoder(), conv, all_test_floats(bf16_encoder()));
  EXPECT_EQ(conv(from_bits(0x3f808000u)), 0x3f80u);             // tie: down to even
  EXPECT_EQ(conv(from_bits(0x3f818000u)), 0x3f82u);             // tie: up to even
  EXPECT_EQ(conv(std::numeric_limits<float>::max()), 0x7f80u);  // rounds past the largest: Inf
}

// The public conversion (storage_cast / to_coef) against the same independent oracles as the
// per-format functions above: the decoder of the format descriptor and the nearest encoder.
TEST(Storage, ToCoefDecodesAllPatterns) {
  check_decode_all(kF16, [](std::uint16_t h) { return posenc::to_coef(posenc::float16_t{h}); });
  check_decode_all(kBF16, [](std::uint16_t h) { return posenc::to_coef(posenc::bfloat16_t{h}); });
}

TEST(Storage, StorageCastRoundsToNearestEven) {
  check_encode(
      kF16, f16_encoder(), [](float x) { return posenc::storage_cast<posenc::float16_t>(x).bits; },
      all_test_floats(f16_encoder()));
  check_encode(
      kBF16, bf16_encoder(),
      [](float x) { return posenc::storage_cast<posenc::bfloat16_t>(x).bits; },
      all_test_floats(bf16_encoder()));
}

TEST(Storage, StorageCastAndToCoefOfFloatAndDouble) {
  static_assert(std::is_same<decltype(posenc::to_coef(1.0f)), float>::value, "float -> float");
  static_assert(std::is_same<decltype(posenc::to_coef(1.0)), double>::value, "double -> double");
  static_assert(std::is_same<decltype(posenc::to_coef(posenc::bfloat16_t{})), float>::value,
                "bfloat16 -> float");
  const double third = 1.0 / 3.0;  // not representable in float: must not pass through one
  EXPECT_EQ(bits(posenc::storage_cast<float>(0.1f)), bits(0.1f));
  EXPECT_EQ(posenc::storage_cast<double>(third), third);
  EXPECT_EQ(posenc::to_coef(third), third);
  EXPECT_EQ(bits(posenc::to_coef(-0.0f)), bits(-0.0f));
}

TEST(Storage, RoundTripIsExactForEveryNonNaNPattern) {
  std::size_t bad = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    if (!kF16.is_nan(h16) &&
        posenc::to_float16(posenc::to_float(posenc::float16_t{h16})).bits != h16 && ++bad <= 8)
      ADD_FAILURE() << "binary16 " << hex32(h);
    if (!kBF16.is_nan(h16) &&
        posenc::to_bfloat16(posenc::to_float(posenc::bfloat16_t{h16})).bits != h16 && ++bad <= 8)
      ADD_FAILURE() << "bfloat16 " << hex32(h);
  }
  EXPECT_EQ(bad, 0u);
}

// ---- FTZ / DAZ ----------------------------------------------------------------------------------

#if POSENC_TEST_HAS_MXCSR
constexpr unsigned kFtzDaz = 0x8040u;  // MXCSR flush-to-zero (bit 15) | denormals-are-zero (bit 6)

/// Sets FTZ|DAZ for its lifetime and restores the caller's MXCSR afterwards (also when an
/// assertion returns early).
class ftz_daz_scope {
 public:
  ftz_daz_scope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~ftz_daz_scope() { _mm_setcsr(saved_); }
  ftz_daz_scope(const ftz_daz_scope&) = delete;
  ftz_daz_scope& operator=(const ftz_daz_scope&) = delete;

 private:
  unsigned saved_;
};

/// Out of line, so the arithmetic cannot be moved across the MXCSR writes.
/// 3·x, which is 0 when DAZ reads the subnormal x as 0 (and when FTZ flushes the result).
POSENC_TEST_NOINLINE float flushed_product(const volatile float* x) { return *x * 3.0f; }
POSENC_TEST_NOINLINE void scalar_f16_decode_all(float* out) {
  for (std::uint32_t h = 0; h < 65536; ++h)
    out[h] = posenc::to_float(posenc::float16_t{static_cast<std::uint16_t>(h)});
}
POSENC_TEST_NOINLINE void scalar_f16_encode(const float* in, std::uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = posenc::to_float16(in[i]).bits;
}

/// Inputs whose binary16 conversion runs the subnormal paths: every binary16 subnormal's
/// value, the midpoints around them, and float subnormals (which DAZ would read as zero).
std::vector<float> subnormal_path_floats() {
  std::vector<float> v;
  for (float x : midpoint_floats(f16_encoder()))
    if (std::fabs(x) <= 0x1p-14f) v.push_back(x);
  for (float x : {std::numeric_limits<float>::denorm_min(), 0x1.fep-127f, 0x1p-140f}) {
    v.push_back(x);
    v.push_back(-x);
  }
  return v;
}

TEST(Storage, Float16SubnormalPathsIgnoreFtzDaz) {
  const std::vector<float> xs = subnormal_path_floats();
  std::vector<float> dec(65536);
  std::vector<std::uint16_t> enc(xs.size());
  const volatile float denormal = 1e-40f;
  float flushed;
  {
    ftz_daz_scope mode;
    flushed = flushed_product(&denormal);
    scalar_f16_decode_all(dec.data());
    scalar_f16_encode(xs.data(), enc.data(), xs.size());
  }
  // The mode really was on (else this test could not fail).
  ASSERT_EQ(flushed, 0.0f) << "FTZ|DAZ did not take effect";
  EXPECT_NE(flushed_product(&denormal), 0.0f) << "MXCSR was not restored";
  std::size_t bad = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const bool ok = kF16.is_nan(h16) ? std::isnan(dec[h])
                                     : bits(dec[h]) == bits(static_cast<float>(kF16.decode(h16)));
    if (!ok && ++bad <= 8) ADD_FAILURE() << "FTZ|DAZ: binary16 " << hex32(h) << " -> " << dec[h];
  }
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (enc[i] != f16_encoder().encode(xs[i]) && ++bad <= 8)
      ADD_FAILURE() << "FTZ|DAZ: " << std::hexfloat << xs[i] << " -> " << hex32(enc[i]);
  }
  EXPECT_EQ(bad, 0u);
}
#endif  // POSENC_TEST_HAS_MXCSR

// ---- vectorised conversions ---------------------------------------------------------------------
#if POSENC_HAS_XSIMD

// scalar_arch has no vector conversions: this suite runs on the xsimd architectures only.
using posenc_test::simd_arch_types;

/// The odd element paired with even element i: a permutation of 0..65535 (odd multiplier),
/// so every pattern appears once as an even and once as an odd element.
std::uint32_t partner(std::uint32_t i) { return (i * 40503u + 12345u) & 0xffffu; }

template <class A>
struct vec {
  using U = xsimd::batch<std::uint32_t, A>;
  using F = xsimd::batch<float, A>;
  static constexpr std::size_t L = U::size;
  static U load_u(const std::uint32_t* p) { return U::load_unaligned(p); }
  static F load_f(const float* p) { return F::load_unaligned(p); }
};

template <class A>
class SimdStorage : public ::testing::Test {};
TYPED_TEST_SUITE(SimdStorage, simd_arch_types, posenc_test::arch_names);

/// Unpack all 65536 patterns (as even and as odd elements) and compare with the scalar
/// decoder bit for bit (NaN payloads included: both convert with the same integer steps).
template <class A, bool BF16>
void check_unpack_all() {
  using V = vec<A>;
  constexpr std::size_t L = V::L;
  std::size_t bad = 0;
  alignas(64) std::uint32_t in[L];
  alignas(64) float even[L], odd[L];
  for (std::uint32_t base = 0; base < 65536; base += L) {
    for (std::size_t j = 0; j < L; ++j) {
      const std::uint32_t i = base + static_cast<std::uint32_t>(j);
      in[j] = i | (partner(i) << 16);
    }
    typename V::F e, o;
    if constexpr (BF16) {
      posenc::simd::bf16_unpack<A>(V::load_u(in), e, o);
    } else {
      posenc::simd::f16_unpack<A>(V::load_u(in), e, o);
    }
    e.store_aligned(even);
    o.store_aligned(odd);
    for (std::size_t j = 0; j < L; ++j) {
      const auto lo = static_cast<std::uint16_t>(in[j] & 0xffffu);
      const auto hi = static_cast<std::uint16_t>(in[j] >> 16);
      const float want_e =
          BF16 ? posenc::detail::bf16_bits_to_f32(lo) : posenc::detail::f16_bits_to_f32(lo);
      const float want_o =
          BF16 ? posenc::detail::bf16_bits_to_f32(hi) : posenc::detail::f16_bits_to_f32(hi);
      if ((bits(even[j]) != bits(want_e) || bits(odd[j]) != bits(want_o)) && ++bad <= 8)
        ADD_FAILURE() << A::name() << (BF16 ? " bf16_unpack " : " f16_unpack ") << hex32(in[j])
                      << " -> (" << hex32(bits(even[j])) << ", " << hex32(bits(odd[j]))
                      << "), scalar (" << hex32(bits(want_e)) << ", " << hex32(bits(want_o)) << ")";
    }
  }
  EXPECT_EQ(bad, 0u) << A::name();
}

TYPED_TEST(SimdStorage, UnpackEqualsScalarForAllPatterns) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  check_unpack_all<TypeParam, true>();
  check_unpack_all<TypeParam, false>();
}

TYPED_TEST(SimdStorage, Float16ToF32EqualsScalarForAllPatterns) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  using V = vec<TypeParam>;
  alignas(64) std::uint32_t in[V::L];
  alignas(64) float out[V::L];
  std::size_t bad = 0;
  for (std::uint32_t base = 0; base < 65536; base += V::L) {
    for (std::size_t j = 0; j < V::L; ++j) in[j] = base + static_cast<std::uint32_t>(j);
    posenc::simd::f16_to_f32<TypeParam>(V::load_u(in)).store_aligned(out);
    for (std::size_t j = 0; j < V::L; ++j) {
      const float want = posenc::detail::f16_bits_to_f32(static_cast<std::uint16_t>(in[j]));
      if (bits(out[j]) != bits(want) && ++bad <= 8)
        ADD_FAILURE() << TypeParam::name() << " f16_to_f32 " << hex32(in[j]) << " -> "
                      << hex32(bits(out[j])) << ", scalar " << hex32(bits(want));
    }
  }
  EXPECT_EQ(bad, 0u);
}

/// Convert xs (padded to a whole number of registers) with the vector code and compare every
/// lane with the scalar conversion, bit for bit (whole 32-bit lanes: the upper half of an
/// f32_to_f16 lane must be zero).
template <class A>
std::size_t check_pack(const std::vector<float>& xs) {
  using V = vec<A>;
  constexpr std::size_t L = V::L;
  alignas(64) float e[L], o[L];
  alignas(64) std::uint32_t r[L];
  std::size_t bad = 0;
  for (std::size_t base = 0; base < xs.size(); base += L) {
    for (std::size_t j = 0; j < L; ++j) {
      e[j] = xs[(base + j) % xs.size()];
      o[j] = xs[(base + j + xs.size() / 2 + 1) % xs.size()];
    }
    const auto fe = V::load_f(e), fo = V::load_f(o);
    // f32_to_f16, one lane per float.
    posenc::simd::f32_to_f16<A>(fe).store_aligned(r);
    for (std::size_t j = 0; j < L; ++j) {
      const std::uint32_t want = posenc::detail::f32_to_f16_bits(e[j]);
      if (r[j] != want && ++bad <= 8)
        ADD_FAILURE() << A::name() << " f32_to_f16 " << std::hexfloat << e[j] << " -> "
                      << hex32(r[j]) << ", scalar " << hex32(want);
    }
    // f16_pack and bf16_pack: even in the low half, odd in the high half.
    posenc::simd::f16_pack<A>(fe, fo).store_aligned(r);
    for (std::size_t j = 0; j < L; ++j) {
      const std::uint32_t want =
          posenc::detail::f32_to_f16_bits(e[j]) |
          (static_cast<std::uint32_t>(posenc::detail::f32_to_f16_bits(o[j])) << 16);
      if (r[j] != want && ++bad <= 8)
        ADD_FAILURE() << A::name() << " f16_pack (" << std::hexfloat << e[j] << ", " << o[j]
                      << ") -> " << hex32(r[j]) << ", scalar " << hex32(want);
    }
    posenc::simd::bf16_pack<A>(fe, fo).store_aligned(r);
    for (std::size_t j = 0; j < L; ++j) {
      const std::uint32_t want =
          posenc::detail::f32_to_bf16_bits(e[j]) |
          (static_cast<std::uint32_t>(posenc::detail::f32_to_bf16_bits(o[j])) << 16);
      if (r[j] != want && ++bad <= 8)
        ADD_FAILURE() << A::name() << " bf16_pack (" << std::hexfloat << e[j] << ", " << o[j]
                      << ") -> " << hex32(r[j]) << ", scalar " << hex32(want);
    }
  }
  return bad;
}

TYPED_TEST(SimdStorage, PackEqualsScalar) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  std::vector<float> xs = all_test_floats(f16_encoder());
  const std::vector<float> mb = midpoint_floats(bf16_encoder());
  xs.insert(xs.end(), mb.begin(), mb.end());
  EXPECT_EQ(check_pack<TypeParam>(xs), 0u);
}

/// One subnormal lane among normal ones, at every lane of the even and of the odd register:
/// the whole pair must still round like the scalar reference (vcvtne2ps2bf16, used on
/// posenc::avx512bf16, flushes subnormal inputs to zero; the kernel must notice the one lane).
/// Zeros and the smallest normal float, which also leave or border a zero exponent field in
/// the packed word (the first test posenc::avx512bf16 makes), must round alike too.
TYPED_TEST(SimdStorage, BF16PackRoundsASingleSubnormalLaneLikeScalar) {
  using A = TypeParam;
  POSENC_ASSERT_ARCH_RUNS(A);
  using V = vec<A>;
  constexpr std::size_t L = V::L;
  alignas(64) float e[L], o[L];
  alignas(64) std::uint32_t r[L];
  std::size_t bad = 0;
  for (const float sub : {0x1.8p-130f, -0x1p-149f, 0x1.fffffcp-127f, 0x1.01p-133f, 0.0f, -0.0f,
                          0x1p-126f, -0x1.02p-126f}) {
    for (std::size_t lane = 0; lane < 2 * L; ++lane) {
      for (std::size_t j = 0; j < L; ++j) {
        e[j] = 1.0f + static_cast<float>(j) * 0x1p-9f;  // normal, bf16 ties among them
        o[j] = -3.0f - static_cast<float>(j) * 0x1.8p-8f;
      }
      (lane < L ? e[lane] : o[lane - L]) = sub;
      posenc::simd::bf16_pack<A>(V::load_f(e), V::load_f(o)).store_aligned(r);
      for (std::size_t j = 0; j < L; ++j) {
        const std::uint32_t want =
            posenc::detail::f32_to_bf16_bits(e[j]) |
            (static_cast<std::uint32_t>(posenc::detail::f32_to_bf16_bits(o[j])) << 16);
        if (r[j] != want && ++bad <= 8)
          ADD_FAILURE() << A::name() << " subnormal in lane " << lane << ": lane " << j << " "
                        << hex32(r[j]) << ", scalar " << hex32(want);
      }
    }
  }
  EXPECT_EQ(bad, 0u);
}

/// pack(unpack(u)) == u for every pair of non-NaN patterns.
template <class A, bool BF16>
std::size_t vector_round_trip(const format16& f) {
  using V = vec<A>;
  constexpr std::size_t L = V::L;
  alignas(64) std::uint32_t in[L], out[L];
  std::size_t bad = 0;
  std::uint32_t i = 0;
  while (i < 65536) {
    std::size_t j = 0;
    for (; j < L && i < 65536; ++i) {
      const auto lo = static_cast<std::uint16_t>(i), hi = static_cast<std::uint16_t>(partner(i));
      if (f.is_nan(lo) || f.is_nan(hi)) continue;
      in[j++] = lo | (static_cast<std::uint32_t>(hi) << 16);
    }
    for (; j < L; ++j) in[j] = 0x3c003c00u;  // pad with 1.0 (binary16) / 1.0078125 (bf16)
    typename V::F e, o;
    if constexpr (BF16) {
      posenc::simd::bf16_unpack<A>(V::load_u(in), e, o);
      posenc::simd::bf16_pack<A>(e, o).store_aligned(out);
    } else {
      posenc::simd::f16_unpack<A>(V::load_u(in), e, o);
      posenc::simd::f16_pack<A>(e, o).store_aligned(out);
    }
    for (std::size_t k = 0; k < L; ++k)
      if (out[k] != in[k] && ++bad <= 8)
        ADD_FAILURE() << A::name() << " " << f.name << " round trip " << hex32(in[k]) << " -> "
                      << hex32(out[k]);
  }
  return bad;
}

TYPED_TEST(SimdStorage, RoundTripIsExactForEveryNonNaNPattern) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  EXPECT_EQ((vector_round_trip<TypeParam, true>(kBF16)), 0u);
  EXPECT_EQ((vector_round_trip<TypeParam, false>(kF16)), 0u);
}

#if POSENC_TEST_HAS_MXCSR
template <class A>
POSENC_TEST_NOINLINE void vector_f16_work(const std::uint32_t* h, float* dec, const float* xs,
                                          std::uint32_t* enc, std::size_t n) {
  using V = vec<A>;
  for (std::size_t i = 0; i + V::L <= 65536; i += V::L)
    posenc::simd::f16_to_f32<A>(V::load_u(h + i)).store_unaligned(dec + i);
  for (std::size_t i = 0; i + V::L <= n; i += V::L)
    posenc::simd::f32_to_f16<A>(V::load_f(xs + i)).store_unaligned(enc + i);
}

TYPED_TEST(SimdStorage, Float16SubnormalPathsIgnoreFtzDaz) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  constexpr std::size_t L = vec<TypeParam>::L;
  std::vector<std::uint32_t> h(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) h[i] = i;
  std::vector<float> xs = subnormal_path_floats();
  xs.resize((xs.size() + L - 1) / L * L, 0x1p-20f);
  std::vector<float> dec(65536), dec_normal(65536);
  std::vector<std::uint32_t> enc(xs.size()), enc_normal(xs.size());
  vector_f16_work<TypeParam>(h.data(), dec_normal.data(), xs.data(), enc_normal.data(), xs.size());
  const volatile float denormal = 1e-40f;
  float flushed;
  {
    ftz_daz_scope mode;
    flushed = flushed_product(&denormal);
    vector_f16_work<TypeParam>(h.data(), dec.data(), xs.data(), enc.data(), xs.size());
  }
  ASSERT_EQ(flushed, 0.0f) << "FTZ|DAZ did not take effect";
  std::size_t bad = 0;
  for (std::size_t i = 0; i < 65536; ++i) {
    const auto h16 = static_cast<std::uint16_t>(i);
    const bool ok = kF16.is_nan(h16) ? std::isnan(dec[i])
                                     : bits(dec[i]) == bits(static_cast<float>(kF16.decode(h16)));
    if ((!ok || bits(dec[i]) != bits(dec_normal[i])) && ++bad <= 8)
      ADD_FAILURE() << TypeParam::name() << " FTZ|DAZ f16_to_f32 "
                    << hex32(static_cast<std::uint32_t>(i)) << " -> " << hex32(bits(dec[i]))
                    << ", default mode " << hex32(bits(dec_normal[i]));
  }
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if ((enc[i] != f16_encoder().encode(xs[i]) || enc[i] != enc_normal[i]) && ++bad <= 8)
      ADD_FAILURE() << TypeParam::name() << " FTZ|DAZ f32_to_f16 " << std::hexfloat << xs[i]
                    << " -> " << hex32(enc[i]) << ", default mode " << hex32(enc_normal[i]);
  }
  EXPECT_EQ(bad, 0u);
}
#endif  // POSENC_TEST_HAS_MXCSR

// ---- binary16 by hardware conversion (simd::f16_load / f16_store: AVX-512, avx2f16c, neon64) ----
#if XSIMD_WITH_AVX512F || POSENC_WITH_AVX2F16C || XSIMD_WITH_NEON64
/// Every binary16 pattern through f16_load and `xs` through f16_store, against the scalar
/// conversions bit for bit (NaN payloads included); the count of mismatches.
template <class A>
POSENC_TEST_NOINLINE std::size_t check_hw_f16(const std::vector<float>& xs) {
  using F = xsimd::batch<float, A>;
  constexpr std::size_t L = F::size;
  std::size_t bad = 0;
  alignas(64) std::uint16_t h[L];
  alignas(64) float f[L];
  for (std::uint32_t base = 0; base < 65536; base += L) {
    for (std::size_t j = 0; j < L; ++j) h[j] = static_cast<std::uint16_t>(base + j);
    posenc::simd::f16_load<A>(h).store_aligned(f);
    for (std::size_t j = 0; j < L; ++j) {
      const float want = posenc::to_float(posenc::float16_t{h[j]});
      if (bits(f[j]) != bits(want) && ++bad <= 8)
        ADD_FAILURE() << A::name() << " f16_load " << hex32(h[j]) << " -> " << hex32(bits(f[j]))
                      << ", scalar " << hex32(bits(want));
    }
  }
  for (std::size_t base = 0; base < xs.size(); base += L) {
    for (std::size_t j = 0; j < L; ++j) f[j] = xs[(base + j) % xs.size()];
    posenc::simd::f16_store<A>(h, F::load_aligned(f));
    for (std::size_t j = 0; j < L; ++j) {
      const std::uint16_t want = posenc::to_float16(f[j]).bits;
      if (h[j] != want && ++bad <= 8)
        ADD_FAILURE() << A::name() << " f16_store " << std::hexfloat << f[j] << " ["
                      << hex32(bits(f[j])) << "] -> " << hex32(h[j]) << ", scalar " << hex32(want);
    }
  }
  return bad;
}

std::vector<float> hw_f16_test_floats() {
  std::vector<float> xs = all_test_floats(f16_encoder());
#if POSENC_TEST_HAS_MXCSR
  const std::vector<float> sub = subnormal_path_floats();
  xs.insert(xs.end(), sub.begin(), sub.end());
#endif
  for (std::uint32_t m = 1; m < (1u << 23); m = m * 3 + 1) {  // NaN payloads, both signs
    xs.push_back(from_bits(0x7f800000u | m));
    xs.push_back(from_bits(0xff800000u | m));
  }
  return xs;
}

/// Calls f(A{}) for each architecture this TU compiled with hardware binary16 conversion,
/// after asserting the CPU runs it.
template <class F>
void for_each_hw_f16_arch(F&& f) {
#if XSIMD_WITH_AVX512F
  {
    POSENC_ASSERT_ARCH_RUNS(xsimd::avx512f);
    f(xsimd::avx512f{});
  }
#endif
#if POSENC_WITH_AVX2F16C
  {
    POSENC_ASSERT_ARCH_RUNS(posenc::avx2f16c);
    f(posenc::avx2f16c{});
  }
#endif
#if XSIMD_WITH_NEON64
  f(xsimd::neon64{});
#endif
}

TEST(HardwareFloat16, LoadAndStoreEqualScalar) {
  const std::vector<float> xs = hw_f16_test_floats();
  std::size_t archs = 0;
  for_each_hw_f16_arch([&](auto a) {
    EXPECT_EQ(check_hw_f16<decltype(a)>(xs), 0u) << decltype(a)::name();
    ++archs;
  });
  EXPECT_GT(archs, 0u);
  if constexpr (posenc::simd::hw_f16<posenc::default_arch>()) {
    EXPECT_EQ(check_hw_f16<posenc::default_arch>(xs), 0u);
  }
}

#if POSENC_TEST_HAS_MXCSR
TEST(HardwareFloat16, LoadAndStoreIgnoreFtzDaz) {
  const std::vector<float> xs = hw_f16_test_floats();
  for_each_hw_f16_arch([&](auto a) {
    const volatile float denormal = 1e-40f;
    float flushed;
    std::size_t bad;
    {
      ftz_daz_scope mode;
      flushed = flushed_product(&denormal);
      bad = check_hw_f16<decltype(a)>(xs);
    }
    ASSERT_EQ(flushed, 0.0f) << "FTZ|DAZ did not take effect";
    EXPECT_EQ(bad, 0u) << decltype(a)::name();
  });
}
#endif  // POSENC_TEST_HAS_MXCSR
#endif  // XSIMD_WITH_AVX512F || POSENC_WITH_AVX2F16C || XSIMD_WITH_NEON64

#endif  // POSENC_HAS_XSIMD

}  // namespace
