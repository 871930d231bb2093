#!/bin/sh
# posenc tests — the linker-merge hazard of ISA translation units, checked on the object files.
# SPDX-License-Identifier: Apache-2.0
#
#   sh check_isa_symbols.sh OBJDUMP OBJECT...
#
# Run it on your own ISA objects too: it needs only a POSIX shell, awk and binutils' objdump.
#
# An object compiled with extra -m flags (named *_avx2.*, *_avx2f16c.*, *_avx512.* or *_avx512bf16.*, as
# examples/CMakeLists.txt and tests/odr/CMakeLists.txt name their ISA TUs) must not define a
# weak (COMDAT) function that uses AVX instructions unless the function's name carries that
# TU's architecture tag. Weak functions of the same name from every TU are merged by the
# linker, which keeps one copy: an AVX copy of, say, an inline helper could then run in the
# baseline TU on a CPU without AVX. posenc's rule (README §SIMD) is that every function touching
# SIMD registers is a template on the architecture, and that ISA TUs call only apply<Arch>.
# This checks the result the compiler actually produced, inlining decisions included.
#
# "Uses AVX": a VEX/EVEX-encoded instruction (mnemonic v…), an AVX-512 mask instruction (k…)
# or a ymm/zmm register (GNU objdump or llvm-objdump, AT&T syntax). Other objects are
# skipped. Exit 0 when no object breaks the rule, 1 when one does (each offending function
# listed, or a note that no instruction could be parsed), 2 on usage errors.
set -eu
if [ "$#" -lt 2 ]; then
  echo "usage: $0 OBJDUMP OBJECT..." >&2
  exit 2
fi
objdump=$1
shift
status=0
checked=0
# Objects may also come as one ;-separated argument (CMake's $<TARGET_OBJECTS:…> in add_test).
objs=$(printf '%s\n' "$@" | tr ';' '\n')
while IFS= read -r obj; do
  [ -n "$obj" ] || continue
  case "$(basename "$obj")" in
    *_avx512bf16.*) tag='posenc::avx512bf16' ;;
    *_avx2f16c.*) tag='posenc::avx2f16c' ;;
    *_avx512.*) tag='xsimd::avx512bw' ;;
    *_avx2.*) tag='xsimd::fma3<xsimd::avx2>' ;;
    *) continue ;;
  esac
  if [ ! -f "$obj" ]; then
    echo "check_isa_symbols: no such object: $obj" >&2
    exit 2
  fi
  checked=$((checked + 1))
  weak=$(mktemp)
  "$objdump" -t -C "$obj" | awk -F'\t' '
    { split($1, f, /[ ]+/) }
    f[2] == "w" && f[3] == "F" { sub(/^[0-9a-f]+ /, "", $2); print $2 }' | sort -u >"$weak"
  bad=$("$objdump" -d -C --no-show-raw-insn "$obj" | awk -v tag="$tag" -v weakfile="$weak" '
    BEGIN { while ((getline line < weakfile) > 0) weak[line] = 1 }
    /^[0-9a-f]+ <.*>:$/ {
      ++funcs; name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name); next
    }
    /^ +[0-9a-f]+:[ \t]+[a-z]/ {
      ++insns
      if (name == "" || !(name in weak) || index(name, tag) > 0 || (name in seen)) next
      insn = $0; sub(/^ +[0-9a-f]+:[ \t]+/, "", insn)
      if (insn ~ /^[vk][a-z0-9]/ || insn ~ /%[yz]mm/) { seen[name] = 1; print name }
    }
    END {
      if (funcs > 0 && insns == 0) print "(no instruction parsed: unknown objdump output format)"
    }')
  nweak=$(wc -l <"$weak")
  rm -f "$weak"
  if [ -n "$bad" ]; then
    status=1
    echo "FAIL $obj: weak functions with AVX code whose name lacks $tag:"
    printf '%s\n' "$bad" | sed 's/^/  /'
  else
    echo "ok   $obj: $nweak weak functions; every one with AVX code is named for $tag"
  fi
done <<EOF
$objs
EOF
if [ "$checked" -eq 0 ]; then
  echo "check_isa_symbols: none of the objects is an ISA TU" >&2
  exit 2
fi
exit "$status"
