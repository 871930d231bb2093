// posenc tests — include/posenc/kernels/rotate.hpp: the pair-rotation kernels, on every
// architecture this TU was compiled for plus scalar_arch, for float, double, bfloat16 and
// binary16 storage, both layouts, forward and inverse.
// SPDX-License-Identifier: Apache-2.0
//
// The kernels are called exactly as include/posenc/detail/rope_apply.hpp calls them: natural
// coefficients in a coef_block, plus the prepared coefficients from kernels::prepare<Arch, L, T> when
// kernels::needs_prepared<Arch, L, T>() says so.
//
// Reference: the contract of rotate.hpp evaluated in long double (64-bit significand on
// x86-64) from the exact input values and the given coefficients:
//   forward  a' = a·c − b·s,  b' = a·s + b·c        inverse  a' = a·c + b·s,  b' = b·c − a·s
// Sizes: tests/support/sizes.hpp lane_sweep around every block size a kernel steps by;
// pointer offsets {0, 1, N/2} elements from a 64-byte boundary for the rows and, separately,
// for every coefficient array.
//
// Inputs (fixed seed): |a|, |b| ∈ [2^-8, 2^4) with random full-width significands, plus ±0
// and, for binary16, subnormals; coefficients are cos/sin of random angles rounded to C, or
// exactly (±1, 0), (0, ±1). No nonzero coefficient is below 2^-30 in magnitude and no input
// is below 2^-24, so no product or sum underflows in C (every error below is relative).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/kernels/rotate.hpp>

#include "support/arch_types.hpp"
#include "support/formats.hpp"
#include "support/sizes.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc_test::same_bits;

using posenc::rope_layout;
using posenc_test::guarded_buffer;

// Storage formats: posenc_test::storage_fmt (support/formats.hpp, from the IEEE definitions).
template <class T>
using fmt = posenc_test::storage_fmt<T>;

template <class T>
using coef = posenc::coef_t<T>;

template <class T>
std::uint16_t bits16(const T& v) {
  std::uint16_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

/// Exact value of a finite 16-bit pattern (sign, biased exponent, significand: ldexp only).
template <class T>
long double decode16(std::uint16_t h) {
  constexpr int eb = fmt<T>::exp_bits, mb = fmt<T>::mant_bits;
  constexpr int bias = (1 << (eb - 1)) - 1;
  const unsigned e = (h >> mb) & ((1u << eb) - 1u);
  const unsigned m = h & ((1u << mb) - 1u);
  const long double mag = e == 0 ? std::ldexp(static_cast<long double>(m), 1 - bias - mb)
                                 : std::ldexp(static_cast<long double>(m + (1u << mb)),
                                              static_cast<int>(e) - bias - mb);
  return (h & 0x8000u) ? -mag : mag;
}

/// Exact value of a storage element.
template <class T>
long double value_of(const T& v) {
  if constexpr (fmt<T>::is16) {
    return decode16<T>(bits16(v));
  } else {
    return static_cast<long double>(v);
  }
}

template <class T>
std::string show(const T& v) {
  std::ostringstream os;
  os << std::hexfloat << static_cast<double>(value_of(v));
  if constexpr (fmt<T>::is16) os << " [0x" << std::hex << bits16(v) << "]";
  return os.str();
}

/// A random finite input element: ±0 (1/16), a binary16 subnormal (1/16, f16 only), else
/// ±m·2^e with e ∈ [−8, 3] and a random significand of the format's full width.
template <class T>
T random_element(std::mt19937_64& rng) {
  const std::uint64_t r = rng();
  const bool neg = (r & 1u) != 0;
  const unsigned pick = (r >> 1) & 15u;
  const int e = static_cast<int>((r >> 5) % 12) - 8;
  const std::uint64_t m = r >> 12;  // 52 random bits
  T out{};
  if constexpr (std::is_same<T, float>::value) {
    std::uint32_t u = (pick == 0) ? 0u
                                  : (static_cast<std::uint32_t>(e + 127) << 23) |
                                        static_cast<std::uint32_t>(m & 0x7fffffu);
    if (neg) u |= 0x80000000u;
    std::memcpy(&out, &u, sizeof u);
  } else if constexpr (std::is_same<T, double>::value) {
    std::uint64_t u =
        (pick == 0) ? 0u : (static_cast<std::uint64_t>(e + 1023) << 52) | (m & 0xfffffffffffffULL);
    if (neg) u |= 0x8000000000000000ULL;
    std::memcpy(&out, &u, sizeof u);
  } else {
    constexpr int mb = fmt<T>::mant_bits;
    constexpr int bias = (1 << (fmt<T>::exp_bits - 1)) - 1;
    const std::uint32_t mant = static_cast<std::uint32_t>(m) & ((1u << mb) - 1u);
    std::uint32_t h;
    if (pick == 0) {
      h = 0;
    } else if (pick == 1 && std::is_same<T, posenc::float16_t>::value) {
      h = mant | 1u;  // subnormal, nonzero: ≥ 2^-24
    } else {
      h = (static_cast<std::uint32_t>(e + bias) << mb) | mant;
    }
    if (neg) h |= 0x8000u;
    const auto h16 = static_cast<std::uint16_t>(h);
    std::memcpy(&out, &h16, sizeof h16);
  }
  return out;
}

/// Coefficients (c, s): cos/sin of a random angle rounded to C, or one of the exact axes.
template <class C>
void random_coefficients(std::mt19937_64& rng, C& c, C& s) {
  static const long double two_pi = 4 * std::acos(-1.0L);
  std::uniform_real_distribution<double> angle(0.0, 1.0);
  for (;;) {
    const unsigned pick = static_cast<unsigned>(rng() % 16);
    if (pick < 4) {
      const C axes[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
      c = axes[pick][0];
      s = axes[pick][1];
      return;
    }
    const long double t = two_pi * static_cast<long double>(angle(rng)) - two_pi / 2;
    c = static_cast<C>(std::cos(t));
    s = static_cast<C>(std::sin(t));
    const auto tiny = [](C v) { return v != 0 && std::fabs(v) < static_cast<C>(0x1p-30); };
    if (!tiny(c) && !tiny(s)) return;
  }
}

// ---- the bounds ---------------------------------------------------------------------------------

/// The long-double oracle's own error. Its products of float values are exact (48 ≤ 64 bits),
/// those of double values are rounded once (≤ 2^-64 relative), and the sum is rounded once:
/// ≤ 2·2^-64·scale. We allow 2^-62·scale; scale itself is accurate to 2^-63 relative.
long double oracle_slack(long double scale) { return std::ldexp(scale, -62); }

/**
 * Bound on |y − y_ref| for one output element with conditioning scale = |a·c| + |b·s| (the
 * two products that form it) and exact contract value y_ref, coefficients given (coef_ulps 0).
 *
 * float/double storage (arithmetic in C = T, unit roundoff u = 2^-24 / 2^-53):
 *   two products and a difference, each rounded with relative error ≤ u/(1+u):
 *   |ŷ − y| ≤ u/(1+u)·|a·c| + u/(1+u)·|b·s| + u/(1+u)·(1+u/(1+u))·scale < 2u·scale; a fused
 *   multiply-add (one product rounded, then one rounding of a·c ∓ p) obeys the same sum.
 *   This is posenc_test::rotation_bound(scale, u, 0).
 * 16-bit storage (arithmetic in float, then one round-to-nearest-even to storage with unit
 *   roundoff us = 2^-8 bf16 / 2^-11 f16 and subnormal spacing tiny): the float result ŷ is
 *   within e = 2u·scale of y; storing it adds ≤ us·|ŷ| ≤ us·(|y| + e) (normal range) or
 *   ≤ tiny/2 (subnormal range). This is posenc_test::stored_rotation_bound(scale, y, 2^-24,
 *   0, us, tiny).
 * Plus the oracle's slack.
 */
template <class T>
long double contract_bound(long double scale, long double y_ref) {
  const double u = posenc_test::unit_roundoff(fmt<coef<T>>::precision);
  double e;
  if constexpr (fmt<T>::is16) {
    e = posenc_test::stored_rotation_bound(static_cast<double>(scale), static_cast<double>(y_ref),
                                           u, 0.0, posenc_test::unit_roundoff(fmt<T>::precision),
                                           fmt<T>::tiny);
  } else {
    e = posenc_test::rotation_bound(static_cast<double>(scale), u, 0.0);
  }
  return static_cast<long double>(e) + oracle_slack(scale);
}

// ---- one case: inputs, the kernel call as rope_apply makes it, the oracle -----------------------

template <class T>
struct pairs_input {
  std::vector<T> a, b;        // pair k = (a[k], b[k])
  std::vector<coef<T>> c, s;  // natural coefficients of pair k
};

template <class T>
pairs_input<T> make_input(std::size_t n, std::uint64_t stream) {
  std::mt19937_64 rng = posenc_test::make_rng(stream);
  pairs_input<T> in;
  in.a.resize(n);
  in.b.resize(n);
  in.c.resize(n);
  in.s.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    in.a[k] = random_element<T>(rng);
    in.b[k] = random_element<T>(rng);
    random_coefficients(rng, in.c[k], in.s[k]);
  }
  return in;
}

/// Element indices of pair k in a buffer of n pairs.
template <rope_layout L>
std::size_t index_a(std::size_t k, std::size_t) {
  return L == rope_layout::half_split ? k : 2 * k;
}
template <rope_layout L>
std::size_t index_b(std::size_t k, std::size_t n) {
  return L == rope_layout::half_split ? n + k : 2 * k + 1;
}

template <rope_layout L, class T>
void load_rows(guarded_buffer<T>& x, const pairs_input<T>& in) {
  const std::size_t n = in.a.size();
  for (std::size_t k = 0; k < n; ++k) {
    x.set(index_a<L>(k, n), in.a[k]);
    x.set(index_b<L>(k, n), in.b[k]);
  }
}

/// Coefficient arrays of one case at their own misalignment, guarded, with the prepared
/// buffers sized exactly as prepare() fills them (2n interleaved, n half-split).
template <class T>
struct coef_buffers {
  using C = coef<T>;
  guarded_buffer<C> c, s, c2, s2;
  coef_buffers(const pairs_input<T>& in, rope_layout L, std::size_t mis)
      : c(in.c.size(), mis),
        s(in.s.size(), mis),
        c2(L == rope_layout::interleaved ? 2 * in.c.size() : in.c.size(), mis),
        s2(L == rope_layout::interleaved ? 2 * in.c.size() : in.c.size(), mis) {
    for (std::size_t k = 0; k < in.c.size(); ++k) {
      c.set(k, in.c[k]);
      s.set(k, in.s[k]);
    }
  }
  /// The natural coefficients still hold the input (read-only) and no guard was touched.
  bool intact(const pairs_input<T>& in) const {
    for (std::size_t k = 0; k < in.c.size(); ++k)
      if (!same_bits(c.get(k), in.c[k]) || !same_bits(s.get(k), in.s[k])) return false;
    return c.guards_intact() && s.guards_intact() && c2.guards_intact() && s2.guards_intact();
  }
};

/// The SIMD kernel (or scalar_arch's), called as rope_apply_layout calls it.
template <class Arch, rope_layout L, bool Inverse, class T>
void run_kernel(T* x, std::size_t n, coef_buffers<T>& cb) {
  using C = coef<T>;
  posenc::kernels::coef_block<C> cf;
  cf.c = cb.c.data();
  cf.s = cb.s.data();
  if constexpr (posenc::kernels::needs_prepared<Arch, L, T>()) {
    posenc::kernels::prepare<Arch, L, T, Inverse>(cf.c, cf.s, n, cb.c2.data(), cb.s2.data());
    cf.c2 = cb.c2.data();
    cf.s2 = cb.s2.data();
  }
  if constexpr (L == rope_layout::half_split) {
    posenc::kernels::rotate_half_split<Inverse>(Arch{}, x, x + n, cf, n);
  } else {
    posenc::kernels::rotate_interleaved<Inverse>(Arch{}, x, cf, n);
  }
}

/// The scalar reference of the same layout. RefArch = scalar_arch (the default) is the plain
/// contract, each product rounded; RefArch = Arch is the instantiation the kernel uses for its
/// tail, which fuses exactly where Arch's vector body does (rotate.hpp).
template <rope_layout L, bool Inverse, class RefArch = posenc::scalar_arch, class T>
void run_reference(T* x, std::size_t n, const coef_buffers<T>& cb) {
  using C = coef<T>;
  if constexpr (L == rope_layout::half_split) {
    posenc::kernels::rotate_half_split_ref<Inverse, T, C, RefArch>(x, x + n, cb.c.data(),
                                                                   cb.s.data(), n);
  } else {
    posenc::kernels::rotate_interleaved_ref<Inverse, T, C, RefArch>(x, cb.c.data(), cb.s.data(), n);
  }
}

/// Oracle for pair (a, b) with (c, s): outputs and their scales.
struct pair_ref {
  long double ya, yb, scale_a, scale_b;
};
pair_ref oracle(bool inverse, long double a, long double b, long double c, long double s) {
  pair_ref r;
  if (!inverse) {
    r.ya = a * c - b * s;
    r.yb = a * s + b * c;
  } else {
    r.ya = a * c + b * s;
    r.yb = b * c - a * s;
  }
  r.scale_a = std::fabs(a * c) + std::fabs(b * s);
  r.scale_b = std::fabs(a * s) + std::fabs(b * c);
  return r;
}

// ---- the sweep ----------------------------------------------------------------------------------

struct case_id {
  const char* arch;
  const char* type;
  rope_layout layout;
  bool inverse;
  std::size_t n, mis_x, mis_c;
  std::string str() const {
    std::ostringstream os;
    os << arch << " " << type << " "
       << (layout == rope_layout::half_split ? "half_split" : "interleaved")
       << (inverse ? " inverse" : " forward") << " n=" << n << " mis_x=" << mis_x
       << " mis_c=" << mis_c;
    return os.str();
  }
};

/// Collects failures of one typed test: reports the first few in full, then counts.
class failures {
 public:
  template <class Msg>
  void check(bool ok, const Msg& msg) {
    if (ok) return;
    if (++count_ <= 8) ADD_FAILURE() << msg();
  }
  void finish(const char* what) const {
    EXPECT_EQ(count_, 0u) << count_ << " failures of: " << what << " (the first 8 shown above)";
  }

 private:
  std::size_t count_ = 0;
};

/// Largest err/bound seen, per storage type, for the report.
struct ratio_stats {
  long double max = 0;
  std::string where;
  void add(long double err, long double bound, const std::string& ctx) {
    if (bound > 0 && err / bound > max) {
      max = err / bound;
      where = ctx;
    }
  }
};

/// Storage elements per register of Arch (16-bit: two per float lane).
template <class T, class Arch>
constexpr std::size_t storage_lanes() {
  if constexpr (fmt<T>::is16) {
    return 2 * posenc::lane_count<float, Arch>();
  } else {
    return posenc::lane_count<T, Arch>();
  }
}

/// Calls f(n, mis_x, mis_c) over the sweep of (Arch, T, L).
template <class Arch, class T, rope_layout L, class F>
void sweep(F&& f) {
  using C = coef<T>;
  constexpr std::size_t nf = posenc::lane_count<float, Arch>();
  constexpr std::size_t nc = posenc::lane_count<C, Arch>();
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> mis_x;
  if constexpr (fmt<T>::is16) {
    // Half-split steps by 2N pairs (two float registers of N lanes), interleaved by N pairs;
    // binary16 where converted in hardware (natural16) by N pairs and N/2 pairs.
    sizes = L == rope_layout::half_split ? posenc_test::lane_sweep({nf, 2 * nf})
                                         : posenc_test::lane_sweep({nf, nf / 2});
    mis_x = posenc_test::misalignments(2 * nf);  // a register holds 2N 16-bit elements
  } else {
    constexpr std::size_t nt = posenc::lane_count<T, Arch>();
    // Interleaved steps by N elements = N/2 pairs; half-split by N pairs.
    sizes = L == rope_layout::half_split ? posenc_test::lane_sweep({nt})
                                         : posenc_test::lane_sweep({nt, nt / 2});
    mis_x = posenc_test::misalignments(nt);
  }
  const std::vector<std::size_t> mis_c = posenc_test::misalignments(nc);
  for (std::size_t n : sizes)
    for (std::size_t mx : mis_x)
      for (std::size_t mc : mis_c) f(n, mx, mc);
}

/// Runs body<T, L, Inverse>() for every storage type, layout and direction.
template <class Body>
void for_each_config(Body&& body) {
  auto per_type = [&](auto tag) {
    using T = typename decltype(tag)::type;
    body.template operator()<T, rope_layout::half_split, false>();
    body.template operator()<T, rope_layout::half_split, true>();
    body.template operator()<T, rope_layout::interleaved, false>();
    body.template operator()<T, rope_layout::interleaved, true>();
  };
  per_type(std::common_type<float>{});
  per_type(std::common_type<double>{});
  per_type(std::common_type<posenc::bfloat16_t>{});
  per_type(std::common_type<posenc::float16_t>{});
}

std::uint64_t stream_of(const case_id& id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char* p = id.type; *p; ++p)
    h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ULL;
  h = (h ^ static_cast<std::uint64_t>(id.layout)) * 1099511628211ULL;
  h = (h ^ id.n) * 1099511628211ULL;
  h = (h ^ (id.mis_x * 131 + id.mis_c)) * 1099511628211ULL;
  return h;
}

void print_ratios(const char* test, const char* arch,
                  const std::vector<std::pair<std::string, ratio_stats>>& r) {
  std::ostringstream os;
  os << "[ measured ] " << test << " " << arch << ": max err/bound";
  for (const auto& e : r)
    os << "  " << e.first << " " << std::setprecision(3) << static_cast<double>(e.second.max);
  std::cout << os.str() << "\n";
}

template <class TypeParam>
class RotateKernel : public ::testing::Test {};
TYPED_TEST_SUITE(RotateKernel, posenc_test::arch_types, posenc_test::arch_names);

// 1. The kernel meets the contract: every output within contract_bound of the long-double
//    value of the contract; nothing outside the 2n elements, and no coefficient, is written.
struct contract_body {
  const char* arch;
  failures* fail;
  std::vector<std::pair<std::string, ratio_stats>>* stats;
  template <class T, rope_layout L, bool Inverse, class Arch>
  void run() const {
    ratio_stats& st = stat_for(fmt<T>::name);
    sweep<Arch, T, L>([&](std::size_t n, std::size_t mx, std::size_t mc) {
      const case_id id{arch, fmt<T>::name, L, Inverse, n, mx, mc};
      const pairs_input<T> in = make_input<T>(n, stream_of(id));
      guarded_buffer<T> x(2 * n, mx);
      load_rows<L>(x, in);
      coef_buffers<T> cb(in, L, mc);
      run_kernel<Arch, L, Inverse>(x.data(), n, cb);
      fail->check(x.guards_intact(), [&] { return id.str() + ": wrote outside the rows"; });
      fail->check(cb.intact(in), [&] {
        return id.str() + ": coefficients or memory around the coefficient buffers changed";
      });
      for (std::size_t k = 0; k < n; ++k) {
        const pair_ref r = oracle(Inverse, value_of(in.a[k]), value_of(in.b[k]), in.c[k], in.s[k]);
        const T ya = x.get(index_a<L>(k, n)), yb = x.get(index_b<L>(k, n));
        const long double ea = std::fabs(value_of(ya) - r.ya), eb = std::fabs(value_of(yb) - r.yb);
        const long double ba = contract_bound<T>(r.scale_a, r.ya);
        const long double bb = contract_bound<T>(r.scale_b, r.yb);
        st.add(ea, ba, id.str());
        st.add(eb, bb, id.str());
        fail->check(ea <= ba && eb <= bb, [&] {
          std::ostringstream os;
          os << id.str() << " pair " << k << ": a=" << show(in.a[k]) << " b=" << show(in.b[k])
             << " c=" << std::hexfloat << static_cast<double>(in.c[k])
             << " s=" << static_cast<double>(in.s[k]) << " -> (" << show(ya) << ", " << show(yb)
             << "), oracle (" << static_cast<double>(r.ya) << ", " << static_cast<double>(r.yb)
             << "), err (" << static_cast<double>(ea) << ", " << static_cast<double>(eb)
             << ") > bound (" << static_cast<double>(ba) << ", " << static_cast<double>(bb) << ")";
          return os.str();
        });
      }
    });
  }
  ratio_stats& stat_for(const char* name) const {
    for (auto& e : *stats)
      if (e.first == name) return e.second;
    stats->emplace_back(name, ratio_stats{});
    return stats->back().second;
  }
};

// Adapter: for_each_config calls body.operator()<T, L, Inverse>(); bind the arch.
template <class Arch, class Body>
struct with_arch {
  Body body;
  template <class T, rope_layout L, bool Inverse>
  void operator()() const {
    body.template run<T, L, Inverse, Arch>();
  }
};
template <class Arch, class Body>
with_arch<Arch, Body> bind(Body b) {
  return with_arch<Arch, Body>{b};
}

TYPED_TEST(RotateKernel, MeetsContractAgainstLongDouble) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  failures fail;
  std::vector<std::pair<std::string, ratio_stats>> stats;
  stats.reserve(4);
  for_each_config(bind<TypeParam>(contract_body{TypeParam::name(), &fail, &stats}));
  fail.finish("the rotation contract (bound: 2u·scale, + storage rounding for 16-bit)");
  print_ratios("contract", TypeParam::name(), stats);
  for (const auto& e : stats) {
    // Every storage type ran, and the sweep exercised the bound (a ratio of exactly 0 would
    // mean the comparison never saw a rounding error).
    EXPECT_GT(e.second.max, 0) << e.first;
  }
  EXPECT_EQ(stats.size(), 4u);
}

// 2. The scalar reference meets the same contract, and SIMD and reference agree. Both are
//    within contract_bound of the same exact value, so they differ by at most twice it.
//    Sharper, and exact: the kernel equals, bit for bit, the reference instantiated with its
//    own Arch (the tail handler), because rotate.hpp makes tails fuse exactly where bodies do
//    (simd::fused_madd<Arch>); so the vector body rounds like the specification of that arch.
struct agree_body {
  const char* arch;
  failures* fail;
  ratio_stats* ref_stats;
  ratio_stats* diff_stats;
  std::size_t* differing;
  std::size_t* total;
  template <class T, rope_layout L, bool Inverse, class Arch>
  void run() const {
    sweep<Arch, T, L>([&](std::size_t n, std::size_t mx, std::size_t mc) {
      const case_id id{arch, fmt<T>::name, L, Inverse, n, mx, mc};
      const pairs_input<T> in = make_input<T>(n, stream_of(id));
      guarded_buffer<T> xs(2 * n, mx), xr(2 * n, mx), xa(2 * n, mx);
      load_rows<L>(xs, in);
      load_rows<L>(xr, in);
      load_rows<L>(xa, in);
      coef_buffers<T> cs(in, L, mc), cr(in, L, mc);
      run_kernel<Arch, L, Inverse>(xs.data(), n, cs);
      run_reference<L, Inverse>(xr.data(), n, cr);
      run_reference<L, Inverse, Arch>(xa.data(), n, cr);
      fail->check(xr.guards_intact() && xa.guards_intact() && cr.intact(in),
                  [&] { return id.str() + ": the reference wrote outside its rows"; });
      for (std::size_t i = 0; i < 2 * n; ++i) {
        fail->check(same_bits(xs.get(i), xa.get(i)), [&] {
          std::ostringstream os;
          os << id.str() << " element " << i << ": kernel " << show(xs.get(i)) << " != reference<"
             << arch << "> " << show(xa.get(i));
          return os.str();
        });
      }
      for (std::size_t k = 0; k < n; ++k) {
        const pair_ref r = oracle(Inverse, value_of(in.a[k]), value_of(in.b[k]), in.c[k], in.s[k]);
        const std::size_t ia = index_a<L>(k, n), ib = index_b<L>(k, n);
        const long double ba = contract_bound<T>(r.scale_a, r.ya);
        const long double bb = contract_bound<T>(r.scale_b, r.yb);
        const long double ra = std::fabs(value_of(xr.get(ia)) - r.ya);
        const long double rb = std::fabs(value_of(xr.get(ib)) - r.yb);
        const long double da = std::fabs(value_of(xs.get(ia)) - value_of(xr.get(ia)));
        const long double db = std::fabs(value_of(xs.get(ib)) - value_of(xr.get(ib)));
        ref_stats->add(ra, ba, id.str());
        ref_stats->add(rb, bb, id.str());
        diff_stats->add(da, 2 * ba, id.str());
        diff_stats->add(db, 2 * bb, id.str());
        *differing += !same_bits(xs.get(ia), xr.get(ia)) + !same_bits(xs.get(ib), xr.get(ib));
        *total += 2;
        fail->check(ra <= ba && rb <= bb, [&] {
          std::ostringstream os;
          os << id.str() << " pair " << k << ": reference (" << show(xr.get(ia)) << ", "
             << show(xr.get(ib)) << ") outside the contract bound";
          return os.str();
        });
        fail->check(da <= 2 * ba && db <= 2 * bb, [&] {
          std::ostringstream os;
          os << id.str() << " pair " << k << ": SIMD (" << show(xs.get(ia)) << ", "
             << show(xs.get(ib)) << ") vs reference (" << show(xr.get(ia)) << ", "
             << show(xr.get(ib)) << ") differ by more than twice the bound";
          return os.str();
        });
      }
    });
  }
};

TYPED_TEST(RotateKernel, AgreesWithScalarReference) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  failures fail;
  ratio_stats ref_stats, diff_stats;
  std::size_t differing = 0, total = 0;
  for_each_config(bind<TypeParam>(
      agree_body{TypeParam::name(), &fail, &ref_stats, &diff_stats, &differing, &total}));
  fail.finish("reference within bound; |SIMD − reference| ≤ 2·bound; SIMD == reference<Arch>");
  std::cout << "[ measured ] reference " << TypeParam::name() << ": max err/bound "
            << static_cast<double>(ref_stats.max) << "; |SIMD-ref|/(2 bound) max "
            << static_cast<double>(diff_stats.max) << "; outputs not bit-identical: " << differing
            << " of " << total << "\n";
  EXPECT_GT(total, 0u);
  if (std::is_same<TypeParam, posenc::scalar_arch>::value) {
    // scalar_arch's kernel is the reference itself.
    EXPECT_EQ(differing, 0u);
  }
}

// 3. Interleaved = permuted half-split, bit for bit: the same pairs and coefficients through
//    rotate_interleaved (pairs at 2k, 2k+1) and rotate_half_split (pairs at k, n+k) give the
//    same bits, for every arch and storage (rotate.hpp orders the operands for that).
struct permuted_body {
  const char* arch;
  failures* fail;
  std::size_t* compared;
  std::size_t* mismatched;
  template <class T, rope_layout L, bool Inverse, class Arch>
  void run() const {
    if constexpr (L == rope_layout::half_split) {  // one pass per (T, direction)
      constexpr std::size_t nf = posenc::lane_count<float, Arch>();
      constexpr std::size_t nc = posenc::lane_count<coef<T>, Arch>();
      constexpr std::size_t nt = storage_lanes<T, Arch>();
      // Block sizes of both layouts' loops.
      const std::vector<std::size_t> sizes = posenc_test::lane_sweep({nf, 2 * nf, nt, nt / 2, nc});
      for (std::size_t n : sizes) {
        for (std::size_t mx : posenc_test::misalignments(nt)) {
          const case_id id{arch, fmt<T>::name, L, Inverse, n, mx, 0};
          const pairs_input<T> in = make_input<T>(n, stream_of(id) ^ 0x5a5a);
          guarded_buffer<T> xh(2 * n, mx), xi(2 * n, mx);
          load_rows<rope_layout::half_split>(xh, in);
          load_rows<rope_layout::interleaved>(xi, in);
          coef_buffers<T> ch(in, rope_layout::half_split, 0);
          coef_buffers<T> ci(in, rope_layout::interleaved, 0);
          run_kernel<Arch, rope_layout::half_split, Inverse>(xh.data(), n, ch);
          run_kernel<Arch, rope_layout::interleaved, Inverse>(xi.data(), n, ci);
          for (std::size_t k = 0; k < n; ++k) {
            const bool ok =
                same_bits(xh.get(k), xi.get(2 * k)) && same_bits(xh.get(n + k), xi.get(2 * k + 1));
            ++*compared;
            *mismatched += !ok;
            fail->check(ok, [&] {
              std::ostringstream os;
              os << arch << " " << fmt<T>::name << (Inverse ? " inverse" : " forward") << " n=" << n
                 << " mis=" << mx << " pair " << k << ": half_split (" << show(xh.get(k)) << ", "
                 << show(xh.get(n + k)) << ") != interleaved (" << show(xi.get(2 * k)) << ", "
                 << show(xi.get(2 * k + 1)) << ")";
              return os.str();
            });
          }
        }
      }
    }
  }
};

TYPED_TEST(RotateKernel, InterleavedIsPermutedHalfSplitBitForBit) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  failures fail;
  std::size_t compared = 0, mismatched = 0;
  for_each_config(bind<TypeParam>(permuted_body{TypeParam::name(), &fail, &compared, &mismatched}));
  fail.finish("interleaved == permuted half_split, bit for bit");
  std::cout << "[ measured ] permuted " << TypeParam::name() << ": " << mismatched << " of "
            << compared << " pairs differ\n";
  EXPECT_GT(compared, 0u);
}

// 4. Forward then inverse (and inverse then forward) return the input. With R the rotation
//    by the given (c, s), R^T·R = (c² + s²)·I, so after ŷ = R·x + δ1 and ẑ = R^T·ŷ + δ2:
//        ẑ − x = (c² + s² − 1)·x + R^T·δ1 + δ2,
//        |ẑ_a − x_a| ≤ |c²+s²−1|·|x_a| + |c|·e1_a + |s|·e1_b + e2_a   (and a ↔ b),
//    where e1 = contract_bound of the first pass (scales from x), e2 = contract_bound of the
//    second (scales from the stored ŷ), and c² + s² − 1 is computed exactly in long double
//    (exact for float coefficients, 2^-64-accurate for double: below the slack).
struct roundtrip_body {
  const char* arch;
  failures* fail;
  ratio_stats* stats;
  template <class T, rope_layout L, bool Inverse, class Arch>
  void run() const {
    sweep<Arch, T, L>([&](std::size_t n, std::size_t mx, std::size_t mc) {
      const case_id id{arch, fmt<T>::name, L, Inverse, n, mx, mc};
      const pairs_input<T> in = make_input<T>(n, stream_of(id) ^ 0xa5a5);
      guarded_buffer<T> x(2 * n, mx);
      load_rows<L>(x, in);
      coef_buffers<T> cb(in, L, mc);
      run_kernel<Arch, L, Inverse>(x.data(), n, cb);
      std::vector<T> mid(2 * n);
      for (std::size_t i = 0; i < 2 * n; ++i) mid[i] = x.get(i);
      run_kernel<Arch, L, !Inverse>(x.data(), n, cb);
      fail->check(x.guards_intact() && cb.intact(in),
                  [&] { return id.str() + ": round trip wrote outside its buffers"; });
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t ia = index_a<L>(k, n), ib = index_b<L>(k, n);
        const long double a = value_of(in.a[k]), b = value_of(in.b[k]);
        const long double c = in.c[k], s = in.s[k];
        const pair_ref r1 = oracle(Inverse, a, b, c, s);
        const pair_ref r2 = oracle(!Inverse, value_of(mid[ia]), value_of(mid[ib]), c, s);
        const long double e1a = contract_bound<T>(r1.scale_a, r1.ya);
        const long double e1b = contract_bound<T>(r1.scale_b, r1.yb);
        const long double e2a = contract_bound<T>(r2.scale_a, r2.ya);
        const long double e2b = contract_bound<T>(r2.scale_b, r2.yb);
        const long double eps = std::fabs(c * c + s * s - 1);
        const long double ba = eps * std::fabs(a) + std::fabs(c) * e1a + std::fabs(s) * e1b + e2a;
        const long double bb = eps * std::fabs(b) + std::fabs(s) * e1a + std::fabs(c) * e1b + e2b;
        const long double da = std::fabs(value_of(x.get(ia)) - a);
        const long double db = std::fabs(value_of(x.get(ib)) - b);
        stats->add(da, ba, id.str());
        stats->add(db, bb, id.str());
        fail->check(da <= ba && db <= bb, [&] {
          std::ostringstream os;
          os << id.str() << " pair " << k << ": (" << show(in.a[k]) << ", " << show(in.b[k])
             << ") came back as (" << show(x.get(ia)) << ", " << show(x.get(ib)) << "), err ("
             << static_cast<double>(da) << ", " << static_cast<double>(db) << ") > bound ("
             << static_cast<double>(ba) << ", " << static_cast<double>(bb) << ")";
          return os.str();
        });
      }
    });
  }
};

TYPED_TEST(RotateKernel, InverseUndoesForward) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  failures fail;
  ratio_stats stats;
  for_each_config(bind<TypeParam>(roundtrip_body{TypeParam::name(), &fail, &stats}));
  fail.finish("inverse(forward(x)) == x and forward(inverse(x)) == x within the derived bound");
  std::cout << "[ measured ] round trip " << TypeParam::name() << ": max err/bound "
            << static_cast<double>(stats.max) << "\n";
  EXPECT_GT(stats.max, 0);
}

}  // namespace
