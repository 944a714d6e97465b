"""Errors the CLI maps to exit codes: bad input is 2, a failed run is 1."""


class UserError(Exception):
    """Bad input: a recipe, a file, a flag. The message names the file/line/field (exit code 2)."""


class RunFailed(Exception):
    """The run broke while working (a worker crashed, an engine died): exit code 1.

    Finished parts are kept; rerunning the same command resumes from them.
    """
