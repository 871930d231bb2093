// posenc ODR test — what the two translation units and odr_main.cpp share: the problem, the
// buffers and the report. No std:: containers cross the TU boundary: their inline members
// would themselves be compiled with two different sets of -m flags. The rope and rope_cache
// objects are built by odr_main.cpp (baseline flags) and passed in, as README §SIMD asks:
// an ISA TU calls only the templates on its architecture (check_isa_symbols.sh verifies the
// objects).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TEST_ODR_COMMON_HPP
#define POSENC_TEST_ODR_COMMON_HPP

#include <cstddef>
#include <cstdint>

#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>

namespace posenc_odr {

// GQA-shaped q and k, partial rotary (channels 64..79 pass through).
constexpr std::size_t kTokens = 7;
constexpr std::size_t kQHeads = 4;
constexpr std::size_t kKHeads = 2;
constexpr std::size_t kHeadDim = 80;
constexpr std::size_t kRotary = 64;
constexpr double kBase = 10000.0;
constexpr std::size_t kQ = kTokens * kQHeads * kHeadDim;
constexpr std::size_t kK = kTokens * kKHeads * kHeadDim;
// The cache holds positions < kCacheCapacity (built with capacity 16, then reserve()d);
// 4095 and 65535 are computed on the fly by rope_cache::apply.
constexpr std::size_t kCacheInitial = 16;
constexpr std::size_t kCacheCapacity = 1001;
inline constexpr std::int32_t kPositions[kTokens] = {0, 1, 2, 17, 1000, 4095, 65535};
constexpr std::size_t kTheta = 37;  // angles for kernels::sincos: 9 registers + a tail

/// What one translation unit reports about itself.
struct tu_report {
  std::size_t lanes_float;   // posenc::lane_count<float>()  (default arch of the TU)
  std::size_t lanes_double;  // posenc::lane_count<double>()
  const char* arch;          // posenc::arch_name<>()
  bool compiled_with_avx2;   // __AVX2__ && __FMA__ were defined in the TU
};

/// Caller-owned objects and buffers for one run (one layout).
struct tu_buffers {
  bool interleaved;
  const posenc::rope* rope;                // that layout, built by odr_main.cpp
  const posenc::rope_cache<float>* cache;  // of `rope`, capacity kCacheCapacity
  const float* q_in;                       // kQ
  const float* k_in;                       // kK
  float* q_apply;                          // rope::apply results
  float* k_apply;
  float* q_cache;  // rope_cache::apply results
  float* k_cache;
  const double* theta;  // kTheta angles
  float* c;             // kernels::sincos outputs
  float* s;
};

// Defined in odr_sse.cpp (baseline flags) and odr_avx2.cpp (-mavx2 -mfma).
tu_report odr_sse_run(const tu_buffers& b);
tu_report odr_avx2_run(const tu_buffers& b);

}  // namespace posenc_odr

#endif  // POSENC_TEST_ODR_COMMON_HPP
