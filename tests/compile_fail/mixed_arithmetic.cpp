// std: c++17
// expect-error: source and destination share an arithmetic type
#include <cstdint>

#include "posenc/rope.hpp"

void f(const posenc::rope& r, const float* k, double* cache, const std::int64_t* pos) {
  r.apply_to(posenc::make_head_view(k, 1, 8, 128), posenc::make_head_view(cache, 1, 8, 128), pos);
}
