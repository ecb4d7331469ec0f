"""Reading Casdoor's .xlsx imports: the first row names the fields, each further row is an object.

Casdoor's import templates write a header as "Label#field" (the part after "#" is the field) and
match field names case-insensitively, underscores ignored. Unlike Casdoor, a column that names no
field of the kind, or a value in a column without a name, is an error naming it rather than a
value silently dropped.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import BaseModel

from hookdoor.errors import BadRequest

MAX_ROWS = 10_000  # an import larger than this is a migration: use the API in batches
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes"}, {"0", "false", "no", ""}


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet numbers it (the header is row 1)
    fields: dict[str, Any]
    problem: str = ""  # why the row cannot be read (a value of the wrong type), reported for the row


def _field_names(model: type[BaseModel]) -> dict[str, str]:
    """Casdoor's matching key ("displayname") -> the field's JSON name ("displayName")."""
    return {name.lower().replace("_", ""): name for name in model.model_fields}


def _header_field(cell: Any, column: int, known: dict[str, str], kind: str) -> str | None:
    text = "" if cell is None else str(cell).strip()
    if not text:
        return None
    label = text.split("#", 1)[1] if "#" in text else text
    field = known.get(label.strip().lower().replace("_", ""))
    if field is None:
        raise BadRequest(f"column {get_column_letter(column)} ({text!r}) is not a field of a {kind}")
    return field


def _kind_of_default(model: type[BaseModel], field: str) -> type:
    info = model.model_fields[field]
    default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
    if isinstance(default, bool):
        return bool
    if isinstance(default, int) and not isinstance(default, bool):
        return int
    if isinstance(default, list) or "list" in str(info.annotation):
        return list
    return str


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed as a number
    return str(value).strip()


def cell_value(value: Any, expected: type, where: str) -> Any:
    """A cell as the field's type: lists as JSON arrays or ";"-separated items, yes/no as 1/0."""
    if expected is bool:
        if isinstance(value, bool):
            return value
        word = _text(value).lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise BadRequest(f"{where}: {value!r} is not a yes/no value (write 1 or 0)")
        return word in TRUE_WORDS
    if expected is int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadRequest(f"{where}: {value!r} is not a whole number") from None
        if not number.is_integer():
            raise BadRequest(f"{where}: {value!r} is not a whole number")
        return int(number)
    if expected is list:
        text = _text(value)
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise BadRequest(f"{where}: {text[:60]!r} is not a JSON array") from None
            if not isinstance(items, list):
                raise BadRequest(f"{where}: a list is expected")
            return items
        return sorted(item.strip() for item in text.split(";") if item.strip())
    return _text(value)


def _workbook_rows(content: bytes, filename: str) -> Iterator[tuple[Any, ...]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BadRequest(f"file {filename!r} is not an .xlsx workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def read_rows(content: bytes, filename: str, model: type[BaseModel], kind: str) -> list[SheetRow]:
    """The objects of the workbook's first sheet; blank rows are left out."""
    rows = _workbook_rows(content, filename)
    header = next(rows, None)
    if header is None:
        raise BadRequest(f"file {filename!r} is empty: its first row must name the fields")
    known = _field_names(model)
    fields = [_header_field(cell, column, known, kind) for column, cell in enumerate(header, start=1)]
    if not any(fields):
        raise BadRequest(f"file {filename!r} has no field names in its first row")
    types = {field: _kind_of_default(model, field) for field in fields if field}
    parsed = []
    for number, row in enumerate(rows, start=2):
        if len(parsed) >= MAX_ROWS:
            raise BadRequest(f"file {filename!r} has more than {MAX_ROWS} rows")
        if row_read := _row(number, row, fields, types):
            parsed.append(row_read)
    return parsed


def _row(number: int, row: tuple[Any, ...], fields: list[str | None], types: dict[str, type]) -> SheetRow | None:
    values: dict[str, Any] = {}
    problems = []
    for column, value in enumerate(row, start=1):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        field = fields[column - 1] if column <= len(fields) else None
        where = f"column {get_column_letter(column)}"
        if field is None:
            problems.append(f"{where} holds {str(value)[:40]!r} but has no field name")
            continue
        try:
            values[field] = cell_value(value, types[field], f"{where} ({field})")
        except BadRequest as exc:
            problems.append(exc.message)
    if not values and not problems:
        return None
    return SheetRow(number, values, "; ".join(problems))
