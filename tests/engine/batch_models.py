"""Models whose outputs are not one row per input row, for the batch-semantics tests (plain torch.nn:
PyPI's torchvision does not import here). Copied into each test's project as model.py."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TwoTower(nn.Module):
    """CLIP's shape: an image tower, a text tower, and similarity matrices images x texts."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Linear(12, 8)
        self.text = nn.Embedding(32, 8)

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor) -> dict:
        image = F.normalize(self.image(pixel_values.flatten(1)), dim=-1)
        text = F.normalize(self.text(input_ids).mean(1), dim=-1)
        logits_per_image = 10.0 * image @ text.T
        return {
            "logits_per_image": logits_per_image,
            "logits_per_text": logits_per_image.T,
            "image_embeds": image,
            "text_embeds": text,
        }


def clip() -> TwoTower:
    torch.manual_seed(0)
    return TwoTower()


def clip_pairs(batches: tuple[int, ...] = (2, 3)) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [
        {"pixel_values": torch.randn(b, 3, 2, 2, generator=g), "input_ids": torch.randint(0, 32, (b, 5), generator=g)}
        for b in batches
    ]


def clip_unequal() -> list[dict]:
    """Two images and three texts a sample: the inputs share no batch axis at all."""
    g = torch.Generator().manual_seed(0)
    return [
        {"pixel_values": torch.randn(2, 3, 2, 2, generator=g), "input_ids": torch.randint(0, 32, (3, 5), generator=g)}
        for _ in range(2)
    ]


class Scalars(nn.Module):
    """Logits beside a Python int, a 0-d tensor and a None (a loss left out at inference)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> dict:
        logits = self.fc(x)
        return {"logits": logits, "classes": 4, "total": logits.sum(), "loss": None}


def scalars() -> Scalars:
    torch.manual_seed(0)
    return Scalars()


def features(count: int = 3, batch: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 8, generator=g) for _ in range(count)]


class Detector(nn.Module):
    """torchvision's detection API in miniature: a list with one dict per image, as many boxes as cells
    that score above 0."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 5, 2, stride=2)

    def forward(self, images: torch.Tensor) -> list[dict]:
        results = []
        for image in images:
            cells = self.head(image.unsqueeze(0))[0].flatten(1).T
            keep = cells[:, 0] > 0
            boxes, scores = cells[keep, 1:], cells[keep, 0].sigmoid()
            results.append({"boxes": boxes, "scores": scores, "labels": keep.nonzero()[:, 0]})
        return results


def detector() -> Detector:
    torch.manual_seed(0)
    return Detector()


def images(count: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randn(1, 3, 8, 8, generator=g) for _ in range(count)]
