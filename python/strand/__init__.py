"""Python bindings of strand, the time-travel trace replay analyzer.

A small Pythonic layer over the shared library (libstrand.so, through
ctypes): open a trace, move through it, read registers and memory, ask the
query engine (calls, origin, syscalls, ...) and build the root-cause report.

    import strand
    with strand.Trace("httpssl-nodevice.strand") as t:
        t.seek(2000)
        print(hex(t.reg("eip")), t.read(t.reg("esp"), 16).hex())
        for c in t.calls("ntdll!NtCreateFile"):
            print(c["call_position"], c["result_text"])
        print(t.origin("eax")["chain"][-1])
    print(strand.report("httpssl-nodevice.strand")["verdict"])

The library is found through $STRAND_LIBRARY (a path), then the usual
shared-library search (ctypes.util.find_library("strand")).  Every failure
raises strand.Error with the library's message and status.
"""
import ctypes
import ctypes.util
import json
import os

__all__ = ["Error", "Trace", "report", "library_version"]


class Error(Exception):
    """A strand call failed: .status is the status name, str() the message."""

    def __init__(self, message, status="error"):
        super().__init__(message)
        self.status = status


_ERROR_MAX = 1024
_CAUSES = 8


class _Cause(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint16), ("len", ctypes.c_uint16),
                ("file", ctypes.c_char_p), ("line", ctypes.c_int)]


class _Err(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("msg", ctypes.c_char * _ERROR_MAX),
                ("ncauses", ctypes.c_uint32), ("cause", _Cause * _CAUSES)]


class _QResult(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("text", ctypes.c_char_p),
                ("text_len", ctypes.c_size_t), ("json", ctypes.c_char_p),
                ("json_len", ctypes.c_size_t), ("quit", ctypes.c_bool)]


def _load():
    path = os.environ.get("STRAND_LIBRARY") or ctypes.util.find_library("strand")
    if not path:
        raise ImportError("strand: libstrand.so not found (set STRAND_LIBRARY to its path)")
    lib = ctypes.CDLL(path)
    vp, cp, u64, st = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int
    perr = ctypes.POINTER(_Err)
    sigs = {
        "strand_version": (cp, []),
        "strand_status_str": (cp, [st]),
        "strand_query_open": (st, [cp, vp, ctypes.POINTER(vp), perr]),
        "strand_query_free": (None, [vp]),
        "strand_query_replay": (vp, [vp]),
        "strand_query_exec": (st, [vp, cp, ctypes.POINTER(_QResult), perr]),
        "strand_query_result_fini": (None, [ctypes.POINTER(_QResult)]),
        "strand_replay_position": (u64, [vp]),
        "strand_replay_end": (u64, [vp]),
        "strand_replay_seek": (st, [vp, u64, perr]),
        "strand_replay_step": (st, [vp, ctypes.c_int64, perr]),
        "strand_replay_reg": (st, [vp, cp, ctypes.POINTER(u64)]),
        "strand_replay_reg_names": (ctypes.POINTER(cp), [vp]),
        "strand_replay_read": (ctypes.c_size_t, [vp, u64, vp, ctypes.c_size_t, vp]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


_lib = _load()
_OK, _END, _NOT_FOUND, _STOPPED = 0, 1, 2, 3


def library_version():
    """Version string of the libstrand actually loaded ("0.1.0")."""
    return _lib.strand_version().decode()


__version__ = library_version()


def _raise(err, status):
    msg = err.msg.decode("utf-8", "replace") or "failed"
    raise Error(msg, _lib.strand_status_str(status).decode())


class Trace:
    """One replay of a trace file, with its query engine.

    Positions are instruction counts from the start of the trace.  Motion
    past either end stops there (seek/step return False); errors, such as a
    divergence from the recording, raise Error.  Close it (or use `with`).
    """

    def __init__(self, path):
        self._q = ctypes.c_void_p()
        err = _Err()
        st = _lib.strand_query_open(os.fsencode(path), None, ctypes.byref(self._q),
                                    ctypes.byref(err))
        if st < 0:
            _raise(err, st)
        self._r = _lib.strand_query_replay(self._q)
        self.path = path

    def close(self):
        if self._q:
            _lib.strand_query_free(self._q)
            self._q = ctypes.c_void_p()
            self._r = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _live(self):
        if not self._q:
            raise Error("trace is closed", "invalid argument")

    # --- positions and motion ------------------------------------------
    @property
    def position(self):
        self._live()
        return _lib.strand_replay_position(self._r)

    @property
    def end(self):
        """Position after the last instruction."""
        self._live()
        return _lib.strand_replay_end(self._r)

    def seek(self, pos):
        """Go to `pos`, forward or backward."""
        self._live()
        if pos < 0:
            raise ValueError("position must be >= 0")
        err = _Err()
        st = _lib.strand_replay_seek(self._r, pos, ctypes.byref(err))
        if st < 0:
            _raise(err, st)
        return st == _OK

    def step(self, n=1):
        """Step n instructions (negative: backward).  False at an end."""
        self._live()
        err = _Err()
        st = _lib.strand_replay_step(self._r, n, ctypes.byref(err))
        if st < 0:
            _raise(err, st)
        return st == _OK

    # --- state -----------------------------------------------------------
    def reg(self, name):
        """A register by name, any width ("eax", "rip", "al", "pc")."""
        self._live()
        v = ctypes.c_uint64()
        st = _lib.strand_replay_reg(self._r, name.encode(), ctypes.byref(v))
        if st != _OK:
            raise KeyError(name)
        return v.value

    def registers(self):
        """Every register of the architecture, as {name: value}."""
        self._live()
        names = _lib.strand_replay_reg_names(self._r)
        out = {}
        i = 0
        while names[i]:
            n = names[i].decode()
            try:
                out[n] = self.reg(n)
            except KeyError:
                pass
            i += 1
        return out

    def read(self, addr, length):
        """`length` bytes of guest memory at `addr`; Error if any is unmapped."""
        self._live()
        if length < 0 or length > 1 << 24:
            raise ValueError("length must be in 0..16 MiB")
        buf = ctypes.create_string_buffer(length)
        valid = ctypes.create_string_buffer(length)
        n = _lib.strand_replay_read(self._r, addr, buf, length, valid)
        if n != length:
            raise Error("memory at 0x%x+%d is not mapped" % (addr, n), "not found")
        return buf.raw[:length]

    # --- the query engine ------------------------------------------------
    def query(self, command):
        """Run one `strand query` command; returns its JSON result (a dict)."""
        self._live()
        res, err = _QResult(), _Err()
        st = _lib.strand_query_exec(self._q, command.encode(), ctypes.byref(res),
                                    ctypes.byref(err))
        try:
            doc = json.loads(res.json.decode("utf-8", "replace")) if res.json else {}
        finally:
            _lib.strand_query_result_fini(ctypes.byref(res))
        if st < 0:
            e = doc.get("error", {})
            raise Error(e.get("message") or err.msg.decode("utf-8", "replace"),
                        e.get("status", _lib.strand_status_str(st).decode()))
        return doc.get("result", {})

    def calls(self, function):
        """Every call of FUNCTION ("module!symbol" or an address)."""
        return self.query("calls " + function).get("calls", [])

    def syscalls(self, failed=False):
        return self.query("syscalls --failed" if failed else "syscalls").get("syscalls", [])

    def origin(self, what):
        """Where the value of a register or memory (e.g. "eax", "[0x14ffa0] 4")
        at the current position came from: the backward data-flow chain."""
        return self.query("origin " + what)

    def report(self):
        """The root-cause report of this trace, as a dict."""
        return self.query("report").get("report", {})


def report(path):
    """The root-cause report of the trace at `path`, as a dict (the same
    document as `strand report --json`)."""
    with Trace(path) as t:
        return t.report()
