#!/usr/bin/env bash
# The native TensorFlow backend for tfjs-node-native (the alias of @tensorflow/tfjs-node in package.json), built
# from the package registries only (STACK.md, "TensorFlow.js"). tfjs-node's own install script downloads
# libtensorflow from a Google host: unreachable on these machines, so `npm ci` drops the optional package and
# windflow uses wasm. This script, run by `make install` after `npm ci`, does instead:
#   1. download  PyPI's tensorflow-cpu 2.9.1 wheel (its C API is in _pywrap_tensorflow_internal.so),
#                sha256-checked, cached in .cache/tensorflow/ (once);
#   2. stage     unzip only the libraries, the C headers and the LICENSE; generate a stub .so for the CPython
#                symbols the library leaves undefined; lay out lib/ + include/ as tfjs-node's deps/ expects;
#   3. addon     put tfjs-node-native back into node_modules (npm ci dropped it) without its script, hard-link
#                the staged files into its deps/ (its install script then skips the download) and compile the
#                addon from source with `npm rebuild`; then check that the "tensorflow" backend trains.
# Any failure prints ONE line `native-tf: <step> failed: <why>; ...` and exits 0: wasm stays the backend.
# Usage: scripts/native-tf.sh [all|download|stage|addon|check|clean]   (all is what `make install` runs)
# Environment: NATIVE_TF=0 skips everything; NATIVE_TF_CACHE=DIR shares the wheel/staging cache between
# checkouts (default .cache/tensorflow); NATIVE_TF_STAMP=FILE is touched when the backend works;
# NATIVE_TF_VERBOSE=1 shows the full output of failing commands (their log is kept in the cache otherwise).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

readonly TF_VERSION=2.9.1
readonly TF_WHEEL=tensorflow_cpu-2.9.1-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
readonly TF_WHEEL_SIZE=207453921
readonly TF_WHEEL_SHA256=6666ddeae45e1f41da788cb4bdea3435aba16edb0bc17b7ac00631c7c9eb052e
readonly PKG=tfjs-node-native
readonly PKG_DIR=node_modules/$PKG
CACHE=${NATIVE_TF_CACHE:-.cache/tensorflow}
STAGE=$CACHE/libtensorflow-$TF_VERSION
STAMP=${NATIVE_TF_STAMP:-node_modules/.native-tf}
LOG=$CACHE/last-step.log
# TensorFlow's C++ start-up lines ("This TensorFlow binary is optimized ...") go to stderr when the library
# loads; its logging reads this variable then, so it must be in the environment before require("tfjs-node-native").
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

say() { echo "native-tf: $*"; }
# The one line a failure prints; the caller then exits 0 (make install goes on with wasm).
fail() {
  say "$1 failed: $2; the TensorFlow.js backend stays wasm (make install goes on; NATIVE_TF=0 skips this step)"
  exit 0
}
# Runs a command with its output kept in $LOG (shown too with NATIVE_TF_VERBOSE=1); returns its status.
quiet() {
  if [ "${NATIVE_TF_VERBOSE:-0}" = 1 ]; then "$@" 2>&1 | tee "$LOG"; else "$@" >"$LOG" 2>&1; fi
}
# The cause of a failed command, from its log: the first compiler/linker/file error, else its last line.
reason() {
  local why
  why=$(grep -v 'failed with error' "$LOG" 2>/dev/null |
    grep -m 1 -E '(fatal )?error: |cannot find -l|undefined reference|No such file|FileNotFoundError|Permission denied|No space left' ||
    grep -vE '^\s*$|complete log of this run' "$LOG" 2>/dev/null | tail -n 1)
  echo "$(echo "$why" | sed -E 's/^\s+//' | cut -c1-180); log: $LOG"
}
seconds_since() { echo $(( $(date +%s) - $1 )); }

# ---- 1. download ------------------------------------------------------------------------------------------------
download() {
  local wheel=$CACHE/$TF_WHEEL
  [ -f "$wheel" ] && return 0
  command -v sha256sum >/dev/null || fail download "sha256sum not found (coreutils)"
  local pip=(python3 -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || fail download "pip not found (python3 -m pip)"
  local tmp=$CACHE/download.tmp t0
  rm -rf "$tmp" && mkdir -p "$tmp"
  t0=$(date +%s)
  say "1/3 download: tensorflow-cpu==$TF_VERSION wheel from PyPI ($((TF_WHEEL_SIZE / 1000000)) MB, once; cached in $CACHE/)"
  # --no-cache-dir: the project cache is the only copy (pip's http cache would keep a second 207 MB).
  if ! "${pip[@]}" download --disable-pip-version-check --no-input --no-cache-dir --retries 1 --timeout 20 \
    --no-deps --only-binary=:all: --python-version 3.10 --platform manylinux2014_x86_64 \
    --dest "$tmp" "tensorflow-cpu==$TF_VERSION" 2>"$LOG"; then
    rm -rf "$tmp"
    fail download "pip could not fetch tensorflow-cpu==$TF_VERSION ($(pip_reason))"
  fi
  [ -f "$tmp/$TF_WHEEL" ] || { rm -rf "$tmp"; fail download "pip did not produce $TF_WHEEL"; }
  local sum
  sum=$(sha256sum "$tmp/$TF_WHEEL" | cut -d' ' -f1)
  if [ "$sum" != "$TF_WHEEL_SHA256" ]; then
    rm -rf "$tmp"
    fail download "checksum mismatch for $TF_WHEEL (sha256 $sum, expected $TF_WHEEL_SHA256)"
  fi
  mv "$tmp/$TF_WHEEL" "$wheel" && rmdir "$tmp"
  say "1/3 download: done in $(seconds_since "$t0") s ($(du -m "$wheel" | cut -f1) MiB, sha256 ok)"
}

# The cause of a failed `pip download`, in a few words: the network error if there was one, else pip's ERROR line.
pip_reason() {
  local why
  why=$(grep -oE "Failed to establish a new connection: [^')]*|Read timed out|SSLError\([^)]*|ProxyError[^')]*" "$LOG" | tail -n 1)
  if [ -n "$why" ]; then echo "PyPI unreachable: $why"; return; fi
  why=$(grep -m 1 -E '^ERROR: ' "$LOG" | sed 's/^ERROR: //')
  echo "${why:-$(tail -n 1 "$LOG")}" | cut -c1-200
}

# ---- 2. stage ---------------------------------------------------------------------------------------------------
stage() {
  [ -f "$STAGE/.staged" ] && return 0
  local wheel=$CACHE/$TF_WHEEL t0
  t0=$(date +%s)
  for tool in unzip nm cc; do
    command -v "$tool" >/dev/null || fail stage "$tool not found (apt-get install unzip binutils gcc)"
  done
  say "2/3 stage: libtensorflow $TF_VERSION from the wheel into $STAGE/"
  local tmp=$STAGE.tmp
  rm -rf "$tmp" "$STAGE" && mkdir -p "$tmp/lib" "$tmp/include"
  # Only the C API library, its framework library, the C headers and the license: 507 of the wheel's 752 MB.
  quiet unzip -q -o "$wheel" \
    'tensorflow/python/_pywrap_tensorflow_internal.so' 'tensorflow/libtensorflow_framework.so.2' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/ctstring*' \
    "tensorflow_cpu-$TF_VERSION.dist-info/LICENSE" -d "$tmp/wheel" ||
    { rm -rf "$tmp"; fail stage "unzip of $wheel failed ($(reason))"; }
  # LICENSE (Apache-2.0, with the notices of code TensorFlow derives from) sits beside lib/ and include/, as in
  # Google's libtensorflow archives; the addon step copies it into tfjs-node-native/deps/ with them.
  local w=$tmp/wheel/tensorflow
  { mv "$w/python/_pywrap_tensorflow_internal.so" "$w/libtensorflow_framework.so.2" "$tmp/lib/" &&
    mv "$w/include/tensorflow" "$tmp/include/" &&
    mv "$tmp/wheel/tensorflow_cpu-$TF_VERSION.dist-info/LICENSE" "$tmp/LICENSE" && rm -rf "$tmp/wheel"; } ||
    { rm -rf "$tmp"; fail stage "could not lay out the unzipped files in $tmp (disk full?)"; }

  # The stub for CPython: the library is a Python extension built with BIND_NOW, so the loader refuses it while
  # any Py* symbol is unresolved. The C API never calls them: functions abort with a message, data are zeros.
  local lib=$tmp/lib/_pywrap_tensorflow_internal.so
  nm -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | grep -E '^_?Py' | sort -u >"$tmp/pystub.symbols" ||
    { rm -rf "$tmp"; fail stage "nm -D --undefined-only $lib found no Py* symbols"; }
  {
    cat <<'C'
/* Generated by scripts/native-tf.sh from `nm -D --undefined-only _pywrap_tensorflow_internal.so`: the CPython
   symbols TensorFlow's Python extension needs to load. The C API that tfjs-node uses never touches them. */
#include <stdio.h>
#include <stdlib.h>
static void pystub_abort(const char *name) {
  fprintf(stderr, "libtensorflow_pystub: CPython function %s called outside Python; aborting\n", name);
  abort();
}
C
    while read -r sym; do
      if is_data_symbol "$sym"; then
        echo "__attribute__((aligned(64))) char ${sym}[1024];"
      else
        echo "void $sym(void) { pystub_abort(\"$sym\"); }"
      fi
    done <"$tmp/pystub.symbols"
  } >"$tmp/pystub.c"
  quiet cc -shared -fPIC -O1 -w -Wl,-soname,libtensorflow_pystub.so -o "$tmp/lib/libtensorflow_pystub.so" "$tmp/pystub.c" ||
    { rm -rf "$tmp"; fail stage "compiling the CPython stub library failed ($(reason))"; }

  # The names tfjs-node links (-ltensorflow -ltensorflow_framework, from deps/lib) and the loader then looks up
  # through the addon's rpath $ORIGIN/../../deps/lib: _pywrap_tensorflow_internal.so (that library's SONAME, so
  # it keeps its name), libtensorflow_pystub.so, libtensorflow_framework.so.2. libtensorflow.so is a GNU ld
  # script, so that -ltensorflow records both the library and the stub as needed. libtensorflow.so.2.9.1 is what
  # tfjs-node's install script looks for before downloading anything.
  (
    cd "$tmp/lib" &&
      printf '/* GNU ld script (scripts/native-tf.sh): TensorFlow %s C API and its CPython stub */\nINPUT ( _pywrap_tensorflow_internal.so libtensorflow_pystub.so )\n' "$TF_VERSION" >libtensorflow.so &&
      ln -sf _pywrap_tensorflow_internal.so "libtensorflow.so.$TF_VERSION" &&
      ln -sf _pywrap_tensorflow_internal.so libtensorflow.so.2 &&
      ln -sf libtensorflow_framework.so.2 "libtensorflow_framework.so.$TF_VERSION" &&
      ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
  ) || { rm -rf "$tmp"; fail stage "could not write the linker script and symlinks in $tmp/lib"; }
  touch "$tmp/.staged" && mv "$tmp" "$STAGE"
  say "2/3 stage: done in $(seconds_since "$t0") s ($(du -sm "$STAGE" | cut -f1) MiB, $(wc -l <"$STAGE/pystub.symbols") CPython symbols stubbed)"
}

# CPython data symbols (type objects, exception objects, the None/True/False/NotImplemented singletons) versus
# functions, by CPython's naming. For 2.9.1: 30 data, 157 functions (PyType_GenericNew is a function).
is_data_symbol() {
  case "$1" in
    Py*_Type | PyExc_* | _Py_*Struct | _Py_EllipsisObject | _PyRuntime | Py_*Flag) return 0 ;;
    *) return 1 ;;
  esac
}

# ---- 3. addon ---------------------------------------------------------------------------------------------------
addon() {
  local t0 nodedir
  t0=$(date +%s)
  command -v c++ >/dev/null || fail addon "no C++ compiler (c++) to build the tfjs-node addon (apt-get install g++ make)"
  command -v make >/dev/null || fail addon "make not found (apt-get install make)"
  # node-gyp needs Node's headers: the ones installed with node (Debian: /usr/include/node), never a download.
  nodedir=$(node -p 'require("path").resolve(process.execPath, "../..")')
  [ -f "$nodedir/include/node/node_api.h" ] || fail addon "Node's headers not found in $nodedir/include/node (Debian: apt-get install libnode-dev)"
  if [ ! -f "$PKG_DIR/package.json" ]; then
    # npm ci dropped the optional package after its install script failed: reinstall the lockfile's tree without
    # scripts (adds only what is missing; --no-save leaves package.json and package-lock.json untouched).
    say "3/3 addon: putting $PKG back into node_modules (npm install --no-save --ignore-scripts, from the lockfile)"
    quiet npm install --no-save --ignore-scripts --no-audit --no-fund ||
      { remove_pkg; fail addon "npm could not reinstall $PKG from the lockfile ($(reason))"; }
    [ -f "$PKG_DIR/package.json" ] || fail addon "npm install did not restore $PKG_DIR (optional dependencies omitted?)"
    say "3/3 addon: $PKG restored in $(seconds_since "$t0") s"
  fi
  local t1
  t1=$(date +%s)
  say "3/3 addon: compiling tfjs_binding.node from source against the staged libtensorflow (npm rebuild $PKG)"
  rm -rf "${PKG_DIR:?}/deps" "${PKG_DIR:?}/lib" "${PKG_DIR:?}/build" && mkdir -p "$PKG_DIR/deps"
  # Hard links (instant, no second 485 MB) when the cache is on the same file system, else a copy.
  local staged=("$STAGE/lib" "$STAGE/include" "$STAGE/LICENSE")
  cp -al "${staged[@]}" "$PKG_DIR/deps/" 2>/dev/null || cp -a "${staged[@]}" "$PKG_DIR/deps/" ||
    { remove_pkg; fail addon "could not copy $STAGE into $PKG_DIR/deps"; }
  # With deps/lib/libtensorflow.so.2.9.1 present, tfjs-node's install script skips its download; build-from-source
  # skips node-pre-gyp's try of Google's prebuilt addon; nodedir keeps node-gyp off the internet.
  if ! npm_config_build_from_source=@tensorflow/tfjs-node npm_config_nodedir="$nodedir" \
    quiet npm rebuild "$PKG" --foreground-scripts; then
    local why
    why=$(reason)
    remove_pkg
    fail addon "npm rebuild $PKG (node-gyp) failed ($why)"
  fi
  say "3/3 addon: compiled in $(seconds_since "$t1") s (step total $(seconds_since "$t0") s)"
}

# Leaves node_modules as a plain `npm ci` does offline: no half-built package that would fail to load.
remove_pkg() { rm -rf "$PKG_DIR"; }

# ---- check ------------------------------------------------------------------------------------------------------
# Loads the package, checks the backend is "tensorflow" and trains a tiny model on it.
CHECK_JS='
const tf = require("tfjs-node-native");
const t0 = Date.now();
(async () => {
  if (tf.getBackend() !== "tensorflow") throw new Error("backend is " + tf.getBackend() + ", not tensorflow");
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 4, activation: "relu" }), tf.layers.dense({ units: 1 })] });
  model.compile({ optimizer: tf.train.adam(0.05), loss: "meanSquaredError" });
  const x = tf.randomUniform([256, 2], 0, 1, "float32", 1);
  const y = x.sum(1, true);
  const h = await model.fit(x, y, { epochs: 20, batchSize: 64, verbose: 0 });
  const loss = h.history.loss;
  if (!(loss[loss.length - 1] < loss[0])) throw new Error("loss did not decrease: " + loss[0] + " -> " + loss[loss.length - 1]);
  console.log("backend " + tf.getBackend() + " (tfjs-node " + tf.version["tfjs-node"] + ", libtensorflow " + tf.backend().binding.TF_Version +
    "), tiny model loss " + loss[0].toFixed(4) + " -> " + loss[loss.length - 1].toFixed(4) + " in 20 epochs, " + (Date.now() - t0) + " ms");
})().catch((e) => { console.error(e.message.split("\n")[0]); process.exit(1); });
'
check() { node -e "$CHECK_JS" 2>"$LOG"; }

main() {
  local action=${1:-all}
  mkdir -p "$CACHE"
  case "$action" in
    clean) rm -rf "$STAGE" "$CACHE/download.tmp" "$STAGE.tmp"; say "removed $STAGE (the wheel stays in $CACHE)"; return ;;
    check) check || fail check "$(tail -n 1 "$LOG")"; return ;;
    download) download; return ;;
    stage) download; stage; return ;;
    addon) addon; return ;;
    all) ;;
    *) echo "usage: $0 [all|download|stage|addon|check|clean]" >&2; exit 2 ;;
  esac
  if [ "${NATIVE_TF:-1}" = 0 ]; then say "skipped (NATIVE_TF=0): the TensorFlow.js backend stays wasm"; return; fi
  local result
  # Already working (e.g. npm ci with internet got Google's build, or an earlier run): nothing to do.
  if [ -f "$PKG_DIR/package.json" ] && result=$(check); then
    say "tfjs-node-native already works: $result"; touch "$STAMP"; return
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) fail "platform check" "the PyPI build of libtensorflow is used on Linux x86_64 only, this is $(uname -s)-$(uname -m)" ;;
  esac
  download
  stage
  addon
  result=$(check) || { local why; why=$(tail -n 1 "$LOG"); remove_pkg; fail check "tfjs-node-native was built but does not work ($why)"; }
  say "ready: $result"
  touch "$STAMP"
}

main "$@"
