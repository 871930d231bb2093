// posenc demo: RoPE through a prefill + decode loop over a KV cache, as an inference engine
// would run it, with a check that the positions came out right and how fast each step was.
//
//   bash scripts/demo.sh            (or: build/examples/demo [prompt_tokens] [decode_steps])
//
// Model shape: Llama-3-8B attention (32 query heads, 8 KV heads, head_dim 128, theta 500000,
// 32 layers). Each layer rotates the new tokens' q and k; k goes into a [max_tokens × 8 × 128]
// KV cache, whose keys keep the rotation of their own position.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include <posenc/posenc.hpp>

namespace {

constexpr std::size_t kLayers = 32, kQHeads = 32, kKvHeads = 8, kDim = 128;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// q·k of one query head and one cached key head, as attention would compute it.
double dot(const float* a, const float* b) {
  double s = 0;
  for (std::size_t i = 0; i < kDim; ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t prompt = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2048;
  const std::size_t steps = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 128;
  const std::size_t max_tokens = prompt + steps;

  posenc::rope_config cfg;
  cfg.head_dim = kDim;
  cfg.base = 500000.0;
  const posenc::rope rope(cfg);
  const auto t_cache = std::chrono::steady_clock::now();
  posenc::rope_cache<float> cache(rope, max_tokens);  // built once, shared by all layers
  std::printf("posenc %d.%d.%d on %s | rope: head_dim %zu, theta %.0f, %s pairs\n",
              POSENC_VERSION_MAJOR, POSENC_VERSION_MINOR, POSENC_VERSION_PATCH, posenc::arch_name(),
              kDim, cfg.base, "half-split");
  std::printf("cos/sin cache: %zu positions, %.1f MiB, built in %.2f ms\n", cache.capacity(),
              static_cast<double>(cache.bytes()) / (1 << 20), 1e3 * seconds_since(t_cache));

  // Inputs: every token's q and k head vectors are the same unit vector, so after RoPE the
  // score q(m)·k(n) must depend only on m − n: the demo checks that at the end.
  std::vector<float> kv_cache(max_tokens * kKvHeads * kDim);
  std::vector<float> q(prompt * kQHeads * kDim), k(prompt * kKvHeads * kDim);
  auto fill = [](std::vector<float>& v) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::cos(0.1f * static_cast<float>(i % kDim));
  };

  // Prefill: all prompt tokens at positions 0..prompt−1, every layer.
  std::vector<std::int32_t> pos(prompt);
  std::iota(pos.begin(), pos.end(), 0);
  double t_prefill = 0;
  for (std::size_t layer = 0; layer < kLayers; ++layer) {
    fill(q);
    fill(k);
    const auto t0 = std::chrono::steady_clock::now();
    cache.apply(posenc::make_head_view(q.data(), prompt, kQHeads, kDim),
                posenc::make_head_view(k.data(), prompt, kKvHeads, kDim), pos.data());
    t_prefill += seconds_since(t0);
    if (layer == 0) std::copy(k.begin(), k.end(), kv_cache.begin());  // keep layer 0's keys
  }
  const double prefill_bytes = static_cast<double>((q.size() + k.size()) * sizeof(float)) * kLayers;
  std::printf("prefill: %zu tokens x %zu layers in %.2f ms (%.1f GB/s of q+k rotated in place)\n",
              prompt, kLayers, 1e3 * t_prefill, prefill_bytes / t_prefill / 1e9);

  // Decode: one token per step at position prompt + s, its key appended to the KV cache.
  std::vector<float> q1(kQHeads * kDim), k1(kKvHeads * kDim);
  double t_decode = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::int64_t p = static_cast<std::int64_t>(prompt + s);
    for (std::size_t layer = 0; layer < kLayers; ++layer) {
      fill(q1);
      fill(k1);
      const auto t0 = std::chrono::steady_clock::now();
      cache.apply(posenc::make_head_view(q1.data(), 1, kQHeads, kDim),
                  posenc::make_head_view(k1.data(), 1, kKvHeads, kDim), &p);
      t_decode += seconds_since(t0);
      if (layer == 0)
        std::copy(k1.begin(), k1.end(),
                  kv_cache.begin() + static_cast<std::ptrdiff_t>((prompt + s) * kKvHeads * kDim));
    }
  }
  std::printf("decode: %zu steps x %zu layers, %.0f ns per layer step (q 32x128 + k 8x128)\n",
              steps, kLayers, 1e9 * t_decode / static_cast<double>(steps * kLayers));

  // The same decode step computed on the fly (no table), for comparison.
  {
    const std::int64_t p = static_cast<std::int64_t>(max_tokens + 100000);  // beyond the cache
    const int reps = 2000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i)
      rope.apply(posenc::make_head_view(q1.data(), 1, kQHeads, kDim),
                 posenc::make_head_view(k1.data(), 1, kKvHeads, kDim), &p);
    std::printf("decode on the fly (angles computed, no table): %.0f ns per layer step\n",
                1e9 * seconds_since(t0) / reps);
  }

  // Check: the last query (position max_tokens−1) against cached keys at distances 0, 1, 7:
  // the scores must equal those of a fresh query/key pair at positions (d, 0).
  fill(q1);
  const std::int64_t last = static_cast<std::int64_t>(max_tokens - 1);
  cache.apply(posenc::make_head_view(q1.data(), 1, kQHeads, kDim), &last);
  double worst = 0;
  for (std::int64_t d : {0, 1, 7}) {
    const double cached_score =
        dot(q1.data(), &kv_cache[static_cast<std::size_t>(last - d) * kKvHeads * kDim]);
    std::vector<float> qa(kDim), ka(kDim);
    for (std::size_t i = 0; i < kDim; ++i) qa[i] = ka[i] = std::cos(0.1f * static_cast<float>(i));
    const std::int64_t pq = d, pk = 0;
    rope.apply_one(qa.data(), pq);
    rope.apply_one(ka.data(), pk);
    const double fresh = dot(qa.data(), ka.data());
    worst = std::max(worst, std::fabs(cached_score - fresh));
    std::printf("  score at distance %lld: cached %.6f, fresh %.6f\n", static_cast<long long>(d),
                cached_score, fresh);
  }
  const bool ok = worst < 1e-3;
  std::printf("relative-position check: max |difference| %.2e -> %s\n", worst,
              ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
