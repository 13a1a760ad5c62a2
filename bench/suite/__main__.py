"""``python -m bench.suite [--profile quick|full] [overrides]``: run, report, check targets.

Exit status: 0 when the report was written (targets that MISS are printed and in the report,
not an error of the run: the issue wants them stated), 2 on bad arguments or when the campaign
of the scenario sweeps cannot start or finish (one line on stderr, nothing written).
"""

from __future__ import annotations

import shlex
import sys

from bench.suite import plots, report
from bench.suite.args import parse_or_exit
from bench.suite.run import run
from dnsrace.campaign import CampaignError


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prof, out, where = parse_or_exit(args)
    command = " ".join(["python -m bench.suite", *map(shlex.quote, args)])
    try:
        doc = run(prof, out, command, where)
    except CampaignError as exc:
        print(f"python -m bench.suite: error: --executor {where.executor}: {exc}", file=sys.stderr)
        return 2
    plots.draw_all(doc, out)
    path, verdicts = report.write(doc, out, command)
    print(f"\n{path} ({doc['wall_s'] / 60:.1f} min)")
    for v in verdicts:
        print(f"  {v.verdict:<6} {v.target}: {v.figure}")
    for r in doc.get("peers", []):
        if r["status"] != "ok":
            print(f"  {r['status']}: {r['peer']} at {r['n']:,}: {r['reason']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
