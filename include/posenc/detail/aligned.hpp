// posenc — private: a std::allocator-compatible allocator returning cache-line-aligned storage.
// IWYU pragma: private
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_DETAIL_ALIGNED_HPP
#define POSENC_DETAIL_ALIGNED_HPP

#include <cstddef>
#include <new>
#include <vector>

namespace posenc {
namespace detail {

/// Storage starting on a 64-byte boundary. Tables read by the SIMD kernels (the cos/sin cache)
/// live in it: with malloc's 16-byte alignment every 64-byte load of a table row straddles two
/// cache lines.
template <class T>
struct aligned64_allocator {
  using value_type = T;
  aligned64_allocator() = default;
  template <class U>
  aligned64_allocator(const aligned64_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const aligned64_allocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const aligned64_allocator<U>&) const noexcept {
    return false;
  }
};

template <class T>
using aligned_vector = std::vector<T, aligned64_allocator<T>>;

}  // namespace detail
}  // namespace posenc

#endif  // POSENC_DETAIL_ALIGNED_HPP
