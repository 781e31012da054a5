"""Load a model repository in the real Triton server that PyTriton ships and infer one request.

    python infer_in_triton.py REPO MODEL INPUTS.npz OUTPUTS.npz HTTP GRPC METRICS

PyTriton's server has only the Python backend, so repositories of Python-backend models load fully
here; Triton validates every config (dims, reshape, batching) before it loads the model.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import numpy as np


def main(repo: str, model: str, inputs: str, outputs: str, http_port: str, grpc_port: str, metrics: str) -> None:
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    os.environ["LD_LIBRARY_PATH"] = f"{libdir}:{os.environ.get('LD_LIBRARY_PATH', '')}"
    import tritonclient.http as http
    from pytriton.triton import Triton, TritonConfig

    config = TritonConfig(
        model_repository=Path(repo),
        http_address="127.0.0.1",
        http_port=int(http_port),
        grpc_address="127.0.0.1",
        grpc_port=int(grpc_port),
        metrics_address="127.0.0.1",
        metrics_port=int(metrics),
        exit_timeout_secs=5,
        log_file=Path(repo) / "triton.log",
    )
    with Triton(config=config) as triton:
        triton.run()
        client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
        assert client.is_model_ready(model), f"{model} is not ready"
        meta = client.get_model_metadata(model)
        feed = dict(np.load(inputs, allow_pickle=False))
        requests = []
        for spec in meta["inputs"]:
            array = feed[spec["name"]]
            request = http.InferInput(spec["name"], list(array.shape), spec["datatype"])
            request.set_data_from_numpy(array)
            requests.append(request)
        answer = client.infer(model, requests)
        np.savez(outputs, **{o["name"]: answer.as_numpy(o["name"]) for o in meta["outputs"]})
        client.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
