// posenc tests — first-principles long-double RoPE oracle
// SPDX-License-Identifier: Apache-2.0
//
// Written from the RoPE formulas (RoFormer, Su et al. 2021, §3.4), independent of include/posenc:
//   inv_freq[k] = base^(-2k/d),  angle = pos * inv_freq[k],  d = rotary_dim, k < d/2
//   (x_a, x_b) -> (x_a cos - x_b sin, x_a sin + x_b cos)
//   half_split pairs (k, k + d/2); interleaved pairs (2k, 2k+1); channels >= d pass through.
//
// Intended for property tests at SMALL positions (say pos <= 2^16), where long double angles
// and cosl/sinl are far more accurate than any float or double path under test. It is not a
// correctly rounded reference: for large positions and exact table values use the committed
// data (tests/support/data.hpp, generated with mpmath by tests/oracle/gen_rope.py).
// Note: on targets where long double == double the margin over the double paths vanishes.

#ifndef POSENC_TESTS_SUPPORT_ORACLE_HPP
#define POSENC_TESTS_SUPPORT_ORACLE_HPP

#include <cmath>

namespace posenc_test {
namespace oracle {

/// base^(-2k/d) in long double (powl).
inline long double inv_freq(long double base, int d, int k) {
  return std::pow(base, -static_cast<long double>(2 * k) / static_cast<long double>(d));
}

/// Channel indices (a, b) of pair k in a rotary block of width d.
inline void pair_channels(bool interleaved, int d, int k, int& a, int& b) {
  a = interleaved ? 2 * k : k;
  b = interleaved ? 2 * k + 1 : k + d / 2;
}

/// y = RoPE(x) for one head of head_dim channels at position pos; the leading rotary_dim
/// (even, <= head_dim) channels are rotated, the rest copied. x and y must not alias.
/// inverse = true applies the transpose rotation (angle -> -angle).
inline void rotate(bool interleaved, const long double* x, long double* y, int head_dim,
                   int rotary_dim, long double base, long double pos, bool inverse = false) {
  for (int i = 0; i < head_dim; ++i) y[i] = x[i];
  for (int k = 0; k < rotary_dim / 2; ++k) {
    const long double angle = pos * inv_freq(base, rotary_dim, k);
    const long double c = std::cos(angle);
    const long double s = inverse ? -std::sin(angle) : std::sin(angle);
    int a = 0, b = 0;
    pair_channels(interleaved, rotary_dim, k, a, b);
    y[a] = x[a] * c - x[b] * s;
    y[b] = x[a] * s + x[b] * c;
  }
}

/// Conditioning scale of output channel i of rotate(): |x_a c| + |x_b s| (or |x_a s| + |x_b c|
/// for the second channel of a pair); 0 for pass-through channels. Tolerances: k·eps·scale.
inline long double rotate_scale(bool interleaved, const long double* x, int rotary_dim,
                                long double base, long double pos, int i) {
  for (int k = 0; k < rotary_dim / 2; ++k) {
    int a = 0, b = 0;
    pair_channels(interleaved, rotary_dim, k, a, b);
    if (i != a && i != b) continue;
    const long double angle = pos * inv_freq(base, rotary_dim, k);
    const long double c = std::fabs(std::cos(angle)), s = std::fabs(std::sin(angle));
    return i == a ? std::fabs(x[a]) * c + std::fabs(x[b]) * s
                  : std::fabs(x[a]) * s + std::fabs(x[b]) * c;
  }
  return 0.0L;
}

}  // namespace oracle
}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_ORACLE_HPP
