// std: c++17
// flags: -Wsign-conversion -Wconversion -Werror
// expect-clean
// Views built from an engine's int extents and strides: no sign-conversion warning at the call.
#include <cstdint>

#include "posenc/rope.hpp"

void f(const posenc::rope& r, float* q, float* k, int tokens, int heads, int kv_heads, int dim,
       const std::int32_t* pos) {
  r.apply(posenc::make_head_view(q, tokens, heads, dim),
          posenc::make_head_view(k, tokens, kv_heads, dim, (heads + 2 * kv_heads) * dim, dim), pos);
  r.apply_token(q, heads, k, kv_heads, pos[0]);
}
