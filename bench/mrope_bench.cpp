// M-RoPE apply (include/posenc/mrope.hpp) against 1-D RoPE apply on the same shapes, both from a
// cos/sin table (rope_cache / mrope_cache), f32 and bf16, half-split:
//   rope/…            1-D RoPE, positions 0..n−1 (decode: position 3000)
//   mrope_text/…      M-RoPE, every token with equal axes (text): reads the row in place
//   mrope_image/…     M-RoPE, image tokens (axes differ: t fixed, h/w over a 64-wide grid): the
//                     row is gathered per token from three table rows (kernels::select_axis)
// Shapes [tokens × 32 heads × 128]: decode 1, prefill 512 and 4096. Sections: Qwen2-VL
// sectioned [16, 24, 24] and Qwen3-VL interleaved [24, 20, 20] (same gather, another selector).
// paired/…: 1-D RoPE and M-RoPE timed back to back in every iteration on equal copies of the
// tensor (a sample is 256 calls for decode, 1 for prefill); the counter `ratio` is the median
// of the per-sample time ratios M-RoPE / RoPE (robust to drift on a shared machine).
// paired/…/ggml_imrope: mrope::ggml IMROPE {24, 20, 20, 0}, four axes with llama.cpp's e = 0.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/mrope.hpp"
#include "posenc/rope_cache.hpp"

#include "common.hpp"

namespace {

constexpr std::size_t kHeads = 32, kDim = 128;

posenc::rope base_rope() {
  posenc::rope_config c;
  c.head_dim = kDim;
  c.base = 1000000.0;
  return posenc::rope(c);
}

// positions: 1-D (n), and 3-D [n × 3] equal (text) or image-like (t = s, h = s + i/64, w = s +
// i%64)
std::vector<std::int64_t> positions_1d(std::size_t n) {
  std::vector<std::int64_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = n == 1 ? 3000 : static_cast<std::int64_t>(i);
  return p;
}
std::vector<std::int64_t> positions_3d(std::size_t n, bool image) {
  std::vector<std::int64_t> p;
  // an image after some text (s > 0), as in a real prompt: at s = 0 the t-axis pairs of every
  // image token turn by 0, so exact zeros of the input stay zeros, and the bf16 packing takes
  // its zero/subnormal check path (README, SIMD): a cost of the data, not of the gather
  const std::int64_t s = n == 1 ? 3000 : (image ? 16 : 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t t = s + static_cast<std::int64_t>(i);
    if (image) {
      p.insert(p.end(), {s, s + static_cast<std::int64_t>(i / 64) + (n == 1 ? 7 : 0),
                         s + static_cast<std::int64_t>(i % 64) + (n == 1 ? 11 : 0)});
    } else {
      p.insert(p.end(), {t, t, t});
    }
  }
  return p;
}

template <class T>
void bm_rope(benchmark::State& st) {
  const std::size_t n = static_cast<std::size_t>(st.range(0));
  const posenc::rope_cache<float> cache(base_rope(), 8192);
  auto x = posenc_bench::make_data<T>(n * kHeads * kDim);
  const auto pos = positions_1d(n);
  for (auto _ : st) {
    cache.apply(posenc::make_head_view(x.data(), n, kHeads, kDim), pos.data());
    benchmark::ClobberMemory();
  }
  posenc_bench::finish(st, x.size() * sizeof(T), x.size());
}

template <class T>
void bm_mrope(benchmark::State& st, bool image, posenc::mrope_mode mode) {
  const std::size_t n = static_cast<std::size_t>(st.range(0));
  const std::array<std::size_t, 3> sec = mode == posenc::mrope_mode::sectioned
                                             ? std::array<std::size_t, 3>{16, 24, 24}
                                             : std::array<std::size_t, 3>{24, 20, 20};
  const posenc::mrope m(base_rope(), sec, mode);
  const posenc::mrope_cache<float> cache(m, 8192);
  auto x = posenc_bench::make_data<T>(n * kHeads * kDim);
  const auto pos = positions_3d(n, image);
  const auto pp = posenc::make_mrope_positions(pos.data());
  for (auto _ : st) {
    cache.apply(posenc::make_head_view(x.data(), n, kHeads, kDim), pp);
    benchmark::ClobberMemory();
  }
  posenc_bench::finish(st, x.size() * sizeof(T), x.size());
}

// ggml IMROPE {24, 20, 20, 0} with llama.cpp's positions: (t, h, w, e = 0) per token (text:
// t = h = w; the e axis feeds pairs 61 and 62, so no token reads its row in place)
std::vector<std::int64_t> positions_4d(std::size_t n, bool image) {
  const auto p3 = positions_3d(n, image);
  std::vector<std::int64_t> p;
  for (std::size_t i = 0; i < n; ++i)
    p.insert(p.end(), {p3[3 * i], p3[3 * i + 1], p3[3 * i + 2], 0});
  return p;
}

template <class T>
void bm_paired(benchmark::State& st, bool image, posenc::mrope_mode mode, bool ggml = false) {
  using clock = std::chrono::steady_clock;
  const std::size_t n = static_cast<std::size_t>(st.range(0));
  const std::size_t calls = n == 1 ? 256 : 1;
  const std::array<std::size_t, 3> sec = mode == posenc::mrope_mode::sectioned
                                             ? std::array<std::size_t, 3>{16, 24, 24}
                                             : std::array<std::size_t, 3>{24, 20, 20};
  const posenc::rope r = base_rope();
  const posenc::rope_cache<float> rc(r, 8192);
  const posenc::mrope_cache<float> mc(
      ggml ? posenc::mrope::ggml(r, {24, 20, 20, 0}, posenc::ggml_rope_mode::imrope)
           : posenc::mrope(r, sec, mode),
      8192);
  auto x = posenc_bench::make_data<T>(n * kHeads * kDim);
  auto y = x;
  const auto pos = positions_1d(n);
  const auto pos3 = ggml ? positions_4d(n, image) : positions_3d(n, image);
  const auto pp = posenc::make_mrope_positions(pos3.data(), ggml ? 4 : 3);
  std::vector<double> ratios;
  for (auto _ : st) {
    const auto t0 = clock::now();
    for (std::size_t i = 0; i < calls; ++i)
      rc.apply(posenc::make_head_view(x.data(), n, kHeads, kDim), pos.data());
    benchmark::ClobberMemory();
    const auto t1 = clock::now();
    for (std::size_t i = 0; i < calls; ++i)
      mc.apply(posenc::make_head_view(y.data(), n, kHeads, kDim), pp);
    benchmark::ClobberMemory();
    const auto t2 = clock::now();
    ratios.push_back(std::chrono::duration<double>(t2 - t1).count() /
                     std::chrono::duration<double>(t1 - t0).count());
  }
  std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2),
                   ratios.end());
  st.counters["ratio"] = ratios.empty() ? 0.0 : ratios[ratios.size() / 2];
  posenc_bench::finish(st, 2 * calls * x.size() * sizeof(T), 2 * calls * x.size());
}

void args(benchmark::internal::Benchmark* b) { b->Arg(1)->Arg(512)->Arg(4096); }
void paired_args(benchmark::internal::Benchmark* b) {
  b->Arg(1)->Arg(512)->Arg(4096)->MinTime(0.5);
}

using posenc::mrope_mode;
void mrope_text_f32(benchmark::State& st) { bm_mrope<float>(st, false, mrope_mode::sectioned); }
void mrope_image_f32(benchmark::State& st) { bm_mrope<float>(st, true, mrope_mode::sectioned); }
void mrope_image_f32_il(benchmark::State& st) {
  bm_mrope<float>(st, true, mrope_mode::interleaved);
}
void mrope_image_bf16(benchmark::State& st) {
  bm_mrope<posenc::bfloat16_t>(st, true, mrope_mode::sectioned);
}

BENCHMARK_TEMPLATE(bm_rope, float)->Name("rope/f32")->Apply(args);
BENCHMARK(mrope_text_f32)->Name("mrope_text/f32/sectioned")->Apply(args);
BENCHMARK(mrope_image_f32)->Name("mrope_image/f32/sectioned")->Apply(args);
BENCHMARK(mrope_image_f32_il)->Name("mrope_image/f32/interleaved")->Apply(args);
BENCHMARK_TEMPLATE(bm_rope, posenc::bfloat16_t)->Name("rope/bf16")->Apply(args);
BENCHMARK(mrope_image_bf16)->Name("mrope_image/bf16/sectioned")->Apply(args);

void paired_text_f32(benchmark::State& st) { bm_paired<float>(st, false, mrope_mode::sectioned); }
void paired_image_f32(benchmark::State& st) { bm_paired<float>(st, true, mrope_mode::sectioned); }
void paired_image_f32_il(benchmark::State& st) {
  bm_paired<float>(st, true, mrope_mode::interleaved);
}
void paired_image_bf16(benchmark::State& st) {
  bm_paired<posenc::bfloat16_t>(st, true, mrope_mode::sectioned);
}
BENCHMARK(paired_text_f32)->Name("paired/text/f32/sectioned")->Apply(paired_args);
BENCHMARK(paired_image_f32)->Name("paired/image/f32/sectioned")->Apply(paired_args);
BENCHMARK(paired_image_f32_il)->Name("paired/image/f32/interleaved")->Apply(paired_args);
void paired_text_bf16(benchmark::State& st) {
  bm_paired<posenc::bfloat16_t>(st, false, mrope_mode::sectioned);
}
BENCHMARK(paired_text_bf16)->Name("paired/text/bf16/sectioned")->Apply(paired_args);
BENCHMARK(paired_image_bf16)->Name("paired/image/bf16/sectioned")->Apply(paired_args);
void paired_text_ggml(benchmark::State& st) {
  bm_paired<float>(st, false, mrope_mode::interleaved, true);
}
void paired_image_ggml(benchmark::State& st) {
  bm_paired<float>(st, true, mrope_mode::interleaved, true);
}
BENCHMARK(paired_text_ggml)->Name("paired/text/f32/ggml_imrope")->Apply(paired_args);
BENCHMARK(paired_image_ggml)->Name("paired/image/f32/ggml_imrope")->Apply(paired_args);

}  // namespace
