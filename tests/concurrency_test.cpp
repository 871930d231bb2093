// posenc tests — the documented concurrent uses (issue 16): one const rope, rope_cache,
// sinusoidal_embedding / sinusoidal_table and alibi_bias shared by several threads, each thread
// working on its own token range of a shared buffer (how an engine splits prefill) or on its own
// buffers (several sequences). Results must equal the single-threaded ones bit for bit. CI also
// builds this file alone with ThreadSanitizer (.ci/run section "tsan"), which reports any data
// race inside the library. The one non-thread-safe members (rope_cache::reserve,
// sinusoidal_table::reserve, alibi_bias::set_slopes) are called here only before the threads
// start, as documented.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/alibi.hpp>
#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/scaling.hpp>
#include <posenc/sinusoidal.hpp>

namespace {

constexpr unsigned kThreads = 4;

std::vector<float> values(std::size_t n, double seed) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(seed + 0.37 * i));
  return v;
}

/// Runs fn(thread index) on kThreads threads at once and joins them.
void run_threads(const std::function<void(unsigned)>& fn) {
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < kThreads; ++i) ts.emplace_back(fn, i);
  for (std::thread& t : ts) t.join();
}

posenc::token_range share(std::size_t tokens, unsigned i) {
  return posenc::token_range{tokens * i / kThreads, tokens * (i + 1) / kThreads};
}

TEST(Concurrency, SharedRopeAndCacheOverTokenRanges) {
  posenc::rope_config cfg;
  cfg.head_dim = 128;
  cfg.base = 500000.0;
  posenc::llama3_scaling l3;
  l3.factor = 8.0;
  l3.low_freq_factor = 1.0;
  l3.high_freq_factor = 4.0;
  l3.original_max_position = 8192;
  const posenc::rope rope(cfg, l3);
  const posenc::rope_cache<float> cache(rope, 512);  // positions ≥ 512 computed on the fly
  const std::size_t T = 257, Hq = 8, Hk = 2, D = 128;
  std::vector<std::int64_t> pos(T);
  for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int64_t>(3 * t);
  const std::vector<float> q0 = values(T * Hq * D, 0.1), k0 = values(T * Hk * D, 0.7);

  std::vector<float> q_ref = q0, k_ref = k0;
  rope.apply(posenc::make_head_view(q_ref.data(), T, Hq, D),
             posenc::make_head_view(k_ref.data(), T, Hk, D), pos.data());

  for (int use_cache = 0; use_cache < 2; ++use_cache) {
    std::vector<float> q = q0, k = k0;
    run_threads([&](unsigned i) {
      const auto qv = posenc::make_head_view(q.data(), T, Hq, D);
      const auto kv = posenc::make_head_view(k.data(), T, Hk, D);
      if (use_cache) {
        cache.apply(qv, kv, pos.data(), share(T, i));
      } else {
        rope.apply(qv, kv, pos.data(), share(T, i));
      }
    });
    ASSERT_EQ(std::memcmp(q.data(), q_ref.data(), q.size() * sizeof(float)), 0) << use_cache;
    ASSERT_EQ(std::memcmp(k.data(), k_ref.data(), k.size() * sizeof(float)), 0) << use_cache;
  }
}

TEST(Concurrency, SharedCacheSeparateSequences) {
  posenc::rope_config cfg;
  cfg.head_dim = 64;
  cfg.layout = posenc::rope_layout::interleaved;
  const posenc::rope rope(cfg);
  posenc::rope_cache<double> cache(rope, 64);
  cache.reserve(300);  // before the threads: reserve is the one non-thread-safe member
  const std::size_t T = 100, H = 4, D = 64;
  std::vector<std::vector<double>> out(kThreads);
  run_threads([&](unsigned i) {
    std::vector<std::int64_t> pos(T);
    for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int64_t>(t * (i + 1));
    std::vector<double> x(T * H * D);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = std::cos(0.01 * j);
    cache.apply(posenc::make_head_view(x.data(), T, H, D), pos.data());
    cache.apply_inverse(posenc::make_head_view(x.data(), T, H, D), pos.data());
    rope.apply(posenc::make_head_view(x.data(), T, H, D), pos.data());
    out[i] = std::move(x);
  });
  for (unsigned i = 0; i < kThreads; ++i) {
    std::vector<std::int64_t> pos(T);
    for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int64_t>(t * (i + 1));
    std::vector<double> x(T * H * D);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] = std::cos(0.01 * j);
    cache.apply(posenc::make_head_view(x.data(), T, H, D), pos.data());
    cache.apply_inverse(posenc::make_head_view(x.data(), T, H, D), pos.data());
    rope.apply(posenc::make_head_view(x.data(), T, H, D), pos.data());
    ASSERT_EQ(std::memcmp(x.data(), out[i].data(), x.size() * sizeof(double)), 0) << i;
  }
}

TEST(Concurrency, SharedSinusoidalTableAndEmbedding) {
  const posenc::sinusoidal_embedding pe(posenc::sinusoidal_fairseq(96));
  const posenc::sinusoidal_table<float> table(pe, 200);
  const std::size_t T = 301, D = 96;
  std::vector<std::int64_t> pos(T);
  for (std::size_t t = 0; t < T; ++t) pos[t] = static_cast<std::int64_t>(t % 7 == 0 ? 1 : t + 2);
  const std::vector<float> x0 = values(T * D, 0.3);
  std::vector<float> ref = x0;
  pe.add_to(posenc::make_embed_view(ref.data(), T, D), pos.data());
  for (int use_table = 0; use_table < 2; ++use_table) {
    std::vector<float> x = x0;
    run_threads([&](unsigned i) {
      const auto v = posenc::make_embed_view(x.data(), T, D);
      if (use_table) {
        table.add_to(v, pos.data(), share(T, i));
      } else {
        pe.add_to(v, pos.data(), share(T, i));
      }
    });
    ASSERT_EQ(std::memcmp(x.data(), ref.data(), x.size() * sizeof(float)), 0) << use_table;
  }
}

TEST(Concurrency, SharedAlibiRowsAndTiles) {
  posenc::alibi_config cfg;
  cfg.num_heads = 12;
  const posenc::alibi_bias alibi(cfg);
  const std::size_t Q = 64, K = 300;
  const std::vector<float> s0 = values(cfg.num_heads * Q * K, 0.9);
  std::vector<float> ref = s0;
  for (std::size_t h = 0; h < cfg.num_heads; ++h)
    alibi.add_to(posenc::make_logits_view(ref.data() + h * Q * K, Q, K), h,
                 static_cast<std::int64_t>(K - Q), 0);
  std::vector<float> s = s0;
  run_threads([&](unsigned i) {  // heads split across threads; rows of one head by add_to_row
    for (std::size_t h = i; h < cfg.num_heads; h += kThreads)
      for (std::size_t r = 0; r < Q; ++r)
        alibi.add_to_row(h, static_cast<std::int64_t>(K - Q + r), 0, s.data() + (h * Q + r) * K, K);
  });
  ASSERT_EQ(std::memcmp(s.data(), ref.data(), s.size() * sizeof(float)), 0);
}

}  // namespace
