"""Structured JSON logs, one object per line, carrying ``article_id`` and
``stage`` where they apply, so an operator can follow one article through
every service with a grep."""

from __future__ import annotations

import logging.config
from typing import Any

# Library chatter at INFO drowns the pipeline's own lines.
_NOISY = ("aiokafka", "kafka", "elastic_transport", "faust", "mode", "httpx", "uvicorn.error")


def logging_config(level: str = "INFO", service: str = "newsflow") -> dict[str, Any]:
    """A dictConfig for the JSON logs; Faust's worker takes it as is."""
    quiet = level if logging.getLevelName(level) > logging.WARNING else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "static_fields": {"service": service},
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {name: {"level": quiet} for name in _NOISY},
    }


def configure_logging(level: str = "INFO", service: str = "newsflow") -> None:
    logging.config.dictConfig(logging_config(level, service))
