// posenc tests — runtime dispatch (posenc::dispatch): for every architecture of the library
// that this CPU runs, forced in turn, each dispatched call gives the bits of the header call
// instantiated for that architecture in this TU (the reference is the header path itself,
// which the other suites check against the oracles), for float, bfloat16 and float16 storage,
// on odd shapes: strided views with padding, partial rotary, GQA, non-monotone positions and
// positions beyond the cache, token ranges. Plus the selection rules (names, refusals).
#include "posenc/dispatch.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "posenc/alibi.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/scaling.hpp"
#include "posenc/sinusoidal.hpp"

#include "dispatch_c_test.h"
#include "support/arch_types.hpp"

namespace {

// The library's architectures (src/dispatch: baseline, AVX2+FMA, AVX-512, AVX-512+BF16) that
// this TU is compiled for: the intersection of arch_types.hpp's list with the library's.
// The baseline is the default architecture of a TU without -m flags: sse2 on x86-64, neon64
// on AArch64, scalar without xsimd. With -march=native on this machine (POSENC_NATIVE) all four
// x86 ones; in a baseline build only sse2.
#if POSENC_HAS_XSIMD && XSIMD_WITH_NEON64
using baseline_arch = xsimd::neon64;
#elif POSENC_HAS_XSIMD && XSIMD_WITH_SSE2
using baseline_arch = xsimd::sse2;
#else
using baseline_arch = posenc::scalar_arch;
#endif
using dispatch_archs = ::testing::Types<
#if POSENC_WITH_AVX512BF16
    posenc::avx512bf16,
#endif
#if POSENC_HAS_XSIMD && XSIMD_WITH_AVX512BW
    xsimd::avx512bw,
#endif
#if defined(POSENC_WITH_AVX2F16C) && POSENC_WITH_AVX2F16C
    posenc::avx2f16c,
#endif
#if POSENC_HAS_XSIMD && XSIMD_WITH_FMA3_AVX2
    xsimd::fma3<xsimd::avx2>,
#endif
    baseline_arch>;

template <class T>
T make(float f) {
  if constexpr (std::is_same<T, float>::value) {
    return f;
  } else if constexpr (std::is_same<T, posenc::bfloat16_t>::value) {
    return posenc::to_bfloat16(f);
  } else {
    return posenc::to_float16(f);
  }
}

template <class T>
std::vector<T> data(std::size_t n, unsigned seed) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = make<T>(static_cast<float>((i * 2654435761u + seed * 97u) % 2001u) / 1000.0f - 1.0f);
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// q: 7 tokens x 3 heads, padded strides (token_stride 3·(D+3) + 5, head_stride D + 3);
// k: 7 tokens x 1 head (GQA), contiguous.
constexpr std::size_t kTokens = 7, kQHeads = 3;
template <class T>
struct qk {
  std::size_t dim;
  std::vector<T> q, k;
  explicit qk(std::size_t d)
      : dim(d), q(data<T>(q_stride() * kTokens, 1)), k(data<T>(kTokens * d, 2)) {}
  std::ptrdiff_t q_stride() const { return static_cast<std::ptrdiff_t>(kQHeads * (dim + 3) + 5); }
  posenc::head_view<T> qv() {
    return posenc::make_head_view(q.data(), kTokens, kQHeads, dim, q_stride(),
                                  static_cast<std::ptrdiff_t>(dim + 3));
  }
  posenc::head_view<T> kv() { return posenc::make_head_view(k.data(), kTokens, 1, dim); }
};

// The ropes: partial rotary half-split with YaRN; interleaved with Llama-3 in hf_f32 precision.
posenc::rope rope_a() {
  posenc::rope_config c;
  c.head_dim = 80;
  c.rotary_dim = 48;
  posenc::yarn_scaling y;
  y.factor = 4.0;
  y.original_max_position = 64;
  return posenc::rope(c, y);
}
posenc::rope rope_b() {
  posenc::rope_config c;
  c.head_dim = 64;
  c.base = 500000.0;
  c.layout = posenc::rope_layout::interleaved;
  c.precision = posenc::rope_precision::hf_f32;
  return posenc::rope(c, posenc::llama3_scaling{8.0, 1.0, 4.0, 32});
}

template <class P>
std::vector<P> positions() {  // non-monotone; 90 and 77 are beyond the caches' 50 positions
  return {37, 5, 90, 0, 49, 12, 77};
}

template <class Arch>
class Dispatch : public ::testing::Test {
 protected:
  void SetUp() override {
    POSENC_ASSERT_ARCH_RUNS(Arch);
    ASSERT_TRUE(posenc::dispatch::arch_available(Arch::name())) << Arch::name();
    posenc::dispatch::force_arch(Arch::name());
    ASSERT_STREQ(posenc::dispatch::arch_name(), Arch::name());
  }
  void TearDown() override { posenc::dispatch::force_arch(nullptr); }
};
TYPED_TEST_SUITE(Dispatch, dispatch_archs, posenc_test::arch_names);

// Every rope call form (q+k, one tensor; forward, inverse; a token range) on Obj, storage T,
// positions P: dispatched vs header on Arch, bit for bit, and not a no-op.
template <class Arch, class T, class P, class Obj>
void check_rope(const Obj& obj) {
  namespace pd = posenc::dispatch;
  const std::vector<P> pos = positions<P>();
  const posenc::token_range mid{2, 6};
  for (int form = 0; form < 5; ++form) {
    qk<T> a(obj.functor_dim()), b(obj.functor_dim());
    const std::vector<T> q0 = a.q;
    switch (form) {
      case 0:
        pd::apply(obj.get(), a.qv(), a.kv(), pos.data());
        obj.get().template apply<Arch>(b.qv(), b.kv(), pos.data());
        break;
      case 1:
        pd::apply(obj.get(), a.qv(), pos.data());
        obj.get().template apply<Arch>(b.qv(), pos.data());
        break;
      case 2:
        pd::apply_inverse(obj.get(), a.qv(), a.kv(), pos.data());
        obj.get().template apply_inverse<Arch>(b.qv(), b.kv(), pos.data());
        break;
      case 3:
        pd::apply_inverse(obj.get(), a.qv(), pos.data());
        obj.get().template apply_inverse<Arch>(b.qv(), pos.data());
        break;
      default:
        pd::apply(obj.get(), a.qv(), a.kv(), pos.data(), mid);
        obj.get().template apply<Arch>(b.qv(), b.kv(), pos.data(), mid);
    }
    EXPECT_TRUE(same_bits(a.q, b.q)) << "q, form " << form;
    EXPECT_TRUE(same_bits(a.k, b.k)) << "k, form " << form;
    EXPECT_FALSE(same_bits(a.q, q0)) << "nothing rotated, form " << form;
  }
}

struct rope_ref {
  const posenc::rope& r;
  const posenc::rope& get() const { return r; }
  std::size_t functor_dim() const { return r.head_dim(); }
};
struct cache_ref {
  const posenc::rope_cache<float>& c;
  const posenc::rope_cache<float>& get() const { return c; }
  std::size_t functor_dim() const { return c.functor().head_dim(); }
};

template <class Arch, class T>
void check_all_ropes() {
  for (const posenc::rope& r : {rope_a(), rope_b()}) {
    const posenc::rope_cache<float> cache(r, 50);
    SCOPED_TRACE(r.scaling_name());
    check_rope<Arch, T, std::int32_t>(rope_ref{r});
    check_rope<Arch, T, std::int64_t>(rope_ref{r});
    check_rope<Arch, T, std::int32_t>(cache_ref{cache});
    check_rope<Arch, T, std::int64_t>(cache_ref{cache});
  }
}

TYPED_TEST(Dispatch, RopeF32) { check_all_ropes<TypeParam, float>(); }
TYPED_TEST(Dispatch, RopeBF16) { check_all_ropes<TypeParam, posenc::bfloat16_t>(); }
TYPED_TEST(Dispatch, RopeF16) { check_all_ropes<TypeParam, posenc::float16_t>(); }

// ALiBi: a 5 x 37 tile (row stride 41) straddling the diagonal, causal and symmetric, and rows.
template <class Arch, class T>
void check_alibi() {
  for (const auto mode : {posenc::alibi_mode::causal, posenc::alibi_mode::symmetric}) {
    posenc::alibi_config cfg;
    cfg.num_heads = 12;
    cfg.mode = mode;
    const posenc::alibi_bias alibi(cfg);
    std::vector<T> a = data<T>(5 * 41, 3), b = a;
    const std::vector<T> x0 = a;
    posenc::dispatch::add_to(alibi, posenc::make_logits_view(a.data(), 5, 37, 41), 7, 30, 3);
    alibi.add_to<Arch>(posenc::make_logits_view(b.data(), 5, 37, 41), 7, 30, 3);
    EXPECT_TRUE(same_bits(a, b)) << "tile";
    EXPECT_FALSE(same_bits(a, x0));
    posenc::dispatch::add_to_row(alibi, 11, 40, 2, a.data() + 3, 39);
    alibi.add_to_row<Arch>(11, 40, 2, b.data() + 3, 39);
    EXPECT_TRUE(same_bits(a, b)) << "row";
  }
}
TYPED_TEST(Dispatch, AlibiF32) { check_alibi<TypeParam, float>(); }
TYPED_TEST(Dispatch, AlibiBF16) { check_alibi<TypeParam, posenc::bfloat16_t>(); }
TYPED_TEST(Dispatch, AlibiF16) { check_alibi<TypeParam, posenc::float16_t>(); }

// Sinusoidal: odd width 33 (paper: interleaved, t2t: concat + a pad channel), rows of stride 37,
// fill and add_to with explicit (non-monotone) positions and with `first`.
template <class Arch, class T>
void check_sinusoidal() {
  namespace pd = posenc::dispatch;
  const std::vector<std::int64_t> pos = positions<std::int64_t>();
  for (const auto& cfg : {posenc::sinusoidal_paper(33), posenc::sinusoidal_fairseq(33)}) {
    const posenc::sinusoidal_embedding pe(cfg);
    std::vector<T> a = data<T>(kTokens * 37, 4), b = a;
    const std::vector<T> x0 = a;
    const auto va = posenc::make_embed_view(a.data(), kTokens, 33, 37);
    const auto vb = posenc::make_embed_view(b.data(), kTokens, 33, 37);
    pd::add_to(pe, va, pos.data());
    pe.add_to<Arch>(vb, pos.data());
    EXPECT_TRUE(same_bits(a, b)) << "add_to(pos)";
    EXPECT_FALSE(same_bits(a, x0));
    pd::add_to(pe, va, std::int64_t{1000});
    pe.add_to<Arch>(vb, std::int64_t{1000});
    EXPECT_TRUE(same_bits(a, b)) << "add_to(first)";
    pd::fill(pe, va, pos.data(), posenc::token_range{1, 5});
    pe.fill<Arch>(vb, pos.data(), posenc::token_range{1, 5});
    EXPECT_TRUE(same_bits(a, b)) << "fill(pos, range)";
    pd::fill(pe, va, std::int64_t{3});
    pe.fill<Arch>(vb, std::int64_t{3});
    EXPECT_TRUE(same_bits(a, b)) << "fill(first)";
  }
}
TYPED_TEST(Dispatch, SinusoidalF32) { check_sinusoidal<TypeParam, float>(); }
TYPED_TEST(Dispatch, SinusoidalBF16) { check_sinusoidal<TypeParam, posenc::bfloat16_t>(); }
TYPED_TEST(Dispatch, SinusoidalF16) { check_sinusoidal<TypeParam, posenc::float16_t>(); }

// ---- the C API (dispatch_c_test.c, compiled as C) against the header path ----------------------

template <class T>
constexpr int dtype_of() {
  return std::is_same<T, float>::value                ? POSENC_F32
         : std::is_same<T, posenc::bfloat16_t>::value ? POSENC_BF16
                                                      : POSENC_F16;
}
template <class T>
posenc_heads c_heads(posenc::head_view<T> v) {
  return posenc_heads{v.data,
                      static_cast<int>(v.tokens),
                      static_cast<int>(v.heads),
                      static_cast<int>(v.dim),
                      v.token_stride,
                      v.head_stride};
}

// The C side builds its ropes from posenc_rope_params (so this also checks the mapping of the
// parameters: YaRN, Llama-3, partial rotary, layout, precision).
template <class Arch, class T>
void check_c_rope() {
  const std::vector<std::int32_t> pos = positions<std::int32_t>();
  const posenc::rope ropes[2] = {rope_a(), rope_b()};
  for (int variant = 0; variant < 2; ++variant) {
    const posenc::rope& r = ropes[variant];
    const posenc::rope_cache<float> cache(r, 50);
    for (int cached = 0; cached < 2; ++cached) {
      for (int inverse = 0; inverse < 2; ++inverse) {
        qk<T> a(r.head_dim()), b(r.head_dim());
        const posenc_heads qh = c_heads(a.qv()), kh = c_heads(a.kv());
        ASSERT_EQ(c_rope(variant, cached, dtype_of<T>(), &qh, &kh, pos.data(), inverse), POSENC_OK)
            << posenc_last_error();
        if (cached && inverse) cache.apply_inverse<Arch>(b.qv(), b.kv(), pos.data());
        if (cached && !inverse) cache.apply<Arch>(b.qv(), b.kv(), pos.data());
        if (!cached && inverse) r.apply_inverse<Arch>(b.qv(), b.kv(), pos.data());
        if (!cached && !inverse) r.apply<Arch>(b.qv(), b.kv(), pos.data());
        EXPECT_TRUE(same_bits(a.q, b.q)) << variant << cached << inverse;
        EXPECT_TRUE(same_bits(a.k, b.k)) << variant << cached << inverse;
      }
    }
  }
}
TYPED_TEST(Dispatch, CApiRopeF32) { check_c_rope<TypeParam, float>(); }
TYPED_TEST(Dispatch, CApiRopeBF16) { check_c_rope<TypeParam, posenc::bfloat16_t>(); }
TYPED_TEST(Dispatch, CApiRopeF16) { check_c_rope<TypeParam, posenc::float16_t>(); }

template <class Arch, class T>
void check_c_bias() {
  for (const int symmetric : {0, 1}) {
    posenc::alibi_config cfg;
    cfg.num_heads = 12;
    cfg.mode = symmetric ? posenc::alibi_mode::symmetric : posenc::alibi_mode::causal;
    const posenc::alibi_bias alibi(cfg);
    std::vector<T> a = data<T>(5 * 41, 3), b = a;
    ASSERT_EQ(c_alibi(dtype_of<T>(), a.data(), symmetric), POSENC_OK) << posenc_last_error();
    alibi.add_to<Arch>(posenc::make_logits_view(b.data(), 5, 37, 41), 7, 30, 3);
    alibi.add_to_row<Arch>(11, 40, 2, b.data() + 3, 39);
    EXPECT_TRUE(same_bits(a, b)) << "alibi, symmetric " << symmetric;
  }
  const std::vector<std::int64_t> pos = positions<std::int64_t>();
  const std::pair<int, posenc::sinusoidal_config> kinds[] = {
      {POSENC_SINUSOIDAL_PAPER, posenc::sinusoidal_paper(33)},
      {POSENC_SINUSOIDAL_FAIRSEQ, posenc::sinusoidal_fairseq(33)}};
  for (const auto& kind : kinds) {
    const posenc::sinusoidal_embedding pe(kind.second);
    std::vector<T> a = data<T>(kTokens * 37, 4), b = a;
    ASSERT_EQ(c_sinusoidal(dtype_of<T>(), kind.first, a.data(), kTokens, pos.data()), POSENC_OK)
        << posenc_last_error();
    const auto vb = posenc::make_embed_view(b.data(), kTokens, 33, 37);
    pe.add_to<Arch>(vb, pos.data());
    pe.add_to<Arch>(vb, std::int64_t{1000});
    pe.fill<Arch>(vb, std::int64_t{3});
    EXPECT_TRUE(same_bits(a, b)) << "sinusoidal kind " << kind.first;
  }
}
TYPED_TEST(Dispatch, CApiBiasF32) { check_c_bias<TypeParam, float>(); }
TYPED_TEST(Dispatch, CApiBiasBF16) { check_c_bias<TypeParam, posenc::bfloat16_t>(); }
TYPED_TEST(Dispatch, CApiBiasF16) { check_c_bias<TypeParam, posenc::float16_t>(); }

TEST(DispatchC, ErrorPaths) { EXPECT_EQ(c_error_paths(), 0) << "see the FAIL lines above"; }

TEST(DispatchC, ArchitectureCalls) {
  ASSERT_EQ(posenc_force_arch("baseline"), POSENC_OK) << posenc_last_error();
  EXPECT_STREQ(posenc_arch_name(), baseline_arch::name());
  ASSERT_EQ(posenc_force_arch(nullptr), POSENC_OK);
  EXPECT_STREQ(posenc_arch_name(), posenc::dispatch::arch_name());
}

// ---- selection ---------------------------------------------------------------------------------

std::string thrown_by(const char* name) {
  try {
    posenc::dispatch::force_arch(name);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Which of the library's x86 architectures the CPU runs, derived here from CPUID independently
// of the library's code; widest first.
std::vector<std::pair<std::string, bool>> cpu_runs_x86() {
#if POSENC_HAS_XSIMD && (defined(__x86_64__) || defined(__i386__))
  const auto cpu = xsimd::available_architectures();
  const bool avx512 = cpu.avx512f && cpu.avx512bw && cpu.avx512dq && cpu.avx512cd;
  return {
    {"avx512bf16", posenc::cpu_has_avx512bf16()}, {"avx512bw", avx512},
#if defined(POSENC_WITH_AVX2F16C)
        {"fma3+avx2+f16c", posenc::cpu_has_avx2f16c()},
#endif
    {
      "fma3+avx2", cpu.fma3_avx2 != 0
    }
  };
#else
  return {};
#endif
}

TEST(DispatchSelect, DefaultIsTheWidestTheCpuRuns) {
  posenc::dispatch::force_arch(nullptr);
  std::string expect = baseline_arch::name();
  for (const auto& a : cpu_runs_x86()) {
    if (a.second) {
      expect = a.first;
      break;
    }
  }
  EXPECT_EQ(posenc::dispatch::arch_name(), expect);
  EXPECT_TRUE(posenc::dispatch::arch_available(expect.c_str()));
}

// Forcing an architecture the CPU lacks is refused (on a CPU without AVX-512: avx512bw and
// avx512bf16), and every one it has is accepted.
TEST(DispatchSelect, OnlyArchitecturesTheCpuRuns) {
  for (const auto& a : cpu_runs_x86()) {
    SCOPED_TRACE(a.first);
    EXPECT_EQ(posenc::dispatch::arch_available(a.first.c_str()), a.second);
    if (a.second) {
      posenc::dispatch::force_arch(a.first.c_str());
      EXPECT_EQ(posenc::dispatch::arch_name(), a.first);
    } else {
      const std::string msg = thrown_by(a.first.c_str());
      EXPECT_NE(msg.find("force_arch = " + a.first + " is not supported by this CPU"),
                std::string::npos)
          << msg;
    }
  }
  posenc::dispatch::force_arch(nullptr);
}

TEST(DispatchSelect, AliasesAndReset) {
  posenc::dispatch::force_arch("baseline");
  EXPECT_STREQ(posenc::dispatch::arch_name(), baseline_arch::name());
#if POSENC_HAS_XSIMD && XSIMD_WITH_AVX512BW
  if (posenc_test::arch_runs<xsimd::avx512bw>()) {
    posenc::dispatch::force_arch("avx512");
    EXPECT_STREQ(posenc::dispatch::arch_name(), "avx512bw");
  }
#endif
  posenc::dispatch::force_arch("");
  posenc::dispatch::force_arch(nullptr);
  EXPECT_TRUE(posenc::dispatch::arch_available(posenc::dispatch::arch_name()));
  EXPECT_FALSE(posenc::dispatch::arch_available(""));
  EXPECT_FALSE(posenc::dispatch::arch_available(nullptr));
}

TEST(DispatchSelect, UnknownOrForeignArchitecturesAreRefused) {
  posenc::dispatch::force_arch(nullptr);
  const std::string before = posenc::dispatch::arch_name();
  const std::string unknown = thrown_by("avx9000");
  EXPECT_NE(unknown.find("force_arch = avx9000"), std::string::npos) << unknown;
  EXPECT_FALSE(posenc::dispatch::arch_available("avx9000"));
  // xsimd's plain avx2 tag (no FMA) is not one of the library's architectures.
  EXPECT_NE(thrown_by("avx2").find("avx2"), std::string::npos);
  // Another target's baseline: not compiled into this library (or not runnable here).
#if defined(__x86_64__) || defined(__i386__)
  const char* foreign = "neon64";
#else
  const char* foreign = "sse2";
#endif
  const std::string msg = thrown_by(foreign);
  EXPECT_NE(msg.find(foreign), std::string::npos) << msg;
  EXPECT_FALSE(posenc::dispatch::arch_available(foreign));
  EXPECT_EQ(posenc::dispatch::arch_name(), before) << "a refused name changed the selection";
}

// POSENC_DISPATCH_ARCH is read once, at the first dispatched call of the process: each check
// runs in a fresh process (death-test child re-executing this binary, "threadsafe" style).
TEST(DispatchSelect, EnvironmentVariable) {
#if POSENC_TEST_NO_REEXEC
  GTEST_SKIP() << "cross-built: under user-mode emulation the test binary cannot re-execute "
                  "itself (execv: Exec format error); the native builds run this test";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("POSENC_DISPATCH_ARCH", "baseline", 1);
        std::exit(std::strcmp(posenc::dispatch::arch_name(), baseline_arch::name()) == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        setenv("POSENC_DISPATCH_ARCH", "bogus_isa", 1);
        try {
          (void)posenc::dispatch::arch_name();
        } catch (const std::invalid_argument& e) {
          const std::string m = e.what();
          std::exit(m.find("POSENC_DISPATCH_ARCH = bogus_isa") != std::string::npos ? 0 : 3);
        }
        std::exit(2);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
