"""Typed errors raised by the library. The CLI maps every `StrtoolError` to a
one-line message on stderr and exit code 1; anything else is a bug."""

from __future__ import annotations


class StrtoolError(Exception):
    """Base class of every user-facing error (bad input, bad config, bad data)."""


class InputError(StrtoolError):
    """A file, folder or argument given by the user is missing or malformed."""


class ConfigError(StrtoolError):
    """A config file or `--set` override is invalid; the message names the key path."""


class DataError(StrtoolError):
    """A dataset (LMDB, gt file, image) is unreadable or inconsistent."""


class UnknownLanguageError(StrtoolError):
    """A language code or group name is not known."""


class FontError(StrtoolError):
    """A font file cannot be read or does not cover what is needed."""


class SetupError(StrtoolError):
    """This installation lacks something strtool needs at run time (e.g. Pillow without
    libraqm); the message says what and how to install it."""


class TrainingError(StrtoolError):
    """A run stopped on purpose: too many unreadable samples or non-finite steps. The
    message says why and where the last good checkpoint is."""


class Interrupted(KeyboardInterrupt):
    """A long job stopped by SIGINT or SIGTERM after saving its work; the message says
    what was kept and how to continue. A `KeyboardInterrupt`, so callers that stop on
    Ctrl-C still do; the CLI prints the message and exits 128 + `signum`."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
