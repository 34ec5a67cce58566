"""Dataclass handler args: field types are checked and JSON is converted where needed."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, Optional, TypedDict

import pytest

from jobplug.argtypes import ArgTypeError, load_dataclass


class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


class Crop(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class Line:
    sku: str
    qty: int
    price: float


@dataclasses.dataclass
class Order:
    id: int
    lines: list[Line]
    paid: bool = False
    note: Optional[str] = None  # noqa: UP045 - the typing spelling is checked too
    tags: dict[str, int] = dataclasses.field(default_factory=dict)
    size: Size = Size.SMALL
    mode: Literal["fast", "slow"] = "fast"
    crop: Crop | None = None
    pair: tuple[int, str] = (0, "")
    extra: Any = None


GOOD = {
    "id": 7,
    "lines": [{"sku": "a", "qty": 2, "price": 3}],
    "paid": True,
    "note": None,
    "tags": {"x": 1},
    "size": "l",
    "mode": "slow",
    "crop": {"x": 1, "y": 2},
    "pair": [1, "b"],
    "extra": {"anything": [1]},
}


def test_json_becomes_the_dataclass_with_nested_values_converted() -> None:
    order = load_dataclass(Order, GOOD)
    assert order.lines == [Line("a", 2, 3.0)] and isinstance(order.lines[0].price, float)
    assert order.size is Size.LARGE and order.pair == (1, "b") and order.crop == {"x": 1, "y": 2}
    assert load_dataclass(Order, {"id": 1, "lines": []}) == Order(1, [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "7"}, "args['id'] must be an integer, got a string"),
        ({"id": True}, "args['id'] must be an integer, got a boolean"),
        ({"paid": 1}, "args['paid'] must be a boolean, got an integer"),
        ({"note": 3}, "args['note'] must be str or null, got an integer"),
        ({"lines": {}}, "args['lines'] must be an array, got an object"),
        ({"lines": [{"sku": "a", "qty": 1.5, "price": 1}]}, "args['lines'][0]['qty'] must be"),
        ({"lines": [{"sku": "a", "qty": 1}]}, "args['lines'][0] is missing 'price'"),
        ({"tags": {"x": "1"}}, "args['tags']['x'] must be an integer, got a string"),
        ({"size": "m"}, "args['size'] must be one of ['s', 'l']"),
        ({"mode": "warp"}, "args['mode'] must be one of ['fast', 'slow']"),
        ({"crop": {"x": 1}}, "args['crop'] must be"),
        ({"pair": [1]}, "args['pair'] must have 2 items, got 1"),
        ({"surprise": 1}, "args has unexpected key(s) 'surprise'"),
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_its_path(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ArgTypeError) as caught:
        load_dataclass(Order, {**GOOD, **change})
    assert message in str(caught.value)


def test_missing_fields_are_named() -> None:
    with pytest.raises(ArgTypeError, match="args is missing 'id', 'lines'"):
        load_dataclass(Order, {})
