// std: c++17
// expect-error: with C\+\+17, pass positions as a pointer: positions.data\(\)
#include <cstdint>
#include <vector>

#include "posenc/rope.hpp"

void f(const posenc::rope& r, float* q, const std::vector<std::int64_t>& pos) {
  r.apply(posenc::make_head_view(q, 1, 32, 128), pos);
}
