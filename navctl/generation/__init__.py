"""Decoder (causal LM) support: the framework-neutral greedy loop over a decode-step callable, the
decode-step wrappers per framework, and the generation check and measurement steps' logic.

`loop` imports numpy only, so serving and loadtest code can drive any format's decode step with it."""
