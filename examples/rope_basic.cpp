// The README's first example: RoPE on q and k of 4 tokens, with GQA and a shared cos/sin cache.
#include <cstdio>
#include <vector>

#include <posenc/posenc.hpp>

int main() {
  posenc::rope_config cfg;  // Llama-3-style: head_dim 128, theta 500000, HF half-split pairs
  cfg.head_dim = 128;
  cfg.base = 500000.0;
  const posenc::rope rope(cfg);
  posenc::rope_cache<float> cache(rope, 8192);  // cos/sin table, shared by every layer

  const std::size_t tokens = 4, q_heads = 32, kv_heads = 8;
  std::vector<float> q(tokens * q_heads * 128, 1.0f), k(tokens * kv_heads * 128, 1.0f);
  const std::int32_t pos[tokens] = {0, 1, 2, 3};  // any per-token positions (KV offsets, packing)
  cache.apply(posenc::make_head_view(q.data(), tokens, q_heads, 128),   // [tokens][heads][dim]
              posenc::make_head_view(k.data(), tokens, kv_heads, 128),  // in place, one pass
              pos);
  std::printf("token 1, head 0: (%.6f, %.6f) on %s\n", q[q_heads * 128], q[q_heads * 128 + 64],
              posenc::arch_name());
}
