"""The runtime every service stands on: settings base, logging, metrics,
HTTP helpers, Kafka/Redis clients, and the stream-stage runner with its
retry and dead-letter policies."""
