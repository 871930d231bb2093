// BiPE in generation: prefill a prompt of several sentences, then decode 32 tokens over a KV
// cache, with BiPE-RoPE (RoPE over segment indices + a sinusoidal intra-segment encoding) and
// with BiPE-ALiBi (ALiBi over segment distance, causal over tokens). The streaming segmenter
// extends the segment indices token by token; every decode step is checked against a full
// recomputation of the sequence so far (bit for bit: the decode row is the same row).
// SPDX-License-Identifier: Apache-2.0
#include "posenc/bipe.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "posenc/posenc.hpp"

namespace {
constexpr std::size_t H = 8, D = 64, prompt = 40, steps = 32, total = prompt + steps;
constexpr std::int32_t period = 869, newline = 13;  // the released code's delimiters

// A toy "model": q, k, v of token t are a fixed function of its id and index.
void qkv(std::int32_t id, std::size_t t, float* q, float* k, float* v) {
  for (std::size_t i = 0; i < H * D; ++i) {
    const float a = static_cast<float>(id % 97) * 0.013f + static_cast<float>(t) * 0.002f;
    q[i] = std::sin(a + 0.37f * static_cast<float>(i));
    k[i] = std::cos(a * 1.3f + 0.11f * static_cast<float>(i));
    v[i] = std::sin(a * 0.7f + 0.05f * static_cast<float>(i));
  }
}
std::int32_t next_id(std::size_t t) {  // sentences of 5–11 tokens, a newline now and then
  if (t % 7 == 6) return period;
  if (t % 23 == 22) return newline;
  return static_cast<std::int32_t>(100 + (t * 7919) % 30000);
}
}  // namespace

int main() {
  const posenc::bipe_segmenter seg(posenc::bipe_segmenter::config{{period, newline}, 1023});
  posenc::rope_config rc;
  rc.head_dim = D;
  const posenc::rope_cache<float> rope(posenc::rope(rc), 4096);  // positions are segments
  posenc::sinusoidal_config sc;
  sc.dim = H * D;
  const posenc::sinusoidal_embedding intra_pe(sc);
  const posenc::alibi_bias alibi = posenc::make_bipe_alibi({H});  // slopes × 96

  std::vector<std::int32_t> ids, segs, intra;
  std::vector<float> q(total * H * D), k(q.size()), v(q.size()), kc_rope(q.size());
  posenc::bipe_segmenter::state st;
  int mismatches = 0;

  for (std::size_t t = 0; t < total; ++t) {
    // Prefill feeds the prompt in one chunk; decode feeds one token per step.
    const std::size_t n = t == 0 ? prompt : 1;
    for (std::size_t i = 0; i < n; ++i) ids.push_back(next_id(t + i));
    segs.resize(t + n);
    intra.resize(t + n);
    seg.segment(ids.data() + t, n, segs.data() + t, intra.data() + t, st);
    for (std::size_t i = t; i < t + n; ++i)
      qkv(ids[i], i, &q[i * H * D], &k[i * H * D], &v[i * H * D]);
    // Intra-segment absolute encoding on q and k of the new tokens (a stand-in for adding it
    // to the token embeddings before the projections).
    intra_pe.add_to(posenc::make_embed_view(&q[t * H * D], n, H * D), intra.data() + t);
    intra_pe.add_to(posenc::make_embed_view(&k[t * H * D], n, H * D), intra.data() + t);
    // BiPE-RoPE: the KV cache stores keys rotated by their segment index.
    std::memcpy(&kc_rope[t * H * D], &k[t * H * D], n * H * D * sizeof(float));
    rope.apply(posenc::make_head_view(&kc_rope[t * H * D], n, H, D), segs.data() + t);
    if (t == 0) {
      t += prompt - 1;
      continue;
    }
    const std::size_t L = t + 1;  // keys in the cache, the new token included
    posenc::attention_options opt;
    opt.keys_rotated = true;
    std::vector<float> out_r(H * D), out_a(H * D), full(L * H * D);
    // Decode step, BiPE-RoPE: q rotated by its segment, keys read from the rotated cache.
    posenc::reference_attention(
        posenc::make_head_view(&q[t * H * D], 1, H, D),
        posenc::make_head_view(kc_rope.data(), L, H, D), posenc::make_head_view(v.data(), L, H, D),
        posenc::make_head_view(out_r.data(), 1, H, D),
        posenc::bipe_rope(rope, segs.data(), segs.size()), posenc::no_bias{}, opt);
    // Full recomputation from the unrotated keys.
    posenc::reference_attention(
        posenc::make_head_view(q.data(), L, H, D), posenc::make_head_view(k.data(), L, H, D),
        posenc::make_head_view(v.data(), L, H, D), posenc::make_head_view(full.data(), L, H, D),
        posenc::bipe_rope(rope, segs.data(), segs.size()));
    mismatches += std::memcmp(out_r.data(), &full[t * H * D], H * D * sizeof(float)) != 0;
    // Decode step, BiPE-ALiBi (no rotation): ALiBi at segment indices, causal over tokens.
    const auto bias = posenc::bipe_alibi_bias(std::cref(alibi), segs.data(), segs.size());
    posenc::reference_attention(
        posenc::make_head_view(&q[t * H * D], 1, H, D), posenc::make_head_view(k.data(), L, H, D),
        posenc::make_head_view(v.data(), L, H, D), posenc::make_head_view(out_a.data(), 1, H, D),
        posenc::identity_rotation{}, bias);
    posenc::reference_attention(
        posenc::make_head_view(q.data(), L, H, D), posenc::make_head_view(k.data(), L, H, D),
        posenc::make_head_view(v.data(), L, H, D), posenc::make_head_view(full.data(), L, H, D),
        posenc::identity_rotation{}, bias);
    mismatches += std::memcmp(out_a.data(), &full[t * H * D], H * D * sizeof(float)) != 0;
    if (t + 1 == total)
      std::printf(
          "token %zu: segment %d, intra %d; BiPE-RoPE out[0] %.6f, BiPE-ALiBi out[0] %.6f\n", t,
          segs[t], intra[t], out_r[0], out_a[0]);
  }
  std::printf(
      "%zu prompt tokens in %d segments, %zu decode steps: %d mismatches against the "
      "full recomputation\n",
      prompt, segs[prompt - 1] + 1, steps, mismatches);
  return mismatches == 0 ? 0 : 1;
}
