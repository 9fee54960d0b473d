"""Kafka support shared by the kafka input and output (confluent-kafka / librdkafka).

``client_config``: Logstash's option names (logstash-integration-kafka) → librdkafka settings,
including the security options both plugins share. ``progress``: which offsets may be
committed once the pipeline acknowledged the events read before them.
"""
