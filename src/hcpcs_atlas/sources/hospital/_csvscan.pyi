from typing import NewType

Items = NewType("Items", object)

def items(limit: int, /) -> Items: ...
def scan(
    data: bytes | bytearray,
    start: int,
    final: bool,
    width: int,
    codes: bytes,
    picks: bytes,
    record: int,
    line: int,
    run: int,
    limit: int,
    items: Items,
    /,
) -> tuple[bytes, int, int, int, int] | bool | None: ...
