// posenc tests — Llama-3.1 scaling, posenc/scaling/llama3.hpp
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/frequency.hpp>
#include <posenc/rope.hpp>
#include <posenc/scaling/freq_factors.hpp>
#include <posenc/scaling/linear.hpp>
#include <posenc/scaling/llama3.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::llama3_scaling;
using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;
using posenc_test::ulp_diff;

TEST(ScalingLlama3, MatchesOracle) { posenc_test::check_file("llama3"); }

// Llama-3.1-8B: base 500000, d = 128, s = 8, low 1, high 4, L = 8192. Pairs with wavelength
// below L/4 = 2048 are kept bit for bit, pairs above L/1 = 8192 are divided by s (equal to
// linear scaling, both modes), the band between is a blend strictly in between.
TEST(ScalingLlama3, KeepsHighDividesLowBlendsMedium) {
  for (double s : {8.0, 32.0, 3.0}) {
    const posenc::rope_config cfg{128, 128, 500000.0};
    llama3_scaling p;
    p.factor = s;
    const posenc::rope plain(cfg), lin(cfg, posenc::linear_scaling{s}), l3(cfg, p);
    std::size_t high = 0, low = 0, medium = 0;
    for (std::size_t k = 0; k < plain.pairs(); ++k) {
      const double wl = posenc::wavelength(plain.inv_freq(k));
      if (wl < 8192.0 / 4.0) {
        ++high;
        EXPECT_EQ(l3.inv_freq(k), plain.inv_freq(k)) << k;
        EXPECT_EQ(l3.inv_freq_f32(k), plain.inv_freq_f32(k)) << k;
      } else if (wl > 8192.0) {
        ++low;
        EXPECT_EQ(l3.inv_freq(k), lin.inv_freq(k)) << k;
        EXPECT_EQ(l3.inv_freq_f32(k), lin.inv_freq_f32(k)) << k;
      } else {
        ++medium;
        EXPECT_LT(l3.inv_freq(k), plain.inv_freq(k)) << k;
        EXPECT_GT(l3.inv_freq(k), lin.inv_freq(k)) << k;
      }
    }
    EXPECT_GT(high, 0u);
    EXPECT_GT(low, 0u);
    EXPECT_GT(medium, 0u);
    EXPECT_EQ(l3.attention_factor(), 1.0);
  }
}

TEST(ScalingLlama3, FactorOneIsPlainRope) {
  for (double base : {1e4, 5e5})
    for (std::size_t r : {32u, 64u, 128u}) {
      const posenc::rope_config cfg{128, r, base};
      llama3_scaling p;
      p.factor = 1.0;
      expect_same_tables(posenc::rope(cfg, p), posenc::rope(cfg), "llama3{1}");
    }
}

// llama.cpp's rope_freqs (convert_hf_to_gguf.py) as generic divisors give the same frequencies.
TEST(ScalingLlama3, DivisorsReproduceTheScaling) {
  const posenc::rope_dims d{128, 128, 500000.0};
  const llama3_scaling p;
  std::vector<double> c(d.pairs());
  p.divisors(d, c.data());
  EXPECT_EQ(c.front(), 1.0);
  EXPECT_EQ(c.back(), 8.0);
  const posenc::rope_config cfg{128, 128, 500000.0};
  const posenc::rope a(cfg, p), b(cfg, posenc::freq_factors_scaling{c});
  for (std::size_t k = 0; k < a.pairs(); ++k) EXPECT_LE(ulp_diff(a.inv_freq(k), b.inv_freq(k)), 2u);
}

// high == low: a two-band step (HF would divide by zero on the edge; vLLM guards it).
TEST(ScalingLlama3, EqualBandFactorsGiveAStep) {
  llama3_scaling p;
  p.low_freq_factor = p.high_freq_factor = 2.0;
  const posenc::rope_config cfg{128, 128, 500000.0};
  const posenc::rope plain(cfg), lin(cfg, posenc::linear_scaling{8}), l3(cfg, p);
  for (std::size_t k = 0; k < plain.pairs(); ++k) {
    const bool low = posenc::wavelength(plain.inv_freq(k)) > 4096.0;
    EXPECT_EQ(l3.inv_freq(k), low ? lin.inv_freq(k) : plain.inv_freq(k)) << k;
    EXPECT_TRUE(std::isfinite(l3.inv_freq_f32(k)));
  }
}

TEST(ScalingLlama3, InvalidParametersThrowNamingTheField) {
  const posenc::rope_config cfg{128};
  auto bad = [&](auto mutate, const char* field, const char* value) {
    llama3_scaling p;
    mutate(p);
    expect_invalid([&] { posenc::rope(cfg, p); }, field, value);
  };
  bad([](llama3_scaling& p) { p.factor = 0.5; }, "factor", "0.5");
  bad([](llama3_scaling& p) { p.factor = std::nan(""); }, "factor", "nan");
  bad([](llama3_scaling& p) { p.low_freq_factor = 0.0; }, "low_freq_factor", "0");
  bad([](llama3_scaling& p) { p.high_freq_factor = 0.5; }, "high_freq_factor", "0.5");
  bad([](llama3_scaling& p) { p.high_freq_factor = std::nan(""); }, "high_freq_factor", "nan");
  bad([](llama3_scaling& p) { p.original_max_position = 0; }, "original_max_position", "0");
}

}  // namespace
