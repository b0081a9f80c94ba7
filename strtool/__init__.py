"""strtool: a toolkit for multilingual scene text recognition."""

__version__ = "0.1.0"
