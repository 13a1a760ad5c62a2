"""``dnsrace view``: one self-contained, interactive HTML timeline of a run or a history.

* :func:`render_run` draws a simulation run's JSON document (``dnsrace run|incident --json``):
  per discipline, the regional endpoint's story and the fleet's events on a shared time axis.
* :func:`render_history` draws a recorded history (one operation per line) as Porcupine does:
  per endpoint, one lane per client, each operation a bar from call to return, with the
  checker's linearisation and, when illegal, the failing window highlighted.

The page carries its data as inline JSON and draws it with the hand-written script in
``assets/timeline.js`` (inline SVG; no network access, no library).
"""

from dnsrace.app.view.history import HistoryError, read_history, render_history
from dnsrace.app.view.run import RunDocError, render_run

__all__ = ["HistoryError", "RunDocError", "read_history", "render_history", "render_run"]
