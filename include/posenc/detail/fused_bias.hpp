// posenc — private: the machinery of the fused bias pass (bias_protocol.hpp): evaluating any
// bias's value, the value_term adapter for value()-only biases, and fused_add_row, the single
// pass over one row that sum_bias, scaled, positioned and alibi_bias share.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_FUSED_BIAS_HPP
#define POSENC_DETAIL_FUSED_BIAS_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>

#include "posenc/bias_protocol.hpp"
#include "posenc/config.hpp"
#include "posenc/kernels/bias.hpp"
#include "posenc/simd/ops.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

#if POSENC_HAS_XSIMD
#include <xsimd/xsimd.hpp>
#endif

namespace posenc {
namespace detail {

/// How many of the n keys at k_first, k_first + 1, … are at positions ≤ last: clamp(last −
/// k_first + 1, 0, n), computed without overflow for every int64 pair (causal ranges).
inline std::size_t keys_up_to(std::int64_t last, std::int64_t k_first, std::size_t n) noexcept {
  if (last < k_first) return 0;
  const std::uint64_t diff = static_cast<std::uint64_t>(last) - static_cast<std::uint64_t>(k_first);
  return diff >= n ? n : static_cast<std::size_t>(diff) + 1;
}
/// keys_up_to(last − back, k_first, n), with last − back saturated below (no overflow).
inline std::size_t keys_up_to_back(std::int64_t last, std::uint64_t back, std::int64_t k_first,
                                   std::size_t n) noexcept {
  constexpr auto i64max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (back > i64max) return 0;
  const auto b = static_cast<std::int64_t>(back);
  if (last < std::numeric_limits<std::int64_t>::min() + b) return 0;
  return keys_up_to(last - b, k_first, n);
}

// ---- unwrapping std::reference_wrapper (sum_bias{std::cref(alibi), ...} shares a functor) ----
template <class B>
struct unwrap_bias {
  using type = B;
  static const B& get(const B& b) noexcept { return b; }
};
template <class B>
struct unwrap_bias<std::reference_wrapper<B>> {
  using type = std::remove_const_t<B>;
  static const type& get(const std::reference_wrapper<B>& b) noexcept { return b.get(); }
};
template <class B>
using unwrap_bias_t = typename unwrap_bias<B>::type;
template <class B>
const unwrap_bias_t<B>& get_bias(const B& b) noexcept {
  return unwrap_bias<B>::get(b);
}

/// Compile-time check with a message a user can read.
template <class B>
constexpr void check_bias() noexcept {
  static_assert(is_attention_bias_v<B>,
                "posenc: this type is not an attention bias: it needs value(head, q_pos, k_pos) "
                "or the fused rows protocol (see posenc/bias_protocol.hpp)");
}

/// value(head, q, k) of any bias, in C.
template <class C, class B>
C bias_value(const B& b, std::size_t head, std::int64_t q, std::int64_t k) noexcept {
  if constexpr (has_template_value<B, C>::value) {
    return b.template value<C>(head, q, k);
  } else {
    return static_cast<C>(b.value(head, q, k));
  }
}

#if POSENC_HAS_XSIMD
/// A register of f(j0), f(j0 + step), …: lanes() for values that have no vector form.
template <class Arch, class C, class F>
xsimd::batch<C, Arch> gather_lanes(std::size_t j0, std::size_t step, const F& f) noexcept {
  using Bt = xsimd::batch<C, Arch>;
  alignas(64) C tmp[Bt::size];
  for (std::size_t l = 0; l < Bt::size; ++l) tmp[l] = f(j0 + l * step);
  return Bt::load_aligned(tmp);
}
#endif

/// Adapter giving a value()-only bias (or one without rows for these keys) the fused protocol:
/// its values are evaluated one key at a time inside the single pass (correct for any bias;
/// vectorised only around it).
template <class B>
struct value_term {
  const B* bias = nullptr;

  static constexpr bool has_values = true;
  template <class C, class Keys>
  struct row_type {
    const B* bias = nullptr;
    std::size_t head = 0;
    std::int64_t q = 0;
    Keys keys{};
    std::size_t lo = 0, hi = 0;
    bool exact = true;
  };
  template <class C, class Keys>
  row_type<C, Keys> row(std::size_t head, std::int64_t q, const Keys& keys,
                        std::size_t n) const noexcept {
    return row_type<C, Keys>{bias, head, q, keys, 0, n, true};
  }
  template <class C, class Keys>
  static C lane(const row_type<C, Keys>& r, std::size_t j) noexcept {
    return bias_value<C>(*r.bias, r.head, r.q, r.keys.at(j));
  }
#if POSENC_HAS_XSIMD
  template <class Arch, class C, class Keys>
  static xsimd::batch<C, Arch> lanes(const row_type<C, Keys>& r, std::size_t j0, std::size_t step,
                                     const xsimd::batch<C, Arch>&) noexcept {
    return gather_lanes<Arch, C>(j0, step, [&r](std::size_t j) { return lane(r, j); });
  }
#endif
};

/// B's rows for Keys: B itself when it implements them, otherwise a value_term around it.
template <class B, class Keys>
struct fused_term {
  static constexpr bool own = has_fused_rows_v<B, Keys>;
  using type = std::conditional_t<own, B, value_term<B>>;
  using ref = std::conditional_t<own, const B&, value_term<B>>;
  static ref make(const B& b) noexcept {
    if constexpr (own) {
      return b;
    } else {
      return value_term<B>{&b};
    }
  }
};
template <class B, class Keys>
using fused_term_t = typename fused_term<B, Keys>::type;

/// A wrapper may offer rows for Keys when its inner bias's term for Keys is what it is for
/// affine keys: its own rows (a fused type that accepts Keys), or value() (a value-only bias).
/// A mask that only has affine rows is not wrapped for explicit keys (its has_values would
/// change): such a wrapper is evaluated through its value() there.
template <class B, class Keys>
inline constexpr bool rows_consistent_v =
    has_fused_rows_v<B, Keys> || !has_fused_rows_v<B, affine_keys>;

/// The visibility callback of alibi_bias::add_to_masked when nothing else masks.
struct visible_all {
  std::size_t cols = 0;
  std::pair<std::size_t, std::size_t> operator()(std::size_t) const noexcept { return {0, cols}; }
};
/// Does U offer add_to_masked (a tile path that also applies other biases' masks)?
template <class U, class T, class = void>
struct has_add_to_masked : std::false_type {};
template <class U, class T>
struct has_add_to_masked<
    U, T,
    std::void_t<decltype(std::declval<const U&>().template add_to_masked<scalar_arch>(
        std::declval<logits_view<T>>(), std::size_t{}, std::int64_t{}, std::int64_t{},
        std::declval<const visible_all&>()))>> : std::true_type {};

/// Does B provide its own vector loop for the visible range of a row (add_row_values)?
template <class B, class Arch, class T, class R, class = void>
struct has_add_row_values : std::false_type {};
template <class B, class Arch, class T, class R>
struct has_add_row_values<
    B, Arch, T, R,
    std::void_t<decltype(std::declval<const B&>().template add_row_values<Arch>(
        std::declval<const R&>(), std::declval<T*>(), std::size_t{}, std::size_t{}))>>
    : std::true_type {};

/// Scalar reference of the fused pass over keys [j0, j0 + n) of a row whose visible range was
/// already resolved: x[i] = T(C(x[i]) + lane(row, j0 + i)).
template <class B, class R, class T, class Arch = scalar_arch>
void fused_values_ref(const R& r, T* x, std::size_t j0, std::size_t n) noexcept {
  using C = coef_t<T>;
  for (std::size_t i = 0; i < n; ++i)
    posenc::detail::store_elem<C>(x[i], posenc::detail::load_elem<C>(x[i]) + B::lane(r, j0 + i));
}

#if POSENC_HAS_XSIMD
/// The lane-parallel body of fused_values: keys [j, hi) in whole registers; returns where the
/// reference must continue.
template <class Arch, class B, class R, class T>
std::size_t fused_values_simd(const R& r, T* x, std::size_t j, std::size_t hi) noexcept {
  using C = coef_t<T>;
  if constexpr (!posenc::detail::is_16bit_storage<T>()) {
    using V = xsimd::batch<C, Arch>;
    constexpr std::size_t N = V::size;
    const V io = kernels::detail::iota<C, Arch>();
    for (; j + N <= hi; j += N) {
      const V jv = V(static_cast<C>(j)) + io;
      (V::load_unaligned(x + j) + B::template lanes<Arch>(r, j, 1, jv)).store_unaligned(x + j);
    }
  } else {
    using F = xsimd::batch<float, Arch>;
    constexpr std::size_t N = F::size;
    const F io2 = kernels::detail::iota<float, Arch>(2.0f);
    std::uint16_t* x16 = reinterpret_cast<std::uint16_t*>(x);
    for (; j + 2 * N <= hi; j += 2 * N) {
      const F je = F(static_cast<float>(j)) + io2;
      simd::transform16<T, Arch>(x16, j, [&](F& a, F& c) {
        a = a + B::template lanes<Arch>(r, j, 2, je);
        c = c + B::template lanes<Arch>(r, j + 1, 2, je + F(1.0f));
      });
    }
  }
  return j;
}
#endif

/// Scalar reference: x[i] = v[i] == −∞ ? −∞ : T(C(x[i]) + v[i]) (a row of values evaluated once,
/// −∞ where masked: masked logits are set, as the fused pass sets them).
template <class T, class C, class Arch = scalar_arch>
void add_values_or_mask_ref(T* x, const C* v, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    x[i] = v[i] == -std::numeric_limits<C>::infinity()
               ? static_cast<T>(v[i])
               : static_cast<T>(static_cast<C>(x[i]) + v[i]);
}
#if POSENC_HAS_XSIMD
/// One register of add_values_or_mask: the logits at x plus v, or v where v is −∞ (Masked).
template <bool Masked, class Arch, class T, class C>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> values_or_mask_at(
    const T* x, const xsimd::batch<C, Arch>& v) noexcept {
  using B = xsimd::batch<C, Arch>;
  const B y = B::load_unaligned(x) + v;
  if constexpr (Masked) {
    return xsimd::select(v == B(-std::numeric_limits<C>::infinity()), v, y);
  } else {
    return y;
  }
}
/// values_or_mask_at with the values read from v + i.
template <bool Masked, class Arch, class T, class C>
POSENC_FORCE_INLINE xsimd::batch<C, Arch> values_or_mask_reg(const T* x, const C* v,
                                                             std::size_t i) noexcept {
  return values_or_mask_at<Masked, Arch>(x + i, xsimd::batch<C, Arch>::load_unaligned(v + i));
}
#endif
/// add_values_or_mask_ref for float/double rows, lane-parallel (4 registers per step). With
/// Masked = false the caller knows no v[i] is −∞: a plain add.
template <bool Masked, class Arch, class T, class C>
POSENC_FORCE_INLINE void add_values_or_mask(T* x, const C* v, std::size_t n) noexcept {
  static_assert(std::is_same<T, C>::value, "posenc: float or double rows of their own type");
  std::size_t i = 0;
#if POSENC_HAS_XSIMD
  if constexpr (!std::is_same<Arch, scalar_arch>::value) {
    using B = xsimd::batch<C, Arch>;
    constexpr std::size_t N = B::size;
    const auto one = [&](std::size_t j) { return values_or_mask_reg<Masked, Arch>(x, v, j); };
    for (; i + 4 * N <= n; i += 4 * N) {
      const B y0 = one(i), y1 = one(i + N), y2 = one(i + 2 * N), y3 = one(i + 3 * N);
      y0.store_unaligned(x + i);
      y1.store_unaligned(x + i + N);
      y2.store_unaligned(x + i + 2 * N);
      y3.store_unaligned(x + i + 3 * N);
    }
    for (; i + N <= n; i += N) one(i).store_unaligned(x + i);
  }
#endif
  add_values_or_mask_ref<T, C, Arch>(x + i, v + i, n - i);
}

/// add_values_or_mask on `rows` rows x, x + ld, … that share one row of values v (BiPE: the
/// queries of one segment): one loop nest, as kernels::add_ramp_2d (the per-row set-up of a
/// short tile row is paid once per group).
template <bool Masked, class Arch, class T, class C>
void add_values_or_mask_rows(T* x, std::ptrdiff_t ld, std::size_t rows, const C* v,
                             std::size_t n) noexcept {
  std::size_t i0 = 0;
#if POSENC_HAS_XSIMD
  if constexpr (!std::is_same<Arch, scalar_arch>::value) {
    constexpr std::size_t N = xsimd::batch<C, Arch>::size;
    i0 = n - n % N;
    const std::size_t i4 = n - n % (4 * N);
    const auto one = [&](T* xr, std::size_t i) {
      values_or_mask_reg<Masked, Arch>(xr, v, i).store_unaligned(xr + i);
    };
    for (std::size_t r = 0; r < rows; ++r) {
      T* const xr = x + static_cast<std::ptrdiff_t>(r) * ld;
      std::size_t i = 0;
      for (; i < i4; i += 4 * N) {
        one(xr, i);
        one(xr, i + N);
        one(xr, i + 2 * N);
        one(xr, i + 3 * N);
      }
      for (; i < i0; i += N) one(xr, i);
    }
  }
#endif
  if (i0 != n)
    for (std::size_t r = 0; r < rows; ++r)
      add_values_or_mask_ref<T, C, Arch>(x + static_cast<std::ptrdiff_t>(r) * ld + i0, v + i0,
                                         n - i0);
}

#if POSENC_HAS_XSIMD
/// How many registers of a row add_window_rows holds in registers (the rest it reads from the
/// stored row): 16, half of AVX-512's register file; 0 where Arch has no window permute.
template <class Arch, class T>
constexpr std::size_t window_regs() noexcept {
  if constexpr (posenc::detail::is_16bit_storage<T>()) {
    return 0;
  } else {
    return simd::window_lanes<Arch, T>() == 0 ? 0 : 16;
  }
}
/// One register of the row add_window_rows describes: keys c … c + L − 1, gathered from the
/// two aligned registers of g around their first key's index.
template <class Arch, class T>
POSENC_FORCE_INLINE xsimd::batch<T, Arch> window_row_reg(const T* g, const std::int32_t* k,
                                                         std::int32_t base,
                                                         std::size_t c) noexcept {
  constexpr std::int32_t L = static_cast<std::int32_t>(simd::window_lanes<Arch, T>());
  const std::int32_t w = (k[c] - base) & ~(L - 1);
  return simd::window_gather<Arch>(g + w, k + c, static_cast<std::int32_t>(base + w));
}
/// add_window_rows with NR (a compile-time count: they stay in registers) registers gathered,
/// the rest of the row from vals.
template <std::size_t NR, bool Masked, class Arch, class T, std::size_t... J>
POSENC_FORCE_INLINE void window_rows_fixed(T* x, std::ptrdiff_t ld, std::size_t rows, const T* g,
                                           const std::int32_t* k, std::int32_t base, const T* vals,
                                           std::size_t n, std::index_sequence<J...>) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t L = B::size;
  const B v[NR] = {window_row_reg<Arch>(g, k, base, J * L)...};
  for (std::size_t r = 0; r < rows; ++r) {
    T* const xr = x + static_cast<std::ptrdiff_t>(r) * ld;
    (values_or_mask_at<Masked, Arch>(xr + J * L, v[J]).store_unaligned(xr + J * L), ...);
    if (n != NR * L) add_values_or_mask<Masked, Arch>(xr + NR * L, vals + NR * L, n - NR * L);
  }
}
/// window_rows_fixed for nr = 1 … sizeof...(I) registers (a compare chain in one function),
/// add_values_or_mask_rows for nr = 0.
template <bool Masked, class Arch, class T, std::size_t... I>
void window_rows_regs(std::size_t nr, T* x, std::ptrdiff_t ld, std::size_t rows, const T* g,
                      const std::int32_t* k, std::int32_t base, const T* vals, std::size_t n,
                      std::index_sequence<I...>) noexcept {
  const bool done =
      ((nr == I + 1 ? (window_rows_fixed<I + 1, Masked, Arch>(x, ld, rows, g, k, base, vals, n,
                                                              std::make_index_sequence<I + 1>{}),
                       true)
                    : false) ||
       ...);
  if (!done) add_values_or_mask_rows<Masked, Arch>(x, ld, rows, vals, n);
}

/**
 * add_values_or_mask_rows over n keys whose row of values is v[c] = g[k[c] − base] (int32
 * positions k; every register's indices within one simd::window_gather, g aligned to the
 * register width): the first min(n / L, window_regs) registers are gathered into registers
 * once and added to every row from there (never stored and reloaded); the keys after them
 * are read from vals, which must hold them. Same values and arithmetic as the stored row.
 */
template <bool Masked, class Arch, class T>
void add_window_rows(T* x, std::ptrdiff_t ld, std::size_t rows, const T* g, const std::int32_t* k,
                     std::int32_t base, const T* vals, std::size_t n) noexcept {
  constexpr std::size_t W = window_regs<Arch, T>();
  static_assert(W != 0, "posenc: add_window_rows: no window permute on Arch");
  const std::size_t nr = n / simd::window_lanes<Arch, T>();
  window_rows_regs<Masked, Arch>(nr < W ? nr : W, x, ld, rows, g, k, base, vals, n,
                                 std::make_index_sequence<W>{});
}
#endif

#if POSENC_HAS_XSIMD
/// Registers per row of a block of add_computed_tile: 16, half of AVX-512's register file.
constexpr std::size_t computed_regs = 16;

/// add_computed_tile over one block of n keys: NR whole registers (compile time) and, with
/// Tail, n − NR·L (1 … L − 1) keys more.
template <std::size_t NR, bool Tail, class Arch, class T, class Row, class Eval, class Hint,
          std::size_t... J>
void computed_block_fixed(T* x, std::ptrdiff_t ld, std::size_t rows, const std::int32_t* qp,
                          const T* jv, std::size_t n, const Row& row, const Eval& eval,
                          const Hint& hint, std::index_sequence<J...>) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t L = B::size;
  B v[NR];
  alignas(64) T tv[L];  // Tail: the row's last n − NR·L values
  for (std::size_t r = 0; r < rows;) {
    const std::int32_t qm = qp[r];
    const auto rw = row(qm);
    ((v[J] = eval(rw, B::load_aligned(jv + J * L))), ...);
    if constexpr (Tail) eval(rw, B::load_aligned(jv + NR * L)).store_aligned(tv);
    do {
      T* const xr = x + static_cast<std::ptrdiff_t>(r) * ld;
      hint(r);
      ((B::load_unaligned(xr + J * L) + v[J]).store_unaligned(xr + J * L), ...);
      if constexpr (Tail)
        for (std::size_t c = NR * L; c < n; ++c) xr[c] = xr[c] + tv[c - NR * L];
    } while (++r < rows && qp[r] == qm);
  }
}
template <class Arch, class T, class Row, class Eval, class Hint, std::size_t... I>
void computed_block_n(std::size_t nr, T* x, std::ptrdiff_t ld, std::size_t rows,
                      const std::int32_t* qp, const T* jv, std::size_t n, const Row& row,
                      const Eval& eval, const Hint& hint, std::index_sequence<I...>) noexcept {
  const bool tail = n != nr * xsimd::batch<T, Arch>::size;
  (void)((nr == I + 1 ? ((tail ? computed_block_fixed<I + 1, true, Arch>(
                                     x, ld, rows, qp, jv, n, row, eval, hint,
                                     std::make_index_sequence<I + 1>{})
                               : computed_block_fixed<I + 1, false, Arch>(
                                     x, ld, rows, qp, jv, n, row, eval, hint,
                                     std::make_index_sequence<I + 1>{})),
                         true)
                      : false) ||
         ...);
}
/**
 * A whole tile (row r: query position qp[r]; n keys at offsets jv[c], c < n, in T, jv aligned
 * and readable up to n + L; no mask) whose row for query position qm
 * is eval(row(qm), offsets) register by register: in column blocks of computed_regs registers
 * (the last one up to L − 1 keys more), each one loop over the rows that computes the block's
 * registers where qp changes and adds them to every row (one load, one add, one store per
 * register). L ≤ n ≤ 4 · computed_regs · L.
 */
template <class Arch, class T, class Row, class Eval, class Hint>
void add_computed_tile(T* x, std::ptrdiff_t ld, std::size_t rows, const std::int32_t* qp,
                       const T* jv, std::size_t n, const Row& row, const Eval& eval,
                       const Hint& hint) noexcept {
  constexpr std::size_t L = xsimd::batch<T, Arch>::size, W = computed_regs * L;
  POSENC_ASSERT((n >= L && n <= 4 * W), "posenc: add_computed_tile: row width");
  for (std::size_t c0 = 0; c0 < n;) {
    const std::size_t w = n - c0 <= W + L - 1 ? n - c0 : W;  // then ≥ L keys remain
    computed_block_n<Arch>(w / L, x + c0, ld, rows, qp, jv + c0, w, row, eval, hint,
                           std::make_index_sequence<computed_regs>{});
    c0 += w;
  }
}
#endif

/// Calls f(c) for each c in [1, m) where k[c] != k[c − 1], in increasing order, for a prefix
/// [1, m) of [1, n) done in whole registers (simd::change_mask: a compare and a bit scan per
/// register on AVX2 / AVX-512, so the cost follows the number of changes, not of keys; m = 1
/// elsewhere); the caller scans [m, n). Returns m, or 0 as soon as f returns false.
template <class Arch, class P, class F>
std::size_t find_changes([[maybe_unused]] const P* k, [[maybe_unused]] std::size_t n,
                         [[maybe_unused]] F&& f) {
  std::size_t c = 1;
#if POSENC_HAS_XSIMD
  constexpr std::size_t N = simd::change_lanes<Arch, P>();
  if constexpr (N != 0) {
    for (; c + N <= n; c += N)
      for (std::uint32_t m = simd::change_mask<Arch>(k + c); m != 0; m &= m - 1)
        if (!f(c + simd::lowest_bit<Arch>(m))) return 0;
  }
#endif
  return c;
}

/// Is any of v[0..n) −∞? (Lane-parallel; exact.)
template <class Arch, class C>
bool any_ninf(const C* v, std::size_t n) noexcept {
  constexpr C ninf = -std::numeric_limits<C>::infinity();
  std::size_t i = 0;
#if POSENC_HAS_XSIMD
  if constexpr (!std::is_same<Arch, scalar_arch>::value) {
    using B = xsimd::batch<C, Arch>;
    constexpr std::size_t N = B::size;
    const B nb(ninf);
    for (; i + 2 * N <= n; i += 2 * N)
      if (xsimd::any((B::load_unaligned(v + i) == nb) | (B::load_unaligned(v + i + N) == nb)))
        return true;
  }
#endif
  for (; i < n; ++i)
    if (v[i] == ninf) return true;
  return false;
}

/**
 * The fused pass over one row of n keys at positions `keys`: every key outside the bias's
 * visible range is set to −∞, every visible one gets T(C(x) + lane(j)). B implements the fused
 * rows protocol for Keys. A part with add_row_values runs its own loop over the visible range.
 */
template <class Arch, class B, class Keys, class T>
void fused_add_row(const B& b, std::size_t head, std::int64_t q, const Keys& keys, T* x,
                   std::size_t n) noexcept {
  using C = coef_t<T>;
  const auto r = b.template row<C>(head, q, keys, n);
  const std::size_t hi = r.hi < n ? r.hi : n;
  const std::size_t lo = r.lo < hi ? r.lo : hi;
  kernels::fill(Arch{}, x, lo, -std::numeric_limits<C>::infinity());
  kernels::fill(Arch{}, x + hi, n - hi, -std::numeric_limits<C>::infinity());
  if constexpr (B::has_values) {
    using R = std::remove_cv_t<decltype(r)>;
    if constexpr (has_add_row_values<B, Arch, T, R>::value) {
      b.template add_row_values<Arch>(r, x, lo, hi);
    } else {
      std::size_t j = lo;
#if POSENC_HAS_XSIMD
      if constexpr (!std::is_same<Arch, scalar_arch>::value) {
        if (r.exact) j = fused_values_simd<Arch, B>(r, x, j, hi);
      }
#endif
      fused_values_ref<B, R, T, Arch>(r, x + j, j, hi - j);
    }
  }
}

/// Every row of a tile (row r = query q_first + r, column c = key k_first + c) through
/// fused_add_row.
template <class Arch, class B, class T>
void fused_add_tile(const B& b, logits_view<T> block, std::size_t head, std::int64_t q_first,
                    std::int64_t k_first) noexcept {
  for (std::size_t r = 0; r < block.rows; ++r)
    fused_add_row<Arch>(b, head, q_first + static_cast<std::int64_t>(r), affine_keys{k_first},
                        block.row(r), block.cols);
}

/// fused_add_tile under other biases' masks: row r is −∞ outside the column range [lo, hi) that
/// visible(r) leaves (clamped to the tile), and b's fused row inside it. The per-row route of
/// add_to_masked (16-bit tiles; biases without a faster tile path).
template <class Arch, class B, class T, class Visible>
void fused_add_tile_masked(const B& b, logits_view<T> block, std::size_t head, std::int64_t q_first,
                           std::int64_t k_first, const Visible& visible) noexcept {
  using C = coef_t<T>;
  constexpr C ninf = -std::numeric_limits<C>::infinity();
  for (std::size_t r = 0; r < block.rows; ++r) {
    const auto v = visible(r);
    const std::size_t hi = v.second < block.cols ? v.second : block.cols;
    const std::size_t lo = v.first < hi ? v.first : hi;
    T* x = block.row(r);
    kernels::fill(Arch{}, x, lo, ninf);
    fused_add_row<Arch>(b, head, q_first + static_cast<std::int64_t>(r),
                        affine_keys{k_first + static_cast<std::int64_t>(lo)}, x + lo, hi - lo);
    kernels::fill(Arch{}, x + hi, block.cols - hi, ninf);
  }
}

/// A wrapper bias's row (scaled, positioned): the inner row's visible range and exactness.
template <class R>
void inherit_range(R& r) noexcept {
  r.lo = r.inner.lo;
  r.hi = r.inner.hi;
  r.exact = r.inner.exact;
}

// ---- The public entry points every bias spells the same way, written once (CRTP) ------------

/// add_to_row over keys k_first, k_first + 1, …: D's fused row (D implements the fused-rows
/// protocol: row / lane / lanes, posenc/bias_protocol.hpp).
template <class D>
struct fused_row_entry {
  template <class Arch = default_arch, class T>
  void add_to_row(std::size_t head, std::int64_t q_pos, std::int64_t k_first, T* logits,
                  std::size_t n_keys) const noexcept {
    fused_add_row<Arch>(static_cast<const D&>(*this), head, q_pos, affine_keys{k_first}, logits,
                        n_keys);
  }
};

/// add_to over a tile (row r = query q_first + r, column c = key k_first + c): D's fused row on
/// every row.
template <class D>
struct fused_tile_entry {
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) const noexcept {
    fused_add_tile<Arch>(static_cast<const D&>(*this), block, head, q_first, k_first);
  }
};

/// add_to over a tile for a bias with its own masked tile path: D::add_to_masked with every
/// column visible.
template <class D>
struct masked_tile_entry {
  template <class Arch = default_arch, class T>
  void add_to(logits_view<T> block, std::size_t head, std::int64_t q_first,
              std::int64_t k_first) const noexcept {
    static_cast<const D&>(*this).template add_to_masked<Arch>(block, head, q_first, k_first,
                                                              visible_all{block.cols});
  }
};

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_FUSED_BIAS_HPP
