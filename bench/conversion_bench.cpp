// Throughput of the instructions the 16-bit storage kernels spend their time on, beside an FMA,
// on this CPU: each benchmark issues 64 copies of one instruction on 16 independent registers
// (no dependency chain shorter than 16 instructions), so items/s is the instruction's
// throughput. Two 512-bit FMA ports give 2 FMAs per cycle: the ratio of an instruction's time
// to the FMA's tells its cost in FMA slots. (rope_bench's bf16 and f16 rows are bound by these
// conversions when the data sit in L1; see README "Performance".)
//
// x86-64 with AVX-512 (BW, and BF16 for vcvtne2ps2bf16) only: elsewhere this binary has no
// benchmarks and says so.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include <benchmark/benchmark.h>

namespace {

#if defined(__x86_64__) && defined(__AVX512BW__) && (defined(__GNUC__) || defined(__clang__))
// 16 registers zmm0..zmm15, each updated 4 times: 64 instructions. SRC is zmm16; all 17 start
// at zero (no subnormal or NaN operand that could take a microcode assist).
#define POSENC_X16(I) \
  I(0) I(1) I(2) I(3) I(4) I(5) I(6) I(7) I(8) I(9) I(10) I(11) I(12) I(13) I(14) I(15)
#define POSENC_CLOBBER16                                                                   \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "k1"
#define POSENC_ISSUE(BODY)                              \
  for (auto _ : st) {                                   \
    __asm__ volatile(                                 \
        POSENC_X16(ZERO) "vpxord %%zmm16, %%zmm16, %%zmm16\n\t" \
        ".rept 4\n\t" POSENC_X16(BODY) ".endr\n\t" :: \
            : POSENC_CLOBBER16); \
  }                                                     \
  st.SetItemsProcessed(st.iterations() * 64)

#define ZERO(r) "vpxord %%zmm" #r ", %%zmm" #r ", %%zmm" #r "\n\t"
#define FMA(r) "vfmadd231ps %%zmm16, %%zmm16, %%zmm" #r "\n\t"
#define PERMW(r) "vpermw %%zmm" #r ", %%zmm16, %%zmm" #r "\n\t"
#define TESTNMW(r) "vptestnmw %%zmm" #r ", %%zmm16, %%k1\n\t"
#define SHIFT(r) "vpslld $16, %%zmm" #r ", %%zmm" #r "\n\t"
#define CVTPH2PS(r) "vcvtph2ps %%ymm" #r ", %%zmm" #r "\n\t"
#define CVTPS2PH(r) "vcvtps2ph $0, %%zmm" #r ", %%ymm" #r "\n\t"
#define CVTNE2(r) "vcvtne2ps2bf16 %%zmm16, %%zmm" #r ", %%zmm" #r "\n\t"

void vfmadd231ps_zmm(benchmark::State& st) { POSENC_ISSUE(FMA); }
void vpslld_zmm(benchmark::State& st) { POSENC_ISSUE(SHIFT); }
void vpermw_zmm(benchmark::State& st) { POSENC_ISSUE(PERMW); }
void vptestnmw_zmm(benchmark::State& st) { POSENC_ISSUE(TESTNMW); }
void vcvtph2ps_ymm_to_zmm(benchmark::State& st) { POSENC_ISSUE(CVTPH2PS); }
void vcvtps2ph_zmm_to_ymm(benchmark::State& st) { POSENC_ISSUE(CVTPS2PH); }
BENCHMARK(vfmadd231ps_zmm);
BENCHMARK(vpslld_zmm);
BENCHMARK(vpermw_zmm);
BENCHMARK(vptestnmw_zmm);
BENCHMARK(vcvtph2ps_ymm_to_zmm);
BENCHMARK(vcvtps2ph_zmm_to_ymm);
#if defined(__AVX512BF16__)
void vcvtne2ps2bf16_zmm(benchmark::State& st) { POSENC_ISSUE(CVTNE2); }
BENCHMARK(vcvtne2ps2bf16_zmm);
#endif
#else
const int note = [] {
  std::fputs("conversion_bench: built without AVX-512 BW (x86-64, g++/clang): nothing to run\n",
             stderr);
  return 0;
}();
#endif

}  // namespace
