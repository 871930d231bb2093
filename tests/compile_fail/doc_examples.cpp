// std: c++17
// flags: -Wsign-conversion -Werror
// expect-clean
// The header doc examples, as written there, compile as C++17 (no designated initialisers).
#include <cstdint>
#include <vector>

#include "posenc/attention.hpp"
#include "posenc/ntk_alibi.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/scaling.hpp"

void rope_example(float* q, float* k, float* q1, float* k1, float* k_f32,
                  posenc::bfloat16_t* k_bf16, std::size_t T, const std::int64_t* pos,
                  std::int64_t step) {
  posenc::rope_config cfg;
  cfg.head_dim = 128;
  cfg.base = 500000.0;
  posenc::rope rope(cfg);
  rope.apply(posenc::make_head_view(q, T, 32, 128), posenc::make_head_view(k, T, 8, 128), pos);
  rope.apply_token(q1, 32, k1, 8, step);                   // one decode step
  rope.apply_to(posenc::make_head_view(k_f32, T, 8, 128),  // k rotated into a bf16 cache
                posenc::make_head_view(k_bf16, T, 8, 128), pos);
  posenc::rope_cache<float> cache(rope, 8192);
}

void ntk_alibi_example() {
  posenc::alibi_config cfg;
  cfg.num_heads = 40;
  posenc::ntk_alibi_slopes ntk;
  ntk.factor = 4.0;  // L_infer / L_train
  posenc::alibi_bias alibi(cfg, ntk);
  (void)alibi;
}

void attention_example(posenc::head_view<float> q1, posenc::head_view<float> k_cache,
                       posenc::head_view<float> v_cache, posenc::head_view<float> out1,
                       const posenc::rope& rope, const posenc::alibi_bias& alibi) {
  posenc::attention_options opt;
  opt.keys_rotated = true;
  posenc::reference_attention(q1, k_cache, v_cache, out1, rope, alibi, opt);  // q1: 1 token
}

// scaling/*.hpp examples, as written there.
void scaling_examples(const std::vector<double>& short_f, const std::vector<double>& long_f) {
  {
    posenc::rope rope({128, 0, 500000.0}, posenc::llama3_scaling{});  // head_dim, r, base
  }
  {
    posenc::longrope_scaling lr{short_f, long_f, 4096, 32.0};
    lr.served_length = 131072;
    posenc::rope rope({96}, lr);  // rope_config{head_dim}
  }
  {
    posenc::yarn_scaling yarn{4.0, 32768};   // factor, original_max_position
    posenc::rope rope({128, 0, 1e6}, yarn);  // attention_factor() 1.1386
  }
  {
    posenc::freq_factors_scaling ff{std::vector<double>(64, 4.0)};  // = linear_scaling{4}
    posenc::rope rope({128}, ff);
  }
  {
    posenc::rope rope({128}, posenc::linear_scaling{4.0});  // vicuna-7b-v1.5-16k
  }
  {
    posenc::rope rope({128}, posenc::ntk_scaling{2.0});  // base 10000 → 20221.3
  }
  {
    posenc::dynamic_ntk_scaling dyn{2.0, 4096, 6000};  // factor, L0, current length
    posenc::rope rope({128}, dyn);                     // rebuild when the sequence grows
  }
}
