// posenc tests — glue between the scaling reference data and the library's scaling policies
// SPDX-License-Identifier: Apache-2.0
//
// Unlike the rest of tests/support/, this header depends on include/posenc: it builds the
// policy described by one row of tests/data/scaling_*.txt (the parameter schema of each file
// is documented in its header and in tests/data/README.md) and compares a rope built with it
// against the row. The expected values themselves come only from the data.

#ifndef POSENC_TESTS_SUPPORT_SCALING_POLICIES_HPP
#define POSENC_TESTS_SUPPORT_SCALING_POLICIES_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/scaling.hpp>

#include "support/scaling_data.hpp"

namespace posenc_test {

// --- ulp distances ------------------------------------------------------------------------------

/// Distance in units in the last place between two finite doubles of the same sign.
inline std::uint64_t ulp_diff(double a, double b) {
  std::int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  if ((ia < 0) != (ib < 0)) return a == b ? 0 : std::numeric_limits<std::uint64_t>::max();
  return ia > ib ? static_cast<std::uint64_t>(ia - ib) : static_cast<std::uint64_t>(ib - ia);
}
inline std::uint32_t ulp_diff(float a, float b) {
  std::int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if ((ia < 0) != (ib < 0)) return a == b ? 0 : std::numeric_limits<std::uint32_t>::max();
  return ia > ib ? static_cast<std::uint32_t>(ia - ib) : static_cast<std::uint32_t>(ib - ia);
}

// --- optional parameters ('nan' in the data = unset) --------------------------------------------

// NaN tested on the bits, not with std::isnan: -ffinite-math-only (CI's -Ofast section) folds
// std::isnan to false.
inline std::optional<double> opt(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  const bool nan = (u & 0x7ff0000000000000u) == 0x7ff0000000000000u && (u & 0xfffffffffffffu) != 0;
  if (nan) return std::nullopt;
  return v;
}

inline std::size_t len(double v) { return static_cast<std::size_t>(v); }

// --- one policy per data file (parameter schemas as written by gen_scaling.py) -----------------

inline posenc::linear_scaling linear_from(const scaling_case& c) {  // factor
  return posenc::linear_scaling{c.params.at(0)};
}
inline posenc::ntk_scaling ntk_from(const scaling_case& c) {  // alpha
  return posenc::ntk_scaling{c.params.at(0)};
}
inline posenc::dynamic_ntk_scaling dynamic_from(const scaling_case& c) {  // s L0 current served
  posenc::dynamic_ntk_scaling p;
  p.factor = c.params.at(0);
  p.original_max_position = len(c.params.at(1));
  p.current_length = len(c.params.at(2));
  p.served_length = len(c.params.at(3));
  return p;
}
// s L beta_fast beta_slow truncate variant mscale mscale_all_dim attention_factor
inline posenc::yarn_scaling yarn_from(const scaling_case& c) {
  posenc::yarn_scaling p;
  p.factor = c.params.at(0);
  p.original_max_position = len(c.params.at(1));
  p.beta_fast = c.params.at(2);
  p.beta_slow = c.params.at(3);
  p.truncate = c.params.at(4) != 0.0;
  p.variant = c.params.at(5) != 0.0 ? posenc::yarn_variant::llama_cpp : posenc::yarn_variant::hf;
  p.mscale = opt(c.params.at(6));
  p.mscale_all_dim = opt(c.params.at(7));
  p.explicit_attention_factor = opt(c.params.at(8));
  return p;
}
inline posenc::llama3_scaling llama3_from(const scaling_case& c) {  // s low high L
  posenc::llama3_scaling p;
  p.factor = c.params.at(0);
  p.low_freq_factor = c.params.at(1);
  p.high_freq_factor = c.params.at(2);
  p.original_max_position = len(c.params.at(3));
  return p;
}
// L0 factor attention_factor current served | short long
inline posenc::longrope_scaling longrope_from(const scaling_case& c) {
  posenc::longrope_scaling p;
  p.original_max_position = len(c.params.at(0));
  p.factor = c.params.at(1);
  p.explicit_attention_factor = opt(c.params.at(2));
  p.current_length = len(c.params.at(3));
  p.served_length = len(c.params.at(4));
  p.short_factor = c.lists.at(0);
  p.long_factor = c.lists.at(1);
  return p;
}
inline posenc::freq_factors_scaling freq_factors_from(const scaling_case& c) {  // af | divisors
  posenc::freq_factors_scaling p;
  p.explicit_attention_factor = c.params.at(0);
  p.divisors = c.lists.at(0);
  return p;
}

/// Loads a file with its schema.
inline std::vector<scaling_case> load_cases(const std::string& name) {
  if (name == "linear" || name == "ntk") return load_scaling(name, 1, 0, 0);
  if (name == "dynamic") return load_scaling(name, 4, 0, 0);
  if (name == "yarn") return load_scaling(name, 9, 0, 2);
  if (name == "llama3") return load_scaling(name, 4, 0, 0);
  if (name == "longrope") return load_scaling(name, 5, 2, 0);
  if (name == "freq_factors") return load_scaling(name, 1, 1, 0);
  throw std::runtime_error("unknown scaling data " + name);
}

/// Calls f(policy) with the policy described by row c of scaling_<name>.txt.
template <class F>
void with_policy(const std::string& name, const scaling_case& c, F&& f) {
  if (name == "linear") return f(linear_from(c));
  if (name == "ntk") return f(ntk_from(c));
  if (name == "dynamic") return f(dynamic_from(c));
  if (name == "yarn") return f(yarn_from(c));
  if (name == "llama3") return f(llama3_from(c));
  if (name == "longrope") return f(longrope_from(c));
  if (name == "freq_factors") return f(freq_factors_from(c));
  throw std::runtime_error("unknown scaling " + name);
}

/// The rope of row c of scaling_<name>.txt with the given configuration.
inline posenc::rope make_rope(const std::string& name, const scaling_case& c,
                              const posenc::rope_config& cfg) {
  std::optional<posenc::rope> r;
  with_policy(name, c, [&](const auto& p) { r.emplace(cfg, p); });
  return *r;
}

inline posenc::rope_config config_of(const scaling_case& c,
                                     posenc::rope_precision prec = posenc::rope_precision::exact) {
  posenc::rope_config cfg;
  cfg.head_dim = static_cast<std::size_t>(c.head_dim);
  cfg.rotary_dim = static_cast<std::size_t>(c.rotary_dim);
  cfg.base = c.base;
  cfg.precision = prec;
  return cfg;
}

/// Largest ulp distances seen by check_against_data (reported by the tests).
struct scaling_stats {
  std::uint64_t max_ulp_exact = 0;
  std::uint32_t max_ulp_f32 = 0;
  std::uint64_t max_ulp_af = 0;
  std::size_t values = 0;
  std::size_t hard_allowed = 0;
  std::size_t hard_differing = 0;
};

/**
 * Compares a rope built with policy p on row c against the data:
 *   exact mode: inv_freq within 2 ulp of RN64(exact) — one rounding from long double, whose
 *     relative error (≤ a few 2^-64) can move the result by at most 1 ulp; 2 leaves headroom for
 *     targets whose long double is double;
 *   attention factor within 2 ulp (same argument), and RN32 of it equal to HF's float32 value;
 *   hf_f32 mode: inv_freq_f32 bit-exact with the HF emulation, except ≤ 1 ulp on the pairs the
 *     data marks as hard powf inputs (a non-correctly-rounded powf may round those either way).
 */
template <class P>
void check_against_data(const scaling_case& c, const P& p, scaling_stats& st) {
  const posenc::rope r(config_of(c), p);
  const posenc::rope rf(config_of(c, posenc::rope_precision::hf_f32), p);
  ASSERT_EQ(r.pairs(), c.pairs()) << c.where();
  for (std::size_t k = 0; k < c.pairs(); ++k) {
    const std::uint64_t u = ulp_diff(r.inv_freq(k), c.inv_exact[k]);
    st.max_ulp_exact = std::max(st.max_ulp_exact, u);
    EXPECT_LE(u, 2u) << c.where() << " exact inv_freq k=" << k << ": " << r.inv_freq(k) << " vs "
                     << c.inv_exact[k];
    const float want = static_cast<float>(c.inv_f32[k]);
    const std::uint32_t uf = ulp_diff(rf.inv_freq_f32(k), want);
    st.max_ulp_f32 = std::max(st.max_ulp_f32, uf);
    if (c.is_hard(k)) {
      ++st.hard_allowed;
      if (uf != 0) ++st.hard_differing;
      EXPECT_LE(uf, 1u) << c.where() << " hf_f32 inv_freq (hard powf case) k=" << k;
    } else {
      EXPECT_EQ(uf, 0u) << c.where() << " hf_f32 inv_freq k=" << k << ": " << rf.inv_freq_f32(k)
                        << " vs " << want;
    }
    ++st.values;
  }
  const std::uint64_t ua = ulp_diff(r.attention_factor(), c.af_exact);
  st.max_ulp_af = std::max(st.max_ulp_af, ua);
  EXPECT_LE(ua, 2u) << c.where() << " attention factor " << r.attention_factor() << " vs "
                    << c.af_exact;
  EXPECT_EQ(static_cast<float>(rf.attention_factor()), static_cast<float>(c.af_f32))
      << c.where() << " attention factor as HF's float32";
}

/// Runs check_against_data on every row of scaling_<name>.txt and prints the statistics.
inline void check_file(const std::string& name) {
  const std::vector<scaling_case> cases = load_cases(name);
  scaling_stats st;
  for (const scaling_case& c : cases) {
    with_policy(name, c, [&](const auto& p) { check_against_data(c, p, st); });
  }
  std::printf(
      "[ stats    ] scaling_%s.txt: %zu cases, %zu frequencies; max ulp exact %llu, hf_f32 %u "
      "(%zu hard powf inputs allowed 1 ulp, %zu differ), attention %llu\n",
      name.c_str(), cases.size(), st.values, static_cast<unsigned long long>(st.max_ulp_exact),
      st.max_ulp_f32, st.hard_allowed, st.hard_differing,
      static_cast<unsigned long long>(st.max_ulp_af));
}

/// Bit-equality of two ropes' frequency tables (both modes) and attention factors.
inline void expect_same_tables(const posenc::rope& a, const posenc::rope& b,
                               const std::string& what) {
  ASSERT_EQ(a.pairs(), b.pairs()) << what;
  for (std::size_t k = 0; k < a.pairs(); ++k) {
    EXPECT_EQ(a.inv_freq(k), b.inv_freq(k)) << what << " k=" << k;
    EXPECT_EQ(a.inv_freq_f32(k), b.inv_freq_f32(k)) << what << " (f32) k=" << k;
  }
  EXPECT_EQ(a.attention_factor(), b.attention_factor()) << what;
}

/// Expects fn() to throw std::invalid_argument whose message contains `field` (and `value`
/// when given): the library's errors name the offending field and its value.
template <class F>
void expect_invalid(F&& fn, const std::string& field, const std::string& value = "") {
  try {
    fn();
    ADD_FAILURE() << "no std::invalid_argument for " << field;
  } catch (const std::invalid_argument& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find(field), std::string::npos) << "message does not name " << field << ": " << w;
    if (!value.empty()) {
      EXPECT_NE(w.find(value), std::string::npos) << "message lacks value " << value << ": " << w;
    }
  }
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_SCALING_POLICIES_HPP
