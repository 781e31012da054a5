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
        self.names = io.output_names if io and len(io.outputs) == len(graph) else graph

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # Sharing skips a copy of each input; outputs are copied since the request reuses their buffers.
        results = self.request.infer(feed, share_inputs=True, share_outputs=True)
        return {name: np.array(value) for name, value in zip(self.names, results.values(), strict=True)}

    def close_impl(self) -> None:
        del self.request
        del self.compiled
