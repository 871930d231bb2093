// The cost of ALiBi inside attention (include/posenc/attention.hpp): reference_attention with
// the bias applied to each score tile while it is in cache (the fused tile path: the bias is
// never written to memory on its own) against the same attention without a bias, and with
// RoPE. The target is < 10 % over no bias.
//
// prefill/…  512 tokens, 8 heads, head_dim 64, causal (float storage, double accumulation).
// decode/…   one query against a KV cache of 4096 tokens, 8 heads, head_dim 64.
// Items are attention scores (visible query–key pairs × heads); bytes are those of q, k, v.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/posenc.hpp"

#include "common.hpp"

namespace {

constexpr std::size_t kHeads = 8, kDim = 64;

template <class Rotation, class Bias>
void bm_attention(benchmark::State& st, std::size_t tq, std::size_t tk, const Rotation* rot,
                  const Bias* bias) {
  const posenc_bench::vector<float> q = posenc_bench::make_data<float>(tq * kHeads * kDim, 1),
                                    k = posenc_bench::make_data<float>(tk * kHeads * kDim, 2),
                                    v = posenc_bench::make_data<float>(tk * kHeads * kDim, 3);
  posenc_bench::vector<float> out(tq * kHeads * kDim);
  for (auto _ : st) {
    posenc::reference_attention(posenc::make_head_view(q.data(), tq, kHeads, kDim),
                                posenc::make_head_view(k.data(), tk, kHeads, kDim),
                                posenc::make_head_view(v.data(), tk, kHeads, kDim),
                                posenc::make_head_view(out.data(), tq, kHeads, kDim), *rot, *bias);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  // visible pairs under the causal mask, queries at the end of the keys
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < tq; ++i) pairs += tk - tq + i + 1;
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * pairs * kHeads));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() *
                                                 (q.size() + k.size() + v.size()) * sizeof(float)));
}

const int registered = [] {
  static const posenc::identity_rotation none;
  static const posenc::no_bias nob;
  static const posenc::rope rope({kDim});
  static const posenc::alibi_bias alibi({kHeads});
  static const posenc::sum_bias alibi_window{std::cref(alibi), posenc::causal_mask{256}};
  struct shape {
    const char* name;
    std::size_t tq, tk;
  };
  for (const shape s : {shape{"prefill/512", 512, 512}, shape{"decode/4096", 1, 4096}}) {
    const std::string n = s.name;
    benchmark::RegisterBenchmark(("no_bias/" + n).c_str(),
                                 bm_attention<posenc::identity_rotation, posenc::no_bias>, s.tq,
                                 s.tk, &none, &nob)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("alibi/" + n).c_str(),
                                 bm_attention<posenc::identity_rotation, posenc::alibi_bias>, s.tq,
                                 s.tk, &none, &alibi)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("alibi_window256/" + n).c_str(),
                                 bm_attention<posenc::identity_rotation, decltype(alibi_window)>,
                                 s.tq, s.tk, &none, &alibi_window)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("rope/" + n).c_str(), bm_attention<posenc::rope, posenc::no_bias>,
                                 s.tq, s.tk, &rope, &nob)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("rope_alibi/" + n).c_str(),
                                 bm_attention<posenc::rope, posenc::alibi_bias>, s.tq, s.tk, &rope,
                                 &alibi)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  return 0;
}();

}  // namespace
