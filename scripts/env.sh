# Sourced by scripts/run and scripts/test: the environment the build expects.
# wasm-opt from npm's binaryen comes first on PATH (Debian's silently breaks the release wasm).
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
