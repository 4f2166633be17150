# SPDX-License-Identifier: MIT
# Type stubs of the package shmview (the C extension's names plus
# SharedMemory and ShareableList).
from multiprocessing.shared_memory import ShareableList as _StdShareableList
from typing import Optional

from ._shmview import (
    LIBRARY_VERSION as LIBRARY_VERSION,
    MAP_CACHE_MAX as MAP_CACHE_MAX,
    NAME_MAX as NAME_MAX,
    SPIN_ADAPTIVE as SPIN_ADAPTIVE,
    WAKE_ALL as WAKE_ALL,
    BusyError as BusyError,
    Client as Client,
    HolderInfo as HolderInfo,
    SegmentInfo as SegmentInfo,
    Status as Status,
    View as View,
    connect as connect,
    default_client as default_client,
    default_socket_path as default_socket_path,
    library_version as library_version,
)

HAVE_EPHEMERAL: bool
HAVE_WAIT: bool
HAVE_OWN: bool
__version__: str

class SharedMemory:
    def __init__(self, name: Optional[str] = None, create: bool = False, size: int = 0, *,
                 client: Optional[Client] = None) -> None: ...
    @property
    def buf(self) -> memoryview: ...
    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def view(self) -> Optional[View]: ...
    def close(self) -> None: ...
    def unlink(self) -> None: ...

class ShareableList(_StdShareableList):
    shm: SharedMemory  # type: ignore[assignment]
