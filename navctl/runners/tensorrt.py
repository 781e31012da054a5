"""TensorRT engine runner through Polygraphy's TrtRunner (outputs copied to the host, so synchronised)."""

from __future__ import annotations

import numpy as np

from navctl.runners.base import Runner


class TensorRTRunner(Runner):
    def load_impl(self) -> None:
        from polygraphy.backend.common import BytesFromPath
        from polygraphy.backend.trt import EngineFromBytes, TrtRunner

        self.runner = TrtRunner(EngineFromBytes(BytesFromPath(str(self.config.artifact))))
        self.runner.activate()

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.runner.infer(feed)
        names = self.config.io.output_names if self.config.io else list(outputs)
        return {name: np.asarray(outputs[name]) for name in names}

    def close_impl(self) -> None:
        self.runner.deactivate()
