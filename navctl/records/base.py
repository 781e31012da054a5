"""The base of every status.yaml record."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    # defer_build: a step process uses a few of these models; the parent builds Status when it first
    # reads or writes one (the same cost, paid once, where it is needed)
    model_config = ConfigDict(extra="allow", defer_build=True)
