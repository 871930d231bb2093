// posenc tests — reference helpers for the bias / embedding tests, independent of include/posenc:
// value comparison with signed zeros and NaN, and a long-double softmax. (Storage formats:
// formats.hpp.)
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TESTS_SUPPORT_BIAS_REF_HPP
#define POSENC_TESTS_SUPPORT_BIAS_REF_HPP

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "posenc/storage.hpp"

#include "formats.hpp"

namespace posenc_test {

/// Same value, including the sign of zero and both NaN (any payload).
inline bool same_value(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

/// Softmax of a row in long double (−∞ entries get 0).
inline std::vector<long double> softmax_ld(const std::vector<double>& s) {
  long double mx = -std::numeric_limits<long double>::infinity();
  for (double v : s) mx = std::max<long double>(mx, v);
  std::vector<long double> p(s.size(), 0.0L);
  long double tot = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::isinf(s[i]) && s[i] < 0) continue;
    p[i] = std::exp(static_cast<long double>(s[i]) - mx);
    tot += p[i];
  }
  for (auto& v : p) v /= tot;
  return p;
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_BIAS_REF_HPP
