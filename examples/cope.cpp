// CoPE (contextual position encoding) through a prefill and 32 decode steps over a KV cache.
//
// Every step is checked two ways:
//  1. reference_attention with the one new query over the cache equals, bit for bit, the last
//     row of the full recomputation (all queries so far over all keys): nothing about positions
//     is carried between steps, every key's position depends on the current query;
//  2. an engine-style decode in float — logits z_j = q·k_j/√d over the cache, then
//     cope_bias::add_to_row (gates, reverse scan, clamp, interpolation in one pass), softmax,
//     V — agrees with the double reference to float rounding.
// SPDX-License-Identifier: Apache-2.0
#include "posenc/cope.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "posenc/attention.hpp"

namespace {
constexpr std::size_t H = 4, HKV = 2, D = 32, NPOS = 16, PROMPT = 40, STEPS = 32;

float pattern(std::size_t i, float gain) {
  return gain * std::sin(0.7f * static_cast<float>(i) + 0.3f * static_cast<float>(i % 7));
}
}  // namespace

int main() {
  const std::size_t T = PROMPT + STEPS;
  std::vector<float> q(T * H * D), k(T * HKV * D), v(T * HKV * D), E(D * NPOS);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = pattern(i, 0.9f) + 0.2f;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = pattern(3 * i + 1, 0.9f) + 0.2f;
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = pattern(5 * i + 2, 1.0f);
  for (std::size_t i = 0; i < E.size(); ++i) E[i] = pattern(7 * i + 3, 0.5f);

  // One table E [D × NPOS] shared by the heads (the paper's default).
  const posenc::cope_bias<float> cope{posenc::make_head_view(E.data(), D, 1, NPOS), {NPOS}};

  // Prefill of the prompt.
  std::vector<double> out(PROMPT * H * D);
  posenc::reference_attention(posenc::make_head_view(q.data(), PROMPT, H, D),
                              posenc::make_head_view(k.data(), PROMPT, HKV, D),
                              posenc::make_head_view(v.data(), PROMPT, HKV, D),
                              posenc::make_head_view(out.data(), PROMPT, H, D),
                              posenc::identity_rotation{}, cope);

  std::vector<float> logits(T), scratch(cope.contextual_scratch());
  double worst_engine = 0;
  int failures = 0;
  for (std::size_t t = PROMPT; t < T; ++t) {  // token t: its k, v join the cache
    const std::size_t n = t + 1;
    std::vector<double> step(H * D), full(n * H * D);
    posenc::reference_attention(
        posenc::make_head_view(q.data() + t * H * D, 1, H, D),
        posenc::make_head_view(k.data(), n, HKV, D), posenc::make_head_view(v.data(), n, HKV, D),
        posenc::make_head_view(step.data(), 1, H, D), posenc::identity_rotation{}, cope);
    posenc::reference_attention(
        posenc::make_head_view(q.data(), n, H, D), posenc::make_head_view(k.data(), n, HKV, D),
        posenc::make_head_view(v.data(), n, HKV, D), posenc::make_head_view(full.data(), n, H, D),
        posenc::identity_rotation{}, cope);
    for (std::size_t i = 0; i < H * D; ++i)
      if (step[i] != full[t * H * D + i]) {
        std::printf("step %zu: decode %g != full recomputation %g\n", t, step[i],
                    full[t * H * D + i]);
        ++failures;
        break;
      }

    // Engine-style float decode over the cache.
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (std::size_t h = 0; h < H; ++h) {
      const std::size_t g = h / (H / HKV);
      const float* qh = q.data() + (t * H + h) * D;
      for (std::size_t j = 0; j < n; ++j) {
        float dot = 0;
        for (std::size_t i = 0; i < D; ++i) dot += qh[i] * k[(j * HKV + g) * D + i];
        logits[j] = scale * dot;
      }
      cope.add_to_row(h, g, qh, scale, logits.data(), n, scratch.data());
      const float mx = *std::max_element(logits.begin(), logits.begin() + static_cast<long>(n));
      double sum = 0;
      std::vector<double> o(D, 0.0);
      for (std::size_t j = 0; j < n; ++j) {
        const double p = std::exp(static_cast<double>(logits[j] - mx));
        sum += p;
        for (std::size_t i = 0; i < D; ++i) o[i] += p * v[(j * HKV + g) * D + i];
      }
      for (std::size_t i = 0; i < D; ++i)
        worst_engine = std::max(worst_engine, std::fabs(o[i] / sum - step[h * D + i]));
    }
  }
  // Float (u = 2^-24) against double: a logit q·k/√d within (D + 1)·u·Σ|q_i k_i|/√d ≲ 1.4e-5
  // here (|q|, |k| ≤ 1.1, D = 32); a position, a sum of up to 72 gates ≤ 16, within
  // 72·u·16 ≈ 7e-5, times the largest step of e = q·E (≲ 1); softmax weights move by at most
  // twice the logit error, outputs (|v| ≤ 1) likewise: 1e-4.
  const double engine_tol = 1e-4;
  std::printf("CoPE: prompt %zu, %zu decode steps, %zu heads (%zu kv), d = %zu, npos_max = %zu\n",
              PROMPT, STEPS, H, HKV, D, NPOS);
  std::printf("decode == full recomputation (bit for bit): %s\n", failures ? "NO" : "yes");
  std::printf("float engine decode vs double reference: max |diff| = %.3g (tolerance %.0e)\n",
              worst_engine, engine_tol);
  std::printf("out[prompt-1, head 0, 0..3] = %.6f %.6f %.6f %.6f\n", out[(PROMPT - 1) * H * D + 0],
              out[(PROMPT - 1) * H * D + 1], out[(PROMPT - 1) * H * D + 2],
              out[(PROMPT - 1) * H * D + 3]);
  return failures == 0 && worst_engine <= engine_tol ? 0 : 1;
}
