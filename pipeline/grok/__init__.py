"""Grok: Logstash-compatible named-pattern matching.

``from pipeline.grok import Grok`` — see :class:`pipeline.grok.grok.Grok`.
"""

from pipeline.grok.compiler import GrokError
from pipeline.grok.grok import Grok, compile_expression
from pipeline.grok.library import PatternLibrary, build_library
from pipeline.grok.matcher import CompiledExpression, GrokTimeout

__all__ = ["CompiledExpression", "Grok", "GrokError", "GrokTimeout", "PatternLibrary", "build_library",
           "compile_expression"]
