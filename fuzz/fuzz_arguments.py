"""Coverage-guided fuzzing (atheris / libFuzzer) of fastconv's argument handling.

Each input picks a public function, arrays of fuzzed shapes, dtypes and layouts, and
fuzzed values for a fuzzed subset of its keyword parameters (hostile ones included:
huge, negative, NaN, wrong types, nested sequences).  The rules checked:

- fastconv's own functions return or raise ``ValueError``/``TypeError``, nothing else;
- the SciPy drop-ins (``fastconv.signal``, ``fastconv.ndimage``) return what SciPy
  returns (same shape and dtype, values within a bound) and raise where SciPy raises,
  SciPy's exception class or one of the classes SciPy uses for bad arguments
  (``ValueError``, ``TypeError``, ``RuntimeError``: with several faults in one call the
  first one found may differ).  One exception: SciPy returns early for an empty or 0-d
  input without looking at the other arguments, where fastconv checks them;
- no input array is modified.

A crash, another exception or a broken rule stops the run with the input that caused
it (libFuzzer writes it to ``crash-*``; rerun it by passing that file as the argument).
Coverage is taken of fastconv's Python modules, so the fuzzer steers towards new
branches of the validation code.

Usage (atheris is not a dependency: ``pip install atheris``)::

    python fuzz/fuzz_arguments.py -runs=20000          # a bounded run
    python fuzz/fuzz_arguments.py -max_total_time=600  # ten minutes
    python fuzz/fuzz_arguments.py crash-<hash>         # replay one input
    FUZZ_SURVEY=1 python fuzz/fuzz_arguments.py -runs=50000   # list every kind of finding
                                                              # (one line each) and go on
"""

import inspect
import os
import resource
import sys
import warnings

import atheris
import numpy as np

with atheris.instrument_imports(include=["fastconv"]):
    import fastconv
    from fastconv import ndimage as fnd
    from fastconv import signal as fsig

try:
    import scipy.ndimage as snd
    import scipy.signal as ssig
except ImportError:          # the drop-ins are then held to fastconv's own rule
    snd = ssig = None

# a hostile value is refused before anything is allocated; a legitimate one is small
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, resource.RLIM_INFINITY))

OWN = [getattr(fastconv, n) for n in (
    "conv", "conv1d", "conv2d", "conv3d", "conv_input_grad", "conv_weight_grad",
    "conv_bias_grad", "conv_backward", "conv_transpose", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "max_pool", "max_pool1d", "max_pool2d",
    "max_pool3d", "max_pool_backward", "max_pool1d_backward", "max_pool2d_backward",
    "avg_pool", "avg_pool1d", "avg_pool2d", "avg_pool3d", "avg_pool_backward",
    "avg_pool2d_backward", "explain")]
DROP_INS = [(fsig, ssig, n) for n in ("convolve", "correlate", "fftconvolve", "oaconvolve",
                                       "convolve2d", "correlate2d", "choose_conv_method")]
DROP_INS += [(fnd, snd, n) for n in (
    "correlate1d", "convolve1d", "gaussian_filter1d", "gaussian_filter", "correlate",
    "convolve", "uniform_filter1d", "uniform_filter", "minimum_filter1d", "maximum_filter",
    "minimum_filter", "prewitt", "sobel", "laplace", "gaussian_laplace",
    "gaussian_gradient_magnitude", "median_filter", "rank_filter", "percentile_filter",
    "generic_filter", "generic_filter1d")]

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int64, np.uint16, np.bool_,
          np.complex64, np.complex128, object, "U2", "M8[s]"]
STRINGS = ["same", "valid", "full", "zeros", "constant", "reflect", "replicate", "circular",
           "symmetric", "nearest", "mirror", "wrap", "grid-wrap", "fill", "symm", "direct",
           "fft", "auto", "input", "weight", "bias", "", "bogus"]
HUGE = [2**31, 2**32 + 1, 2**62, 2**63, -2**63, 10**30, -(10**30)]


def _array(fdp):
    """A small array of a fuzzed dtype, shape (0-4 axes of 0-6) and layout."""
    ndim = fdp.ConsumeIntInRange(0, 4)
    shape = tuple(fdp.ConsumeIntInRange(0, 6) for _ in range(ndim))
    dtype = DTYPES[fdp.ConsumeIntInRange(0, len(DTYPES) - 1)]
    vals = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 7 - 3
    if fdp.ConsumeBool():
        vals = np.asarray(vals * 0.5 + np.float64(fdp.ConsumeProbability()))
    try:
        a = np.asarray(vals.astype(dtype))
    except (TypeError, ValueError):
        a = np.asarray(vals.astype(np.float64))
    layout = fdp.ConsumeIntInRange(0, 5)
    if layout == 1:
        a = np.asfortranarray(a)
    elif layout == 2 and a.ndim:
        a = a[::-1]
    elif layout == 3 and a.dtype.kind in "fiub" and a.dtype.itemsize > 1:
        a = a.astype(a.dtype.newbyteorder(">"))
    elif layout == 4 and a.dtype != object:
        buf = np.zeros(a.nbytes + 1, np.uint8)[1:]
        a = buf.view(a.dtype).reshape(a.shape) if a.nbytes else a
    a = np.asarray(a)
    if fdp.ConsumeBool():
        a.flags.writeable = False
    return a


def _value(fdp, depth=0):
    """A parameter value: small or huge integers, floats incl. NaN/inf, strings,
    booleans, None, NumPy scalars and arrays, sequences of these."""
    kind = fdp.ConsumeIntInRange(0, 11)
    if kind <= 2:
        return fdp.ConsumeIntInRange(-3, 8)
    if kind == 3:
        return HUGE[fdp.ConsumeIntInRange(0, len(HUGE) - 1)]
    if kind == 4:
        return [0.5, -1.5, 2.0, float("nan"), float("inf"), -0.0, 1e300][
            fdp.ConsumeIntInRange(0, 6)]
    if kind == 5:
        return STRINGS[fdp.ConsumeIntInRange(0, len(STRINGS) - 1)]
    if kind == 6:
        return fdp.ConsumeBool()
    if kind == 7:
        return None
    if kind == 8:
        t = [np.int8, np.int64, np.uint64, np.float32, np.bool_][fdp.ConsumeIntInRange(0, 4)]
        return t(fdp.ConsumeIntInRange(0, 5))
    if kind == 9 and depth < 2:
        seq = [_value(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
        return tuple(seq) if fdp.ConsumeBool() else seq
    if kind == 10:
        return _array(fdp)
    return complex(1, 1) if fdp.ConsumeBool() else object()


def _arguments(fdp, fn):
    """Positional arrays for the required parameters, fuzzed values for a subset of
    the others."""
    args, kwargs = [], {}
    for p in inspect.signature(fn).parameters.values():
        if p.name.startswith("_") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        required = p.default is p.empty
        if required and p.kind != p.KEYWORD_ONLY:
            shape_like = p.name.endswith(("_shape", "_len"))
            args.append(_value(fdp) if shape_like or fdp.ConsumeIntInRange(0, 9) == 0
                        else _array(fdp))
        elif fdp.ConsumeIntInRange(0, 2) == 0:
            kwargs[p.name] = _value(fdp)
    return args, kwargs


def _outcome(fn, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as exc:        # noqa: BLE001 -- classified by the caller
            return None, exc


def _snapshot(args, kwargs):
    inputs = list(args) + [v for k, v in kwargs.items() if k not in ("out", "output")]
    arrays = [a for a in inputs if isinstance(a, np.ndarray)]
    return [(a, a.copy()) for a in arrays]


def _close(got, want):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype:
        return False
    if got.dtype == object:
        return bool(np.all(got == want))
    if got.dtype.kind not in "fc":
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        return bool(np.all(diff <= 1))          # float -> integer truncation of a rounding
    scale = np.max(np.abs(want), initial=0.0) + 1.0
    # SciPy computes some mixed-precision calls (uint16 with float32) in float32 into a
    # float64 result: a bound of float32's accuracy for every float result
    eps = 1e-3 if got.dtype.itemsize * (1 if got.dtype.kind == "f" else 0.5) <= 4 else 1e-5
    both = np.isnan(got) == np.isnan(want)
    fin = np.isfinite(got) & np.isfinite(want)
    return bool(np.all(both) and np.all(np.abs(got[fin] - want[fin]) <= eps * scale))


SURVEY = os.environ.get("FUZZ_SURVEY") == "1"
_seen = set()
_last = [""]


def _describe(args, kwargs):
    show = [f"{a.dtype}{a.shape}" if isinstance(a, np.ndarray) else repr(a) for a in args]
    show += [f"{k}={v.dtype}{v.shape}" if isinstance(v, np.ndarray) else f"{k}={v!r}"
             for k, v in kwargs.items()]
    return ", ".join(show)


def test_one_input(data):
    if os.environ.get("FUZZ_LAST"):        # to find an input that corrupts memory
        with open(os.environ["FUZZ_LAST"], "wb") as f:
            f.write(data)
    if not SURVEY:
        return _check(data)
    try:
        _check(data)
    except AssertionError as exc:
        cause = exc.__cause__
        key = (str(exc).split(":")[0], type(cause).__name__, str(exc)[:60])
        if key not in _seen:
            _seen.add(key)
            print(f"FINDING {exc} | cause: {cause!r}"[:300], "|", _last[0][:300], flush=True)


def _check(data):
    fdp = atheris.FuzzedDataProvider(data)
    table = OWN + DROP_INS
    entry = table[fdp.ConsumeIntInRange(0, len(table) - 1)]
    fn = entry if callable(entry) else getattr(entry[0], entry[2])
    args, kwargs = _arguments(fdp, fn)
    if SURVEY:
        _last[0] = f"{fn.__name__}({_describe(args, kwargs)})"
    before = _snapshot(args, kwargs)
    got, exc = _outcome(fn, args, kwargs)
    for a, copy in before:
        if not np.array_equal(a, copy, equal_nan=a.dtype.kind in "fc"):
            raise AssertionError(f"{fn.__name__} modified an input")
    if callable(entry) or entry[1] is None:
        if exc is not None and not isinstance(exc, (ValueError, TypeError)):
            raise AssertionError(f"{fn.__name__}: {type(exc).__name__}, not ValueError/"
                                 f"TypeError") from exc
        return
    if exc is not None and _has_huge(args, kwargs):
        return      # SciPy's C layer may overflow on these (uniform_filter(size=2**62) crashes)
    want, sexc = _outcome(getattr(entry[1], entry[2]), args, kwargs)
    if isinstance(sexc, MemoryError):
        return                          # SciPy cannot say what the answer is
    if (exc is None) != (sexc is None):
        # SciPy returns early for an empty or 0-d input without looking at the other
        # arguments, where fastconv checks them all (and the other way round for a few
        # checks SciPy's C layer makes after that point): both are errors of the kinds
        # SciPy uses, never a different answer
        error = exc if exc is not None else sexc
        if not (_degenerate(args) and isinstance(error, ARGUMENT_ERRORS)):
            raise AssertionError(f"{fn.__name__}: fastconv {exc!r} vs SciPy {sexc!r}") \
                from exc
        return
    if exc is not None:
        # with several faults in one call the first one found may differ
        if not isinstance(exc, (type(sexc),) + ARGUMENT_ERRORS):
            raise AssertionError(f"{fn.__name__}: fastconv raised {type(exc).__name__}, SciPy "
                                 f"{type(sexc).__name__} ({sexc})") from exc
    elif fn.__name__ == "choose_conv_method":
        # a measured choice is a timing: only its form must match
        if type(got) is not type(want) or (isinstance(want, tuple) and set(got[1]) != set(want[1])):
            raise AssertionError(f"choose_conv_method returned {got!r}, SciPy {want!r}")
    elif not (isinstance(want, str) and got == want) and not _close(got, want):
        raise AssertionError(f"{fn.__name__}: result differs from SciPy's")


ARGUMENT_ERRORS = (ValueError, TypeError, RuntimeError)


def _has_huge(args, kwargs):
    def huge(v):
        if isinstance(v, (list, tuple)):
            return any(huge(u) for u in v)
        return isinstance(v, (int, float, np.integer, np.floating)) and abs(v) >= 2**31
    return any(huge(v) for v in list(args) + list(kwargs.values()))


def _degenerate(args):
    """An empty or 0-d operand (any object that is not a sequence counts as 0-d)."""
    def degenerate(a):
        try:
            return np.ndim(a) == 0 or np.size(a) == 0
        except Exception:       # noqa: BLE001 -- ragged nested sequences and the like
            return False
    return any(degenerate(a) for a in args)


def main(argv=None):
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
