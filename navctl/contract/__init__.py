"""The neutral contract: what the parent, the step processes, the runners, the package and Triton share.

`step` (spec.json in, result.json out), `records` (tensor and artifact records), `tensors` (ModelIO, sample
files, output flattening), `feeds` (samples resized to a shape), `loading` (the user's callables) and
`libraries` (the user's libraries, imported where artifacts may name their operators). Nothing here imports
navctl.steps, navctl.runners or navctl.engine.
"""
