// Benchmark buffers start on a cache line, as an engine's tensors and logits tiles do (malloc
// returns 16-byte alignment, which splits every 64-byte AVX-512 access across two lines and
// measures the allocator rather than the kernel). Same bytes for the kernels and their
// yardsticks.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_BENCH_ALIGNED_HPP
#define POSENC_BENCH_ALIGNED_HPP

#include <cstddef>
#include <new>
#include <vector>

namespace posenc_bench {

template <class T>
struct aligned64 {
  using value_type = T;
  aligned64() = default;
  template <class U>
  aligned64(const aligned64<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const aligned64<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const aligned64<U>&) const noexcept {
    return false;
  }
};

template <class T>
using vector = std::vector<T, aligned64<T>>;

}  // namespace posenc_bench

#endif  // POSENC_BENCH_ALIGNED_HPP
