// Consumer of an installed / exported / add_subdirectory'd posenc: compiles and runs.
#include <cstdio>
#include <cstring>

#include <posenc/posenc.hpp>
#include <posenc/types.hpp>
#include <posenc/version.hpp>

#if defined(POSENC_CONSUMER_EIGEN)
#include <Eigen/Core>  // must be reachable through posenc::eigen
#endif
#if defined(POSENC_CONSUMER_HF_CONFIG)
#include <nlohmann/json.hpp>  // must be reachable through posenc::hf_config
#endif
#if defined(POSENC_CONSUMER_DISPATCH)
#include <posenc/dispatch.hpp>  // + the library posenc::dispatch and its C API
#include <posenc/posenc.h>
#endif

#if defined(POSENC_EXPECT_XSIMD) && (POSENC_EXPECT_XSIMD != POSENC_HAS_XSIMD)
#error "POSENC_HAS_XSIMD differs from the posenc build this consumer was pointed at"
#endif

int main() {
  const char* arch = posenc::arch_name<>();
  std::printf("posenc %d.%d.%d consumer: default arch %s, xsimd %d\n", POSENC_VERSION_MAJOR,
              POSENC_VERSION_MINOR, POSENC_VERSION_PATCH, arch, POSENC_HAS_XSIMD);
#if defined(POSENC_EXPECT_MAJOR)
  if (POSENC_VERSION_MAJOR != POSENC_EXPECT_MAJOR) return 1;
#endif
#if defined(POSENC_CONSUMER_DISPATCH)
  // The installed library links and runs: one dispatched rotation, the same through the C API.
  posenc::rope_config cfg;
  cfg.head_dim = 8;
  const posenc::rope rope(cfg);
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::int32_t pos = 3;
  posenc::dispatch::apply(rope, posenc::make_head_view(a, 1, 1, 8), &pos);
  posenc_rope_params p;
  posenc_rope_params_init(&p, 8);
  posenc_rope* r = nullptr;
  posenc_heads h = posenc_heads_contiguous(b, 1, 1, 8);
  if (posenc_rope_create(&p, &r) != POSENC_OK ||
      posenc_rope_apply(r, POSENC_F32, &h, nullptr, &pos, 0) != POSENC_OK)
    return 2;
  posenc_rope_free(r);
  std::printf("posenc::dispatch: %s\n", posenc::dispatch::arch_name());
  if (std::memcmp(a, b, sizeof a) != 0 || a[0] == 1.0f) return 3;
#endif
  return (arch != nullptr && std::strlen(arch) > 0) ? 0 : 1;
}
