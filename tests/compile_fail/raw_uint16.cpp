// std: c++17
// expect-error: raw 16-bit integer buffer has no number format
#include <cstdint>
#include <vector>

#include "posenc/rope.hpp"

void f(const posenc::rope& r, std::vector<std::uint16_t>& kv, const std::int64_t* pos) {
  r.apply(posenc::make_head_view(kv.data(), 1, 8, 128), pos);
}
