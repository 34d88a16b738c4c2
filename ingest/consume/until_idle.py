"""`--until-idle`: when to seal early, and when to stop.

The targets are the partitions' true ends when the run started (`cluster.end_offsets`); a topic
matching the pattern later adds its ends at assignment. The run is over when bronze holds every
partition up to its target, whoever wrote it: partitions held by other members of the group
(or not assigned yet) are looked up in the Delta log.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from eventlake.catalog import BRONZE_EVENTS
from eventlake.settings import Settings
from ingest.kafka.cluster import TopicPartitionKey
from ingest.write import offsets

_LOOKUP_EVERY_S = 1.0


class UntilIdle:
    """The targets of an `--until-idle` run, and the checks against them."""

    def __init__(self, settings: Settings, targets: dict[TopicPartitionKey, int]) -> None:
        self.settings, self.targets = settings, targets
        self._looked_up_at = 0.0

    def read_all(
        self, heads: Mapping[TopicPartitionKey, int], ends: Mapping[TopicPartitionKey, int]
    ) -> bool:
        """Returns True when every assigned partition was read up to its target."""
        return bool(heads) and all(
            max(heads[key] + 1, ends.get(key, 0)) >= self.targets.get(key, 0) for key in heads
        )

    def done(self, of_record: Mapping[TopicPartitionKey, int]) -> bool:
        """Returns True when bronze holds every partition up to its target.

        The caller checks first that nothing is buffered or in flight.
        """
        if any(last + 1 < self.targets.get(key, 0) for key, last in of_record.items()):
            return False
        others = [key for key in self.targets if key not in of_record]
        if not others:
            return True
        if time.monotonic() - self._looked_up_at < _LOOKUP_EVERY_S:
            return False
        self._looked_up_at = time.monotonic()
        done = offsets.txn_versions(self.settings, BRONZE_EVENTS, others)
        return all(done[key] + 1 >= self.targets[key] for key in others)
