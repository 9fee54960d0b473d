"""Old import path of the Ruby-regex translator, now :mod:`pipeline.rubyregex` (kept until callers move)."""

from pipeline.rubyregex import compile_ruby, replacement
from pipeline.rubyregex import to_python as translate

__all__ = ["compile_ruby", "replacement", "translate"]
