"""Errors a user can act on. The CLI prints them on one line and exits with code 2."""


class UserError(Exception):
    """Bad input: a recipe, a file, a flag. The message names the file/line/field."""
