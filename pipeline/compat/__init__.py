"""What we know of Logstash itself, kept as data: each plugin's documented options, the
plugins Logstash documents. Used by option validation, ``pipeline list`` and the docs."""
