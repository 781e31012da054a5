"""A model with two named inputs (fed by a dict dataloader) and a dict of two outputs."""

import torch


class TwoTower(torch.nn.Module):
    def __init__(self, text_dim: int = 32, image_dim: int = 48, hidden: int = 64) -> None:
        super().__init__()
        self.text = torch.nn.Linear(text_dim, hidden)
        self.image = torch.nn.Linear(image_dim, hidden)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, text: torch.Tensor, image: torch.Tensor) -> dict[str, torch.Tensor]:
        t = torch.tanh(self.text(text))
        i = torch.tanh(self.image(image))
        return {"score": self.head(t * i).squeeze(-1), "similarity": (t * i).sum(-1, keepdim=True)}


def build(**kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return TwoTower(**kwargs)


def samples(count: int = 6):
    generator = torch.Generator().manual_seed(2)
    return [
        {"text": torch.randn(b, 32, generator=generator), "image": torch.randn(b, 48, generator=generator)}
        for b in [2, 3, 1, 4, 2, 5][:count]
    ]
