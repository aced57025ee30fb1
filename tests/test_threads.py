"""Thread control: bit-identical results for any thread count, threadpoolctl,
fork safety."""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastconv
from fastconv import _conv_kernels

THREAD_CASES = [
    # x shape, w shape, kwargs
    ((2, 16, 33, 35), (24, 16, 3, 3), dict(padding=1)),
    ((1, 8, 64, 64), (16, 4, 5, 5), dict(padding="same", groups=2, stride=2)),
    ((3, 5, 200), (7, 5, 9), dict(padding=4, dilation=2, padding_mode="reflect")),
    ((1, 4, 9, 17, 13), (6, 4, 3, 3, 3), dict(padding=(1, 2, 0))),
    ((4, 32, 14, 14), (32, 1, 3, 3), dict(padding=1, groups=32)),    # depthwise
    ((2, 6, 11, 80), (12, 1, 3, 3), dict(padding=1, stride=2, groups=6)),  # x2, strided
    ((1, 300, 20, 20), (40, 300, 1, 1), {}),                           # 1x1, long K
    ((2, 300, 30, 31), (13, 300, 1, 1), {}),       # 1x1 over > 1 MiB: gemm_stream, 2 K blocks
    # 6 images: 2 and 3 threads each pad their own, then share the tiles of
    # every thread's last image
    ((6, 8, 21, 20), (16, 8, 3, 3), dict(padding=1)),
    # Winograd (forward_kernel "winograd") over dilation phases, 3 items per
    # phase plane, 2 K blocks, 3 images in passes of 2 threads' worth
    ((3, 130, 19, 22), (20, 130, 3, 3), dict(padding=2, dilation=2)),
    # Winograd over padded images of 1 MiB: passes of one image per thread (3
    # passes at one thread, 2 at two, 1 at three)
    ((3, 64, 62, 62), (32, 64, 3, 3), dict(padding=1)),
    # 3-D Winograd: 11 items per image, a partial last tile slice
    ((2, 16, 17, 20, 22), (32, 16, 3, 3, 3), dict(padding=1)),
    # 1-D Winograd (7 taps): 4 items per image
    ((3, 64, 701), (64, 64, 7), dict(padding=3)),
]


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.usefixtures("isa", "forward_kernel")
@pytest.mark.parametrize("case", range(len(THREAD_CASES)))
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_bit_identical_for_any_thread_count(case, dt, restore_threads):
    xs, ws, kw = THREAD_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(xs).astype(dt)
    w = rng.standard_normal(ws).astype(dt)
    b = rng.standard_normal(ws[0]).astype(dt)
    results = {}
    for n in (1, 2, 3, 1):
        # past set_num_threads' cap (the cores): teams bigger than the machine too
        _conv_kernels.omp_set_num_threads(n)
        assert fastconv.get_num_threads() == n
        results.setdefault(n, []).append(fastconv.conv(x, w, b, **kw))
    ref = _bits(results[1][0])
    for n, ys in results.items():
        for y in ys:
            assert_array_equal(_bits(y), ref, err_msg=f"{n} threads differ from 1 thread")


@pytest.mark.parametrize("n, exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                    ("2", TypeError), (None, TypeError), (True, TypeError)])
def test_set_num_threads_rejects(n, exc, restore_threads):
    before = fastconv.get_num_threads()
    with pytest.raises(exc, match="n"):
        fastconv.set_num_threads(n)
    assert fastconv.get_num_threads() == before


def test_set_num_threads_accepts_numpy_int(restore_threads):
    fastconv.set_num_threads(np.int64(2))
    assert fastconv.get_num_threads() == 2


def test_threadpoolctl_is_honoured(restore_threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastconv.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal((2, 8, 30, 30)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((8, 8, 3, 3)).astype(np.float32)
    y2 = fastconv.conv(x, w, padding=1)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert fastconv.get_num_threads() == 1
        y1 = fastconv.conv(x, w, padding=1)
    assert fastconv.get_num_threads() == 2
    assert_array_equal(_bits(y1), _bits(y2))
    info = threadpoolctl.threadpool_info()
    assert any(i["user_api"] == "openmp" for i in info)


def test_show_config_reports_threads(capsys, restore_threads):
    fastconv.set_num_threads(1)
    fastconv.show_config()
    text = capsys.readouterr().out
    assert "threads:" in text and "isa:" in text
    line = next(row for row in text.splitlines() if "threads:" in row)
    assert line.split()[-1] == "1"


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import multiprocessing as mp
    import numpy as np
    import fastconv

    def work():
        x = np.arange(2 * 8 * 40 * 40, dtype=np.float32).reshape(2, 8, 40, 40) % 13
        w = np.arange(16 * 8 * 3 * 3, dtype=np.float32).reshape(16, 8, 3, 3) % 7 - 3
        return fastconv.conv(x, w, padding=1)

    def child(q):
        q.put(work().tobytes())

    fastconv.set_num_threads(2)
    expected = work().tobytes()      # the parent has now used a thread team

    # os.fork
    pid = os.fork()
    if pid == 0:
        ok = work().tobytes() == expected
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    # multiprocessing with the 'fork' start method
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0, p.exitcode
    assert got == expected
    print("FORK-OK")
""")


def _run_guarded(script, tmp_path, timeout=120):
    """Run ``script`` in a fresh interpreter; fail (never hang) if it does not finish.

    It runs in its own session so that on a timeout the whole process group (forked
    children too) is killed.  cwd is a temporary directory so that the subprocess
    imports the same (installed) fastconv as the tests, not the source tree.
    """
    env = dict(os.environ, OMP_NUM_THREADS="2")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"timed out after {timeout} s: a forked process hung")
    assert proc.returncode == 0, stderr[-3000:]
    assert "FORK-OK" in stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_after_multithreaded_use_does_not_hang(tmp_path):
    _run_guarded(FORK_SCRIPT, tmp_path)


FORK_SET_THREADS_SCRIPT = textwrap.dedent("""
    import os
    import numpy as np
    import fastconv

    x = np.arange(2 * 8 * 40 * 40, dtype=np.float32).reshape(2, 8, 40, 40) % 13
    w = np.arange(16 * 8 * 3 * 3, dtype=np.float32).reshape(16, 8, 3, 3) % 7 - 3
    fastconv.set_num_threads(2)
    expected = fastconv.conv(x, w, padding=1).tobytes()
    pid = os.fork()
    if pid == 0:
        fastconv.set_num_threads(2)      # the child asks for threads again
        ok = fastconv.conv(x, w, padding=1).tobytes() == expected
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    print("FORK-OK")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_calling_set_num_threads_does_not_hang(tmp_path):
    """fastconv.set_num_threads(2) in a child forked after multithreaded use, then
    fastconv.conv: must not hang (it may run on one thread)."""
    _run_guarded(FORK_SET_THREADS_SCRIPT, tmp_path, timeout=30)


def test_set_num_threads_is_capped_at_the_cores(restore_threads):
    from fastconv._config import available_cores

    cores = available_cores()
    with pytest.warns(RuntimeWarning, match="capped"):
        fastconv.set_num_threads(cores + 1000)
    assert fastconv.get_num_threads() == cores


def test_small_calls_run_on_one_thread(restore_threads):
    """Below the grain sizes the kernels get a team of one, whatever the setting
    (a team waiting for a descheduled thread cost 100-1000x a tiny call)."""
    from fastconv import _conv_plan, pool

    fastconv.set_num_threads(min(2, fastconv._config.available_cores()))
    plan = _conv_plan.make_plan((1, 8, 24, 24), (8, 8, 3, 3), stride=1, padding=1,
                                dilation=1, groups=1, padding_mode="zeros", pad_value=0.0,
                                flip=False)
    assert _conv_plan._threads(plan) == 1
    assert pool._pool_threads(64 * 56 * 56) == 1
    big = _conv_plan.make_plan((8, 64, 56, 56), (64, 64, 3, 3), stride=1, padding=1,
                               dilation=1, groups=1, padding_mode="zeros", pad_value=0.0,
                               flip=False)
    assert _conv_plan._threads(big) == fastconv.get_num_threads()


def test_import_sets_a_passive_wait_policy_and_leaves_the_environment():
    code = textwrap.dedent("""
        import os
        assert "OMP_WAIT_POLICY" not in os.environ
        import fastconv
        assert "OMP_WAIT_POLICY" not in os.environ, "import leaked OMP_WAIT_POLICY"
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY",
                                                            "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
