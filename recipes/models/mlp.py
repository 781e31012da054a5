"""A small MLP (64-256-256-10) and its samples: the quickstart model."""

import torch


def build(hidden: int = 256, features: int = 64, classes: int = 10) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(features, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, classes),
    )


def samples(count: int = 8, batch: int = 4, features: int = 64):
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(batch, features, generator=generator) for _ in range(count)]


def verify(outputs, reference) -> tuple[bool, str]:
    """The predicted class must match the source model's on every row."""
    for i, (out, ref) in enumerate(zip(outputs, reference, strict=False)):
        if (out["output_0"].argmax(-1) != ref["output_0"].argmax(-1)).any():
            return False, f"top-1 class differs on sample {i}"
    return True, "top-1 classes agree"


def calibration(count: int = 32, batch: int = 4, features: int = 64):
    """Calibration samples for the INT8 formats, drawn apart from `samples` (another seed)."""
    generator = torch.Generator().manual_seed(2)
    return [torch.randn(batch, features, generator=generator) for _ in range(count)]
