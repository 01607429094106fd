"""The one error the CLI raises: printed as `ERROR: ...` and exit status 1, like Kamal."""


class CliError(Exception):
    pass
