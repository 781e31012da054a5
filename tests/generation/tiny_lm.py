"""Tiny causal LMs from configs (random weights, vocab 1000, 2 layers), shared by the generation tests
and written out as recipe model files."""

from __future__ import annotations

TINY_LM = '''
import torch


def _config(kind):
    common = dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    if kind == "qwen2":
        from transformers import Qwen2Config
        return Qwen2Config(**common)
    from transformers import LlamaConfig
    return LlamaConfig(**common)


def build(kind="llama"):
    from transformers import LlamaForCausalLM, Qwen2ForCausalLM
    torch.manual_seed(0)
    cls = Qwen2ForCausalLM if kind == "qwen2" else LlamaForCausalLM
    return cls(_config(kind)).eval()


def prompts(count=2, batch=2, length=6):
    """Batches of token ids; the first batch is left-padded (its row 0 has two pad slots)."""
    g = torch.Generator().manual_seed(1)
    out = []
    for i in range(count):
        ids = torch.randint(3, 1000, (batch, length), generator=g)
        mask = torch.ones(batch, length, dtype=torch.long)
        if i == 0:
            ids[0, :2] = 0
            mask[0, :2] = 0
        out.append({"input_ids": ids, "attention_mask": mask})
    return out
'''


def load(tmp_path):
    """The module above, imported from a file (as a recipe's entrypoint would be)."""
    import importlib.util

    path = tmp_path / "tiny_lm.py"
    path.write_text(TINY_LM)
    spec = importlib.util.spec_from_file_location("tiny_lm_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
