// posenc — row kernels for additive attention biases and additive embeddings: the ALiBi ramp
// (from a first key offset or from explicit key positions), adding or storing a row of values,
// and filling (masks). Scalar references and xsimd kernels side by side.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_KERNELS_BIAS_HPP
#define POSENC_KERNELS_BIAS_HPP

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "posenc/config.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/kernels/rotate.hpp"  // detail::load_elem / store_elem / unpack16 / pack16
#include "posenc/simd/ops.hpp"
#include "posenc/storage.hpp"
#include "posenc/tuning.hpp"
#include "posenc/types.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {
namespace kernels {

// Contract (every kernel in this header). C = coef_t<T>: float for float and 16-bit storage,
// double for double storage. C(x) reads a stored element exactly; T(y) rounds y to the storage
// type once (16-bit: nearest even).
//
// Ramp values. For an integer key offset e and a slope m (of type C):
//     t(e) = C(m · C(e))        C(e) is e rounded to C (exact for |e| ≤ 2^24 in float and
//                               2^53 in double), then one rounded product
//     v(e) = t(e)               ramp_sign::keep      (e.g. m·(k − q) ≤ 0 under a causal mask)
//     v(e) = −|t(e)|            ramp_sign::neg_abs   (the symmetric −m·|k − q|; m ≥ 0)
//
//   ramp_values(out, n, m, e0, sign)     out[i] = v(e0 + i)
//   add_ramp(x, n, m, e0, sign)          x[i]   = T(C(x[i]) + v(e0 + i))
//   add_ramp_positions(x, n, m, anchor, kpos, sign, mask_above)
//                                        x[i]   = kpos[i] > mask_above ? T(−∞)
//                                                 : T(C(x[i]) + v(kpos[i] − anchor))
//   add_values(x, v, n)                  x[i]   = T(C(x[i]) + v[k(i)])
//   add_ramp_2d(x, ld, rows, n, m, e0, es, sign)
//                                        x[r·ld + i] = T(C(x[r·ld + i]) + v(e0 + r·es + i))
//                                        (r < rows; float/double rows; es = −1: an ALiBi tile,
//                                        whose offset k − q drops by one per row; 0: one ramp
//                                        for every row)
//   store_values(x, v, n)                x[i]   = T(v[k(i)])
//   fill(x, n, value)                    x[i]   = T(value)
// for i < n. k(i) is the split16-order index (split16_index): k(i) = i for float and double; for
// 16-bit storage each full block of 32 elements keeps its 16 even-indexed values first, then its
// 16 odd-indexed ones (what 16 uint32 lanes unpack to, and also what 8 or 4 lanes unpack to
// when they step through the block), and the last n mod 32 values are in natural order.
//
// Every element is independent (no order dependence). x must not overlap v, out or kpos. No
// alignment is assumed. Nothing outside the n elements is read or written. There is no FMA in
// this contract, on purpose, so every architecture (with or without FMA) computes the same
// values: the product t(e) passes through an optimisation barrier (detail::rounded /
// simd::rounded, no instruction), so x + m·e is never contracted into fma(m, e, x) whatever
// -ffp-contract or -ffast-math the including TU uses, and the SIMD kernels give the references'
// bits under any of them.
//
// ALiBi with a causal mask is add_ramp on the visible keys plus fill(−∞) on the future ones. A
// tile (add_ramp_2d) computes each register's offsets from integers; with registers of at most
// 256 bits an ALiBi tile instead takes its R + n − 1 values once into a table (the value only
// depends on k − q) and adds a shifted window of it per row (detail::ramp_2d_table).

/// How ramp values are signed (see the contract above).
enum class ramp_sign { keep, neg_abs };

/// Split16-order index of element i of a row of n elements for storage T (see the contract).
template <class T>
constexpr std::size_t split16_index(std::size_t i, std::size_t n) noexcept {
  if constexpr (posenc::detail::is_16bit_storage<T>()) {
    if (i < (n / 32) * 32) {
      const std::size_t o = i % 32;
      return i - o + (o % 2) * 16 + o / 2;
    }
    return i;
  } else {
    (void)n;
    return i;
  }
}

/// Largest |e| for which C(e) is exact: 2^24 for float, 2^53 for double.
template <class C>
constexpr std::int64_t exact_int_limit() noexcept {
  return std::int64_t{1} << std::numeric_limits<C>::digits;
}

/// True when every offset e0 .. e0 + n − 1 converts to C exactly (the SIMD ramps step in C).
template <class C>
constexpr bool ramp_exact(std::int64_t e0, std::size_t n) noexcept {
  const std::int64_t lim = exact_int_limit<C>();
  return e0 >= -lim && e0 <= lim && static_cast<std::int64_t>(n) <= lim &&
         e0 + static_cast<std::int64_t>(n) <= lim;
}

namespace detail {
/// v(e) of the contract, scalar.
template <class C>
C ramp_value(C m, std::int64_t e, ramp_sign sign) noexcept {
  const C t = posenc::detail::rounded(m * static_cast<C>(e));
  // −|t| by setting the sign bit (as the SIMD kernels do): −0 at distance 0 even under
  // -fno-signed-zeros, where a compiler may fold the literal −0 to +0.
  if (sign == ramp_sign::neg_abs) return std::copysign(t, C(-1));
  return t;
}
}  // namespace detail

// ---- scalar references ----------------------------------------------------------------------
// `Arch` only names the instantiation (see rotate.hpp): a SIMD kernel calls the reference for its
// tail with its own Arch, so copies compiled with different -m flags stay distinct symbols.

template <class C, class Arch = scalar_arch>
void ramp_values_ref(C* out, std::size_t n, C m, std::int64_t e0, ramp_sign sign) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = detail::ramp_value(m, e0 + static_cast<std::int64_t>(i), sign);
}

template <class T, class C, class Arch = scalar_arch>
void add_ramp_ref(T* x, std::size_t n, C m, std::int64_t e0, ramp_sign sign) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const C v = detail::ramp_value(m, e0 + static_cast<std::int64_t>(i), sign);
    detail::store_elem<C>(x[i], detail::load_elem<C>(x[i]) + v);
  }
}

template <class T, class C, class P, class Arch = scalar_arch>
void add_ramp_positions_ref(T* x, std::size_t n, C m, std::int64_t anchor, const P* kpos,
                            ramp_sign sign, std::int64_t mask_above) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t k = static_cast<std::int64_t>(kpos[i]);
    if (k > mask_above) {
      detail::store_elem<C>(x[i], -std::numeric_limits<C>::infinity());
    } else {
      const C v = detail::ramp_value(m, k - anchor, sign);
      detail::store_elem<C>(x[i], detail::load_elem<C>(x[i]) + v);
    }
  }
}

template <class T, class C, class Arch = scalar_arch>
void add_values_ref(T* x, const C* v, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    detail::store_elem<C>(x[i], detail::load_elem<C>(x[i]) + v[split16_index<T>(i, n)]);
}

template <class T, class C, class Arch = scalar_arch>
void add_ramp_2d_ref(T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m, std::int64_t e0,
                     std::int64_t es, ramp_sign sign) noexcept {
  static_assert(!posenc::detail::is_16bit_storage<T>(), "add_ramp_2d: float or double rows");
  for (std::size_t r = 0; r < rows; ++r)
    add_ramp_ref<T, C, Arch>(x + static_cast<std::ptrdiff_t>(r) * ld, n, m,
                             e0 + static_cast<std::int64_t>(r) * es, sign);
}

template <class T, class C, class Arch = scalar_arch>
void store_values_ref(T* x, const C* v, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) detail::store_elem<C>(x[i], v[split16_index<T>(i, n)]);
}

template <class T, class C, class Arch = scalar_arch>
void fill_ref(T* x, std::size_t n, C value) noexcept {
  for (std::size_t i = 0; i < n; ++i) detail::store_elem<C>(x[i], value);
}

// ---- scalar_arch: the references ------------------------------------------------------------
template <class C>
void ramp_values(scalar_arch, C* out, std::size_t n, C m, std::int64_t e0,
                 ramp_sign sign) noexcept {
  ramp_values_ref(out, n, m, e0, sign);
}
template <class T, class C>
void add_ramp(scalar_arch, T* x, std::size_t n, C m, std::int64_t e0, ramp_sign sign) noexcept {
  add_ramp_ref(x, n, m, e0, sign);
}
template <class T, class C, class P>
void add_ramp_positions(scalar_arch, T* x, std::size_t n, C m, std::int64_t anchor, const P* kpos,
                        ramp_sign sign, std::int64_t mask_above) noexcept {
  add_ramp_positions_ref(x, n, m, anchor, kpos, sign, mask_above);
}
template <class T, class C>
void add_values(scalar_arch, T* x, const C* v, std::size_t n) noexcept {
  add_values_ref(x, v, n);
}
template <class T, class C>
void add_ramp_2d(scalar_arch, T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m,
                 std::int64_t e0, std::int64_t es, ramp_sign sign) noexcept {
  add_ramp_2d_ref(x, ld, rows, n, m, e0, es, sign);
}
template <class T, class C>
void store_values(scalar_arch, T* x, const C* v, std::size_t n) noexcept {
  store_values_ref(x, v, n);
}
template <class T, class C>
void fill(scalar_arch, T* x, std::size_t n, C value) noexcept {
  fill_ref(x, n, value);
}

#if POSENC_HAS_XSIMD
namespace detail {
/// Ask for the cache line at p with intent to write (a compiler builtin, no instruction set
/// named; a no-op elsewhere). Stores that miss the cache wait in the store buffer one line at a
/// time; a prefetch issued first lets the lines of a masked row segment arrive in parallel,
/// as the loads of an in-place add do. In cache it costs one cheap instruction per line.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 1);
#else
  (void)p;
#endif
}

/// (0, 1, 2, ...)·step in C.
template <class C, class A>
xsimd::batch<C, A> iota(C step = C(1)) noexcept {
  using B = xsimd::batch<C, A>;
  alignas(64) C tmp[B::size];
  for (std::size_t j = 0; j < B::size; ++j) tmp[j] = static_cast<C>(j) * step;
  return B::load_aligned(tmp);
}

/// v(e) for a batch of exact offsets e (NegAbs: set the sign bit, −|t|).
template <bool NegAbs, class C, class A>
xsimd::batch<C, A> ramp_batch(const xsimd::batch<C, A>& m, const xsimd::batch<C, A>& e) noexcept {
  using B = xsimd::batch<C, A>;
  const B t = simd::rounded<A>(m * e);
  if constexpr (NegAbs) {
    return t | B(-C(0));
  } else {
    return t;
  }
}

template <class T>
using u16_ptr = std::conditional_t<std::is_const<T>::value, const std::uint16_t*, std::uint16_t*>;

/// The registers a float/double ramp needs, set up once per call (or once per tile).
template <class C, class Arch>
struct ramp_regs {
  using B = xsimd::batch<C, Arch>;
  static constexpr std::size_t N = B::size;
  B m, io0, io1, io2, io3;  // slope; (0, 1, …, N−1) + k·N
  explicit ramp_regs(C slope) noexcept
      : m(slope),
        io0(iota<C, Arch>()),
        io1(io0 + B(static_cast<C>(N))),
        io2(io0 + B(static_cast<C>(2 * N))),
        io3(io0 + B(static_cast<C>(3 * N))) {}
};

/// The vector body of one float/double row: x[i] = v(e0 + i) (Store) or x[i] += v(e0 + i) for
/// the whole registers of the row; returns how many elements it did (the caller's reference
/// finishes the rest). The offset of each register comes from the integer index (one
/// conversion and broadcast per four registers), not from a floating counter carried across
/// iterations: no 4-cycle add chain to wait on, and four independent registers in flight.
template <bool NegAbs, bool Store, class Arch, class T, class C>
POSENC_FORCE_INLINE std::size_t ramp_row(const ramp_regs<C, Arch>& k, T* x, std::size_t n,
                                         std::int64_t e0) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  // Local copies: stores through x may alias k as far as the compiler knows, which would
  // reload every register after every store.
  const B m = k.m, io0 = k.io0, io1 = k.io1, io2 = k.io2, io3 = k.io3;
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const B base(static_cast<C>(e0 + static_cast<std::int64_t>(i)));
    B v0 = ramp_batch<NegAbs>(m, base + io0), v1 = ramp_batch<NegAbs>(m, base + io1);
    B v2 = ramp_batch<NegAbs>(m, base + io2), v3 = ramp_batch<NegAbs>(m, base + io3);
    if constexpr (!Store) {  // four loads before the stores
      v0 = B::load_unaligned(x + i) + v0;
      v1 = B::load_unaligned(x + i + N) + v1;
      v2 = B::load_unaligned(x + i + 2 * N) + v2;
      v3 = B::load_unaligned(x + i + 3 * N) + v3;
    }
    v0.store_unaligned(x + i);
    v1.store_unaligned(x + i + N);
    v2.store_unaligned(x + i + 2 * N);
    v3.store_unaligned(x + i + 3 * N);
  }
  for (; i + N <= n; i += N) {
    B v = ramp_batch<NegAbs>(m, B(static_cast<C>(e0 + static_cast<std::int64_t>(i))) + io0);
    if constexpr (!Store) v = B::load_unaligned(x + i) + v;
    v.store_unaligned(x + i);
  }
  return i;
}

template <bool NegAbs, bool Store, class Arch, class T, class C>
void ramp_impl(T* x, std::size_t n, C m, std::int64_t e0) noexcept {
  std::size_t i = 0;
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    i = ramp_row<NegAbs, Store>(ramp_regs<C, Arch>(m), x, n, e0);
  } else {
    static_assert(!Store, "ramp values are stored in C, never in 16-bit storage");
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;  // pairs per register: elements (2j, 2j+1) in one lane
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    const F mb(m);
    const F even_io = iota<float, Arch>(2.0f);
    for (; i + 2 * N <= n; i += 2 * N) {
      const F ee = F(static_cast<float>(e0 + static_cast<std::int64_t>(i))) + even_io;
      simd::transform16<T, Arch>(x16, i, [&](F& a, F& b) {
        a = a + ramp_batch<NegAbs>(mb, ee);
        b = b + ramp_batch<NegAbs>(mb, ee + F(1.0f));
      });
    }
  }
  const ramp_sign sign = NegAbs ? ramp_sign::neg_abs : ramp_sign::keep;
  if constexpr (Store) {
    ramp_values_ref<C, Arch>(x + i, n - i, m, e0 + static_cast<std::int64_t>(i), sign);
  } else {
    add_ramp_ref<T, C, Arch>(x + i, n - i, m, e0 + static_cast<std::int64_t>(i), sign);
  }
}
}  // namespace detail

/// xsimd kernel: same contract as ramp_values_ref.
template <class Arch, class C>
void ramp_values(Arch, C* out, std::size_t n, C m, std::int64_t e0, ramp_sign sign) noexcept {
  if (!ramp_exact<C>(e0, n)) {
    ramp_values_ref<C, Arch>(out, n, m, e0, sign);
  } else if (sign == ramp_sign::neg_abs) {
    detail::ramp_impl<true, true, Arch>(out, n, m, e0);
  } else {
    detail::ramp_impl<false, true, Arch>(out, n, m, e0);
  }
}

/// xsimd kernel: same contract as add_ramp_ref.
template <class Arch, class T, class C>
void add_ramp(Arch, T* x, std::size_t n, C m, std::int64_t e0, ramp_sign sign) noexcept {
  static_assert(std::is_same<C, coef_t<T>>::value, "posenc: ramp slope type must be coef_t<T>");
  if (!ramp_exact<C>(e0, n)) {
    add_ramp_ref<T, C, Arch>(x, n, m, e0, sign);
  } else if (sign == ramp_sign::neg_abs) {
    detail::ramp_impl<true, false, Arch>(x, n, m, e0);
  } else {
    detail::ramp_impl<false, false, Arch>(x, n, m, e0);
  }
}

/// xsimd kernel: same contract as add_ramp_positions_ref. Vectorised for float logits with
/// int32 positions; a register whose offsets are not all below 2^22 in magnitude (where the
/// conversion below is exact) is done by the reference, as is every other type combination.
template <class Arch, class T, class C, class P>
void add_ramp_positions(Arch, T* x, std::size_t n, C m, std::int64_t anchor, const P* kpos,
                        ramp_sign sign, std::int64_t mask_above) noexcept {
  std::size_t i = 0;
  constexpr std::int64_t i32max = std::numeric_limits<std::int32_t>::max();
  if constexpr (std::is_same<T, float>::value && std::is_same<P, std::int32_t>::value) {
    // Positions are ≥ 0 (contract of every posenc position), so k − anchor cannot overflow
    // int32 when 0 ≤ anchor ≤ INT32_MAX.
    if (anchor >= 0 && anchor <= i32max) {
      using B = xsimd::batch<float, Arch>;
      using I = xsimd::batch<std::int32_t, Arch>;
      using U = xsimd::batch<std::uint32_t, Arch>;
      constexpr std::size_t N = B::size;
      static_assert(I::size == N, "int32 and float lanes");
      const B mb(m);
      const I ab(static_cast<std::int32_t>(anchor));
      const std::int32_t thr = static_cast<std::int32_t>(
          mask_above > i32max ? i32max : (mask_above < -1 ? -1 : mask_above));
      const I tb(thr);
      const I ninf = xsimd::bitwise_cast<I>(B(-std::numeric_limits<float>::infinity()));
      // float(e) for |e| < 2^22: the bits of 1.5·2^23 + e, minus 1.5·2^23 (both exact).
      const I magic_i(0x4B400000);
      const B magic_f(12582912.0f);
      const U bias(1u << 22);
      const U range(1u << 23);
      for (; i + N <= n; i += N) {
        const I k = I::load_unaligned(reinterpret_cast<const std::int32_t*>(kpos) + i);
        const I e = k - ab;
        if (xsimd::any(xsimd::bitwise_cast<U>(e) + bias >= range)) {
          add_ramp_positions_ref<T, C, P, Arch>(x + i, N, m, anchor, kpos + i, sign, mask_above);
          continue;
        }
        const B ef = xsimd::bitwise_cast<B>(e + magic_i) - magic_f;
        const B v = sign == ramp_sign::neg_abs ? detail::ramp_batch<true>(mb, ef)
                                               : detail::ramp_batch<false>(mb, ef);
        const B y = B::load_unaligned(x + i) + v;
        const I out = simd::select_int<Arch>(k > tb, ninf, xsimd::bitwise_cast<I>(y));
        xsimd::bitwise_cast<B>(out).store_unaligned(x + i);
      }
    }
  }
  add_ramp_positions_ref<T, C, P, Arch>(x + i, n - i, m, anchor, kpos + i, sign, mask_above);
}

namespace detail {
/// x[i] = x[i] + v[i] (Add) or x[i] = v[i] (store), i < n, rounded once to T: the one vector
/// loop of add_values and store_values (16-bit storage: v in split16 order).
template <bool Add, class Arch, class T, class C>
std::size_t put_values(T* x, const C* v, std::size_t n) noexcept {
  static_assert(std::is_same<C, coef_t<T>>::value, "posenc: value type must be coef_t<T>");
  std::size_t i = 0;
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    using B = xsimd::batch<C, Arch>;
    constexpr std::size_t N = B::size;
    for (; i + N <= n; i += N) {
      const B y = B::load_unaligned(v + i);
      (Add ? B::load_unaligned(x + i) + y : y).store_unaligned(x + i);
    }
  } else {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;
    static_assert(16 % N == 0, "split16 order needs 16 % lanes == 0");
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    for (; i + 32 <= n; i += 32) {
      for (std::size_t q = 0; q < 16; q += N) {
        const F a = F::load_unaligned(v + i + q), b = F::load_unaligned(v + i + 16 + q);
        if constexpr (Add) {
          simd::transform16<T, Arch>(x16, i + 2 * q, [&](F& xa, F& xb) {
            xa = xa + a;
            xb = xb + b;
          });
        } else {
          simd::store16<T, Arch>(x16, i + 2 * q, a, b);
        }
      }
    }
  }
  return i;
}
}  // namespace detail

/// xsimd kernel: same contract as add_values_ref.
template <class Arch, class T, class C>
void add_values(Arch, T* x, const C* v, std::size_t n) noexcept {
  const std::size_t i = detail::put_values<true, Arch>(x, v, n);
  add_values_ref<T, C, Arch>(x + i, v + i, n - i);
}

namespace detail {
/// Longest table of an ALiBi tile's values (rows + cols − 1 of them; 8 KiB of float).
constexpr std::size_t ramp_table_max = 2048;

/// Whether add_ramp_2d adds an ALiBi tile (es = −1) from a table of its values instead of
/// computing them per register. The value of a logit depends on k − q only, so a tile of R
/// rows and n columns has R + n − 1 distinct values: computed once (ramp_values, the same
/// arithmetic), each row is then x[i] += tab[R − 1 − r + i], one load, one add and one store
/// per register more than an in-place pass and two fewer arithmetic instructions. Chosen with
/// registers of at most 256 bits, where it is faster (bench/README.md, "ALiBi tiles from a
/// table"); with 512-bit registers every other unaligned table load splits across two cache
/// lines, and those cores keep the per-register kernel they were tuned with.
/// Same bits either way (both are the contract's v(e), then one rounded add).
template <class Arch, class C>
constexpr bool ramp_2d_table(std::size_t rows, std::size_t n, std::int64_t es) noexcept {
  return sizeof(xsimd::batch<C, Arch>) <= 32 && es == -1 && rows >= 8 &&
         rows + n - 1 <= ramp_table_max;
}

/// x[i] = x[i] + v[i] for i < n (float or double rows of their own type), four registers per
/// step.
template <class Arch, class C>
POSENC_FORCE_INLINE void add_table_row(C* x, const C* v, std::size_t n) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  std::size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const B y0 = B::load_unaligned(x + i) + B::load_unaligned(v + i);
    const B y1 = B::load_unaligned(x + i + N) + B::load_unaligned(v + i + N);
    const B y2 = B::load_unaligned(x + i + 2 * N) + B::load_unaligned(v + i + 2 * N);
    const B y3 = B::load_unaligned(x + i + 3 * N) + B::load_unaligned(v + i + 3 * N);
    y0.store_unaligned(x + i);
    y1.store_unaligned(x + i + N);
    y2.store_unaligned(x + i + 2 * N);
    y3.store_unaligned(x + i + 3 * N);
  }
  for (; i + N <= n; i += N)
    (B::load_unaligned(x + i) + B::load_unaligned(v + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] = x[i] + v[i];
}

/// How many registers of an ALiBi tile row ramp_2d_shift holds in registers: 16 (half of
/// AVX-512's register file), 0 where Arch cannot move lanes across registers in one
/// instruction (simd::shift_in).
template <class Arch, class C>
constexpr std::size_t shift_regs() noexcept {
  return simd::has_shift_in<Arch, C>() ? 16 : 0;
}

/// Register K of the next row of an ALiBi tile (es = −1: row r + 1 is row r moved right by
/// one key): its lanes moved up by one, lane 0 from register K − 1 (from nw for K = 0).
template <std::size_t K, class Arch, class C, std::size_t NR>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> next_row_reg(const xsimd::batch<C, Arch> (&v)[NR],
                                                       const xsimd::batch<C, Arch>& nw) noexcept {
  if constexpr (K == 0) {
    return simd::shift_in<Arch>(v[0], nw);
  } else {
    return simd::shift_in<Arch>(v[K], v[K - 1]);
  }
}

/**
 * An ALiBi tile (es = −1) of n < (NR + 1)·L keys whose NR whole registers per row stay in
 * registers: the value of a logit depends on k − q only, so row r + 1's values are row r's
 * moved right by one key, with one new value v(e0 − r − 1) in front. Per register and row: one
 * load, one add, one store (as an in-place pass) and one lane move, instead of the offset,
 * product and barrier of ramp_row; the last n − NR·L keys by the reference. The values are the
 * contract's v(e) (ramp_batch and ramp_value agree bit for bit), so the bits equal ramp_row's.
 */
template <bool NegAbs, std::size_t NR, class Arch, class T, class C, class Hint, std::size_t... J>
void ramp_2d_shift(T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m, std::int64_t e0,
                   const Hint& hint, std::index_sequence<J...>) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t L = B::size;
  const ramp_sign sign = NegAbs ? ramp_sign::neg_abs : ramp_sign::keep;
  const ramp_regs<C, Arch> k(m);
  B v[NR] = {
      ramp_batch<NegAbs>(k.m, B(static_cast<C>(e0 + static_cast<std::int64_t>(J * L))) + k.io0)...};
  for (std::size_t r = 0; r < rows; ++r) {
    T* const xr = x + static_cast<std::ptrdiff_t>(r) * ld;
    hint(r);
    ((B::load_unaligned(xr + J * L) + v[J]).store_unaligned(xr + J * L), ...);
    const std::int64_t er = e0 - static_cast<std::int64_t>(r);
    add_ramp_ref<T, C, Arch>(xr + NR * L, n - NR * L, m, er + static_cast<std::int64_t>(NR * L),
                             sign);
    if (r + 1 < rows) {
      const B nw(ramp_value(m, er - 1, sign));
      const B w[NR] = {next_row_reg<J, Arch>(v, nw)...};
      ((v[J] = w[J]), ...);
    }
  }
}
/// ramp_2d_shift for nr = 1 … sizeof...(I) registers (a compare chain); false for nr = 0.
template <bool NegAbs, class Arch, class T, class C, class Hint, std::size_t... I>
bool ramp_2d_shift_n(std::size_t nr, T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m,
                     std::int64_t e0, const Hint& hint, std::index_sequence<I...>) noexcept {
  return ((nr == I + 1 ? (ramp_2d_shift<NegAbs, I + 1, Arch>(x, ld, rows, n, m, e0, hint,
                                                             std::make_index_sequence<I + 1>{}),
                          true)
                       : false) ||
          ...);
}

template <bool NegAbs, class Arch, class T, class C>
void ramp_2d_impl(T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m, std::int64_t e0,
                  std::int64_t es) noexcept {
  const ramp_regs<C, Arch> k(m);
  const ramp_sign sign = NegAbs ? ramp_sign::neg_abs : ramp_sign::keep;
  // A tile row is a short stretch of a long logits row: the hardware prefetcher does not follow
  // it from row to row, and with a few arithmetic instructions per load the core alone keeps too
  // few misses in flight when the tile is not in cache (bench/README.md, "Software
  // prefetch"). So the rows about 4 KiB ahead are requested (for write, one hint per 128-byte
  // line pair, which the L2 spatial prefetcher completes) while a row is added; in cache a hint
  // costs one instruction per 32 floats. Inside the tile only: a hint, never a write. Where
  // prefetch_enabled() is false (AMD family 0x19 and later, posenc/tuning.hpp) there is no hint.
  const bool hint = prefetch_enabled();
  const std::size_t row_bytes = n * sizeof(T);
  const std::size_t ahead = std::max<std::size_t>(1, (4096 + row_bytes - 1) / row_bytes);
  const auto prefetch_row = [n](const T* p) {
    for (std::size_t j = 0; j < n; j += 128 / sizeof(T)) prefetch_for_write(p + j);
  };
  for (std::size_t r = 0; hint && r < std::min(ahead, rows); ++r)
    prefetch_row(x + static_cast<std::ptrdiff_t>(r) * ld);
  // An ALiBi tile (es = −1) at most 16 registers wide (+ a tail) with its rows' values moved
  // along in registers where Arch can (ramp_2d_shift, AVX-512). Wider rows keep ramp_row:
  // computing the keys past the 16 registers in the same row pass measured 0.64 of the limit
  // at 256 × 512 on a Zen 5, against 0.73 with ramp_row alone (bench/README.md, "ALiBi tiles in
  // registers").
  if constexpr (shift_regs<Arch, C>() != 0) {
    constexpr std::size_t W = shift_regs<Arch, C>(), L = xsimd::batch<C, Arch>::size;
    const std::size_t nr = std::min(n / L, W);
    const auto row_hint = [&](std::size_t r) {
      if (hint && r + ahead < rows) prefetch_row(x + static_cast<std::ptrdiff_t>(r + ahead) * ld);
    };
    if (es == -1 && n < (W + 1) * L &&
        ramp_2d_shift_n<NegAbs, Arch>(nr, x, ld, rows, n, m, e0, row_hint,
                                      std::make_index_sequence<W>{}))
      return;
  }
  // An ALiBi tile (es = −1) through a table when ramp_2d_table says so, otherwise row by row
  // with the registers above, set up once per tile.
  alignas(64) C tab[ramp_table_max];
  const bool table = ramp_2d_table<Arch, C>(rows, n, es);
  if (table)
    ramp_impl<NegAbs, true, Arch>(tab, rows + n - 1, m, e0 - static_cast<std::int64_t>(rows - 1));
  for (std::size_t r = 0; r < rows; ++r) {
    T* xr = x + static_cast<std::ptrdiff_t>(r) * ld;
    const std::int64_t er = e0 + static_cast<std::int64_t>(r) * es;
    if (hint && r + ahead < rows) prefetch_row(xr + static_cast<std::ptrdiff_t>(ahead) * ld);
    if (table) {
      add_table_row<Arch>(xr, tab + (rows - 1 - r), n);
    } else {
      const std::size_t i = ramp_row<NegAbs, false>(k, xr, n, er);
      add_ramp_ref<T, C, Arch>(xr + i, n - i, m, er + static_cast<std::int64_t>(i), sign);
    }
  }
}
}  // namespace detail

/// xsimd kernel: same contract as add_ramp_2d_ref. One loop nest for a whole tile: the row
/// offsets come from integers (no per-row call), or, for ALiBi tiles with registers of at most
/// 256 bits, a table of the tile's R + n − 1 values (detail::ramp_2d_table).
template <class Arch, class T, class C>
void add_ramp_2d(Arch, T* x, std::ptrdiff_t ld, std::size_t rows, std::size_t n, C m,
                 std::int64_t e0, std::int64_t es, ramp_sign sign) noexcept {
  static_assert(std::is_same<C, T>::value, "add_ramp_2d: float or double rows of their own type");
  if (rows == 0 || n == 0) return;
  const std::int64_t last =
      e0 + static_cast<std::int64_t>(rows - 1) * es;  // first offset, last row
  const std::int64_t lo = std::min(e0, last), hi = std::max(e0, last);
  if (!ramp_exact<C>(lo, n) || !ramp_exact<C>(hi, n)) {
    add_ramp_2d_ref<T, C, Arch>(x, ld, rows, n, m, e0, es, sign);
  } else if (sign == ramp_sign::neg_abs) {
    detail::ramp_2d_impl<true, Arch>(x, ld, rows, n, m, e0, es);
  } else {
    detail::ramp_2d_impl<false, Arch>(x, ld, rows, n, m, e0, es);
  }
}

/// xsimd kernel: same contract as store_values_ref.
template <class Arch, class T, class C>
void store_values(Arch, T* x, const C* v, std::size_t n) noexcept {
  const std::size_t i = detail::put_values<false, Arch>(x, v, n);
  store_values_ref<T, C, Arch>(x + i, v + i, n - i);
}

/// xsimd kernel: same contract as fill_ref.
template <class Arch, class T, class C>
void fill(Arch, T* x, std::size_t n, C value) noexcept {
  std::size_t i = 0;
  if (n * sizeof(T) > 64 && prefetch_enabled())
    for (std::size_t b = 0; b < n * sizeof(T); b += 64)
      detail::prefetch_for_write(reinterpret_cast<const char*>(x) + b);
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    using B = xsimd::batch<T, Arch>;
    constexpr std::size_t N = B::size;
    const B vb(static_cast<T>(value));
    for (; i + N <= n; i += N) vb.store_unaligned(x + i);
  } else {
    using H = xsimd::batch<std::uint16_t, Arch>;
    constexpr std::size_t N = H::size;
    T one{};
    detail::store_elem<C>(one, value);
    std::uint16_t bits;
    static_assert(sizeof(T) == sizeof bits, "16-bit storage");
    std::memcpy(&bits, &one, sizeof bits);
    const H vb(bits);
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    for (; i + N <= n; i += N) vb.store_unaligned(x16 + i);
  }
  fill_ref<T, C, Arch>(x + i, n - i, value);
}
#endif  // POSENC_HAS_XSIMD

}  // namespace kernels
}  // namespace posenc

#endif  // POSENC_KERNELS_BIAS_HPP
