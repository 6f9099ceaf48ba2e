"""Documented process exit codes (see README "Exit codes")."""

OK = 0
ERROR = 1  # rules, catalog or config error; lint findings; failed verification
USAGE = 2  # bad command line
SHRINK_REFUSED = 3  # the shrink guard refused to remove too many generated models
VALIDATE_FAILED = 4  # --validate-cmd rejected the new config; old config kept
IO_ERROR = 74  # EX_IOERR: the new config could not be written (disk full, permissions, a planted link)
TEMPFAIL = 75  # EX_TEMPFAIL: the catalog could not be fetched (incl. fetch deadline, size limits); config kept
APPLY_ROLLED_BACK = 5  # the proxy did not serve the new config (or a signal/error stopped the apply): previous restored
OPENWEBUI_FAILED = 6  # Open WebUI sync failed or was partly applied (the message says what was applied)
