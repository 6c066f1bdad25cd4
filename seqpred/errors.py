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
