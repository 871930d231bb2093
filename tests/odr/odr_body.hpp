// posenc ODR test — the body both translation units compile, each with its own flags. Include
// it once, from odr_sse.cpp or odr_avx2.cpp, and wrap run_this_tu() in the TU's named entry.
// Everything defined here has internal linkage; only posenc's own templates are shared names.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TEST_ODR_BODY_HPP
#define POSENC_TEST_ODR_BODY_HPP

#include <algorithm>
#include <cstdint>

#include <posenc/posenc.hpp>

#include "odr/odr_common.hpp"

namespace {

// Every public template is called through a volatile pointer: the compiler cannot inline it
// or fold it, so the call runs the out-of-line instantiation the linker kept. Were any of
// them (or anything they call without inlining) one symbol for both TUs, both TUs would run
// the same copy, and odr_main.cpp would see equal reports or equal bits.
using lanes_fn = std::size_t (*)() noexcept;
using name_fn = const char* (*)() noexcept;
using rope_apply_fn = void (posenc::rope::*)(posenc::head_view<float>, posenc::head_view<float>,
                                             const std::int32_t*,
                                             posenc::token_range) const noexcept;
using cache_apply_fn = void (posenc::rope_cache<float>::*)(posenc::head_view<float>,
                                                           posenc::head_view<float>,
                                                           const std::int32_t*,
                                                           posenc::token_range) const noexcept;
using sincos_fn = void (*)(posenc::default_arch, const double*, float*, float*, std::size_t,
                           double) noexcept;

posenc_odr::tu_report run_this_tu(const posenc_odr::tu_buffers& b) {
  using namespace posenc_odr;
  tu_report r{};
  lanes_fn volatile lanes_f = &posenc::lane_count<float>;
  lanes_fn volatile lanes_d = &posenc::lane_count<double>;
  name_fn volatile name = &posenc::arch_name<>;
  r.lanes_float = lanes_f();
  r.lanes_double = lanes_d();
  r.arch = name();
#if defined(__AVX2__) && defined(__FMA__)
  r.compiled_with_avx2 = true;
#else
  r.compiled_with_avx2 = false;
#endif

  // The objects come from odr_main.cpp: constructors, reserve() and their std::vector code
  // are ordinary inline functions, which an -mavx2 TU must not emit (README §SIMD).
  const posenc::rope& rope = *b.rope;
  const posenc::rope_cache<float>& cache = *b.cache;

  // On-the-fly angles: rope::apply<default_arch>.
  std::copy(b.q_in, b.q_in + kQ, b.q_apply);
  std::copy(b.k_in, b.k_in + kK, b.k_apply);
  rope_apply_fn volatile apply = &posenc::rope::apply;
  (rope.*apply)(posenc::make_head_view(b.q_apply, kTokens, kQHeads, kHeadDim),
                posenc::make_head_view(b.k_apply, kTokens, kKHeads, kHeadDim), kPositions,
                posenc::token_range{});

  // Cached angles (table built by odr_main.cpp): apply.
  std::copy(b.q_in, b.q_in + kQ, b.q_cache);
  std::copy(b.k_in, b.k_in + kK, b.k_cache);
  cache_apply_fn volatile capply = &posenc::rope_cache<float>::apply;
  (cache.*capply)(posenc::make_head_view(b.q_cache, kTokens, kQHeads, kHeadDim),
                  posenc::make_head_view(b.k_cache, kTokens, kKHeads, kHeadDim), kPositions,
                  posenc::token_range{});

  // The coefficient kernel on its own.
  sincos_fn volatile sc = &posenc::kernels::sincos;
  sc(posenc::default_arch{}, b.theta, b.c, b.s, kTheta, 1.0);
  return r;
}

}  // namespace

#endif  // POSENC_TEST_ODR_BODY_HPP
