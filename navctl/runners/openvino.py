"""OpenVINO runner: the IR compiled for a device with the run's thread budget and the recipe's hints."""

from __future__ import annotations

import numpy as np
import openvino as ov

from navctl.runners.base import Runner


class OpenVinoRunner(Runner):
    @staticmethod
    def tuning_variants(threads: int) -> list[dict]:
        """Alternatives profiling.tune tries on top of the recipe's own settings."""
        return [{"hint": "latency"}, {"hint": "throughput"}]

    def load_impl(self) -> None:
        options = self.config.options
        core = ov.Core()
        device = "CPU" if self.config.device == "cpu" else options.get("device", "GPU")
        config = {
            "PERFORMANCE_HINT": options.get("hint", "latency").upper(),
            "INFERENCE_PRECISION_HINT": options.get("precision", "f32"),
        }
        if device == "CPU":
            config["INFERENCE_NUM_THREADS"] = self.config.threads
        self.compiled = core.compile_model(str(self.config.artifact), device, config)
        self.request = self.compiled.create_infer_request()
        graph = [o.get_any_name() for o in self.compiled.outputs]
        io = self.config.io
        # outputs by name where the IR carries navctl's names (their order may differ), else by position
        if io and sorted(graph) == sorted(io.output_names):
            self.ports = [(n, self.compiled.outputs[graph.index(n)]) for n in io.output_names]
        else:
            names = io.output_names if io and len(io.outputs) == len(graph) else graph
            self.ports = list(zip(names, self.compiled.outputs, strict=True))

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Sharing skips a copy of each input; outputs are copied since the request reuses their buffers.
        results = self.request.infer(feed, share_inputs=True, share_outputs=True)
        return {name: np.array(results[port]) for name, port in self.ports}

    def close_impl(self) -> None:
        del self.request
        del self.compiled
