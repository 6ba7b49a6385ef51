# Type information of pipecom.aio (PEP 561, with py.typed).
#
# Copyright 2026 The PipeCom Developers
#
# SPDX-License-Identifier: MIT

from types import TracebackType
from typing import Optional, Type, Union

from gi.repository import Gio, GLib

from . import Pipe

Payload = Union[str, bytes]
Sendable = Union[str, bytes, bytearray, memoryview, GLib.Bytes]

__all__: list[str]

async def asend(pipe: Union[str, Pipe], message: Sendable, timeout: int = ...,
                max_attempts: int = ..., *,
                cancellable: Optional[Gio.Cancellable] = ...) -> bool: ...
async def arequest(pipe: Union[str, Pipe], message: Sendable, timeout: int = ...,
                   max_attempts: int = ..., *,
                   cancellable: Optional[Gio.Cancellable] = ...) -> Optional[Payload]: ...

class Client:
    def __init__(self, pipe_name: Union[str, Pipe], timeout: int = ...,
                 max_attempts: int = ...) -> None: ...
    @property
    def client(self) -> object: ...
    @property
    def pipe_name(self) -> str: ...
    @property
    def connected(self) -> bool: ...
    async def __aenter__(self) -> Client: ...
    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException],
                        tb: Optional[TracebackType]) -> bool: ...
    async def connect(self, *, cancellable: Optional[Gio.Cancellable] = ...) -> bool: ...
    async def send(self, message: Sendable, *,
                   cancellable: Optional[Gio.Cancellable] = ...) -> bool: ...
    async def request(self, message: Sendable, *,
                      cancellable: Optional[Gio.Cancellable] = ...) -> Optional[Payload]: ...
    def close(self) -> None: ...
