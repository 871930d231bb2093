// Sinusoidal APE throughput (include/posenc/sinusoidal.hpp) with the yardsticks measured in the
// same binary over the same bytes:
//   inplace_limit  x *= a over the embeddings: the limit of any in-place pass;
//   add_limit      x += y[pos] with y float rows as large as the table's (f32 only): the limit
//                  of a pass that also reads a row from a table;
//   scalar         the same call with Arch = scalar_arch (posenc's reference kernels).
// Every benchmark reports bytes/s over the embeddings' bytes and items/s over their elements.
//
// add_table/…  x += PE(pos) from a precomputed sinusoidal_table (the embedding-table lookup the
//              anchors do): one extra contiguous row read per token, no trig.
// add_fly/…    x += PE(pos) computed on the fly: a double-reduced sincos per frequency per
//              token (angles in double, exact at 10^7), so far from the memory limit by design;
//              this is the cost the table removes.
// fill/…       writing the table rows themselves (on the fly).
// Shapes [tokens × dim], f32 and bf16: 64 × 512 (128 KiB, L2), 512 × 1024 (2 MiB), 4096 × 1024
// (16 MiB, memory), and 4096 × 1024 as a batch of 16 sequences of 256 positions (the table rows
// stay in cache).
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "posenc/posenc.hpp"

#include "common.hpp"

namespace {

using posenc_bench::finish;
using posenc_bench::scale_in_place;

struct shape {
  std::size_t tokens, dim;
  std::size_t period = 0;  // positions t mod period (a batch of sequences); 0: 0 … tokens − 1
  std::string name() const {
    return std::to_string(tokens) + "x" + std::to_string(dim) +
           (period ? "_batch" + std::to_string(tokens / period) + "x" + std::to_string(period)
                   : "");
  }
  std::size_t elems() const { return tokens * dim; }
  std::size_t positions() const { return period ? period : tokens; }
};
const shape kShapes[] = {{64, 512}, {512, 1024}, {4096, 1024}, {4096, 1024, 256}};

std::vector<std::int64_t> positions(const shape& s) {
  std::vector<std::int64_t> p(s.tokens);
  for (std::size_t t = 0; t < s.tokens; ++t)
    p[t] = static_cast<std::int64_t>(s.period ? t % s.period : t);
  return p;
}

// x += y with y a second, read-only stream of floats as large as the table rows read (the limit
// of any "add a row from somewhere else" pass, e.g. an embedding-table lookup).
void bm_add_limit(benchmark::State& st, shape s) {
  posenc_bench::vector<float> x = posenc_bench::make_data<float>(s.elems());
  const posenc_bench::vector<float> y = posenc_bench::make_data<float>(s.positions() * s.dim);
  const std::vector<std::int64_t> pos = positions(s);
  for (auto _ : st) {
    for (std::size_t t = 0; t < s.tokens; ++t) {
      float* xr = x.data() + t * s.dim;
      const float* yr = y.data() + static_cast<std::size_t>(pos[t]) * s.dim;
#if POSENC_HAS_XSIMD
      using B = xsimd::batch<float, posenc::default_arch>;
      std::size_t i = 0;
      for (; i + B::size <= s.dim; i += B::size)
        (B::load_unaligned(xr + i) + B::load_unaligned(yr + i)).store_unaligned(xr + i);
      for (; i < s.dim; ++i) xr[i] += yr[i];
#else
      for (std::size_t i = 0; i < s.dim; ++i) xr[i] += yr[i];
#endif
    }
    benchmark::ClobberMemory();
  }
  finish(st, s.elems() * sizeof(float), s.elems());
}

void bm_limit(benchmark::State& st, shape s, std::size_t elem_bytes) {
  posenc_bench::vector<float> x =
      posenc_bench::make_data<float>(s.elems() * elem_bytes / sizeof(float));
  float a = 1.0f;
  for (auto _ : st) {
    scale_in_place(x.data(), x.size(), a);
    benchmark::ClobberMemory();
    a = a == 1.0f ? 0.999999f : 1.0f;
  }
  finish(st, x.size() * sizeof(float), s.elems());
}

enum class op { add_table, add_fly, fill };

template <class Arch, class T>
void bm_ape(benchmark::State& st, shape s, op o) {
  const posenc::sinusoidal_embedding pe(posenc::sinusoidal_t2t(s.dim));
  const posenc::sinusoidal_table<T> table(pe, o == op::add_table ? s.positions() : 0, Arch{});
  posenc_bench::vector<T> x = posenc_bench::make_data<T>(s.elems());
  const std::vector<std::int64_t> pos = positions(s);
  const auto view = posenc::make_embed_view(x.data(), s.tokens, s.dim);
  for (auto _ : st) {
    if (o == op::add_table) {
      table.template add_to<Arch>(view, pos.data());
    } else if (o == op::add_fly) {
      pe.add_to<Arch>(view, pos.data());
    } else {
      pe.fill<Arch>(view, pos.data());
    }
    benchmark::ClobberMemory();
  }
  finish(st, s.elems() * sizeof(T), s.elems());
}

template <class T>
const char* type_name() {
  return std::is_same<T, float>::value ? "f32" : "bf16";
}

template <class T>
void register_type() {
  for (const shape& s : kShapes) {
    const std::string sh = std::string(type_name<T>()) + "/" + s.name();
    const auto tune = [&](benchmark::internal::Benchmark* b) {
      if (s.elems() >= (1u << 20)) b->Unit(benchmark::kMillisecond);
    };
    tune(benchmark::RegisterBenchmark(("inplace_limit/" + sh).c_str(), bm_limit, s, sizeof(T)));
    if (std::is_same<T, float>::value)
      tune(benchmark::RegisterBenchmark(("add_limit/" + sh).c_str(), bm_add_limit, s));
    tune(benchmark::RegisterBenchmark(("add_table/" + sh).c_str(), bm_ape<posenc::default_arch, T>,
                                      s, op::add_table));
    tune(benchmark::RegisterBenchmark(("scalar_add_table/" + sh).c_str(),
                                      bm_ape<posenc::scalar_arch, T>, s, op::add_table));
    tune(benchmark::RegisterBenchmark(("add_fly/" + sh).c_str(), bm_ape<posenc::default_arch, T>, s,
                                      op::add_fly));
    tune(benchmark::RegisterBenchmark(("scalar_add_fly/" + sh).c_str(),
                                      bm_ape<posenc::scalar_arch, T>, s, op::add_fly));
    tune(benchmark::RegisterBenchmark(("fill/" + sh).c_str(), bm_ape<posenc::default_arch, T>, s,
                                      op::fill));
  }
}

const int registered = [] {
  register_type<float>();
  register_type<posenc::bfloat16_t>();
  benchmark::AddCustomContext("posenc_arch", posenc::arch_name());
  return 0;
}();

}  // namespace
