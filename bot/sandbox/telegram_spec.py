"""Bot API parameter checks: names, required fields and types, from a trimmed copy of the spec.

`bot_api_methods.json` is cut from the full Bot API description by `trim()` (run this module
with the path of `telegram-bot-api.json` to refresh it), so the emulator needs nothing outside
the package. Values arrive form-encoded (everything a string, objects as JSON strings) or as
JSON; both are converted to Python values of the declared type.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.sandbox.telegram_errors import bad_request

SPEC_PATH = Path(__file__).with_name("bot_api_methods.json")

# The methods the emulator implements; their parameters and the types they use are kept.
KEPT_METHODS = (
    "getMe", "logOut", "close", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "sendMessage", "sendDocument", "sendChatAction", "editMessageText", "editMessageReplyMarkup",
    "deleteMessage", "answerCallbackQuery", "setMyCommands", "getMyCommands", "deleteMyCommands",
    "setChatMenuButton", "getChatMenuButton", "getChat", "getFile",
)  # fmt: skip

# Deprecated parameters Telegram still accepts although the current spec no longer lists them.
LEGACY_FIELDS = {
    "sendMessage": [("disable_web_page_preview", "Boolean"), ("reply_to_message_id", "Integer")],
    "editMessageText": [("disable_web_page_preview", "Boolean")],
    "sendDocument": [("reply_to_message_id", "Integer")],
}

BASIC_TYPES = ("Integer", "String", "Boolean", "Float", "InputFile", "True")
_MISMATCH = object()
_INTEGER = re.compile(r"-?\d+")
_TAG = re.compile(r"must be ([a-z_]+)$")


@dataclass(frozen=True)
class Upload:
    """A file that arrived in a multipart request."""

    filename: str
    content_type: str
    data: bytes


class ApiSpec:
    """Check and convert the parameters of Bot API calls."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version: str = data["version"]
        self.methods: dict[str, list[dict[str, Any]]] = data["methods"]
        self.types: dict[str, dict[str, Any]] = data["types"]
        names = [*self.methods, *data["other_methods"]]
        self._by_lower = {name.lower(): name for name in names}

    def resolve(self, name: str) -> str | None:
        """Return the spelling of a method in the spec (Telegram ignores case), or None."""
        return self._by_lower.get(name.lower())

    def check(self, method: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Return the parameters converted to their types; reject unknown, missing, mistyped."""
        if method not in self.methods:
            return raw  # a method the emulator does not model; it answers 501 anyway
        fields = {field["name"]: field for field in self.methods[method]}
        for name in raw:
            if name not in fields:
                raise bad_request(f"unknown parameter {name}")
        for name, field in fields.items():
            if field["required"] and raw.get(name) is None:
                raise bad_request(f"parameter {name} is required")
        return {
            name: self.convert(name, value, fields[name]["types"]) for name, value in raw.items()
        }

    def convert(self, where: str, value: Any, types: list[str]) -> Any:
        """Return `value` as the first of `types` it fits, or raise a 400 naming `where`."""
        for kind in types:
            if kind in BASIC_TYPES:
                converted = _basic(kind, value)
                if converted is not _MISMATCH:
                    return converted
        arrays = [kind.removeprefix("Array of ") for kind in types if kind.startswith("Array of ")]
        objects = [k for k in types if k not in BASIC_TYPES and not k.startswith("Array of ")]
        if arrays or objects:
            data = _json_value(where, value)
            if isinstance(data, list) and arrays:
                return [self.convert(f"{where}[{i}]", item, arrays) for i, item in enumerate(data)]
            if isinstance(data, dict) and objects:
                return self._object(where, data, objects)
        raise bad_request(f"{where} must be {' or '.join(types)}")

    def _object(self, where: str, data: dict[str, Any], kinds: list[str]) -> dict[str, Any]:
        kind = self._pick(data, kinds)
        if kind is None:
            raise bad_request(f"can't parse {where}: expected {' or '.join(kinds)}")
        fields = {field["name"]: field for field in self.types.get(kind, {}).get("fields", [])}
        if not fields:
            return data  # a type the trimmed spec does not describe (or an empty one)
        for name in data:
            if name not in fields:
                raise bad_request(f"unknown field {name} in {kind} ({where})")
        for name, field in fields.items():
            if field["required"] and name not in data:
                raise bad_request(f"field {name} is required in {kind} ({where})")
        return {
            name: self.convert(f"{where}.{name}", value, fields[name]["types"])
            for name, value in data.items()
        }

    def _pick(self, data: dict[str, Any], kinds: list[str]) -> str | None:
        """Choose the member of a union (or of a type's subtypes) that `data` describes."""
        for kind in kinds:
            described = self.types.get(kind)
            if described is None:
                return kind
            if "subtypes" in described:
                chosen = self._pick(data, described["subtypes"])
                if chosen is not None:
                    return chosen
                continue
            tag = described.get("tag")
            if tag is not None:
                if data.get(tag[0]) == tag[1]:
                    return kind
                continue
            required = [f["name"] for f in described.get("fields", []) if f["required"]]
            if all(name in data for name in required):
                return kind
        return None


def _basic(kind: str, value: Any) -> Any:
    """Return `value` as a basic Bot API type, or _MISMATCH."""
    if kind == "InputFile":
        return value if isinstance(value, Upload) else _MISMATCH
    if isinstance(value, Upload):
        return _MISMATCH
    if kind == "String":
        if isinstance(value, str):
            return value
        return (
            str(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else _MISMATCH
        )
    if kind == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else _MISMATCH
    if kind in ("Boolean", "True"):
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(text, _MISMATCH)
    return _float(value)


def _float(value: Any) -> Any:
    if isinstance(value, bool):
        return _MISMATCH
    try:
        return float(value)
    except (TypeError, ValueError):
        return _MISMATCH


def _json_value(where: str, value: Any) -> Any:
    """Decode a JSON-encoded form value; JSON bodies arrive decoded already."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise bad_request(f"can't parse {where} JSON object") from None


@cache
def load_spec() -> ApiSpec:
    """Return the packaged, trimmed Bot API description."""
    return ApiSpec(json.loads(SPEC_PATH.read_text(encoding="utf-8")))


def trim(full: dict[str, Any]) -> dict[str, Any]:
    """Return the parts of the full Bot API description that the emulator checks against."""
    methods = {name: [_field(f) for f in full["methods"][name].get("fields", [])]
               for name in KEPT_METHODS}  # fmt: skip
    for name, legacy in LEGACY_FIELDS.items():
        methods[name] += [{"name": n, "types": [t], "required": False, "legacy": True}
                          for n, t in legacy]  # fmt: skip
    types: dict[str, dict[str, Any]] = {}
    pending = [t for fields in methods.values() for f in fields for t in f["types"]]
    while pending:
        name = pending.pop().removeprefix("Array of ").removeprefix("Array of ")
        if name in types or name not in full["types"]:
            continue
        types[name] = _type(full["types"][name])
        pending += types[name].get("subtypes", [])
        pending += [t for f in types[name].get("fields", []) for t in f["types"]]
    others = sorted(set(full["methods"]) - set(KEPT_METHODS))
    return {"version": full["version"], "methods": methods, "other_methods": others,
            "types": dict(sorted(types.items()))}  # fmt: skip


def _field(field: dict[str, Any]) -> dict[str, Any]:
    return {"name": field["name"], "types": field["types"], "required": field["required"]}


def _type(described: dict[str, Any]) -> dict[str, Any]:
    """Keep a type's fields or subtypes and, for a subtype, the field value that tags it."""
    if "subtypes" in described:
        return {"subtypes": described["subtypes"]}
    kept: dict[str, Any] = {"fields": [_field(f) for f in described.get("fields", [])]}
    if described.get("subtype_of"):
        for field in described.get("fields", []):
            tagged = _TAG.search(field["description"].strip().rstrip("."))
            if field["required"] and tagged:
                kept["tag"] = [field["name"], tagged.group(1)]
                break
    return kept


if __name__ == "__main__":
    source = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    text = json.dumps(trim(source), ensure_ascii=False, indent=1)
    SPEC_PATH.write_text(text + "\n", encoding="utf-8")
