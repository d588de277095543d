"""The C++ expansion of packed tensors (client/cpp/expand_c_api.cc, libmaskfeed_expand.so)
through ctypes: the same results as _expand's numpy code in a fraction of the time. Found
through MASKFEED_EXPAND_LIB, next to this package, or in the build tree; without it (or with
MASKFEED_NATIVE_EXPAND=0) the client expands with numpy.
"""

import ctypes
import os

_lib = None
_loaded = False


def candidates(env_var, filename, build_subdir):
    """Where one of maskfeed's shared libraries may be: $env_var, next to this package, or in
    the build tree (build/client/python/maskfeed -> build/client/<build_subdir>)."""
    if os.environ.get(env_var):
        yield os.environ[env_var]
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, filename)
    yield os.path.normpath(os.path.join(here, os.pardir, os.pardir, build_subdir, filename))


def load():
    """The library (cached), or None when it is not there or switched off."""
    global _lib, _loaded
    if _loaded:
        return _lib
    _loaded = True
    if os.environ.get("MASKFEED_NATIVE_EXPAND", "1") == "0":
        return None
    for path in candidates("MASKFEED_EXPAND_LIB", "libmaskfeed_expand.so", "cpp"):
        if not os.path.exists(path):
            continue
        lib = ctypes.CDLL(path)
        i64, ptr = ctypes.c_int64, ctypes.c_void_p
        lib.maskfeed_unpack_bits.argtypes = [ctypes.c_char_p, i64, i64, i64, ptr]
        lib.maskfeed_unpack_bits.restype = ctypes.c_int
        lib.maskfeed_unpack_uint16.argtypes = [ctypes.c_char_p, i64, i64, i64, ctypes.c_int, ptr]
        lib.maskfeed_unpack_uint16.restype = ctypes.c_int
        for name in ("maskfeed_derive_target_indicator", "maskfeed_derive_target_count_at_first"):
            getattr(lib, name).argtypes = [ptr, i64, i64, ptr]
            getattr(lib, name).restype = None
        _lib = lib
        break
    return _lib
