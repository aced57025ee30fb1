"""Build script for fastconv's compiled kernels.

Metadata lives in pyproject.toml; this file only knows how to compile:

* every ``src/fastconv/*.pyx`` becomes one extension module;
* ``fastconv._conv_kernels`` also links the C microkernels in ``src/fastconv/_src``,
  where each ``*_avx512.c`` / ``*_avx2.c`` file is compiled with its own
  instruction-set flags (never ``-march=native``) and the right one is picked at
  import time by CPU feature detection;
* OpenMP is used when a tiny test program compiles and links with it.  Without it
  the build goes on serially with a warning, unless ``FASTCONV_REQUIRE_OPENMP=1``
  (set by CI), which makes a missing OpenMP an error.

Environment switches:

``FASTCONV_DEBUG=1``          bounds checks on, ``-O2 -g``: for debugging and sanitizers.
``FASTCONV_REQUIRE_OPENMP=1`` fail instead of building without OpenMP.
``FASTCONV_ANNOTATE=1``       write Cython's HTML annotation next to each .pyx.
"""

import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTCONV_DEBUG", "0") == "1"
REQUIRE_OPENMP = os.environ.get("FASTCONV_REQUIRE_OPENMP", "0") == "1"
ANNOTATE = os.environ.get("FASTCONV_ANNOTATE", "0") == "1"

IS_X86_64 = platform.machine().lower() in ("x86_64", "amd64")

# Per-file instruction-set flags, keyed by the file-name suffix.
ISA_FLAGS = {
    "_avx512.c": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2"],
    "_avx2.c": ["-mavx2", "-mfma"],
}

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "nonecheck": False,
    "embedsignature": True,
}


def _openmp_flags(compiler_name):
    """Return (compile_args, link_args) for OpenMP, or None if it does not work."""
    if compiler_name == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"]),
                      (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    cc = sysconfig.get_config_var("CC") or "cc"
    cc = cc.split()
    src = ("#include <omp.h>\n#include <stdio.h>\n"
           "int main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\n"
           "printf(\"%d\", n > 0); return omp_get_max_threads() < 1;}\n")
    if compiler_name == "msvc":
        # MSVC's /openmp is always there; trust it rather than invoking cl here.
        return candidates[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "omp_test.c")
        with open(path, "w") as f:
            f.write(src)
        for cflags, ldflags in candidates:
            exe = os.path.join(tmp, "omp_test")
            cmd = cc + cflags + [path, "-o", exe] + ldflags
            try:
                res = subprocess.run(cmd, capture_output=True, timeout=120)
            except (OSError, subprocess.SubprocessError):
                continue
            if res.returncode == 0:
                try:
                    run = subprocess.run([exe], capture_output=True, timeout=60)
                except (OSError, subprocess.SubprocessError):
                    continue
                if run.returncode == 0:
                    return cflags, ldflags
    return None


class BuildExt(build_ext):
    """build_ext that adds OpenMP and per-source instruction-set flags."""

    def build_extensions(self):
        compiler_name = self.compiler.compiler_type
        omp = _openmp_flags(compiler_name)
        if omp is None:
            msg = ("fastconv: the compiler does not support OpenMP; "
                   "building serial kernels (one thread).")
            if REQUIRE_OPENMP:
                raise RuntimeError(msg + " FASTCONV_REQUIRE_OPENMP=1 makes this an error.")
            print("WARNING: " + msg, file=sys.stderr)
        if compiler_name == "msvc":
            base = ["/O2"]
        elif DEBUG:
            # -O2, not -O1: the kernels rely on gcc contracting a*b+c into FMAs, which it
            # does only from -O2, so an -O1 build rounds differently from the release build
            base = ["-O2", "-g", "-fno-omit-frame-pointer"]
        else:
            base = ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        self._fastconv_build_info = {
            "openmp": omp is not None,
            "compiler": compiler_name,
            "cflags": base + (omp[0] if omp else []),
        }
        for ext in self.extensions:
            ext.extra_compile_args = base + (omp[0] if omp else []) + ext.extra_compile_args
            ext.extra_link_args = (omp[1] if omp else []) + ext.extra_link_args
            ext.define_macros.append(("FASTCONV_HAVE_OPENMP", "1" if omp else "0"))
        self._write_build_info()
        super().build_extensions()

    def _write_build_info(self):
        info = dict(self._fastconv_build_info)
        info["isa_flags"] = ISA_FLAGS if self._isa_ok() else {}
        text = ("# Generated by setup.py at build time; do not edit.\n"
                f"BUILD_INFO = {info!r}\n")
        for root in {os.path.join(self.build_lib, "fastconv"), os.path.join("src", "fastconv")}:
            if os.path.isdir(root):
                with open(os.path.join(root, "_build_info.py"), "w") as f:
                    f.write(text)

    def _isa_ok(self):
        return IS_X86_64 and self.compiler.compiler_type != "msvc"

    def build_extension(self, ext):
        # setuptools compiles every source of an extension with the same flags; the
        # ISA-specific C files need extra ones, so wrap the compile step per source.
        original = self.compiler._compile
        isa_ok = self._isa_ok()

        def _compile(obj, src, ext_, cc_args, extra_postargs, pp_opts):
            extra = list(extra_postargs)
            for suffix, flags in ISA_FLAGS.items():
                if src.endswith(suffix) and isa_ok:
                    extra += flags
            return original(obj, src, ext_, cc_args, extra, pp_opts)

        if self.compiler.compiler_type != "msvc":
            self.compiler._compile = _compile
        try:
            super().build_extension(ext)
        finally:
            self.compiler._compile = original


def _extensions():
    from Cython.Build import cythonize

    c_sources = sorted(glob(os.path.join("src", "fastconv", "_src", "*.c")))
    extra_sources = {"fastconv._conv_kernels": c_sources}
    exts = []
    for pyx in sorted(glob(os.path.join("src", "fastconv", "*.pyx"))):
        name = "fastconv." + os.path.splitext(os.path.basename(pyx))[0]
        exts.append(Extension(
            name,
            sources=[pyx] + extra_sources.get(name, []),
            # headers hold most of the C (templates): a change must rebuild
            depends=sorted(glob(os.path.join("src", "fastconv", "_src", "*.h"))),
            include_dirs=[os.path.join("src", "fastconv", "_src")],
            extra_compile_args=[],
            extra_link_args=[],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        ))
    return cythonize(exts, compiler_directives=COMPILER_DIRECTIVES, annotate=ANNOTATE,
                     nthreads=0 if shutil.which("nproc") is None else 2)


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
