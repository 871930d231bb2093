// std: c++20
// expect-clean
// C++20: any contiguous range of int32 / int64 positions (std::vector, std::array, std::span).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "posenc/rope.hpp"
#include "posenc/rope_cache.hpp"

void f(const posenc::rope& r, const posenc::rope_cache<float>& c, float* q, float* k,
       const std::vector<std::int64_t>& pos, const std::array<std::int32_t, 4>& pos4) {
  r.apply(posenc::make_head_view(q, pos.size(), 32, 128), pos);
  r.apply(posenc::make_head_view(q, 4, 32, 128), posenc::make_head_view(k, 4, 8, 128), pos4);
  c.apply(posenc::make_head_view(q, 4, 32, 128), std::span<const std::int32_t>(pos4));
}
