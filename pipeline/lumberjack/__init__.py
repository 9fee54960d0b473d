"""The Lumberjack protocol (v1 and v2) that Beats speak to Logstash.

``frames`` encodes and incrementally decodes the wire format; ``client`` is a
small blocking client (tests, benchmarks, a future lumberjack output).
"""

from pipeline.lumberjack.frames import (
    ACK,
    COMPRESSED,
    DATA,
    JSON,
    MAX_WINDOW_SIZE,
    VERSION_1,
    VERSION_2,
    WINDOW,
    FrameParser,
    ProtocolError,
    encode_ack,
    encode_compressed,
    encode_data,
    encode_json,
    encode_window,
    encode_window_frames,
)

__all__ = [
    "ACK", "COMPRESSED", "DATA", "JSON", "MAX_WINDOW_SIZE", "VERSION_1", "VERSION_2", "WINDOW",
    "FrameParser", "ProtocolError", "encode_ack", "encode_compressed", "encode_data", "encode_json",
    "encode_window", "encode_window_frames",
]
