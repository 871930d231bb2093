// posenc tests — rotations under every scaling against the oracle (tests/data/scaling_rotate.txt):
// both layouts, partial rotary, every storage type, exact and hf_f32 modes, the on-the-fly path
// (default arch and scalar reference) and the cached path.
// SPDX-License-Identifier: Apache-2.0
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/scaling.hpp>
#include <posenc/storage.hpp>

#include "support/formats.hpp"
#include "support/scaling_data.hpp"
#include "support/scaling_policies.hpp"
#include "support/tolerance.hpp"

namespace {

using posenc_test::scaling_case;
using posenc_test::scaling_rotate_row;

/// Error bound of one output element (see tests/support/tolerance.hpp for the rotation part):
///   coefficients: exact mode, float coefficients: RN32 of a double value with < 1 ulp error,
///     ≤ 1 ulp; double coefficients: < 1 ulp sincos then × magnitude, ≤ 2 ulp; hf_f32 mode:
///     float cos/sin within 1 ulp of the correctly rounded one, then × RN32(magnitude), ≤ 2 ulp.
///   angle (exact mode only): the library's θ'_k is within 2 ulp of the exact one (checked by
///     the MatchesOracle tests) and pos·θ'_k is rounded once in double, so the angle is within
///     5·2^-53·|angle|; the output moves by at most dscale·5·2^-53 (dscale = sensitivity × angle).
///   storage: bf16 (u = 2^-8), f16 (u = 2^-11, subnormal spacing 2^-24) round once more.
template <class T>
double bound(const scaling_rotate_row& r, std::size_t i) {
  const bool f64 = std::is_same<T, double>::value;
  const double u = f64 ? posenc_test::unit_roundoff(53) : posenc_test::unit_roundoff(24);
  const double coef_ulps = (r.mode == "exact" && !f64) ? 1.0 : 2.0;
  double us = 0, tiny = 0;
  if (posenc_test::storage_fmt<T>::is16) {
    us = posenc_test::unit_roundoff(posenc_test::storage_fmt<T>::precision);
    tiny = posenc_test::storage_fmt<T>::tiny;
  }
  const double angle = r.mode == "exact" ? 5.0 * std::ldexp(1.0, -53) * r.dscale[i] : 0.0;
  return posenc_test::stored_rotation_bound(r.scale[i], r.y[i], u, coef_ulps, us, tiny) + angle;
}

struct totals {
  std::size_t rows = 0, values = 0;
  double worst = 0;  // largest |error| / bound
  std::string where;
};

template <class T>
void check_row(const scaling_rotate_row& r, const posenc::rope& rope, totals& t) {
  const std::size_t D = static_cast<std::size_t>(r.head_dim);
  std::vector<T> x(D);
  for (std::size_t i = 0; i < D; ++i) x[i] = posenc_test::from_double<T>(r.x[i]);
  for (std::size_t i = 0; i < D; ++i)
    ASSERT_EQ(posenc_test::to_double(x[i]), r.x[i])
        << "line " << r.line << ": x not exact in storage";
  using C = posenc::coef_t<T>;
  // The table path for positions it holds (a table up to 1e6 positions would be 0.5 GB: the
  // large positions check the on-the-fly paths, which the cache also uses beyond capacity).
  const bool table = r.pos < 8192;
  const posenc::rope_cache<C> cache(rope, table ? static_cast<std::size_t>(r.pos) + 1 : 1);
  const std::int64_t pos = r.pos;
  const char* paths[] = {"on-the-fly/default-arch", "on-the-fly/scalar", "cache"};
  for (int path = 0; path < (table ? 3 : 2); ++path) {
    std::vector<T> y = x;
    auto v = posenc::make_head_view(y.data(), 1, 1, D);
    if (path == 0) rope.apply(v, &pos);
    if (path == 1) rope.apply<posenc::scalar_arch>(v, &pos);
    if (path == 2) cache.apply(v, &pos);
    for (std::size_t i = 0; i < D; ++i) {
      const double got = posenc_test::to_double(y[i]);
      if (i >= static_cast<std::size_t>(r.rotary_dim)) {
        EXPECT_EQ(got, r.x[i]) << "line " << r.line << " pass-through channel " << i;
        continue;
      }
      const double b = bound<T>(r, i);
      const double err = std::fabs(got - r.y[i]);
      EXPECT_LE(err, b) << "scaling_rotate.txt:" << r.line << " (" << r.scaling << " " << r.id
                        << " " << r.mode << " " << r.layout << " " << r.storage << " pos " << r.pos
                        << ") " << paths[path] << " channel " << i << ": " << got << " vs "
                        << r.y[i];
      if (b > 0 && err / b > t.worst) {
        t.worst = err / b;
        t.where = "line " + std::to_string(r.line) + " " + r.scaling + " " + r.mode + " " +
                  r.layout + " " + r.storage + " pos " + std::to_string(r.pos) + " channel " +
                  std::to_string(i) + " " + paths[path];
      }
      ++t.values;
    }
  }
  ++t.rows;
}

TEST(ScalingRotate, MatchesOracleForEveryScalingLayoutStorageAndPath) {
  const std::vector<scaling_rotate_row> rows = posenc_test::load_scaling_rotate();
  std::map<std::string, std::vector<scaling_case>> cases;
  totals t;
  for (const scaling_rotate_row& r : rows) {
    if (!cases.count(r.scaling)) cases[r.scaling] = posenc_test::load_cases(r.scaling);
    const std::vector<scaling_case>& cs = cases[r.scaling];
    ASSERT_LT(static_cast<std::size_t>(r.id), cs.size()) << "line " << r.line;
    const scaling_case& c = cs[static_cast<std::size_t>(r.id)];
    ASSERT_EQ(c.id, r.id);
    ASSERT_EQ(c.head_dim, r.head_dim);
    ASSERT_EQ(c.rotary_dim, r.rotary_dim);
    posenc::rope_config cfg = posenc_test::config_of(
        c, r.mode == "exact" ? posenc::rope_precision::exact : posenc::rope_precision::hf_f32);
    cfg.layout = r.layout == "half_split" ? posenc::rope_layout::half_split
                                          : posenc::rope_layout::interleaved;
    const posenc::rope rope = posenc_test::make_rope(r.scaling, c, cfg);
    if (r.storage == "f32") check_row<float>(r, rope, t);
    if (r.storage == "f64") check_row<double>(r, rope, t);
    if (r.storage == "bf16") check_row<posenc::bfloat16_t>(r, rope, t);
    if (r.storage == "f16") check_row<posenc::float16_t>(r, rope, t);
  }
  EXPECT_EQ(cases.size(), 7u) << "every scaling has rotated vectors";
  std::printf(
      "[ stats    ] scaling_rotate.txt: %zu rows, %zu checked values (3 paths), worst "
      "error/bound %.3f (%s)\n",
      t.rows, t.values, t.worst, t.where.c_str());
}

}  // namespace
