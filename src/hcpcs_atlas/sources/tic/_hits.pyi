def next_hit(
    buf: bytes | bytearray,
    key: bytes,
    start: int,
    stop: int,
    done: int,
    codes: set[str] | frozenset[str] | None,
) -> tuple[int, int, int, int]: ...
def locate(buf: bytes | bytearray, index: int, floor: int, key: bytes) -> tuple[int, int, int]: ...
def balanced(buf: bytes | bytearray, start: int, stop: int) -> bool: ...
