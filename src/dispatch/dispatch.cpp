// posenc::dispatch — selection of the architecture and the public entry points. Compiled for the
// baseline ISA: the CPU checks run here, and the only code of a wider ISA ever called is reached
// through the selected table.
// SPDX-License-Identifier: Apache-2.0
#include "posenc/dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "table.hpp"

namespace posenc {
namespace dispatch {
namespace detail {
namespace {

struct candidate {
  const kernel_table* table;
  const char* alias;  // a second accepted name ("" for none)
};

// Widest first. The name of an entry is its architecture tag's name().
constexpr candidate candidates[] = {{&avx512bf16_table, ""},
                                    {&avx512_table, "avx512"},
                                    {&avx2f16c_table, "avx2f16c"},
                                    {&avx2_table, ""},
                                    {&baseline_table, "baseline"}};

bool cpu_runs(const kernel_table* t) noexcept {
  if (!t->compiled) return false;
  if (t == &baseline_table) return true;
#if POSENC_HAS_XSIMD && (defined(__x86_64__) || defined(__i386__))
  if (t == &avx512bf16_table) return posenc::cpu_has_avx512bf16();
  // The AVX-512 state check of cpu_has_avx512bf16 (xsimd 8.1 reads CPUID bits only).
  const auto cpu = xsimd::available_architectures();
  if (t == &avx512_table)
    return cpu.avx512f != 0 && cpu.avx512cd != 0 && cpu.avx512dq != 0 && cpu.avx512bw != 0;
  if (t == &avx2_table) return cpu.fma3_avx2 != 0;
#if defined(POSENC_WITH_AVX2F16C)
  if (t == &avx2f16c_table) return posenc::cpu_has_avx2f16c();
#endif
#endif
  return false;
}

const kernel_table* best() noexcept {
  for (const candidate& c : candidates)
    if (cpu_runs(c.table)) return c.table;
  return &baseline_table;
}

const candidate* find(const char* name) noexcept {
  for (const candidate& c : candidates)
    if (std::strcmp(name, c.table->name) == 0 ||
        (c.alias[0] != '\0' && std::strcmp(name, c.alias) == 0))
      return &c;
  return nullptr;
}

// The table `name` designates; throws std::invalid_argument naming `what` and the value.
const kernel_table* resolve(const char* what, const char* name) {
  const candidate* c = find(name);
  if (c == nullptr)
    throw std::invalid_argument(
        std::string("posenc::dispatch: ") + what + " = " + name +
        " is not an architecture (avx512bf16, avx512bw, fma3+avx2, "
        "fma3+avx2+f16c, sse2 / neon64 / scalar, or the aliases avx512, avx2f16c, baseline)");
  if (!cpu_runs(c->table))
    throw std::invalid_argument(std::string("posenc::dispatch: ") + what + " = " + name +
                                (c->table->compiled ? " is not supported by this CPU"
                                                    : " was not compiled into this library"));
  return c->table;
}

const kernel_table* initial() {
  const char* env = std::getenv("POSENC_DISPATCH_ARCH");
  if (env == nullptr || *env == '\0') return best();
  return resolve("POSENC_DISPATCH_ARCH", env);
}

std::atomic<const kernel_table*> forced{nullptr};

}  // namespace

const kernel_table& active() {
  const kernel_table* f = forced.load(std::memory_order_acquire);
  if (f != nullptr) return *f;
  static const kernel_table* const chosen = initial();  // once; retried if it threw
  return *chosen;
}

template <class Sig, class... Args>
void call(Args&&... args) {
  std::get<typename Sig::fn>(active().fns)(std::forward<Args>(args)...);
}

#define POSENC_DISPATCH_ROPE_DEF(T, P)                                                 \
  void rope_run(const rope& r, const head_view<T>* views, std::size_t n, const P* pos, \
                token_range range, bool inverse) {                                     \
    call<rope_sig<rope, T, P>>(r, views, n, pos, range, inverse);                      \
  }                                                                                    \
  void rope_run(const rope_cache<float>& c, const head_view<T>* views, std::size_t n,  \
                const P* pos, token_range range, bool inverse) {                       \
    call<rope_sig<rope_cache<float>, T, P>>(c, views, n, pos, range, inverse);         \
  }
#define POSENC_DISPATCH_BIAS_DEF(T)                                                               \
  void alibi_tile(const alibi_bias& a, logits_view<T> block, std::size_t head,                    \
                  std::int64_t q_first, std::int64_t k_first) {                                   \
    call<alibi_tile_sig<T>>(a, block, head, q_first, k_first);                                    \
  }                                                                                               \
  void alibi_row(const alibi_bias& a, std::size_t head, std::int64_t q_pos, std::int64_t k_first, \
                 T* logits, std::size_t n_keys) {                                                 \
    call<alibi_row_sig<T>>(a, head, q_pos, k_first, logits, n_keys);                              \
  }                                                                                               \
  void sinusoidal_run(const sinusoidal_embedding& e, embed_view<T> x, const std::int64_t* pos,    \
                      std::int64_t first, token_range range, bool add) {                          \
    call<sinusoidal_sig<T>>(e, x, pos, first, range, add);                                        \
  }
POSENC_DISPATCH_ROPE_DEF(float, std::int32_t)
POSENC_DISPATCH_ROPE_DEF(float, std::int64_t)
POSENC_DISPATCH_ROPE_DEF(bfloat16_t, std::int32_t)
POSENC_DISPATCH_ROPE_DEF(bfloat16_t, std::int64_t)
POSENC_DISPATCH_ROPE_DEF(float16_t, std::int32_t)
POSENC_DISPATCH_ROPE_DEF(float16_t, std::int64_t)
POSENC_DISPATCH_BIAS_DEF(float)
POSENC_DISPATCH_BIAS_DEF(bfloat16_t)
POSENC_DISPATCH_BIAS_DEF(float16_t)
#undef POSENC_DISPATCH_ROPE_DEF
#undef POSENC_DISPATCH_BIAS_DEF

}  // namespace detail

const char* arch_name() { return detail::active().name; }

void force_arch(const char* name) {
  if (name == nullptr || *name == '\0') {
    detail::forced.store(detail::best(), std::memory_order_release);
    return;
  }
  detail::forced.store(detail::resolve("force_arch", name), std::memory_order_release);
}

bool arch_available(const char* name) noexcept {
  if (name == nullptr) return false;
  const detail::candidate* c = detail::find(name);
  return c != nullptr && detail::cpu_runs(c->table);
}

}  // namespace dispatch
}  // namespace posenc
