// posenc — CoPE, contextual position encoding (Golovneva, Wang, Weston, Sukhbaatar 2024,
// "Contextual Position Encoding: Learning to Count What's Important", arXiv 2405.18719):
// a fused row kernel (sigmoid gates, reverse scan, clamp, interpolation, add), the position
// logits q·E, and cope_bias, a contextual bias (posenc/contextual.hpp) for prefill and decode.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_COPE_HPP
#define POSENC_COPE_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "posenc/bias_protocol.hpp"
#include "posenc/config.hpp"
#include "posenc/contextual.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/kernels/bias.hpp"    // kernels::detail::iota
#include "posenc/kernels/rotate.hpp"  // kernels::detail::load_elem
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {
namespace kernels {

/**
 * Scalar reference of the CoPE row kernel (the paper's listing, one query row, keys visited
 * from the newest, index n − 1, down to 0):
 *
 *     S ← carry;  for j = n−1 … 0:  S ← S + σ(g[j]);  p = min(S, pmax);
 *                 x[j] ← x[j] + (L[⌈p⌉]·(p − ⌊p⌋) + L[⌊p⌋]·(1 − (p − ⌊p⌋)))
 *
 * g: gate logits (the scaled attention logits q·k/√d before any bias; g may alias x, each
 * g[j] is read before x[j] is written; −∞ gives gate 0), L: position logits L[0..pmax],
 * pmax = npos_max − 1. Returns the running sum S; once it reaches pmax every older key has
 * p = pmax, so the kernel adds L[pmax] to the rest without evaluating their gates (exact:
 * gates are ≥ 0, so S never decreases), and the returned value is then only known to be ≥ pmax.
 */
template <class C, class Arch = scalar_arch>
C cope_row_ref(const C* g, C* x, std::size_t n, const C* L, std::size_t pmax, C carry) noexcept {
  const C cap = static_cast<C>(pmax);
  std::size_t j = n;
  C s = carry;
  for (; j > 0 && s < cap;) {
    --j;
    s += C(1) / (C(1) + std::exp(-g[j]));
    const C p = s < cap ? s : cap;
    const C f = std::floor(p);
    const C w = p - f;
    const std::size_t fi = static_cast<std::size_t>(f);
    const std::size_t ci = static_cast<std::size_t>(std::ceil(p));
    x[j] = x[j] + (L[ci] * w + L[fi] * (C(1) - w));
  }
  const C last = L[pmax];
  for (std::size_t i = 0; i < j; ++i) x[i] = x[i] + last;
  return s;
}

/// Scalar reference of the split-KV first pass: Σ σ(g[j]) over j = n−1 … 0, stopping once the
/// sum reaches cap (the value is then ≥ cap, which is all a carry needs).
template <class C, class Arch = scalar_arch>
C cope_gate_sum_ref(const C* g, std::size_t n, C cap) noexcept {
  C s = C(0);
  for (std::size_t j = n; j > 0 && s < cap;) {
    --j;
    s += C(1) / (C(1) + std::exp(-g[j]));
  }
  return s;
}

/**
 * Scalar reference of the position logits L[p] = factor · Σ_i q[i]·E[i][p] for p < need
 * (E row i at e + i·ld, npos_max contiguous entries; summed over i in order).
 */
template <class C, class Q, class E, class Arch = scalar_arch>
void cope_position_logits_ref(const Q* q, std::size_t d, const E* e, std::ptrdiff_t ld, C factor,
                              C* L, std::size_t need) noexcept {
  for (std::size_t p = 0; p < need; ++p) L[p] = C(0);
  for (std::size_t i = 0; i < d; ++i) {
    const C qi = detail::load_elem<C>(q[i]);
    const E* row = e + static_cast<std::ptrdiff_t>(i) * ld;
    for (std::size_t p = 0; p < need; ++p) L[p] = L[p] + qi * detail::load_elem<C>(row[p]);
  }
  if (factor != C(1))
    for (std::size_t p = 0; p < need; ++p) L[p] = L[p] * factor;
}

template <class C>
C cope_row(scalar_arch, const C* g, C* x, std::size_t n, const C* L, std::size_t pmax,
           C carry) noexcept {
  return cope_row_ref<C>(g, x, n, L, pmax, carry);
}
template <class C>
C cope_gate_sum(scalar_arch, const C* g, std::size_t n, C cap) noexcept {
  return cope_gate_sum_ref<C>(g, n, cap);
}
template <class C, class Q, class E>
void cope_position_logits(scalar_arch, const Q* q, std::size_t d, const E* e, std::ptrdiff_t ld,
                          C factor, C* L, std::size_t need) noexcept {
  cope_position_logits_ref<C>(q, d, e, ld, factor, L, need);
}

#if POSENC_HAS_XSIMD
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// g++ 12 flags the self-initialised "undefined" register of avx512fintrin.h (_mm512_undefined_*,
// behind the rounding and conversion intrinsics xsimd's floor/ceil/to_int/exp use) as "may be
// used uninitialized" once inlined; the intrinsics write every lane.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace detail {
// Index generators for the in-register suffix scan: lane l takes lane min(l + K, N − 1);
// Bcast0 takes lane 0.
template <class U, unsigned K>
struct cope_shift_down {
  static constexpr U get(U i, U n) noexcept { return i + K < n ? i + K : n - 1; }
};
template <class U>
struct cope_lane0 {
  static constexpr U get(U, U) noexcept { return 0; }
};
template <class C>
using cope_uint_t = std::conditional_t<sizeof(C) == 4, std::uint32_t, std::uint64_t>;
template <class C>
using cope_int_t = std::conditional_t<sizeof(C) == 4, std::int32_t, std::int64_t>;

/// s[l] ← Σ_{t ≥ l} s[t] within one register (log2 N shift-and-add steps). AVX-512: each
/// shift is one zero-masking permute (the lanes l ≥ N − K get 0), written out because g++ 12
/// reports the "undefined" pass-through register of xsimd's unmasked permute as used
/// uninitialized in cope_row's software-pipelined loop.
template <class Arch, class C, unsigned K = 1>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> cope_suffix_scan(xsimd::batch<C, Arch> s,
                                                           const xsimd::batch<C, Arch>& iota) {
  using B = xsimd::batch<C, Arch>;
  using U = cope_uint_t<C>;
  if constexpr (K < B::size) {
    constexpr auto idx = xsimd::make_batch_constant<xsimd::batch<U, Arch>, cope_shift_down<U, K>>();
#if defined(__AVX512F__)
    if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value) {
      constexpr unsigned keep = (1u << (B::size - K)) - 1u;  // lanes l < N − K
      if constexpr (std::is_same<C, float>::value) {
        s = s + B(_mm512_maskz_permutexvar_ps(static_cast<__mmask16>(keep),
                                              xsimd::batch<U, Arch>(idx), s));
      } else {
        s = s + B(_mm512_maskz_permutexvar_pd(static_cast<__mmask8>(keep),
                                              xsimd::batch<U, Arch>(idx), s));
      }
      return cope_suffix_scan<Arch, C, 2 * K>(s, iota);
    }
#endif
    const B moved = xsimd::swizzle(s, idx);
    s = s + xsimd::select(iota < B(static_cast<C>(B::size - K)), moved, B(C(0)));
    return cope_suffix_scan<Arch, C, 2 * K>(s, iota);
  } else {
    return s;
  }
}
template <class Arch, class C>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> cope_broadcast0(const xsimd::batch<C, Arch>& s) {
  using U = cope_uint_t<C>;
#if defined(__AVX512F__)
  if constexpr (std::is_base_of<xsimd::avx512f, Arch>::value) {
    using B = xsimd::batch<C, Arch>;
    if constexpr (std::is_same<C, float>::value) {
      return B(
          _mm512_maskz_broadcastss_ps(static_cast<__mmask16>(0xFFFF), _mm512_castps512_ps128(s)));
    } else {
      return B(_mm512_maskz_broadcastsd_pd(static_cast<__mmask8>(0xFF), _mm512_castpd512_pd128(s)));
    }
  }
#endif
  return xsimd::swizzle(s, xsimd::make_batch_constant<xsimd::batch<U, Arch>, cope_lane0<U>>());
}
/**
 * Table lookup L[idx] for a register of indices (idx ≤ pmax). AVX-512 with the whole table in
 * four registers (npos_max ≤ 64 floats / 32 doubles): two two-source permutes and a blend on
 * index bit 5 (bit 4 for double); AVX2 / larger tables: the hardware gather; other
 * architectures: lane by lane.
 */
template <class Arch, class C>
struct cope_table {
  using B = xsimd::batch<C, Arch>;
  using I = xsimd::batch<cope_int_t<C>, Arch>;
  static constexpr std::size_t N = B::size;
  const C* L;
  std::size_t pmax;
#if defined(__AVX512F__)
  static constexpr bool avx512 = std::is_base_of<xsimd::avx512f, Arch>::value;
  static constexpr std::size_t in_regs = 4 * 64 / sizeof(C);  // 64 floats, 32 doubles
  B t0, t1, t2, t3;
  bool regs = false;
#endif
  cope_table(const C* l, std::size_t pm) noexcept : L(l), pmax(pm) {
#if defined(__AVX512F__)
    if constexpr (avx512) {
      regs = pmax < in_regs;
      if (regs) {
        alignas(64) C tab[in_regs] = {};
        for (std::size_t p = 0; p <= pmax; ++p) tab[p] = L[p];
        t0 = B::load_aligned(tab);
        t1 = B::load_aligned(tab + N);
        t2 = B::load_aligned(tab + 2 * N);
        t3 = B::load_aligned(tab + 3 * N);
      }
    }
#endif
  }
  POSENC_FORCE_INLINE B operator()(const I& idx) const noexcept {
#if defined(__AVX512F__)
    if constexpr (avx512) {
      if constexpr (std::is_same<C, float>::value) {
        if (regs) {
          const __m512 lo = _mm512_permutex2var_ps(t0, idx, t1);
          const __m512 hi = _mm512_permutex2var_ps(t2, idx, t3);
          return B(
              _mm512_mask_blend_ps(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), lo, hi));
        }
        return B(_mm512_i32gather_ps(idx, L, sizeof(float)));
      } else {
        if (regs) {
          const __m512d lo = _mm512_permutex2var_pd(t0, idx, t1);
          const __m512d hi = _mm512_permutex2var_pd(t2, idx, t3);
          return B(
              _mm512_mask_blend_pd(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)), lo, hi));
        }
        return B(_mm512_i64gather_pd(idx, L, sizeof(double)));
      }
    }
#endif
#if defined(__AVX2__)
    if constexpr (std::is_base_of<xsimd::avx2, Arch>::value) {
      if constexpr (std::is_same<C, float>::value) {
        return B(_mm256_i32gather_ps(L, idx, sizeof(float)));
      } else {
        return B(_mm256_i64gather_pd(L, idx, sizeof(double)));
      }
    }
#endif
    alignas(64) cope_int_t<C> ix[N];
    alignas(64) C v[N];
    idx.store_aligned(ix);
    for (std::size_t l = 0; l < N; ++l) v[l] = L[ix[l]];
    return B::load_aligned(v);
  }
};

template <class Arch, class C>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> cope_sigmoid(const xsimd::batch<C, Arch>& z) {
  using B = xsimd::batch<C, Arch>;
  B t = -z;
  if constexpr (std::is_same<C, double>::value) {
    // xsimd 8.1's double exp converts its reduced argument to int64 lane by lane where the ISA
    // has no such conversion; a logit of ±∞ would make that cast undefined behaviour (clang's
    // UBSan reports it). exp is already 0 below −800 and ∞ above 800, so clamping there keeps
    // every gate (σ(±∞) = 1 / 0 exactly); NaN compares false and stays NaN.
    t = xsimd::select(t > B(800.0), B(800.0), t);
    t = xsimd::select(t < B(-800.0), B(-800.0), t);
  }
  const B den = B(C(1)) + xsimd::exp(t);
  return B(C(1)) / den;
}

/// The vector loop's state: the carry (in every lane) and the constants.
template <class Arch, class C>
struct cope_row_loop {
  using B = xsimd::batch<C, Arch>;
  B carryv, capv, iota;
  cope_table<Arch, C> table;
  cope_row_loop(C carry, C cap, const C* L, std::size_t pmax) noexcept
      : carryv(carry), capv(cap), iota(kernels::detail::iota<C, Arch>()), table(L, pmax) {}
  /// One register's gates g[0, N) and their suffix sums within the register.
  POSENC_FORCE_INLINE B sums(const C* g) const noexcept {
    return cope_suffix_scan<Arch, C>(cope_sigmoid<Arch>(B::load_unaligned(g)), iota);
  }
  /// The carry through one register of sums (keys x[0, N)), its term added in place; true
  /// once the carry reaches the cap.
  POSENC_FORCE_INLINE bool step(B s, C* x) noexcept {
    s = carryv + s;
    carryv = cope_broadcast0<Arch>(s);
    const B p = xsimd::min(s, capv);
    const B f = xsimd::floor(p);
    const B w = p - f;
    const B lf = table(xsimd::to_int(f));
    const B lc = table(xsimd::to_int(xsimd::ceil(p)));
    (B::load_unaligned(x) + (lc * w + lf * (B(C(1)) - w))).store_unaligned(x);
    return xsimd::any(carryv >= capv);
  }
  /// The four registers of keys [j, j + 4N), newest first, from their sums; true (and j the
  /// end of the keys left) at the one whose carry reaches the cap.
  POSENC_FORCE_INLINE bool steps(const B& s3, const B& s2, const B& s1, const B& s0, C* x,
                                 std::size_t& j) noexcept {
    constexpr std::size_t N = B::size;
    // A loop rather than three written-out calls: with those, g++ 12 -Wall reports the
    // self-initialised "undefined" registers of avx512fintrin.h as used uninitialized.
    for (std::size_t u = 3; u > 0; --u) {
      if (step(u == 3 ? s3 : u == 2 ? s2 : s1, x + j + u * N)) {
        j += u * N;
        return true;
      }
    }
    return step(s0, x + j);
  }
  /**
   * Blocks of four registers from the top of the keys [0, j) (j ≥ 4N), software-pipelined by
   * one block: the next block's gates and sums (long dependency chains, independent of the
   * carry) are issued before this block's carry and terms, so the out-of-order window always
   * holds ready work (1.5–1.7× with sparse gates, Zen 5). Not when this block will saturate the
   * clamp (its register totals, lane 0 of the sums, reach the cap: dense gates), where the
   * next block would be wasted. Returns true once saturated; j: the end of the keys left.
   */
  POSENC_FORCE_INLINE bool blocks(const C* g, C* x, std::size_t& j) noexcept {
    constexpr std::size_t N = B::size;
    B s3 = sums(g + j - N), s2 = sums(g + j - 2 * N), s1 = sums(g + j - 3 * N),
      s0 = sums(g + j - 4 * N);
    while (true) {
      j -= 4 * N;
      const bool more = j >= 4 * N && !xsimd::any(carryv + ((s3 + s2) + (s1 + s0)) >= capv);
      B n3 = s3, n2 = s2, n1 = s1, n0 = s0;
      if (more) {
        n3 = sums(g + j - N);
        n2 = sums(g + j - 2 * N);
        n1 = sums(g + j - 3 * N);
        n0 = sums(g + j - 4 * N);
      }
      if (steps(s3, s2, s1, s0, x, j)) return true;
      if (!more) return false;
      s3 = n3;
      s2 = n2;
      s1 = n1;
      s0 = n0;
    }
  }
};
}  // namespace detail

/**
 * xsimd CoPE row kernel: same contract as cope_row_ref, N keys per register from the newest
 * end, in blocks of four registers (detail::cope_row_loop::blocks, software-pipelined): gates
 * σ(g) (xsimd::exp) and the suffix sums of each register (log2 N shift-and-add steps), then
 * the carry through the four, clamp, ⌊p⌋/⌈p⌉ as indices into L (cope_table: permutes from
 * registers on AVX-512, hardware gathers on AVX2), interpolation, add. After the register
 * whose carry reaches pmax, the rest of the row only adds L[pmax] (exact: gates are ≥ 0).
 * Fewer than 4N keys left: one register at a time; the low n mod N keys go through the
 * reference with the carry. Sums are associated differently from the reference (tree within a
 * register): positions agree within the rounding of the sums.
 */
template <class Arch, class C>
C cope_row(Arch, const C* g, C* x, std::size_t n, const C* L, std::size_t pmax, C carry) noexcept {
  static_assert(std::is_same<C, float>::value || std::is_same<C, double>::value,
                "posenc::kernels::cope_row: float or double rows");
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  const C cap = static_cast<C>(pmax);
  std::size_t j = n;
  if (carry < cap && j >= N) {
    detail::cope_row_loop<Arch, C> loop(carry, cap, L, pmax);
    bool saturated = j >= 4 * N && loop.blocks(g, x, j);
    while (!saturated && j >= N) {
      j -= N;
      saturated = loop.step(loop.sums(g + j), x + j);
    }
    alignas(64) C lane[N];
    loop.carryv.store_aligned(lane);
    carry = lane[0];
  }
  if (carry < cap) return cope_row_ref<C, Arch>(g, x, j, L, pmax, carry);
  const B last(L[pmax]);
  std::size_t i = 0;
  for (; i + N <= j; i += N) (B::load_unaligned(x + i) + last).store_unaligned(x + i);
  for (; i < j; ++i) x[i] = x[i] + L[pmax];
  return carry;
}

/// xsimd split-KV first pass: same contract as cope_gate_sum_ref.
template <class Arch, class C>
C cope_gate_sum(Arch, const C* g, std::size_t n, C cap) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  std::size_t j = n;
  C s = C(0);
  while (j >= N && s < cap) {
    j -= N;
    s += xsimd::hadd(detail::cope_sigmoid<Arch>(B::load_unaligned(g + j)));
  }
  if (s >= cap) return s;
  return s + cope_gate_sum_ref<C, Arch>(g, j, cap - s);
}

/// Logits [p, p + 4N) of cope_position_logits (E = C): even and odd rows i in separate
/// accumulators (8 independent chains), added at the end, then scaled by factor.
template <class Arch, class C, class Q>
POSENC_FORCE_INLINE void cope_position_logits_4(const Q* q, std::size_t d, const C* e,
                                                std::ptrdiff_t ld, C factor, C* L,
                                                std::size_t p) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t N = B::size;
  B a0(C(0)), a1(C(0)), a2(C(0)), a3(C(0)), b0(C(0)), b1(C(0)), b2(C(0)), b3(C(0));
  std::size_t i = 0;
  for (; i + 2 <= d; i += 2) {
    const B qi(detail::load_elem<C>(q[i])), qj(detail::load_elem<C>(q[i + 1]));
    const C* row = e + static_cast<std::ptrdiff_t>(i) * ld + p;
    const C* nxt = row + ld;
    a0 = a0 + qi * B::load_unaligned(row);
    a1 = a1 + qi * B::load_unaligned(row + N);
    a2 = a2 + qi * B::load_unaligned(row + 2 * N);
    a3 = a3 + qi * B::load_unaligned(row + 3 * N);
    b0 = b0 + qj * B::load_unaligned(nxt);
    b1 = b1 + qj * B::load_unaligned(nxt + N);
    b2 = b2 + qj * B::load_unaligned(nxt + 2 * N);
    b3 = b3 + qj * B::load_unaligned(nxt + 3 * N);
  }
  if (i < d) {
    const B qi(detail::load_elem<C>(q[i]));
    const C* row = e + static_cast<std::ptrdiff_t>(i) * ld + p;
    a0 = a0 + qi * B::load_unaligned(row);
    a1 = a1 + qi * B::load_unaligned(row + N);
    a2 = a2 + qi * B::load_unaligned(row + 2 * N);
    a3 = a3 + qi * B::load_unaligned(row + 3 * N);
  }
  a0 = a0 + b0;
  a1 = a1 + b1;
  a2 = a2 + b2;
  a3 = a3 + b3;
  if (factor != C(1)) {
    const B fv(factor);
    a0 = a0 * fv;
    a1 = a1 * fv;
    a2 = a2 * fv;
    a3 = a3 * fv;
  }
  a0.store_unaligned(L + p);
  a1.store_unaligned(L + p + N);
  a2.store_unaligned(L + p + 2 * N);
  a3.store_unaligned(L + p + 3 * N);
}

/// xsimd position logits: same contract as cope_position_logits_ref for float/double E with
/// C = E (blocks of 4 registers sum the even and the odd rows i separately, then add: another
/// association of the same D products); other storage types use the reference.
template <class Arch, class C, class Q, class E>
void cope_position_logits(Arch, const Q* q, std::size_t d, const E* e, std::ptrdiff_t ld, C factor,
                          C* L, std::size_t need) noexcept {
  if constexpr (!std::is_same<std::remove_const_t<E>, C>::value) {
    cope_position_logits_ref<C, Q, E, Arch>(q, d, e, ld, factor, L, need);
  } else {
    using B = xsimd::batch<C, Arch>;
    constexpr std::size_t N = B::size;
    std::size_t p = 0;
    for (; p + 4 * N <= need; p += 4 * N)
      cope_position_logits_4<Arch, C>(q, d, static_cast<const C*>(e), ld, factor, L, p);
    for (; p + N <= need; p += N) {
      B a(C(0));
      for (std::size_t i = 0; i < d; ++i)
        a = a + B(detail::load_elem<C>(q[i])) *
                    B::load_unaligned(e + static_cast<std::ptrdiff_t>(i) * ld + p);
      if (factor != C(1)) a = a * B(factor);
      a.store_unaligned(L + p);
    }
    if (p < need) cope_position_logits_ref<C, Q, E, Arch>(q, d, e + p, ld, factor, L + p, need - p);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

}  // namespace kernels

/// Options of cope_bias.
struct cope_options {
  /// Number of position embeddings (columns of E); positions are clamped to npos_max − 1.
  /// Required (> 0). The official repository's default is block_size + 1.
  std::size_t npos_max = 0;
  /// false (default): the paper's listing, logit = q·k/√d + q·E[:, p].
  /// true: the official repository's default (facebookresearch/RAM ContextPosSelfAttn,
  /// cope_nodiv = False), logit = (q·k + q·E[:, p])/√d, i.e. the position logits divided by
  /// √head_dim.
  bool divide_position_logits = false;
};

/**
 * CoPE as a contextual bias. Per query head h and query i, over the keys j the masks leave
 * visible:
 *
 *     g_ij = σ(z_ij),   z_ij = the scaled attention logit (q_i·k_j/√d) before any bias
 *     p_ij = min(Σ_{t=j..i} g_it, npos_max − 1)
 *     e_i[p] = q_i·E[:, p]   (× 1/√d with divide_position_logits)
 *     logit_ij += e_i[⌈p_ij⌉]·(p_ij − ⌊p_ij⌋) + e_i[⌊p_ij⌋]·(1 − (p_ij − ⌊p_ij⌋))
 *
 * (the paper's listing; the gates read the logits as the attention computed them, so with an
 * attention scale other than 1/√d they are σ(scale·q·k), as in the paper where the gates are
 * the attention logits themselves).
 *
 * E: a head_view over the position-embedding table(s): `table.tokens` = head_dim (rows i),
 * `table.heads` = 1 (one table shared by the heads of a layer, the paper's default) or the
 * number of query heads (one table per head), `table.dim` = npos_max (columns p, contiguous).
 * A table stored as E[d][npos] for one head: make_head_view(E, d, 1, npos).
 *
 * Separate gate keys (the repository's sep_key): pass `gate_keys`, a [keys × kv_heads × d]
 * view the caller fills and caches beside K; the gates are then σ(scale·q·k_cope) (used as
 * given, not rotated). Without them the gates are read from the logits row.
 *
 * Storage: E, q and gate keys in float, double, bfloat16 or binary16; arithmetic in the
 * logits' type C (float or double).
 *
 * Nothing is carried between decode steps (every position depends on the current query); a
 * decode step is add_to_row over the cache's logits: O(t·d) for the logits (the caller's)
 * plus O(npos_max·d) for e_i plus one pass over the t keys.
 *
 * Example (decode, one head, logits z[j] = q·k_j/√d over a cache of t keys):
 *     posenc::cope_bias cope{posenc::make_head_view(E, d, 1, npos), {npos}};
 *     std::vector<float> scratch(cope.contextual_scratch());
 *     cope.add_to_row(head, kv_head, q, 1.0f / std::sqrt(float(d)), z, t, scratch.data());
 *
 * Throws std::invalid_argument naming the field for npos_max 0, a table of the wrong shape or
 * gate keys of another head dimension.
 */
template <class E, class GK = E>
class cope_bias : public neutral_rows {
 public:
  template <class TE, class TG = const GK>
  cope_bias(head_view<TE> table, cope_options opt, head_view<TG> gate_keys = {})
      : table_(as_const(table)), gate_keys_(as_const(gate_keys)), opt_(opt) {
    static_assert(std::is_same<std::remove_const_t<TE>, E>::value &&
                      std::is_same<std::remove_const_t<TG>, GK>::value,
                  "posenc::cope_bias: view element types must be E and GK");
    constexpr const char* who = "posenc::cope_bias";
    if (opt.npos_max == 0) detail::invalid(who, "npos_max", opt.npos_max, "must be > 0");
    if (opt.npos_max > (std::size_t{1} << 24))
      detail::invalid(who, "npos_max", opt.npos_max, "must be <= 2^24 (exact in float)");
    if (table.data == nullptr) detail::invalid(who, "table.data", "null", "must not be null");
    if (table.dim != opt.npos_max)
      detail::invalid(who, "table.dim", table.dim, "must equal npos_max (columns of E)");
    if (table.tokens == 0)
      detail::invalid(who, "table.tokens", table.tokens, "must be head_dim > 0");
    if (table.heads == 0) detail::invalid(who, "table.heads", table.heads, "must be > 0");
    if (gate_keys.data != nullptr && gate_keys.dim != table.tokens)
      detail::invalid(who, "gate_keys.dim", gate_keys.dim, "must equal head_dim (table.tokens)");
  }

  std::size_t npos_max() const noexcept { return opt_.npos_max; }
  std::size_t head_dim() const noexcept { return table_.tokens; }
  const cope_options& options() const noexcept { return opt_; }
  bool separate_gate_keys() const noexcept { return gate_keys_.data != nullptr; }

  // ---- contextual protocol (posenc/contextual.hpp) ----

  std::size_t contextual_scratch() const noexcept { return opt_.npos_max; }

  /// Throws std::invalid_argument unless the attention's shapes fit this table.
  void check_contextual(std::size_t head_dim, std::size_t q_heads, std::size_t kv_heads,
                        std::size_t keys) const {
    constexpr const char* who = "posenc::cope_bias";
    if (head_dim != table_.tokens)
      detail::invalid(who, "head_dim", head_dim, "must equal table.tokens (rows of E)");
    if (table_.heads != 1 && table_.heads != q_heads)
      detail::invalid(who, "table.heads", table_.heads, "must be 1 or the number of query heads");
    if (separate_gate_keys()) {
      if (gate_keys_.heads != kv_heads)
        detail::invalid(who, "gate_keys.heads", gate_keys_.heads, "must equal the kv heads");
      if (gate_keys_.tokens < keys)
        detail::invalid(who, "gate_keys.tokens", gate_keys_.tokens, "must cover every key");
    }
  }

  /// e = q·E[:, p] into cq.scratch for the p the query can reach: p ≤ min(npos_max − 1,
  /// max_keys) (a position is a sum of at most max_keys gates ≤ 1).
  template <class Arch = default_arch, class C, class Q>
  void begin_query(contextual_query<C, Q>& cq, std::size_t max_keys) const noexcept {
    const std::size_t need = max_keys + 1 < opt_.npos_max ? max_keys + 1 : opt_.npos_max;
    const std::size_t th = table_.heads == 1 ? 0 : cq.head;
    const C factor =
        opt_.divide_position_logits ? C(1) / std::sqrt(static_cast<C>(table_.tokens)) : C(1);
    kernels::cope_position_logits(Arch{}, cq.q, table_.tokens, table_.row(0, th),
                                  table_.token_stride, factor, cq.scratch, need);
    cq.carry = C(0);
  }

  /// Adds the position logits to logits[lo, hi) (keys key0 + lo …), advancing cq.carry.
  /// Key blocks newest first. logits: scaled attention logits, no other bias added yet.
  template <class Arch = default_arch, class C, class Q>
  void add_contextual(contextual_query<C, Q>& cq, C* logits, std::size_t key0, std::size_t lo,
                      std::size_t hi) const noexcept {
    if (hi <= lo) return;
    const std::size_t pmax = opt_.npos_max - 1;
    if (!separate_gate_keys()) {
      cq.carry =
          kernels::cope_row(Arch{}, logits + lo, logits + lo, hi - lo, cq.scratch, pmax, cq.carry);
      return;
    }
    constexpr std::size_t BK = 64;
    alignas(64) C gl[BK];
    for (std::size_t end = hi; end > lo;) {
      const std::size_t begin = end - lo > BK ? end - BK : lo;
      gate_logits<Arch>(cq, key0 + begin, end - begin, gl);
      cq.carry =
          kernels::cope_row(Arch{}, gl, logits + begin, end - begin, cq.scratch, pmax, cq.carry);
      end = begin;
    }
  }

  /// Split-KV first pass: the gate sum of keys [lo, hi) (≥ npos_max − 1 means saturated).
  template <class Arch = default_arch, class C, class Q>
  C gate_sum(const contextual_query<C, Q>& cq, const C* logits, std::size_t key0, std::size_t lo,
             std::size_t hi) const noexcept {
    if (hi <= lo) return C(0);
    const C cap = static_cast<C>(opt_.npos_max - 1);
    if (!separate_gate_keys()) return kernels::cope_gate_sum(Arch{}, logits + lo, hi - lo, cap);
    constexpr std::size_t BK = 64;
    alignas(64) C gl[BK];
    C s = C(0);
    for (std::size_t end = hi; end > lo && s < cap;) {
      const std::size_t begin = end - lo > BK ? end - BK : lo;
      gate_logits<Arch>(cq, key0 + begin, end - begin, gl);
      s += kernels::cope_gate_sum(Arch{}, gl, end - begin, cap - s);
      end = begin;
    }
    return s;
  }

  /**
   * One whole row (decode step, or a query's full row in prefill): begin_query, then keys
   * [0, n) of `logits` (scaled logits of keys 0 … n−1, all visible, newest last) in one pass.
   * q: the query vector (head_dim elements); scratch: contextual_scratch() elements.
   */
  template <class Arch = default_arch, class C, class Q>
  void add_to_row(std::size_t head, std::size_t kv_head, const Q* q, C scale, C* logits,
                  std::size_t n, C* scratch) const noexcept {
    contextual_query<C, Q> cq{head, kv_head, q, scale, scratch, C(0)};
    begin_query<Arch>(cq, n);
    add_contextual<Arch>(cq, logits, 0, 0, n);
  }

  // ---- neutral part of the fused rows protocol (posenc/bias_protocol.hpp) ----
  // In a sum_bias the position pass sees every key visible and adds nothing (a mask-only part
  // that masks nothing); the contextual term is applied through the protocol above
  // (reference_attention does so). value() is 0 for the same reason.

  // (value, has_values, row_type, row: inherited from neutral_rows.)

 private:
  template <class T>
  static head_view<const std::remove_const_t<T>> as_const(head_view<T> v) noexcept {
    return {v.data, v.tokens, v.heads, v.dim, v.token_stride, v.head_stride};
  }
  // Arch only names the copy (code built for different instruction sets never shares a symbol).
  template <class Arch, class C, class Q>
  void gate_logits(const contextual_query<C, Q>& cq, std::size_t k0, std::size_t n,
                   C* out) const noexcept {
    const std::size_t d = table_.tokens;
    for (std::size_t c = 0; c < n; ++c) {
      const GK* kc = gate_keys_.row(k0 + c, cq.kv_head);
      C dot = C(0);
      for (std::size_t i = 0; i < d; ++i)
        dot += kernels::detail::load_elem<C>(cq.q[i]) * kernels::detail::load_elem<C>(kc[i]);
      out[c] = cq.scale * dot;
    }
  }

  head_view<const E> table_;
  head_view<const GK> gate_keys_;
  cope_options opt_;
};

template <class TE>
cope_bias(head_view<TE>, cope_options) -> cope_bias<std::remove_const_t<TE>>;
template <class TE, class TG>
cope_bias(head_view<TE>, cope_options, head_view<TG>)
    -> cope_bias<std::remove_const_t<TE>, std::remove_const_t<TG>>;

}  // namespace posenc

#endif  // POSENC_COPE_HPP
