"""The operator's console: the ``newsflow`` command (start services, topics,
status and lag, replay, reindex, dead letters, import). It sits on top of
every service and is imported by none."""
