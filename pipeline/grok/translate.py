"""Old import path of the Ruby-regex translator, now :mod:`pipeline.rubyregex` (kept until callers move)."""

from pipeline.rubyregex import POSIX_CLASSES, Capture, Translated, TranslateError, translate

__all__ = ["POSIX_CLASSES", "Capture", "TranslateError", "Translated", "translate"]
