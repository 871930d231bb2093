// A model's config.json → rope + cos/sin cache → rotated q and k of the model's real shape.
//
// Qwen2.5-7B-Instruct with the YaRN block its model card recommends (factor 4 over 32768
// tokens): 28 query heads, 4 KV heads (GQA), head_dim 128, rope_theta 1e6. The config below is
// the public config.json's (tests/data/configs/qwen2.5-7b-instruct-yarn.json); pass a path to
// read another model's file instead:   ./hf_config path/to/config.json
//
// Needs nlohmann/json (CMake target posenc::hf_config).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <posenc/hf_config.hpp>
#include <posenc/posenc.hpp>

namespace {

const char* const qwen25_7b_yarn = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 3584, "num_attention_heads": 28, "num_key_value_heads": 4,
  "num_hidden_layers": 28, "max_position_embeddings": 32768, "max_window_layers": 28,
  "rope_theta": 1000000.0, "sliding_window": 131072, "use_sliding_window": false,
  "rope_scaling": {"factor": 4.0, "original_max_position_embeddings": 32768, "type": "yarn"}
})";

/// q·k of query head h at token tq with its KV head (GQA: heads / kv_heads queries per KV
/// head), times the softmax scale.
double logit(const std::vector<float>& q, const std::vector<float>& k,
             const posenc::hf_rope_spec& s, std::size_t tq, std::size_t tk, std::size_t h) {
  const std::size_t D = s.attention_head_dim, H = s.num_attention_heads;
  const std::size_t KV = s.num_key_value_heads, kvh = h / (H / KV);
  double dot = 0.0;
  for (std::size_t i = 0; i < D; ++i)
    dot += static_cast<double>(q[(tq * H + h) * D + i]) * k[(tk * KV + kvh) * D + i];
  return dot * s.softmax_scale();
}

}  // namespace

int main(int argc, char** argv) try {
  const posenc::hf_rope_spec spec =
      argc > 1 ? posenc::load_hf_config(argv[1]) : posenc::parse_hf_config(qwen25_7b_yarn);
  const posenc::rope rope = spec.make_rope();
  std::printf("%s: rope %s (head_dim %zu, rotary_dim %zu, base %g), attention factor %.6f\n",
              spec.model_type.c_str(), spec.rope_type.c_str(), spec.config.head_dim,
              spec.config.rotary_dim, spec.config.base, rope.attention_factor());
  std::printf("heads %zu, KV heads %zu, q.k head_dim %zu, softmax scale %.8f (x%.6f)\n",
              spec.num_attention_heads, spec.num_key_value_heads, spec.attention_head_dim,
              spec.softmax_scale(), spec.softmax_scale_multiplier());
  std::printf("lengths: max_position_embeddings %zu (HF), served %zu (vLLM), sliding window %zu\n",
              spec.max_position_embeddings, spec.served_max_position, spec.sliding_window);
  if (spec.num_attention_heads == 0 || spec.attention_head_dim != spec.config.head_dim) {
    std::printf("(no heads in this config, or MLA: the q/k demo below needs a plain GQA model)\n");
    return 0;
  }

  // One table for every layer, sized for a 4096-token prompt; later positions (decode at
  // 100000) are computed on the fly by the same kernels: the same values, never a stale read.
  const posenc::rope_cache<float> cache(rope, 4096);
  const std::size_t T = 2, H = spec.num_attention_heads, KV = spec.num_key_value_heads;
  const std::size_t D = spec.config.head_dim;
  std::vector<float> q(T * H * D), k(T * KV * D);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * static_cast<float>(i));
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = std::cos(0.11f * static_cast<float>(i));
  std::vector<float> q_far = q, k_far = k;
  const std::int32_t near_pos[T] = {10, 0};          // query 10 tokens after the key ...
  const std::int32_t far_pos[T] = {100010, 100000};  // ... the same offset at 100000
  cache.apply(posenc::make_head_view(q.data(), T, H, D), near_pos);
  cache.apply(posenc::make_head_view(k.data(), T, KV, D), near_pos);
  cache.apply(posenc::make_head_view(q_far.data(), T, H, D), far_pos);
  cache.apply(posenc::make_head_view(k_far.data(), T, KV, D), far_pos);

  // Relative positions survive the scaling: each head's logit depends on the offset only.
  double worst = 0.0;
  for (std::size_t h = 0; h < H; ++h) {
    const double a = logit(q, k, spec, 0, 1, h), b = logit(q_far, k_far, spec, 0, 1, h);
    worst = std::fmax(worst, std::fabs(a - b) / (1.0 + std::fabs(a)));
    if (h % 7 == 0)
      std::printf("  head %2zu (KV head %zu): logit %+.6f vs %+.6f\n", h, h / (H / KV), a, b);
  }
  std::printf("largest relative difference over %zu heads: %.2e\n", H, worst);
  return worst <= 1e-3 ? 0 : 1;  // float rounding of q and k, far below any signal
} catch (const std::exception& e) {
  std::fprintf(stderr, "hf_config: %s\n", e.what());
  return 1;
}
