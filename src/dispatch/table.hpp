// posenc::dispatch — private: the per-architecture table of entry points.
//
// Each ISA translation unit (table_<isa>.cpp, compiled with its -m flags) defines one
// kernel_table as constant data (no code of that ISA runs to build it) holding the addresses
// of the entry templates below instantiated on its architecture tag. Every one of them is a
// template on Arch, so the instantiations of different TUs have different symbols and the
// linker never merges code compiled for different instruction sets (README §SIMD). The
// baseline TU (dispatch.cpp) checks the CPU and calls through the selected table.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_SRC_DISPATCH_TABLE_HPP
#define POSENC_SRC_DISPATCH_TABLE_HPP

#include <cstddef>
#include <cstdint>
#include <tuple>

#include "posenc/alibi.hpp"
#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"
#include "posenc/sinusoidal.hpp"

namespace posenc {
namespace dispatch {
namespace detail {

// ---- entry templates: the header path's calls on Arch ------------------------------------------
template <class Arch, class Obj, class T, class P>
void rope_entry(const Obj& obj, const head_view<T>* v, std::size_t n, const P* pos,
                token_range range, bool inverse) noexcept {
  if (n == 2) {
    if (inverse) {
      obj.template apply_inverse<Arch>(v[0], v[1], pos, range);
    } else {
      obj.template apply<Arch>(v[0], v[1], pos, range);
    }
  } else if (inverse) {
    obj.template apply_inverse<Arch>(v[0], pos, range);
  } else {
    obj.template apply<Arch>(v[0], pos, range);
  }
}
template <class Arch, class T>
void alibi_tile_entry(const alibi_bias& a, logits_view<T> block, std::size_t head,
                      std::int64_t q_first, std::int64_t k_first) noexcept {
  a.add_to<Arch>(block, head, q_first, k_first);
}
template <class Arch, class T>
void alibi_row_entry(const alibi_bias& a, std::size_t head, std::int64_t q_pos,
                     std::int64_t k_first, T* logits, std::size_t n_keys) noexcept {
  a.add_to_row<Arch>(head, q_pos, k_first, logits, n_keys);
}
template <class Arch, class T>
void sinusoidal_entry(const sinusoidal_embedding& e, embed_view<T> x, const std::int64_t* pos,
                      std::int64_t first, token_range range, bool add) noexcept {
  if (pos != nullptr) {
    if (add) {
      e.add_to<Arch>(x, pos, range);
    } else {
      e.fill<Arch>(x, pos, range);
    }
  } else if (add) {
    e.add_to<Arch>(x, first);
  } else {
    e.fill<Arch>(x, first);
  }
}

// ---- signatures: one function-pointer type per (call, object, storage, position) ---------------
template <class Obj, class T, class P>
struct rope_sig {
  using fn = void (*)(const Obj&, const head_view<T>*, std::size_t, const P*, token_range,
                      bool) noexcept;
  template <class Arch>
  static constexpr fn of() noexcept {
    return &rope_entry<Arch, Obj, T, P>;
  }
};
template <class T>
struct alibi_tile_sig {
  using fn = void (*)(const alibi_bias&, logits_view<T>, std::size_t, std::int64_t,
                      std::int64_t) noexcept;
  template <class Arch>
  static constexpr fn of() noexcept {
    return &alibi_tile_entry<Arch, T>;
  }
};
template <class T>
struct alibi_row_sig {
  using fn = void (*)(const alibi_bias&, std::size_t, std::int64_t, std::int64_t, T*,
                      std::size_t) noexcept;
  template <class Arch>
  static constexpr fn of() noexcept {
    return &alibi_row_entry<Arch, T>;
  }
};
template <class T>
struct sinusoidal_sig {
  using fn = void (*)(const sinusoidal_embedding&, embed_view<T>, const std::int64_t*, std::int64_t,
                      token_range, bool) noexcept;
  template <class Arch>
  static constexpr fn of() noexcept {
    return &sinusoidal_entry<Arch, T>;
  }
};

template <class... Sigs>
struct sig_list {
  using fns = std::tuple<typename Sigs::fn...>;
  template <class Arch>
  static constexpr fns make() noexcept {
    return fns{Sigs::template of<Arch>()...};
  }
};

/// Every entry point, each type once (std::get by type finds it).
using all_sigs = sig_list<
    rope_sig<rope, float, std::int32_t>, rope_sig<rope, float, std::int64_t>,
    rope_sig<rope_cache<float>, float, std::int32_t>,
    rope_sig<rope_cache<float>, float, std::int64_t>, rope_sig<rope, bfloat16_t, std::int32_t>,
    rope_sig<rope, bfloat16_t, std::int64_t>, rope_sig<rope_cache<float>, bfloat16_t, std::int32_t>,
    rope_sig<rope_cache<float>, bfloat16_t, std::int64_t>, rope_sig<rope, float16_t, std::int32_t>,
    rope_sig<rope, float16_t, std::int64_t>, rope_sig<rope_cache<float>, float16_t, std::int32_t>,
    rope_sig<rope_cache<float>, float16_t, std::int64_t>, alibi_tile_sig<float>,
    alibi_tile_sig<bfloat16_t>, alibi_tile_sig<float16_t>, alibi_row_sig<float>,
    alibi_row_sig<bfloat16_t>, alibi_row_sig<float16_t>, sinusoidal_sig<float>,
    sinusoidal_sig<bfloat16_t>, sinusoidal_sig<float16_t>>;

/// One architecture's entry points. `compiled` is false when the TU could not be built for its
/// ISA (another target, or the compiler lacks the flags): its entries are then null.
struct kernel_table {
  const char* name;
  bool compiled;
  all_sigs::fns fns;
};

template <class Arch>
constexpr kernel_table make_table() noexcept {
  return kernel_table{Arch::name(), true, all_sigs::make<Arch>()};
}
constexpr kernel_table missing_table(const char* name) noexcept {
  return kernel_table{name, false, all_sigs::fns{}};
}

// One table per ISA TU (table_<isa>.cpp).
extern const kernel_table baseline_table;    // the compiler's default ISA (sse2, neon64, scalar)
extern const kernel_table avx2_table;        // -mavx2 -mfma
extern const kernel_table avx2f16c_table;    // -mavx2 -mfma -mf16c (posenc::avx2f16c)
extern const kernel_table avx512_table;      // AVX-512 F/CD/BW/DQ/VL
extern const kernel_table avx512bf16_table;  // the same + -mavx512bf16

}  // namespace detail
}  // namespace dispatch
}  // namespace posenc

#endif  // POSENC_SRC_DISPATCH_TABLE_HPP
