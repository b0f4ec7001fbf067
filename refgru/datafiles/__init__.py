"""Input and output files for predict at scale: ``.npy``, ``.npz``, ``.csv``/``.txt``, read and written in row chunks.

    :mod:`refgru.datafiles.inputs`   ``open_input``: checked ``.npy`` headers, ``.npz`` by name, ``readinto`` chunks
    :mod:`refgru.datafiles.text`     the ``.csv`` / ``.txt`` reader, reshaped to the declared row shape
    :mod:`refgru.datafiles.outputs`  ``open_output``: ``.npy`` (``open_memmap``), ``.npz``, ``.csv``, renamed at the end
    :mod:`refgru.datafiles.checks`   extensions, and the rows that hold NaN or inf

Nothing here unpickles (there is no ``allow_pickle``); an unknown extension is an error.
"""

from __future__ import annotations

from .checks import FIRST_ROWS, check_finite, extension, nonfinite_error, nonfinite_rows
from .inputs import INPUT_FORMATS, MAX_MEMBERS, MAX_NDIM, MAX_READ_BYTES, InputFile, open_input, read_arrays
from .outputs import OUTPUT_FORMATS, OutputFile, open_output, result_parts
from .text import MAX_LINE

__all__ = ["FIRST_ROWS", "INPUT_FORMATS", "MAX_LINE", "MAX_MEMBERS", "MAX_NDIM", "MAX_READ_BYTES", "OUTPUT_FORMATS",
           "InputFile", "OutputFile", "check_finite", "extension", "nonfinite_error", "nonfinite_rows", "open_input",
           "open_output", "read_arrays", "result_parts"]
