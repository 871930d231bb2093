// posenc/tuning.hpp: the per-core prefetch choice, its override, and that the choice changes
// no value (a prefetch is a hint: the streaming kernels give the same bits with it on or off,
// and write nothing outside the caller's views either way).
// SPDX-License-Identifier: Apache-2.0
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/posenc.hpp"

namespace {

// Restores the automatic choice after each test.
class Tuning : public ::testing::Test {
 protected:
  void TearDown() override { posenc::set_prefetch(posenc::prefetch_mode::automatic); }
};

TEST_F(Tuning, OverrideIsObeyed) {
  posenc::set_prefetch(posenc::prefetch_mode::on);
  EXPECT_TRUE(posenc::prefetch_enabled());
  posenc::set_prefetch(posenc::prefetch_mode::off);
  EXPECT_FALSE(posenc::prefetch_enabled());
  posenc::set_prefetch(posenc::prefetch_mode::automatic);
  EXPECT_EQ(posenc::prefetch_enabled(), posenc::detail::prefetch_default());
}

// The automatic choice against the CPU as Linux describes it (/proc/cpuinfo, read here
// independently of CPUID): off on AMD / Hygon from family 25 (0x19: Zen 3, Zen 4; 0x1A: Zen 5),
// on everywhere else.
TEST_F(Tuning, DefaultFollowsVendorAndFamily) {
#if !(defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86))
  // No CPUID: on, whatever the core. (Under qemu-user, /proc/cpuinfo describes the x86 host:
  // reading it here compared an AArch64 build with the host's vendor and family.)
  EXPECT_TRUE(posenc::detail::prefetch_default());
  return;
#endif
  std::ifstream f("/proc/cpuinfo");
  if (!f) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line, vendor;
  int family = -1;
  while (std::getline(f, line) && (vendor.empty() || family < 0)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon + 2 > line.size()) continue;
    if (line.rfind("vendor_id", 0) == 0) vendor = line.substr(colon + 2);
    if (line.rfind("cpu family", 0) == 0) family = std::stoi(line.substr(colon + 2));
  }
  if (vendor.empty() || family < 0) GTEST_SKIP() << "no x86 vendor / family in /proc/cpuinfo";
  const bool amd = vendor == "AuthenticAMD" || vendor == "HygonGenuine";
  EXPECT_EQ(posenc::detail::prefetch_default(), !(amd && family >= 25))
      << vendor << " family " << family;
}

// Runs f with prefetch forced on and forced off over copies of the same input; both results
// must be bit-identical.
template <class T, class F>
void expect_same_bits(const std::vector<T>& input, const F& f) {
  std::vector<T> on = input, off = input;
  posenc::set_prefetch(posenc::prefetch_mode::on);
  f(on.data());
  posenc::set_prefetch(posenc::prefetch_mode::off);
  f(off.data());
  ASSERT_EQ(on.size(), off.size());
  EXPECT_EQ(std::memcmp(on.data(), off.data(), on.size() * sizeof(T)), 0);
  EXPECT_NE(std::memcmp(on.data(), input.data(), on.size() * sizeof(T)), 0);  // f did write
}

std::vector<float> pattern(std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>((i * 2654435761u) % 1000u) / 500.0f - 1.0f;
  return v;
}

// 512 tokens × 32 heads × 128 floats = 8 MiB: the size from which RoPE may prefetch
// (detail::rope_prefetch_min_bytes).
TEST_F(Tuning, RopeSameBitsWithAndWithoutPrefetch) {
  constexpr std::size_t tokens = 512, heads = 32, dim = 128;
  static_assert(tokens * heads * dim * sizeof(float) >= posenc::detail::rope_prefetch_min_bytes,
                "the view must be large enough for the prefetch path");
  posenc::rope_config cfg;
  cfg.head_dim = dim;
  const posenc::rope r(cfg);
  const posenc::rope_cache<float> cache(r, tokens);
  std::vector<std::int64_t> pos(tokens);
  for (std::size_t t = 0; t < tokens; ++t) pos[t] = static_cast<std::int64_t>(t);
  expect_same_bits(pattern(tokens * heads * dim), [&](float* x) {
    cache.apply(posenc::make_head_view(x, tokens, heads, dim), pos.data());
  });
}

// A 128 × 128 tile inside 128 × 512 logits (row stride 512): the ALiBi tile kernel, the
// positioned (BiPE) tile path and the causal fill, with their write hints on and off. The
// columns outside the tile must keep their input values either way.
TEST_F(Tuning, TilesSameBitsWithAndWithoutPrefetch) {
  constexpr std::size_t rows = 128, cols = 128, ld = 512;
  const std::vector<float> input = pattern(rows * ld);
  const posenc::alibi_bias alibi(posenc::alibi_config{8});
  std::vector<std::int32_t> seg(4096);
  for (std::size_t i = 0; i < seg.size(); ++i) seg[i] = static_cast<std::int32_t>(i / 7);
  const auto bipe = posenc::bipe_alibi_bias(std::cref(alibi), seg.data(), seg.size());
  const auto tile = [&](float* x) {
    return posenc::make_logits_view(x + 64, rows, cols, static_cast<std::ptrdiff_t>(ld));
  };
  const auto check_outside = [&](const float* x) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < ld; ++c)
        if (c < 64 || c >= 64 + cols) {
          ASSERT_EQ(x[r * ld + c], input[r * ld + c]) << r << "," << c;
        }
  };
  // all keys visible; then a diagonal tile (half masked)
  for (const std::int64_t k0 : {std::int64_t{1000}, std::int64_t{2000}}) {
    const std::int64_t q0 = 2000;
    expect_same_bits(input, [&](float* x) {
      alibi.add_to(tile(x), 3, q0, k0);
      check_outside(x);
    });
    expect_same_bits(input, [&](float* x) {
      bipe.add_to(tile(x), 3, q0, k0);
      check_outside(x);
    });
  }
}

}  // namespace
