"""The saver's one body: its whole async API (reads, writes, maintenance, recovery) in one class.

``AsyncRedisMongoSaver`` adds its clients and sync calls from other threads; ``sync_calls`` types the
calls it runs against this class, which knows nothing of either.
"""

from __future__ import annotations

from bizsql.checkpointers.maintenance import SaverMaintenance
from bizsql.checkpointers.reads import SaverReads


class SaverBody(SaverReads, SaverMaintenance):
    """Reads (``SaverReads``), and writes with maintenance (``SaverMaintenance``), over one state."""
