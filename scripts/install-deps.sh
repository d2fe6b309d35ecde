#!/usr/bin/env bash
# Installs everything mergeyard needs to build, test and run on Debian bookworm.
# Idempotent; run as root. Used by the README, .ci/run and the Dockerfile.
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --build    build dependencies only (the Dockerfile's build stage)
#   scripts/install-deps.sh --runtime  only what the binary needs at run time
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

runtime=(git ca-certificates libgit2-1.5 libsqlite3-0 libssl3 libyaml-cpp0.7 libcpp-httplib0.11 bubblewrap
         libgrpc++1.51 libprotobuf32)
build=(g++ meson ninja-build pkg-config python3 git
       libgit2-dev libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libcpp-httplib-dev
       libssl-dev doctest-dev libyaml-cpp-dev libcli11-dev libspdlog-dev
       # REAPI: gRPC and protobuf, and the .proto files (remoteapis, googleapis)
       # that the build compiles from /usr/src/bazel-bootstrap/third_party
       libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc bazel-bootstrap-source)
test=(clang libclang-rt-14-dev  # fuzzers and sanitizers (tests/fuzz)
      curl                     # the README's API examples, run by tests/app/readme_test.cc
      chromium                 # headless browser for the dashboard test (tests/api)
      bazel-bootstrap)         # a real REAPI client (tests/app/e2e_reapi_bazel_test.cc)

case ${1:-} in
  --runtime) want=("${runtime[@]}") ;;
  --build) want=("${runtime[@]}" "${build[@]}") ;;
  *) want=("${runtime[@]}" "${build[@]}" "${test[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
