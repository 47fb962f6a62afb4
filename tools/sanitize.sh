#!/usr/bin/env bash
# Build dlkern with AddressSanitizer + UndefinedBehaviorSanitizer in a scratch venv and
# run the test suite under them.  Usage: bash tools/sanitize.sh [pytest args]
# .ci/run runs it after the main tests (DLKERN_SANITIZE_CI=0 skips it there).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet --upgrade "numpy>=2" "Cython>=3" "setuptools>=77" threadpoolctl \
    scipy-openblas32 pytest hypothesis scikit-learn vega-datasets tqdm
rm -f dlkern/_native/*.c                # regenerate with this build's flags
DLKERN_SANITIZE=1 "$venv/bin/pip" install --quiet --no-build-isolation --no-deps .
rm -f dlkern/_native/*.c
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
cd "$(mktemp -d)"                        # import the installed build, not the sources
# Python itself is not instrumented: leak checks would report its arenas
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export DLKERN_SANITIZED=1   # the leak test skips: ASan's quarantine keeps freed memory
LD_PRELOAD="$asan $ubsan" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    "$OLDPWD/tests" "$@"
