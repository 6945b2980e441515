"""`make chaos`: the production topology on one machine, real traffic, real faults, a report.

One module per job: ``postgres`` (a throwaway cluster), ``s3proxy`` (the S3 fault proxy),
``edge`` (nginx in front of both nodes), ``topology`` (start/stop every process), ``schedule``
(which fault when), ``faults`` (doing them), ``load`` (the load generator, its own process),
``audit`` (after the run: lost uploads, duplicates, orphans), ``report`` (figures, budgets,
docs/reliability.md, bench/chaos.json) and ``plot`` (docs/reliability.png).
"""
