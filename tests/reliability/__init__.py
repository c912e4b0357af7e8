"""Fault tests against real processes: SIGKILL of the service under load, a PostgreSQL crash,
SIGKILLed projection workers, a provider retry storm and a forged flood.

Short versions are ordinary pytest tests in this package (part of ``make test``); the long
versions run with ``make reliability`` (``python -m tests.reliability``, see ``__main__.py``),
which prints a summary and exits non-zero on any violation. The scenarios live in ``crash.py``,
``outage.py``, ``worker_crash.py``, ``flood.py`` and tests/support/retry_storm.py and are shared
by both.
"""
