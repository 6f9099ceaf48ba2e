"""The change report of a sync (issue 19): what changed and what it costs, as JSON, a digest, a webhook, metrics.

Light on purpose: ``cli.py`` imports :mod:`rinsync.report.cliopts` at start-up, which needs only click.
"""
