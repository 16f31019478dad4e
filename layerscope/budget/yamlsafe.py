"""YAML for `.dive-ci`, safe against alias bombs and deep nesting.

`yaml.safe_load` shares an aliased node rather than copying it, so a "billion laughs"
document (each level a list of aliases of the one before) loads into little memory and
explodes only when something walks it: turning a 509-byte `.dive-ci` rule value into a
string takes gigabytes. Here the node graph is measured as if every alias were expanded
(shared nodes counted once per reference, with memoisation) and refused beyond a limit,
before any value is built. Nesting deeper than the composer's recursion allows is refused
as well.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_NODES = 100_000  # a .dive-ci holds a handful of scalars


class BombError(yaml.YAMLError):
    """The document would expand to too many nodes, or nests too deeply."""


class BoundedLoader(yaml.SafeLoader):
    def get_single_node(self) -> Any:
        try:
            node = super().get_single_node()
        except RecursionError:
            raise BombError("the document nests too deeply") from None
        if node is not None:
            _check_size(node)
        return node


def _check_size(root: yaml.Node) -> None:
    """Refuse a node graph whose alias-expanded size exceeds MAX_NODES (iterative: no recursion)."""
    size: dict[int, int] = {}
    open_: set[int] = set()  # entered, children not yet measured: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in size:
            continue
        kids = _children(node)
        if not done and id(node) in open_:
            raise BombError("the document refers to itself (a recursive alias)")
        if done or not kids:
            total = 1 + sum(size.get(id(k), 0) for k in kids)
            if total > MAX_NODES:
                raise BombError(f"the document expands to more than {MAX_NODES} values (an alias bomb?)")
            size[id(node)] = total
            continue
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []


def load_yaml(text: str) -> Any:
    """`yaml.safe_load(text)`, bounded; a bomb raises a yaml.YAMLError like any bad document."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise BombError("the document nests too deeply") from None
    finally:
        loader.dispose()
