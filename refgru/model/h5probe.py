"""Read an untrusted HDF5 file's attributes in a child process first, with a time limit.

libhdf5 parses a file in C. One damaged byte in a file's global heap (where variable-length strings
such as ``model_config`` and ``weight_names`` live) makes libhdf5 1.14 loop forever, and no Python
code can interrupt C code in the same process. So before refgru opens an HDF5 file itself, a child
Python reads every attribute of it; if the child does not finish within :data:`PROBE_SECONDS` it is
killed and the file is refused. A child that fails with an ordinary error is ignored (the real read
then reports the problem as a :class:`RefgruError`); a child killed by a signal (a crash in C) means
the file would crash refgru too, so it is refused as well.
"""

from __future__ import annotations

import io
import subprocess
import sys

from ..errors import RefgruError

#: How long reading every attribute may take; a healthy file needs a fraction of a second.
PROBE_SECONDS = 15.0

_CHILD = """
import io, sys
import h5py
source = sys.argv[1] if len(sys.argv) > 1 else io.BytesIO(sys.stdin.buffer.read())
def read_attrs(name, node):
    for key in node.attrs:
        node.attrs[key]
with h5py.File(source, "r") as f:
    read_attrs("/", f)
    f.visititems(read_attrs)
"""


def probe(data: str | io.BytesIO, what: str) -> None:
    """Refuse ``data`` (a path, or an in-memory file) if reading its attributes hangs or crashes libhdf5."""
    command = [sys.executable, "-I", "-c", _CHILD]
    stdin = None
    if isinstance(data, io.BytesIO):
        stdin = data.getvalue()
    else:
        command.append(data)
    try:
        child = subprocess.run(command, input=stdin, capture_output=True, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        raise RefgruError(f"{what}: expected an HDF5 file whose attributes can be read, got one on which "
                          f"libhdf5 did not finish in {PROBE_SECONDS:g} s (a damaged global heap makes it loop)") from None
    if child.returncode < 0:
        raise RefgruError(f"{what}: expected an HDF5 file libhdf5 can read, got one that crashed it "
                          f"(signal {-child.returncode})")
