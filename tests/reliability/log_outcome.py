"""What every delivery-sending fault scenario checks in the event log at the end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogOutcome:
    seed: int
    deliveries: int
    forged: int
    acknowledged: int
    stored_rows: int
    distinct_keys: int
    missing: int
    """Genuine deliveries not in the log at the end."""
    lost: int
    """Acknowledged (2xx) deliveries not in the log: must be 0 whatever else happens."""
    forged_stored: int
    forged_accepted: int

    def log_violations(self) -> list[str]:
        """Nothing acknowledged lost, every genuine delivery stored once, nothing forged in."""
        found = []
        if self.lost:
            found.append(f"{self.lost} acknowledged deliveries are missing from the log")
        if self.missing:
            found.append(f"{self.missing} deliveries never made it into the log")
        if self.stored_rows != self.distinct_keys:
            found.append(f"{self.stored_rows} rows but {self.distinct_keys} distinct keys")
        if self.stored_rows != self.deliveries - self.forged:
            found.append(f"{self.stored_rows} rows for {self.deliveries - self.forged} deliveries")
        if self.forged_stored or self.forged_accepted:
            found.append(
                f"forged: {self.forged_stored} stored, {self.forged_accepted} acknowledged"
            )
        return found
