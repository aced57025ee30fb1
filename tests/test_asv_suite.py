"""The asv suite (asv_bench/benchmarks) imports, and every benchmark's setup and one
timed call run, so a benchmark cannot break silently (asv would only show a gap in the
dashboard).  Direct calls, as asv makes them: the class instantiated, ``setup(*params)``,
the benchmark method once, ``teardown``.  Each class runs its first workload against
every value of its last parameter (the system, kernel or op), so every peer runner is
exercised once; peers that are not installed skip (NotImplementedError), fastconv never
may.  With asv installed, ``asv check`` also discovers the suite as asv does."""

import importlib
import importlib.util
import inspect
import itertools
import os
import pathlib
import shutil
import subprocess
import sys
import time
import timeit

import pytest

import fastconv

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "asv_bench" / "benchmarks"
PKG = "_fastconv_asv_benchmarks"
PREFIXES = ("time_", "peakmem_", "mem_", "track_", "timeraw_")


def _package():
    if PKG not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PKG, BENCH_DIR / "__init__.py", submodule_search_locations=[str(BENCH_DIR)])
        mod = importlib.util.module_from_spec(spec)
        sys.modules[PKG] = mod
        spec.loader.exec_module(mod)
    return sys.modules[PKG]


MODULES = sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem != "__init__")


def _classes(module):
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if c.__module__ == module.__name__
            and any(n.startswith(PREFIXES) for n in dir(c))]


def _cases():
    _package()
    out = []
    for name in MODULES:
        mod = importlib.import_module(f"{PKG}.{name}")
        for cls in _classes(mod):
            params = getattr(cls, "params", None)
            if not params:
                combos = [()]
            else:
                if not isinstance(params[0], (list, tuple)):
                    params = (params,)
                first = [p[0] for p in params[:-1]]
                combos = [tuple(first) + (last,) for last in params[-1]]
            for combo in combos:
                out.append(pytest.param(cls, combo, id=f"{name}.{cls.__name__}{combo}"))
    return out


def test_every_module_has_benchmarks():
    _package()
    assert {"conv_forward", "conv_backward", "pooling", "latency", "memory"} <= set(MODULES)
    for name in MODULES:
        mod = importlib.import_module(f"{PKG}.{name}")
        assert _classes(mod), f"{name} defines no benchmark class"


@pytest.mark.parametrize("cls, combo", _cases())
def test_benchmark_runs_once(cls, combo):
    bench = cls()
    methods = [getattr(bench, n) for n in dir(cls) if n.startswith(PREFIXES)]
    try:
        if hasattr(bench, "setup"):
            bench.setup(*combo)
    except NotImplementedError as e:
        if "fastconv" in combo or not any(isinstance(v, str) for v in combo):
            raise AssertionError(f"fastconv's own case skipped: {e}") from e
        pytest.skip(f"asv would skip {combo}: {e}")
    try:
        for m in methods:
            m(*combo)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*combo)


def test_params_are_lists_of_unique_values():
    # asv identifies a result by the repr of each parameter value
    for case in _cases():
        cls = case.values[0]
        params = getattr(cls, "params", None)
        if params:
            params = params if isinstance(params[0], (list, tuple)) else (params,)
            assert len(params) == len(cls.param_names)
            for values in params:
                assert len(set(map(repr, values))) == len(values), cls
            assert list(itertools.islice(itertools.product(*params), 1))


@pytest.mark.skipif(shutil.which("asv") is None, reason="asv not installed")
def test_asv_discovers_the_suite(tmp_path):
    # asv imports the suite in a subprocess of the current interpreter, with the
    # fastconv this test imports (asv replaces PYTHONPATH by ASV_PYTHONPATH)
    env = dict(os.environ, ASV_PYTHONPATH=str(pathlib.Path(fastconv.__file__).parents[1]))
    res = subprocess.run(["asv", "check", "--python=same"], cwd=ROOT / "asv_bench", env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_suites_a_commit_predates_skip():
    # asv measures past commits with today's benchmark files: a suite the commit lacks
    # is None and its cases raise asv's skip
    pkg = _package()
    assert pkg.optional_suite("no_such_suite") is None
    assert pkg.optional_suite("workloads") is not None
    with pytest.raises(NotImplementedError):
        pkg.missing(None)
    pkg.missing(pkg.optional_suite("workloads"))
    assert pkg.bench_module("workloads").CONV_WORKLOADS


def test_timer_is_cpu_time_at_one_thread(monkeypatch):
    pkg = _package()
    monkeypatch.setenv("FASTCONV_BENCH_THREADS", "1")
    assert pkg._timer() is time.process_time
    monkeypatch.setenv("FASTCONV_BENCH_THREADS", "2")
    assert pkg._timer() is timeit.default_timer


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
@pytest.mark.parametrize("script", ["asv_bench/run_history.sh", "asv_bench/build_commit.sh",
                                    "asv_bench/check_regression.sh", "asv_bench/publish.sh",
                                    "docs/screenshot_asv.sh"])
def test_scripts_parse(script):
    res = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
