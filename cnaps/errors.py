"""One small error hierarchy. Every message says what was expected, what was received and what
to do; the CLI prints it as one line and exits with code 2 (never a traceback)."""


class CnapsError(Exception):
    """Base class: a problem the user can fix (bad input, missing weights, ...)."""


class InputImageError(CnapsError):
    """An image file that cannot be used (missing, corrupt, too large, ...)."""


class ScaleError(CnapsError):
    """A scale or output size that makes no sense."""


class CheckpointError(CnapsError):
    """A weights file that is not a valid model checkpoint of the expected kind."""


class WeightsNotInstalledError(CnapsError):
    """A model whose weights are not in the cache."""


class PromptError(CnapsError):
    """A prompt file that does not follow the expected format."""


class ConfigError(CnapsError):
    """A configuration file or option with invalid values."""


class DataError(CnapsError):
    """A dataset folder that cannot be used."""


class NetworkError(CnapsError):
    """A remote service (arXiv, GitHub) that could not be reached or answered unexpectedly."""


class OutputError(CnapsError):
    """An output location that cannot be written (read-only, a file in the way, ...) or that
    holds files cnaps must not replace."""


def validation_line(exc) -> str:
    """A pydantic ValidationError as one line: where (dotted path), what, and how many problems."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for our own checks
    return f"{where}: {message} ({exc.error_count()} problem(s))"
