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
    /,
) -> tuple[bytes, int, int, int, int] | bool | None: ...
