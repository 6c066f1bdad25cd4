"""The errors a user can fix. The scripts turn each into one clear line and an exit status,
never a traceback: flags that cannot work exit 2 (as argparse does), bad files and data 1."""


class DataError(Exception):
    """A problem with the data that the user can fix; the message is one line that says how."""


class FlagError(DataError):
    """Flags that cannot work together or with this data: the script exits with status 2."""


class FileFormatError(Exception):
    """A file exists but is not what it should be; the message says which file and why."""


class DeviceError(FlagError):
    """The requested device or implementation is not available on this machine."""


def first_line(err: BaseException | str, limit: int = 1000) -> str:
    """The first line of an error, cut at `limit` characters (an exception with no message gives
    its type's name): the rest of a library's error, a stack of causes or a hint about its own
    internals, is not the user's to read."""
    lines = str(err).strip().splitlines()
    if lines:
        return lines[0][:limit]
    return type(err).__name__ if isinstance(err, BaseException) else ""
