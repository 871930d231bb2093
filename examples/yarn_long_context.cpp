// YaRN for a long context: Qwen2.5-7B (head_dim 128, rope_theta 1e6) extended 4x over its
// 32768-token pre-training length, as its model card recommends (rope_scaling {"type": "yarn",
// "factor": 4.0, "original_max_position_embeddings": 32768}).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <posenc/posenc.hpp>

int main() {
  posenc::rope_config cfg;
  cfg.head_dim = 128;
  cfg.base = 1e6;
  posenc::yarn_scaling yarn;  // HF transformers semantics; yarn_variant::llama_cpp for llama.cpp's
  yarn.factor = 4.0;
  yarn.original_max_position = 32768;
  const posenc::rope rope(cfg, yarn);  // frequencies computed once, in double

  // What YaRN does: pairs below the correction range keep their frequency (extrapolation),
  // pairs above it are divided by the factor (interpolation), a linear ramp in between; cos and
  // sin are multiplied by the attention factor 0.1 ln(s) + 1, so q.k logits scale by its square.
  const auto range = yarn.correction_range(rope.dims());
  std::printf("correction range [%g, %g], attention factor %.10f (logits x%.6f)\n", range.low,
              range.high, rope.attention_factor(),
              rope.attention_factor() * rope.attention_factor());
  const posenc::rope plain(cfg);
  for (std::size_t k : {0u, 16u, 32u, 48u, 63u})
    std::printf("  pair %2zu: wavelength %12.1f -> %12.1f tokens\n", k,
                posenc::wavelength(plain.inv_freq(k)), posenc::wavelength(rope.inv_freq(k)));

  // Rotate q and k at positions far beyond 32768 (on the fly; a posenc::rope_cache<float>(rope,
  // 131072) table shared by every layer gives the same values).
  const std::size_t tokens = 2, heads = 1, D = 128;
  std::vector<float> q(tokens * heads * D), k(tokens * heads * D);
  for (std::size_t i = 0; i < q.size(); ++i) {
    q[i] = std::sin(0.37f * static_cast<float>(i));
    k[i] = std::cos(0.11f * static_cast<float>(i));
  }
  std::vector<float> q0 = q, k0 = k;
  const std::int32_t far[tokens] = {120000, 119990};  // query 10 tokens after the key ...
  const std::int32_t near[tokens] = {10, 0};          // ... and the same offset at the start
  rope.apply(posenc::make_head_view(q.data(), tokens, heads, D),
             posenc::make_head_view(k.data(), tokens, heads, D), far);
  rope.apply(posenc::make_head_view(q0.data(), tokens, heads, D),
             posenc::make_head_view(k0.data(), tokens, heads, D), near);
  double s_far = 0, s_near = 0;
  for (std::size_t i = 0; i < D; ++i) {
    s_far += static_cast<double>(q[i]) * k[D + i];  // q at token 0 with k at token 1
    s_near += static_cast<double>(q0[i]) * k0[D + i];
  }
  std::printf("q.k at offset 10: positions 120000/119990 -> %.6f, positions 10/0 -> %.6f\n", s_far,
              s_near);
  // Relative positions survive the scaling: the two logits agree to float rounding.
  return std::fabs(s_far - s_near) <= 1e-3 * (1.0 + std::fabs(s_near)) ? 0 : 1;
}
