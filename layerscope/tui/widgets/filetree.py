"""The Files tree: one node per path, children created only when a directory opens.

A directory with thousands of entries shows them a page at a time behind a "… more" node,
so neither a 100k-file image nor one huge directory mounts more than a few pages.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from layerscope.model import HARDLINK, SYMLINK
from layerscope.textsafe import visible
from layerscope.tui.format import plain
from layerscope.tui.fsview import ADDED, BY_NAME, MODIFIED, REMOVED, FsView
from layerscope.units import fmt_size

PAGE = 500  # children mounted per "more" step
EXPAND_BUDGET = 300  # nodes a filter may open on its own
REOPEN_BUDGET = 2000  # nodes a new view may mount to keep open what was open

_MARK = {ADDED: "+", MODIFIED: "~", REMOVED: "-"}


@dataclass(slots=True)
class NodeRef:
    path: str
    more_from: int = -1  # >= 0 for the "… more" placeholder: the next child index to show
    loaded: bool = False


Node = TreeNode[NodeRef]


class FileTreeView(Tree[NodeRef]):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "filetree--added",
        "filetree--modified",
        "filetree--removed",
        "filetree--holds",
        "filetree--size",
        "filetree--more",
    }

    def __init__(self, *, id: str | None = None) -> None:
        self.view: FsView | None = None
        self.shown: set[str] | None = None
        self.order = BY_NAME
        self.nodes_by_path: dict[str, Node] = {}  # every node created for the current view
        super().__init__("/", NodeRef(""), id=id)
        self.show_root = False
        self.guide_depth = 2
        self.revealed: Node | None = None  # the node reveal() put the cursor on, until the cursor moves

    # -- content --------------------------------------------------------------------------
    def show(self, view: FsView, visible: set[str] | None, order: str) -> None:
        """Lay out a new view, keeping the directories that were open and the cursor's path."""
        was_open = sorted((p for p, n in self.nodes_by_path.items() if n.is_expanded), key=lambda p: p.count("/"))
        cursor = self.cursor_node.data.path if self.cursor_node and self.cursor_node.data else None
        self.view, self.shown, self.order = view, visible, order
        self.clear()
        self.nodes_by_path = {}
        self.root.data = NodeRef("")
        self.populate(self.root)
        self.root.expand()
        self._reopen(was_open, cursor)
        if visible is not None:
            self._open_matches()
        target = self.nodes_by_path.get(cursor) if cursor is not None else None
        if self.last_line >= 0:  # reading last_line lays the lines out, so node.line is current
            self.move_cursor(target) if target is not None else self.move_cursor_to_line(0)

    def _reopen(self, was_open: list[str], cursor: str | None) -> None:
        """Open again what was open: the cursor's parents first, then the rest within a budget
        (a filter may have opened a hundred directories that hold a thousand files each now)."""
        first = [p for p in was_open if cursor is not None and (cursor + "/").startswith(p + "/")]
        budget = REOPEN_BUDGET
        for path in first + [p for p in was_open if p not in first]:
            node = self.nodes_by_path.get(path)
            if node is None or node.data is None:
                continue
            n = min(len(self.kids(path)), PAGE)
            if n > budget and path not in first:
                continue
            self.populate(node)
            node.expand()
            budget -= n

    def kids(self, path: str) -> list[str]:
        assert self.view is not None
        kids = self.view.child_paths(path, self.order)
        if self.shown is not None:
            kids = [k for k in kids if k in self.shown]
        return kids

    def populate(self, node: Node, start: int = 0) -> None:
        ref = node.data
        if ref is None or ref.loaded or self.view is None:
            return
        ref.loaded = True
        self._add_page(node, ref.path, start)

    def _add_page(self, node: Node, path: str, start: int) -> None:
        assert self.view is not None
        kids = self.kids(path)
        for kid in kids[start : start + PAGE]:
            self.nodes_by_path[kid] = node.add(
                plain(posixpath.basename(kid)), NodeRef(kid), allow_expand=self.view.expandable(kid)
            )
        rest = len(kids) - start - PAGE
        if rest > 0:
            node.add_leaf(f"… {rest:,} more (Enter shows {min(rest, PAGE):,})", NodeRef(path, start + PAGE))

    def show_more(self, more: Node) -> None:
        parent, ref = more.parent, more.data
        if parent is None or ref is None:
            return
        more.remove()
        self._add_page(parent, ref.path, ref.more_from)

    def _open_matches(self) -> None:
        """Open directories breadth-first until a budget of nodes, so a filter shows its hits."""
        budget = EXPAND_BUDGET
        queue = [c for c in self.root.children if c.allow_expand]
        while queue and budget > 0:
            node = queue.pop(0)
            ref = node.data
            if ref is None:
                continue
            n = min(len(self.kids(ref.path)), PAGE)
            if n > budget:
                continue
            self.populate(node)
            node.expand()
            budget -= n
            queue.extend(c for c in node.children if c.allow_expand)

    def reveal(self, path: str) -> Node | None:
        """Open every directory down to `path` (or its nearest shown ancestor) and put the cursor on it."""
        node: Node = self.root
        parts = [p for p in path.split("/") if p]
        for i in range(len(parts)):
            want = "/".join(parts[: i + 1])
            self.populate(node)
            child = self._find_child(node, want)
            if child is None:
                break
            node = child
            if i < len(parts) - 1:
                self.populate(node)
                node.expand()
        if node is self.root:
            return None
        if self.last_line >= 0:  # reading last_line lays the lines out, so node.line is current
            self.move_cursor(node)
        self.revealed = node
        self.call_after_refresh(self.scroll_to_revealed)
        return node

    def scroll_to_revealed(self) -> None:
        """Scroll so the revealed node is near the top, a few lines of its parents above it and
        what follows it (a package's other files) below.

        A function of the node's line, the tree's line count and its height only, applied again
        when the tree is resized: a reveal from another tab runs before this tab is laid out
        (height 0 then), and a scroll worked out from that height would depend on which came first.
        """
        node = self.revealed
        if node is None or self.cursor_node is not node:
            self.revealed = None
            return
        height = self.scrollable_content_region.height
        if height <= 0 or node.line < 0:
            return
        bottom = max(0, self.last_line + 1 - height)
        self.scroll_to(y=max(0, min(node.line - min(3, height // 3), bottom)), animate=False, force=True)

    def on_resize(self) -> None:
        self.scroll_to_revealed()

    def _find_child(self, node: Node, path: str) -> Node | None:
        while True:
            more = None
            for child in node.children:
                if child.data is not None and child.data.path == path and child.data.more_from < 0:
                    return child
                if child.data is not None and child.data.more_from >= 0:
                    more = child
            if more is None:
                return None
            self.show_more(more)

    def count_nodes(self) -> int:
        """Nodes created so far (not counting the root): what laziness keeps small."""
        stack, n = list(self.root.children), 0
        while stack:
            node = stack.pop()
            n += 1
            stack.extend(node.children)
        return n

    # -- events ---------------------------------------------------------------------------
    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        self.populate(event.node)

    def _on_tree_node_selected(self, event: Tree.NodeSelected[NodeRef]) -> None:
        ref = event.node.data
        if ref is not None and ref.more_from >= 0:
            self.show_more(event.node)

    def action_toggle_expand_all(self) -> None:
        # Expanding everything would build the whole tree: toggle one level instead.
        self.action_toggle_node()

    # -- rendering ------------------------------------------------------------------------
    def render_label(self, node: Node, base_style: Style, style: Style) -> Text:
        ref, view = node.data, self.view
        if ref is None or view is None or ref.path not in view.entries or ref.more_from >= 0:
            label = node.label
            text = label.copy() if isinstance(label, Text) else Text(label)
            if view is not None:  # component styles exist only once the widget is styled
                text.stylize(self.get_component_rich_style("filetree--more", partial=True))
            text.stylize(style)
            return text
        entry = view.entries[ref.path]
        status_style = Style()
        if entry.status:
            status_style = self.get_component_rich_style(f"filetree--{entry.status}", partial=True)
        prefix: tuple[str, Style]
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE, base_style)
        else:
            prefix = ("  ", base_style)
        mark = _MARK.get(entry.status, " ")
        if not entry.status and ref.path in view.holds_changes:
            mark, status_style = "•", self.get_component_rich_style("filetree--holds", partial=True)
        name = posixpath.basename(ref.path)
        rec = entry.record
        if rec.type in (SYMLINK, HARDLINK) and rec.linkname:
            name += (" → " if rec.type == SYMLINK else " ⇒ /") + rec.linkname
        size = view.size(ref.path)
        text = Text.assemble(
            prefix,
            (f"{mark} {visible(name)}", status_style),
            (f"  {fmt_size(size)}" if size else "", self.get_component_rich_style("filetree--size", partial=True)),
        )
        text.stylize(style)
        return text
