"""The benchmark suite behind ``make bench``: peers side by side, CAS vs last-write-wins, cost
and violation curves, and one generated report (``bench/results/REPORT.md``).

Run: ``python -m bench.suite --profile quick`` (``make bench``) or ``--profile full``
(``make bench-full``); ``python -m bench.suite --help`` lists the sweep arguments.
"""
