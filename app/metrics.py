"""In-process counters, rendered in the Prometheus text format at ``GET /metrics``.

Each web worker process counts its own deliveries; scrape every process or sum across them.
"""

from __future__ import annotations

from collections import Counter


class Metrics:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def count(self, name: str, provider: str, label: str = "", n: int = 1) -> None:
        self._counts[(name, provider, label)] += n

    def value(self, name: str, provider: str, label: str = "") -> int:
        return self._counts[(name, provider, label)]

    def render(self) -> str:
        lines = []
        for (name, provider, label), n in sorted(self._counts.items()):
            labels = f'provider="{provider}"'
            if label:
                labels += f',reason="{label}"'
            lines.append(f"hookledger_{name}_total{{{labels}}} {n}")
        return "\n".join(lines) + "\n"
