"""ONNX GRU node cases for the tests of :func:`refgru.onnx_gru`: ONNX's own generated cases, the stored
bytes of the old backend test data, and a builder for random nodes. ``onnx`` is imported inside each helper.
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).parent.parent

#: The stored ONNX backend node tests the issue names (the onnx wheel no longer ships their data).
STORED = ("test_gru_defaults", "test_gru_with_initial_bias", "test_gru_seq_length", "test_gru_batchwise")
PEERS = pathlib.Path("shared") / "peers" / "onnx-gru-node-tests"


@functools.lru_cache(maxsize=1)
def generated_cases() -> dict[str, tuple]:
    """``{name: (model, feeds, expected outputs by name)}`` made by ONNX's own ``node/gru.py`` generator.

    Importing the generator module runs every ``export_*`` with ``np.random.seed(0)`` and ``expect()``
    collects the test cases, exactly as ONNX generated its stored data.
    """
    import onnx.backend.test.case.node as node_cases

    node_cases._TargetOpType = "GRU"
    import onnx.backend.test.case.node.gru  # noqa: F401  (its import runs the exporters)

    cases = {}
    for case in node_cases._NodeTestCases:
        if case.model.graph.node[0].op_type == "GRU" and not case.name.endswith("_expanded"):
            inputs, outputs = case.data_sets[0]
            graph = case.model.graph
            cases[case.name] = (case.model, {v.name: a for v, a in zip(graph.input, inputs, strict=True)},
                                {v.name: a for v, a in zip(graph.output, outputs, strict=True)})
    return cases


def peers_folder() -> pathlib.Path | None:
    """``../shared/peers/onnx-gru-node-tests`` next to the repository (or next to the main checkout of
    this git worktree), or ``None`` when it is absent."""
    roots = [ROOT.parent]
    git = ROOT / ".git"
    if git.is_file() and git.read_text().startswith("gitdir:"):  # a worktree: .../main/.git/worktrees/<name>
        roots.append(pathlib.Path(git.read_text().split(":", 1)[1].strip()).parents[2].parent)
    return next((root / PEERS for root in roots if (root / PEERS).is_dir()), None)


def stored_case(folder: pathlib.Path) -> tuple:
    """``(model, feeds, expected outputs by name)`` from ``model.onnx`` and ``test_data_set_0/*.pb``."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / "model.onnx"))
    data = folder / "test_data_set_0"

    def load(kind: str, values) -> dict:
        files = sorted(data.glob(f"{kind}_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        assert len(files) == len(values), f"{folder.name}: {len(files)} {kind} files for {len(values)} {kind}s"
        return {v.name: numpy_helper.to_array(onnx.load_tensor(str(f))) for v, f in zip(values, files, strict=True)}

    return model, load("input", model.graph.input), load("output", model.graph.output)


def gru_model(attributes: dict, arrays: dict[str, np.ndarray | None], *, initializers: tuple[str, ...] = (),
              outputs: tuple[str, str] = ("Y", "Y_h"), opset: int = 22):
    """A model with one GRU node. ``arrays`` maps ``X, W, R, B, sequence_lens, initial_h`` to arrays
    (``None``: the input is absent); names in ``initializers`` become initializers, the rest graph inputs."""
    from onnx import helper, numpy_helper

    roles = ("X", "W", "R", "B", "sequence_lens", "initial_h")
    names = [role if arrays.get(role) is not None else "" for role in roles]
    while names and not names[-1]:
        names.pop()
    node = helper.make_node("GRU", names, list(outputs), **attributes)
    present = [name for name in names if name]
    float_type = helper.np_dtype_to_tensor_dtype(arrays["X"].dtype)
    graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(arrays[n].dtype), arrays[n].shape)
                    for n in present if n not in initializers]
    graph_outputs = [helper.make_tensor_value_info(n, float_type, None) for n in outputs if n]
    inits = [numpy_helper.from_array(arrays[n], n) for n in present if n in initializers]
    graph = helper.make_graph([node], "gru", graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = min(model.ir_version, 10)  # what onnxruntime 1.2x reads
    feeds = {n: arrays[n] for n in present if n not in initializers}
    return model, feeds


def ort_run(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """onnxruntime's outputs by name (CPU provider)."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def reference_run(model, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``onnx.reference``'s outputs by name."""
    from onnx.reference import ReferenceEvaluator

    names = [o.name for o in model.graph.output]
    return dict(zip(names, ReferenceEvaluator(model).run(None, feeds), strict=True))
