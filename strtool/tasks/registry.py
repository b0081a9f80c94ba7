"""The one table from model family to task class. Adding a family = one task module
(a `Task` subclass) + its model file + one line here and one in `strtool.models`."""

from __future__ import annotations

from typing import Any

from strtool.engine.config import RunConfig
from strtool.tasks.base import Task
from strtool.tasks.ctc import CtcTask
from strtool.tasks.img2seq import Img2SeqTask
from strtool.tasks.mclip import MclipTask
from strtool.tasks.refiner import RefinerTask
from strtool.tasks.spotter import SpotterTask

TASKS: dict[str, type[Task]] = {
    "ctc": CtcTask,
    "mclip": MclipTask,
    "spotter": SpotterTask,
    "refiner": RefinerTask,
    "img2seq": Img2SeqTask,
}


def build_task(cfg: RunConfig, stored: dict[str, Any] | None = None) -> Task:
    """The task of `cfg.model.arch`'s family (`stored`: a checkpoint to rebuild from)."""
    return TASKS[cfg.family](cfg, stored)
