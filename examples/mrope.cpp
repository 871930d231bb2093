// M-RoPE for a vision-language model: a text + image prompt laid out as Qwen2.5-VL lays it out
// (3-D position ids from posenc::mrope_position_ids, HF's get_rope_index rules), prefill of q
// and k through an mrope_cache, then decode steps that append rotated keys to a KV cache; and
// where llama.cpp's IMROPE (ggml, four position axes) and HF's Qwen3-VL M-RoPE part ways.
#include <cmath>
#include <cstdio>
#include <vector>

#include <posenc/mrope.hpp>

int main() {
  // Qwen2.5-VL-7B text model: head_dim 128, rope_theta 1e6, mrope_section [16, 24, 24];
  // 28 query heads, 4 KV heads.
  posenc::rope_config cfg;
  cfg.head_dim = 128;
  cfg.base = 1000000.0;
  const posenc::mrope mrope(posenc::rope(cfg), {16, 24, 24}, posenc::mrope_mode::sectioned);
  const posenc::mrope_cache<float> cache(mrope, 4096);  // shared by every layer

  // "<|im_start|>user\n<|vision_start|>" [image 16×24 patches, merge 2 → 8×12 tokens]
  // "<|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n"
  posenc::mrope_index_options opt;
  opt.spatial_merge_size = 2;
  opt.tokens_per_second = 2.0;  // Qwen2.5-VL vision_config.tokens_per_second
  const std::vector<posenc::mrope_item> prompt = {posenc::mrope_item::text(4),
                                                  posenc::mrope_item::image(1, 16, 24),
                                                  posenc::mrope_item::text(12)};
  std::vector<std::int64_t> pos;  // [tokens × 3]: t, h, w
  std::int64_t next = posenc::mrope_position_ids(prompt, opt, pos);
  const std::size_t n = pos.size() / 3, hq = 28, hkv = 4, d = 128, steps = 4;
  std::printf(
      "prompt: %zu tokens; image tokens at t=%lld, h %lld..%lld, w %lld..%lld; "
      "first text token after the image at %lld; decode starts at %lld\n",
      n, static_cast<long long>(pos[3 * 4]), static_cast<long long>(pos[3 * 4 + 1]),
      static_cast<long long>(pos[3 * (4 + 95) + 1]), static_cast<long long>(pos[3 * 4 + 2]),
      static_cast<long long>(pos[3 * (4 + 95) + 2]), static_cast<long long>(pos[3 * 100]),
      static_cast<long long>(next));

  // Prefill: q [n × 28 × 128], k [n × 4 × 128] rotated in one pass; k goes to the KV cache.
  std::vector<float> q(n * hq * d), kv_cache((n + steps) * hkv * d);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.001f * static_cast<float>(i));
  for (std::size_t i = 0; i < n * hkv * d; ++i)
    kv_cache[i] = std::cos(0.002f * static_cast<float>(i));
  cache.apply(posenc::make_head_view(q.data(), n, hq, d),
              posenc::make_head_view(kv_cache.data(), n, hkv, d),
              posenc::make_mrope_positions(pos.data()));

  // Decode: each new token is text, at (next, next, next), then +1 per step. With equal axes
  // M-RoPE is 1-D RoPE: check it against the plain rope on the same key.
  int mismatches = 0;
  std::vector<float> q1(hq * d);
  for (std::size_t s = 0; s < steps; ++s, ++next) {
    float* k_new = kv_cache.data() + (n + s) * hkv * d;
    for (std::size_t i = 0; i < hkv * d; ++i)
      k_new[i] = std::cos(0.003f * static_cast<float>(i + s));
    for (std::size_t i = 0; i < hq * d; ++i) q1[i] = std::sin(0.004f * static_cast<float>(i + s));
    std::vector<float> k_check(k_new, k_new + hkv * d);
    const std::int64_t p3[3] = {next, next, next};
    cache.apply(posenc::make_head_view(q1.data(), 1, hq, d),
                posenc::make_head_view(k_new, 1, hkv, d), posenc::make_mrope_positions(p3));
    mrope.frequencies().apply(posenc::make_head_view(k_check.data(), 1, hkv, d), &next);
    for (std::size_t i = 0; i < hkv * d; ++i) mismatches += k_check[i] != k_new[i];
    // score of query head 0 against the first image key (KV head 0), as attention would
    double score = 0;
    for (std::size_t c = 0; c < d; ++c) score += q1[c] * kv_cache[4 * hkv * d + c];
    std::printf("decode step %zu at position %lld: q0·k(image token 0) = %.6f\n", s,
                static_cast<long long>(next), score);
  }
  std::printf("decode keys equal 1-D RoPE: %s on %s\n", mismatches == 0 ? "yes" : "NO",
              posenc::arch_name());

  // The same prompt's keys under Qwen3-VL's interleaved M-RoPE as HF computes it and as
  // llama.cpp does (ggml IMROPE, sections {24, 20, 20, 0}, the fourth axis e = 0 for every
  // token): only channels of pairs 61 and 62 differ.
  posenc::rope_config q3;
  q3.head_dim = 128;
  q3.base = 5000000.0;
  const posenc::mrope hf(posenc::rope(q3), {24, 20, 20}, posenc::mrope_mode::interleaved);
  const posenc::mrope gg =
      posenc::mrope::ggml(posenc::rope(q3), {24, 20, 20, 0}, posenc::ggml_rope_mode::imrope);
  std::vector<std::int64_t> pos4;  // [tokens × 4]: t, h, w, e = 0 (llama.cpp)
  for (std::size_t t = 0; t < n; ++t)
    pos4.insert(pos4.end(), {pos[3 * t], pos[3 * t + 1], pos[3 * t + 2], 0});
  std::vector<float> ka(n * hkv * d), kb;
  for (std::size_t i = 0; i < ka.size(); ++i) ka[i] = std::cos(0.002f * static_cast<float>(i));
  kb = ka;
  hf.apply(posenc::make_head_view(ka.data(), n, hkv, d), posenc::make_mrope_positions(pos.data()));
  gg.apply(posenc::make_head_view(kb.data(), n, hkv, d),
           posenc::make_mrope_positions(pos4.data(), 4));
  double worst = 0;
  std::size_t channels = 0;
  for (std::size_t i = 0; i < ka.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(ka[i]) - kb[i]);
    worst = diff > worst ? diff : worst;
    if (diff > 0 && i >= (n - 1) * hkv * d && i < (n - 1) * hkv * d + d) ++channels;
  }
  std::printf(
      "Qwen3-VL keys, HF vs llama.cpp IMROPE: max |diff| %.3g, %zu of %zu channels of "
      "the last token's first head differ (pairs %zu and %zu take axis e)\n",
      worst, channels, d, std::size_t{61}, std::size_t{62});
  return mismatches == 0 ? 0 : 1;
}
