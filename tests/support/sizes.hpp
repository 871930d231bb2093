// posenc tests — sizes around lane boundaries, pointer misalignments, guarded buffers and the
// seeded random generator the kernel tests share (style.md §3.7, after Highway's dot_test).
// SPDX-License-Identifier: Apache-2.0
//
// Depends only on the standard library (independent of include/posenc).
#ifndef POSENC_TEST_SIZES_HPP
#define POSENC_TEST_SIZES_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <random>
#include <vector>

// Under AddressSanitizer the guards are also poisoned, so a kernel that merely *reads* past its
// elements (which the byte-pattern check cannot see) is reported at the faulting load.
#if defined(__SANITIZE_ADDRESS__)
#define POSENC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POSENC_TEST_ASAN 1
#endif
#endif
#ifndef POSENC_TEST_ASAN
#define POSENC_TEST_ASAN 0
#endif
#if POSENC_TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace posenc_test {

/// Lengths around the block sizes a kernel steps by: for each N in `blocks`,
/// {1, 2, 3, N−1, N, N+1, 2N−1, 2N, 2N+1, 3N, 8N+2} (sorted, duplicates removed; contains 0
/// when some N is 1, which is a valid empty call).
inline std::vector<std::size_t> lane_sweep(std::initializer_list<std::size_t> blocks) {
  std::vector<std::size_t> v;
  for (std::size_t n : blocks) {
    if (n == 0) continue;
    for (std::size_t x : {std::size_t{1}, std::size_t{2}, std::size_t{3}, n - 1, n, n + 1,
                          2 * n - 1, 2 * n, 2 * n + 1, 3 * n, 8 * n + 2})
      v.push_back(x);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// Pointer offsets, in elements, from a 64-byte boundary: {0, 1, N/2} for a register of N
/// elements (duplicates removed).
inline std::vector<std::size_t> misalignments(std::size_t lanes) {
  std::vector<std::size_t> v{0, 1, lanes / 2};
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// The generator every randomised kernel test uses: fixed seed, so a failure reproduces;
/// `stream` separates independent draws (e.g. one per arch/type/size case).
inline std::mt19937_64 make_rng(std::uint64_t stream = 0) {
  std::seed_seq seq{std::uint64_t{0x706f73656e63ULL} & 0xffffffffu, std::uint64_t{20240521},
                    stream & 0xffffffffu, stream >> 32};
  return std::mt19937_64(seq);
}

/**
 * n elements of a trivially copyable T at a chosen misalignment from a 64-byte boundary,
 * with `guard_bytes` of a fixed byte pattern before and after. Anything a kernel writes
 * outside [data(), data() + n) changes the pattern; guards_intact() reports it.
 * Elements are accessed bytewise (memcpy) so 16-bit storage structs need no operators.
 * With AddressSanitizer the guards are poisoned too: any read or write of them faults.
 */
template <class T>
class guarded_buffer {
 public:
  static constexpr std::size_t guard_bytes = 128;  // two AVX-512 registers on either side

  guarded_buffer(std::size_t n, std::size_t misalign_elems) : n_(n) {
    const std::size_t before = guard_bytes + misalign_elems * sizeof(T);
    raw_.resize(64 + before + n * sizeof(T) + guard_bytes);
    const auto addr = reinterpret_cast<std::uintptr_t>(raw_.data());
    const std::size_t pad = static_cast<std::size_t>((64 - addr % 64) % 64);
    data_ = pad + before;
    end_ = data_ + n * sizeof(T);
    for (std::size_t i = 0; i < raw_.size(); ++i) raw_[i] = pattern(i);
    poison(true);
  }
  ~guarded_buffer() { poison(false); }
  guarded_buffer(const guarded_buffer&) = delete;
  guarded_buffer& operator=(const guarded_buffer&) = delete;

  T* data() noexcept { return reinterpret_cast<T*>(raw_.data() + data_); }
  const T* data() const noexcept { return reinterpret_cast<const T*>(raw_.data() + data_); }
  std::size_t size() const noexcept { return n_; }

  T get(std::size_t i) const noexcept {
    T v;
    std::memcpy(&v, raw_.data() + data_ + i * sizeof(T), sizeof(T));
    return v;
  }
  void set(std::size_t i, const T& v) noexcept {
    std::memcpy(raw_.data() + data_ + i * sizeof(T), &v, sizeof(T));
  }

  /// True when every guard byte still holds its pattern.
  bool guards_intact() const noexcept {
    poison(false);
    bool ok = true;
    for (std::size_t i = 0; i < data_; ++i) ok = ok && raw_[i] == pattern(i);
    for (std::size_t i = end_; i < raw_.size(); ++i) ok = ok && raw_[i] == pattern(i);
    poison(true);
    return ok;
  }

 private:
  void poison(bool on) const noexcept {
#if POSENC_TEST_ASAN
    // ASan poisons whole 8-byte granules from the start of a region, and the tail of a granule
    // whose head stays addressable; the bytes of a guard that share a granule with the first
    // element stay addressable (the pattern check still covers them).
    const unsigned char* base = raw_.data();
    if (on) {
      ASAN_POISON_MEMORY_REGION(base, data_);
      ASAN_POISON_MEMORY_REGION(base + end_, raw_.size() - end_);
    } else {
      ASAN_UNPOISON_MEMORY_REGION(base, raw_.size());
    }
#else
    (void)on;
#endif
  }

  // Not a repeating byte, so a shifted or swapped write cannot restore it by accident.
  static unsigned char pattern(std::size_t i) noexcept {
    return static_cast<unsigned char>((i * 151u + 0x5bu) ^ (i >> 8));
  }

  std::vector<unsigned char> raw_;
  std::size_t n_ = 0, data_ = 0, end_ = 0;
};

}  // namespace posenc_test

#endif  // POSENC_TEST_SIZES_HPP
