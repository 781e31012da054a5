"""The models both tools optimize in the speed benchmarks, in plain torch.nn, with their samples.

The benchmark copies this file as `models.py` beside the recipes, so navctl's recipes and Model
Navigator's script import the same code. Each model `NAME` has `NAME_samples()`: 8 samples of batch 4.

- `mlp`: 64-256-256-10 (seeded weights).
- `cnn`: conv/BN/ReLU on 3x32x32; `resnet18`: the ResNet-18 layout (BasicBlock x [2, 2, 2, 2], 64-512
  channels, 1000 classes) on 3x128x128. Both have seeded weights and BatchNorm statistics calibrated on
  seeded images, as a trained network's would be (with the default statistics the logits hardly depend
  on the input); `prepare_weights` does that once into `weights/`, and the models load those files, as
  a user's loading code reads a checkpoint (calibrating in every process that builds the model would
  bill each tool for it).
- `bert`: a 4-layer BERT-like encoder (hidden 256, 4 heads, vocab 30522, learned positions, post-LN,
  GELU) over `input_ids` and `attention_mask`, a pooler and 2 class logits; samples at sequence
  lengths 64 and 128 (4 each), padded at the end of each row.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).resolve().parent / "weights"


def _batches(shape: tuple[int, ...], count: int = 8, batch: int = 4) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(batch, *shape, generator=g) for _ in range(count)]


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)).eval()


def mlp_samples() -> list[torch.Tensor]:
    return _batches((64,))


def _calibrate_batchnorm(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """BatchNorm statistics from 32 seeded images, as training leaves them; the model in eval mode."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # a cumulative average over the calibration batches
    model.train()
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, *shape, generator=g))
    return model.eval()


def _load(model: nn.Module, name: str) -> nn.Module:
    model.load_state_dict(torch.load(WEIGHTS / f"{name}.pt", weights_only=True))
    return model.eval()


def _cnn() -> nn.Module:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 16), *block(16, 32), nn.MaxPool2d(2), *block(32, 64), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(64, 10),
    )


def cnn() -> nn.Module:
    return _load(_cnn(), "cnn")


def cnn_samples() -> list[torch.Tensor]:
    return _batches((3, 32, 32))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = nn.Identity()
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResNet18(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        stages, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


def resnet18() -> nn.Module:
    return _load(ResNet18(), "resnet18")


def resnet18_samples() -> list[torch.Tensor]:
    return _batches((3, 128, 128))


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query, self.key, self.value, self.out = (nn.Linear(hidden, hidden) for _ in range(4))

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], x.shape[1], self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + mask_bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        return self.out(context)


class EncoderLayer(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.attention = SelfAttention(hidden, heads)
        self.norm1 = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))
        self.norm2 = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attention(x, mask_bias))
        return self.norm2(x + self.ffn(x))


class BertLike(nn.Module):
    def __init__(self, vocab: int = 30522, hidden: int = 256, layers: int = 4, heads: int = 4) -> None:
        super().__init__()
        self.words = nn.Embedding(vocab, hidden)
        self.positions = nn.Embedding(512, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads) for _ in range(layers))
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.norm(self.words(input_ids) + self.positions(positions))
        # padded keys get -10000 before the softmax, as BERT does
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, mask_bias)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


def bert() -> nn.Module:
    torch.manual_seed(0)
    return BertLike().eval()


def bert_samples() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    samples = []
    for seq in (64,) * 4 + (128,) * 4:
        ids = torch.randint(1, 30522, (4, seq), generator=g)
        lengths = torch.randint(seq // 2, seq + 1, (4, 1), generator=g)
        mask = (torch.arange(seq)[None, :] < lengths).long()
        samples.append((ids * mask, mask))
    return samples


def prepare_weights() -> None:
    """Write the checkpoints the models load (once per benchmark folder, before anything is timed)."""
    WEIGHTS.mkdir(exist_ok=True)
    for name, build, shape in (("cnn", _cnn, (3, 32, 32)), ("resnet18", ResNet18, (3, 128, 128))):
        torch.manual_seed(0)
        torch.save(_calibrate_batchnorm(build(), shape).state_dict(), WEIGHTS / f"{name}.pt")
