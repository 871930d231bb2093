# Shared helpers for scripts/test.sh, scripts/demo.sh and .ci/run. Source it; do not run it.

# posenc_need_packages PKG...: make sure the Debian packages are installed.
#   As root: installs the missing ones (apt-get update once per process first).
#   Otherwise: prints the exact apt-get command and returns 1.
#   Not a Debian system (no dpkg-query): says so and returns 0 (you provide the tools yourself).
#   POSENC_SKIP_APT=1 skips the whole check.
posenc_need_packages() {
  if [[ "${POSENC_SKIP_APT:-0}" == 1 ]]; then
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "note: not a Debian system; make sure these (or equivalents) are installed: $*" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  if [[ "$(id -u)" != 0 ]]; then
    echo "error: missing Debian packages: ${missing[*]}" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "${POSENC_APT_UPDATED:-}" ]]; then
    apt-get update -q
    export POSENC_APT_UPDATED=1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# posenc_jobs: parallel jobs (JOBS env, else nproc, else 2).
posenc_jobs() {
  if [[ -n "${JOBS:-}" ]]; then
    echo "$JOBS"
  else
    nproc 2>/dev/null || echo 2
  fi
}

# posenc_generator_args BUILD_DIR: "-G Ninja" for a new build dir when ninja exists; nothing for an
# existing build dir (its generator is fixed) or without ninja (CMake's default).
posenc_generator_args() {
  local dir="$1"
  if [[ -f "$dir/CMakeCache.txt" ]]; then
    return 0
  fi
  if [[ -n "${CMAKE_GENERATOR:-}" ]]; then
    return 0  # CMake reads the CMAKE_GENERATOR environment variable itself
  fi
  if command -v ninja >/dev/null 2>&1; then
    printf '%s\n' -G Ninja
  fi
}
