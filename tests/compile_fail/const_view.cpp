// std: c++17
// expect-error: this view is const
#include <cstdint>

#include "posenc/rope.hpp"

void f(const posenc::rope& r, const float* q, const std::int64_t* pos) {
  r.apply(posenc::make_head_view(q, 1, 32, 128), pos);
}
