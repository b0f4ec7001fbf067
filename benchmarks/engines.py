"""One benchmark worker: ``python -m benchmarks.engines GROUP WORKDIR BUDGET MIN_RUNS``.

It reads ``WORKDIR/cases.json`` (the sizes, and an ``.npz`` of weights and inputs per size), times
every engine of ``GROUP`` on every case and writes ``WORKDIR/GROUP.json`` plus each engine's outputs,
so that the driver (:mod:`benchmarks.run`) can compare them with refgru's. An engine that cannot run
(a missing package) records its error instead of times.

Every engine gets the same float32 ``kernel (D, 3H)``, ``recurrent_kernel (H, 3H)`` and
``bias (2, 3H)`` (Keras's ``reset_after=True`` layout) and the same ``x (B, T, D)``, and returns the
last output ``(B, H)``. Building the engine (a model, a session) is not timed; the first two calls
are warm-up (Keras traces its graph there) and are not timed either.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

WARMUP = 2


def _keras_model(weights, steps, features, units):
    import keras

    layer = keras.layers.GRU(units)
    model = keras.Sequential([keras.Input((steps, features)), layer])
    layer.set_weights(weights)
    return keras, layer, model


def refgru_engines(weights, x, workdir, index):
    import refgru

    def numpy_matmul_only():
        """The GRU's matmuls alone: one ``(B*T, D) @ (D, 3H)`` projection and T ``(B, H) @ (H, 3H)``."""
        batch, steps, features = x.shape
        h = np.zeros((batch, weights[1].shape[0]), np.float32)
        out = np.empty((batch, weights[1].shape[1]), np.float32)
        x.reshape(batch * steps, features) @ weights[0]
        for _ in range(steps):
            np.matmul(h, weights[1], out=out)
        return None

    # Built once and not timed, as torch's module and onnxruntime's session are: a GRUWeights is what a loaded
    # layer holds and what a server passes (its fused weights are cached on it). The list row shows the cost of
    # passing get_weights() arrays instead, which are checked and fused again on every call.
    w = refgru.GRUWeights.from_keras(weights)
    return {"refgru": lambda: refgru.gru(x, w), "refgru, get_weights() list": lambda: refgru.gru(x, weights),
            "numpy matmul only": numpy_matmul_only}


def refgru_before_engines(weights, x, workdir, index):
    """``refgru.gru`` from another tree (``REFGRU_BEFORE``, e.g. ``git archive`` of an older commit)."""
    before = os.environ.get("REFGRU_BEFORE")
    if not before:
        raise RuntimeError("REFGRU_BEFORE is not set (python -m benchmarks.run --before PATH)")
    if before not in sys.path:
        sys.path.insert(0, before)
    import refgru

    if not refgru.__file__.startswith(os.path.abspath(before)):
        raise RuntimeError(f"refgru was imported from {refgru.__file__}, not from {before}")
    w = refgru.GRUWeights.from_keras(weights)
    return {"refgru (before)": lambda: refgru.gru(x, w)}


def refgru_model_engines(weights, x, workdir, index):
    import refgru

    path = workdir / f"case{index}.keras"
    if not path.exists():
        raise RuntimeError(f"{path.name} was not written (the keras group saves it)")
    model = refgru.load_model(path)
    return {"refgru load_model().predict": lambda: model.predict(x)}


def keras_engines(weights, x, workdir, index):
    batch, steps, features = x.shape
    keras, layer, model = _keras_model(weights, steps, features, weights[1].shape[0])
    if keras.backend.backend() == "tensorflow":
        model.save(workdir / f"case{index}.keras")
    name = f"keras {keras.backend.backend()}"
    return {f"{name} layer(x)": lambda: np.asarray(layer(x)),
            f"{name} predict": lambda: model.predict(x, batch_size=batch, verbose=0)}


def _torch_state(weights):
    """``nn.GRU`` parameters: torch orders the blocks [r, z, n] and stores kernels transposed."""
    try:
        from refgru.convert import to_torch

        return to_torch(weights), "refgru.convert.to_torch"
    except ImportError:
        def rzh(a):
            z, r, h = np.split(a, 3, axis=-1)
            return np.ascontiguousarray(np.concatenate([r, z, h], axis=-1))

        kernel, recurrent, bias = weights
        return ({"weight_ih_l0": rzh(kernel).T.copy(), "weight_hh_l0": rzh(recurrent).T.copy(),
                 "bias_ih_l0": rzh(bias[0]), "bias_hh_l0": rzh(bias[1])}, "benchmarks.engines._torch_state")


def torch_engines(weights, x, workdir, index):
    import torch

    torch.set_num_threads(2)
    state, how = _torch_state(weights)
    module = torch.nn.GRU(x.shape[2], weights[1].shape[0], batch_first=True)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    module.eval()
    xt = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return module(xt)[1][0].numpy()

    INFO["torch weights"] = how
    return {"torch nn.GRU (2 threads)": run}


def _onnx_model(weights):
    """An ONNX model computing the layer: refgru.export_onnx if present, else one GRU node built here."""
    try:
        import refgru

        return refgru.export_onnx(weights, None, dtype="float32"), "refgru.export_onnx"
    except (ImportError, AttributeError):
        pass
    from onnx import TensorProto, helper, numpy_helper

    kernel, recurrent, bias = weights
    units = recurrent.shape[0]
    inits = [numpy_helper.from_array(kernel.T[None].copy(), "W"),           # (1, 3H, D), blocks [z; r; h]
             numpy_helper.from_array(recurrent.T[None].copy(), "R"),        # (1, 3H, H)
             numpy_helper.from_array(bias.reshape(1, -1).copy(), "B")]      # [b_z b_r b_h rb_z rb_r rb_h]
    nodes = [helper.make_node("Transpose", ["x"], ["x_tbd"], perm=[1, 0, 2]),
             helper.make_node("GRU", ["x_tbd", "W", "R", "B"], ["", "Y_h"], hidden_size=units, linear_before_reset=1),
             helper.make_node("Squeeze", ["Y_h", "axes0"], ["output"])]
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axes0"))
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", kernel.shape[0]])
    out_info = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["B", units])
    graph = helper.make_graph(nodes, "gru", [x_info], [out_info], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), "benchmarks.engines._onnx_model"


def onnxruntime_engines(weights, x, workdir, index):
    import onnxruntime as ort

    model, how = _onnx_model(weights)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    INFO["onnx model"] = how
    return {"onnxruntime GRU (2 threads)": lambda: session.run(None, {name: x})[0]}


GROUPS = {
    "refgru": refgru_engines,
    "refgru-before": refgru_before_engines,
    "keras-tensorflow": keras_engines,
    "refgru-model": refgru_model_engines,
    "keras-numpy": keras_engines,
    "torch": torch_engines,
    "onnxruntime": onnxruntime_engines,
}
#: Environment each group's subprocess needs.
GROUP_ENV = {"keras-tensorflow": {"KERAS_BACKEND": "tensorflow"}, "keras-numpy": {"KERAS_BACKEND": "numpy"}}
INFO: dict[str, object] = {}


def versions() -> dict[str, object]:
    info: dict[str, object] = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("keras", "tensorflow", "torch", "onnxruntime", "onnx", "jax"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    return info


def time_engine(run, budget: float, min_runs: int) -> list[float]:
    """Warm up, then call ``run`` until ``budget`` seconds have passed and it ran ``min_runs`` times."""
    for _ in range(WARMUP):
        run()
    times: list[float] = []
    while len(times) < min_runs or (sum(times) < budget and len(times) < 1000):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str]) -> int:
    group, workdir, budget, min_runs = argv[0], Path(argv[1]), float(argv[2]), int(argv[3])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cases = json.loads((workdir / "cases.json").read_text())
    results = []
    for index, case in enumerate(cases):
        data = np.load(workdir / case["data"], allow_pickle=False)
        weights, x = [data["kernel"], data["recurrent_kernel"], data["bias"]], data["x"]
        try:
            engines = GROUPS[group](weights, x, workdir, index)
        except Exception as exc:  # a missing package or an engine that cannot build: report, don't crash
            results.append({"case": index, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        for name, run in engines.items():
            try:
                times = time_engine(run, budget, min_runs)
                output = run()
                if output is not None:
                    np.save(workdir / f"out_{group}_{index}_{len(results)}.npy", np.asarray(output))
                results.append({"case": index, "engine": name, "times": times,
                                "output": None if output is None else f"out_{group}_{index}_{len(results)}.npy"})
            except Exception as exc:
                results.append({"case": index, "engine": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
    info = {**versions(), **INFO}
    if group == "refgru":
        info.update(blas_info())
    (workdir / f"{group}.json").write_text(json.dumps({"info": info, "results": results}))
    return 0


def blas_info() -> dict[str, object]:
    """NumPy's BLAS (from ``numpy.show_config``), threadpoolctl's view if installed, and a GEMM peak."""
    info: dict[str, object] = {}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception as exc:  # older NumPy without mode="dicts"
        info["numpy blas"] = f"unknown ({exc})"
    try:
        from threadpoolctl import threadpool_info

        info["threadpoolctl"] = [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                                 for p in threadpool_info()]
    except ImportError:
        info["threadpoolctl"] = "not installed"
    a = np.random.default_rng(0).random((1024, 1024), dtype=np.float32)
    best = min(_timed(lambda: a @ a) for _ in range(10))
    info["numpy sgemm 1024^3 GFLOP/s"] = round(2 * 1024**3 / best / 1e9, 1)
    return info


def _timed(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
