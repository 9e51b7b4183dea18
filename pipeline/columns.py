"""Input columns of a birth-record delivery (CONTRACT §1) and their accepted headers.

Headers are matched case-insensitively after trimming; the Chinese names are aliases.
Any other column is not loaded: the loader reports its name and forgets its values.
"""
from __future__ import annotations

from pipeline.errors import DeliveryRefused

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "record_id": ("record_id", "记录编号"),
    "birth_date": ("birth_date", "出生日期"),
    "sex": ("sex", "性别"),
    "birth_order": ("birth_order", "孩次"),
    "area_code": ("area_code", "地区编码"),
    "plurality": ("plurality", "胎数"),
    "registered_date": ("registered_date", "登记日期"),
    "mother_age": ("mother_age", "母亲年龄"),
    "residence_status": ("residence_status", "户籍状态"),
    "policy_status": ("policy_status", "政策属性"),
    "facility_code": ("facility_code", "接生机构"),
}

REQUIRED_COLUMNS: tuple[str, ...] = ("record_id", "birth_date", "sex", "birth_order", "area_code")
OPTIONAL_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMN_ALIASES if c not in REQUIRED_COLUMNS)

_HEADER_TO_COLUMN: dict[str, str] = {
    alias.casefold(): column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def map_headers(headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """Match source headers to contract columns.

    Returns ``(renames, dropped)``: ``renames`` maps each source header to its contract
    column; ``dropped`` lists the headers that are not loaded.

    Raises
    ------
    DeliveryRefused
        ``missing_column`` when a required column is absent, ``duplicate_column`` when
        two headers name the same column (e.g. ``sex`` and ``性别``).

    >>> renames, dropped = map_headers([" Sex ", "出生日期", "record_id", "孩次", "AREA_CODE", "mother_name"])
    >>> sorted(renames.values()), dropped
    (['area_code', 'birth_date', 'birth_order', 'record_id', 'sex'], ['mother_name'])
    """
    renames: dict[str, str] = {}
    dropped: list[str] = []
    for header in headers:
        column = _HEADER_TO_COLUMN.get(header.strip().lstrip("\ufeff").casefold())
        if column is None:
            dropped.append(header)
        elif column in renames.values():
            raise DeliveryRefused(
                "duplicate_column", f"two headers name column {column}", line=1
            )
        else:
            renames[header] = column
    missing = [c for c in REQUIRED_COLUMNS if c not in renames.values()]
    if missing:
        raise DeliveryRefused(
            "missing_column", f"required column {', '.join(missing)} is missing", line=1
        )
    return renames, dropped
