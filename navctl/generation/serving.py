"""A decoder's generate endpoint on PyTriton: prompt token ids and `max_new_tokens` in, generated ids out,
the greedy loop (`navctl.generation.loop.greedy`) running inside the server over one decode step.

Scheduling rule: a generate request is never batched with another. Each request runs its whole decode
loop alone, with a cache of its own, on one decode step at a time (a lock per decode step: the plain and
the streaming model share it). The models are bound with `max_batch_size 0` and no dynamic batcher, so
Triton hands each call one request; a call that still holds several runs them one after another.
Concurrency comes from `instances` (one decode step each), never from merging caches.

Two models are bound per decoder, both taking `input_ids` [S], `max_new_tokens` [1] and, optionally,
`eos_token_id` [1] (negative: none; absent: the server's):

- `<name>` answers once: `output_ids` [N] and `step_ms` [N], each step's time in the server (step 0 is
  the prefill, so `step_ms[0]` is the server's time to first token, queueing and transfer excluded).
- `<name>_stream` is decoupled: one response per generated token (`token` [1], `step_ms` [1]), so a
  client sees its own time to first token, queueing included; `navctl loadtest` measures with it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from navctl.generation.loop import CacheLayout, DecodeStep, greedy
from navctl.triton.serve import ServeOptions

STREAM_SUFFIX = "_stream"
INPUT_IDS = "input_ids"
MAX_NEW_TOKENS = "max_new_tokens"
EOS_TOKEN_ID = "eos_token_id"  # optional: the request's own end token (a package records none)
OUTPUT_IDS = "output_ids"
STEP_MS = "step_ms"
TOKEN = "token"


class GenerateRequestError(ValueError):
    """A request the server refuses (the client gets the message, the server keeps serving)."""


@dataclass
class Decoder:
    """One decode step and what the loop needs to drive it. `lock` makes one request at a time the rule
    for this decode step, whichever model (plain or streaming) the request came through."""

    step: DecodeStep
    layout: CacheLayout
    eos: int | None = None
    max_new_tokens: int = 256  # the most a request may ask for
    max_length: int | None = None  # prompt + new tokens (the model's positions), when known
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, int, int | None]:
        """The prompt [1, S], the token count a request asks for and the token that ends it (the
        request's `eos_token_id`, a negative one for none, else the server's), or GenerateRequestError."""
        ids = np.asarray(inputs.get(INPUT_IDS, np.zeros(0)))
        if ids.ndim != 1 or ids.size == 0:
            raise GenerateRequestError(
                f"{INPUT_IDS} must be a non-empty list of token ids, got shape {list(ids.shape)}"
            )
        if not np.issubdtype(ids.dtype, np.integer) or int(ids.min()) < 0:
            raise GenerateRequestError(f"{INPUT_IDS} must be non-negative integers")
        count = np.asarray(inputs.get(MAX_NEW_TOKENS, np.zeros(0))).reshape(-1)
        if count.size != 1:
            raise GenerateRequestError(f"{MAX_NEW_TOKENS} must be one integer")
        wanted = int(count[0])
        if not 1 <= wanted <= self.max_new_tokens:
            raise GenerateRequestError(f"{MAX_NEW_TOKENS} must be 1..{self.max_new_tokens}, got {wanted}")
        if self.max_length is not None and ids.size + wanted > self.max_length:
            raise GenerateRequestError(
                f"prompt ({ids.size}) + {MAX_NEW_TOKENS} ({wanted}) exceeds the model's {self.max_length} positions"
            )
        eos = self.eos
        if EOS_TOKEN_ID in inputs:
            given = np.asarray(inputs[EOS_TOKEN_ID]).reshape(-1)
            if given.size != 1 or not np.issubdtype(given.dtype, np.integer):
                raise GenerateRequestError(f"{EOS_TOKEN_ID} must be one integer (negative: none)")
            eos = int(given[0]) if int(given[0]) >= 0 else None
        return ids.astype(np.int64).reshape(1, -1), wanted, eos

    def generate(self, inputs: dict[str, np.ndarray], on_token=None) -> tuple[np.ndarray, list[float]]:
        """One request's tokens [N] and per-step times in ms, its cache its own."""
        prompt, wanted, eos = self.request(inputs)
        with self.lock:
            out = greedy(self.step, self.layout, prompt, max_new_tokens=wanted, eos=eos, on_token=on_token)
        return out.tokens[0].astype(np.int64), [t * 1000.0 for t in out.step_times_s]


def generate_function(decoder: Decoder) -> Callable[[list], list[dict[str, np.ndarray]]]:
    """The plain model's infer function: each request in the call served alone, in order."""

    def infer(requests: list) -> list[dict[str, np.ndarray]]:
        answers = []
        for request in requests:
            tokens, step_ms = decoder.generate(_inputs(request))
            answers.append({OUTPUT_IDS: tokens, STEP_MS: np.asarray(step_ms, dtype=np.float64)})
        return answers

    return infer


_DONE = object()


def _streamed(decoder: Decoder, inputs: dict[str, np.ndarray]) -> Iterator[tuple[int, float]]:
    """(token, ms since the previous token or since the request began) as each step chooses it: the loop
    runs in a thread so the generator can hand each token to Triton while the next step computes."""
    decoder.request(inputs)  # refuse a bad request before anything starts
    tokens: queue.Queue = queue.Queue()
    last = [time.perf_counter()]

    def on_token(_index: int, chosen: np.ndarray) -> None:
        now = time.perf_counter()
        tokens.put((int(chosen[0]), (now - last[0]) * 1000.0))
        last[0] = now

    def run() -> None:
        try:
            decoder.generate(inputs, on_token=on_token)
        except BaseException as error:  # noqa: BLE001 - handed to the generator, which raises it for Triton
            tokens.put(error)
        tokens.put(_DONE)

    worker = threading.Thread(target=run, name="navctl-generate", daemon=True)
    worker.start()
    try:
        while (item := tokens.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        worker.join()


def stream_function(decoder: Decoder) -> Callable[[list], Iterator[list[dict[str, np.ndarray]]]]:
    """The decoupled model's infer function: one response per token. PyTriton sends each yield to every
    request of a call at once, so a call holding several requests (Triton's default scheduler, with no
    batching configured, sends one) is refused rather than answered out of step."""

    def infer(requests: list) -> Iterator[list[dict[str, np.ndarray]]]:
        if len(requests) != 1:
            raise GenerateRequestError(f"the streaming model serves one request per call, got {len(requests)}")
        for token, ms in _streamed(decoder, _inputs(requests[0])):
            yield [{TOKEN: np.array([token], dtype=np.int64), STEP_MS: np.array([ms], dtype=np.float64)}]

    return infer


def _inputs(request) -> dict[str, np.ndarray]:
    """A PyTriton request's named inputs (a mapping without `keys()`)."""
    return {name: request[name] for name in request}


def bind(triton, name: str, decoders: list[Decoder]) -> list[str]:
    """Bind `<name>` and `<name>_stream` (one instance per decoder) on a PyTriton `Triton`; their names."""
    from pytriton.model_config import ModelConfig, Tensor

    inputs = [
        Tensor(name=INPUT_IDS, dtype=np.int64, shape=(-1,)),
        Tensor(name=MAX_NEW_TOKENS, dtype=np.int64, shape=(1,)),
        Tensor(name=EOS_TOKEN_ID, dtype=np.int64, shape=(1,), optional=True),
    ]
    plain = [generate_function(d) for d in decoders]
    triton.bind(
        model_name=name,
        infer_func=plain if len(plain) > 1 else plain[0],
        inputs=inputs,
        outputs=[
            Tensor(name=OUTPUT_IDS, dtype=np.int64, shape=(-1,)),
            Tensor(name=STEP_MS, dtype=np.float64, shape=(-1,)),
        ],
        config=ModelConfig(batching=False, max_batch_size=0),
        strict=True,
    )
    streams = [stream_function(d) for d in decoders]
    triton.bind(
        model_name=name + STREAM_SUFFIX,
        infer_func=streams if len(streams) > 1 else streams[0],
        inputs=inputs,
        outputs=[Tensor(name=TOKEN, dtype=np.int64, shape=(1,)), Tensor(name=STEP_MS, dtype=np.float64, shape=(1,))],
        config=ModelConfig(batching=False, max_batch_size=0, decoupled=True),
        strict=True,
    )
    return [name, name + STREAM_SUFFIX]


@contextmanager
def running(
    name: str, decoders: list[Decoder], options: ServeOptions, key: str
) -> Iterator[list[str]]:
    """A Triton server on `options`' address and ports serving `name` and `name_stream` until the block
    ends; yields the models' names once Triton reports both ready. `key`: the decode step served (its
    device decides whether Triton reports GPU metrics)."""
    from pytriton.triton import Triton

    from navctl.triton.serve import _python_library_path, _statistics_open, _wait_until_ready, triton_config

    if not decoders:
        raise ValueError("no decode step to serve")
    _python_library_path()
    config = triton_config(options, key)
    with Triton(config=config, **_statistics_open()) as triton:
        names = bind(triton, name, decoders)
        triton.run()
        for model in names:
            _wait_until_ready(options, model)
        yield names
