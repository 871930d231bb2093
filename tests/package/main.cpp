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
  return (arch != nullptr && std::strlen(arch) > 0) ? 0 : 1;
}
