// ALiBi in an engine's attention loop: the bias is added to each score tile while it is in
// cache (never a T×T matrix), a decode step adds it to one row at the cache position, and
// dynamic NTK-ALiBi rescales the slopes when the context outgrows the training length.
// The result is checked against posenc::reference_attention.
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "posenc/posenc.hpp"

int main() {
  constexpr std::size_t heads = 12, dim = 32, tokens = 96, tile = 32;

  // 12 heads: the non-power-of-two rule gives 2^-1 … 2^-8, then 2^-0.5, 2^-1.5, …
  const posenc::alibi_bias alibi({heads});  // causal, relative form, max_bias 8
  std::printf("slopes:");
  for (std::size_t h = 0; h < heads; ++h) std::printf(" %.6g", alibi.slope(h));
  std::printf("\n");

  // Some q, k, v ([tokens][heads][dim]).
  std::vector<float> q(tokens * heads * dim), k(q.size()), v(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    q[i] = std::sin(0.37f * static_cast<float>(i));
    k[i] = std::cos(0.11f * static_cast<float>(i));
    v[i] = std::sin(0.05f * static_cast<float>(i) + 1.0f);
  }

  // A toy tiled attention for head h: scores for a [tile × tile] block, bias added per tile,
  // then softmax and weighted sum row by row (two passes over the row's tiles, for brevity).
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  std::vector<float> out(q.size());
  std::vector<float> row(tokens);
  std::vector<float> s(tile * tokens);
  for (std::size_t h = 0; h < heads; ++h) {
    for (std::size_t i0 = 0; i0 < tokens; i0 += tile) {
      for (std::size_t j0 = 0; j0 < tokens; j0 += tile) {
        float* blk = s.data() + j0;  // rows of the q tile, columns j0 … j0 + tile
        for (std::size_t r = 0; r < tile; ++r)
          for (std::size_t c = 0; c < tile; ++c) {
            float dot = 0;
            for (std::size_t d = 0; d < dim; ++d)
              dot += q[((i0 + r) * heads + h) * dim + d] * k[((j0 + c) * heads + h) * dim + d];
            blk[r * tokens + c] = scale * dot;
          }
        // The bias of this tile (and the causal mask): query i0 + r, key j0 + c.
        alibi.add_to(posenc::make_logits_view(blk, tile, tile, tokens), h,
                     static_cast<std::int64_t>(i0), static_cast<std::int64_t>(j0));
      }
      for (std::size_t r = 0; r < tile; ++r) {
        const float* sr = s.data() + r * tokens;
        const float mx = *std::max_element(sr, sr + tokens);
        float sum = 0;
        for (std::size_t j = 0; j < tokens; ++j) sum += (row[j] = std::exp(sr[j] - mx));
        for (std::size_t d = 0; d < dim; ++d) {
          float acc = 0;
          for (std::size_t j = 0; j < tokens; ++j) acc += row[j] * v[(j * heads + h) * dim + d];
          out[((i0 + r) * heads + h) * dim + d] = acc / sum;
        }
      }
    }
  }

  // The same attention, exactly (double accumulation), through posenc::reference_attention.
  std::vector<float> ref(q.size());
  posenc::reference_attention(posenc::make_head_view(q.data(), tokens, heads, dim),
                              posenc::make_head_view(k.data(), tokens, heads, dim),
                              posenc::make_head_view(v.data(), tokens, heads, dim),
                              posenc::make_head_view(ref.data(), tokens, heads, dim),
                              posenc::identity_rotation{}, alibi);
  double err = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    err = std::max(err, double(std::fabs(out[i] - ref[i])));
  std::printf("tiled float attention vs reference_attention: max |diff| = %.3g\n", err);

  // Decode: the next token sits at position `tokens` (the cache length); its scores against
  // the cached keys 0 … tokens get the bias of one row.
  std::vector<float> scores(tokens + 1, 0.0f);
  alibi.add_to_row(0, static_cast<std::int64_t>(tokens), 0, scores.data(), scores.size());
  std::printf("decode row, head 0: bias of the last 3 keys: %g %g %g\n", scores[tokens - 2],
              scores[tokens - 1], scores[tokens]);

  // Dynamic NTK-ALiBi: past the training length (2048) the slopes are rescaled each step.
  posenc::alibi_bias dyn({heads});
  const posenc::sum_bias with_window{std::cref(dyn), posenc::causal_mask{4096}};
  for (std::size_t len : {1024u, 4096u, 8192u}) {
    dyn.set_slopes(posenc::ntk_alibi_slopes{posenc::dynamic_alibi_factor(1.0, len, 2048)});
    std::printf("length %5zu: slope of head 7 = %.6g (window bias at distance 10: %g)\n", len,
                dyn.slope(7), with_window.value<float>(7, 5000, 4990));
  }
  return err < 1e-4 ? 0 : 1;
}
