"""EditToolbar: the Edit mode's tools, sizes, active class and overwrite mode, always visible while editing.

It shows and changes a ``core.editing.editor.ImageEditor``'s settings and follows its ``changed``
notifications, so keys (``B``, ``[``, ``1``...) and toolbar clicks stay in one place of truth.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolBar, QWidget
from superqt import QLabeledSlider, QSearchableComboBox

from cocoseg_gui.core.editing.editor import MAX_BRUSH_RADIUS, ImageEditor
from cocoseg_gui.core.editing.footprint import Tip
from cocoseg_gui.core.editing.rules import Mode
from cocoseg_gui.core.editing.tools import TOOLS, Tool, tool_spec
from cocoseg_gui.gui.services import shortcuts
from cocoseg_gui.gui.widgets.class_chooser import ClassChooser, swatch

SIZE_SLIDER_W = 72  # the radius slider with its number: the bar still fits a 1024 px window
MODES: tuple[tuple[Mode, str], ...] = (  # short: the toolbar fits a 1024 px window
    (Mode.OVERWRITE, "Overwrite all"),
    (Mode.PRESERVE, "Keep others"),
    (Mode.ONLY_CLASS, "Only over:"),
)
MODE_TIPS = {
    Mode.OVERWRITE: "Paint over every class",
    Mode.PRESERVE: "Preserve other classes: paint only where the mask is background",
    Mode.ONLY_CLASS: "Paint only over the class chosen next to it",
}


class EditToolbar(QToolBar):
    """Tool buttons (B, X, G, I, P, U; Alt+click picks with any tool), the fill's "every pixel of that
    class" option, size, tip, class, overwrite mode."""

    def __init__(self, editor: ImageEditor, parent: QWidget | None = None) -> None:
        super().__init__("Edit", parent)
        self.setObjectName("toolbar_edit")
        self.editor = editor
        self._updating = False
        group = QActionGroup(self)
        self.tool_actions: dict[Tool, QAction] = {}
        for spec in TOOLS:  # the registry (core.editing.tools): one button per tool, its key from the table
            action = shortcuts.bind(QAction(spec.title, self, checkable=True), f"tool.{spec.tool.value}")
            action.setIconText(spec.button_text)  # the button's text; menus keep the full name
            action.setToolTip(spec.tooltip)
            action.triggered.connect(lambda _c=False, t=spec.tool: editor.update(tool=t))
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[spec.tool] = action
        self.whole_class_box = QCheckBox("whole class")  # short: the bar fits 1024 px
        self.whole_class_box.setToolTip("Fill every pixel of the clicked class, not only its region")
        self.whole_class_box.toggled.connect(
            lambda on: self._set(lambda: editor.update(fill_whole_class=bool(on)))
        )
        self.whole_class_action = self.addWidget(self.whole_class_box)  # shown while Fill is the tool
        self.addSeparator()
        # a labelled slider: dragged for a rough size, its number typed for an exact one
        self.size_box = QLabeledSlider(Qt.Orientation.Horizontal)
        self.size_box.setRange(0, MAX_BRUSH_RADIUS)
        self.size_box.setFixedWidth(SIZE_SLIDER_W)
        self.size_box.setToolTip("Brush/eraser radius in mask pixels ([ ] or Ctrl+wheel; each tool its own)")
        self.size_box.valueChanged.connect(self._on_size)
        self.size_action = self.addWidget(self.size_box)
        self.tip_box = QComboBox()
        self.tip_box.addItem("Round", Tip.ROUND.value)
        self.tip_box.addItem("Square", Tip.SQUARE.value)
        self.tip_box.currentIndexChanged.connect(
            lambda i: self._set(lambda: editor.update(tip=Tip(self.tip_box.itemData(i))))
        )
        self.tip_action = self.addWidget(self.tip_box)
        self.addSeparator()
        self.class_box = ClassChooser()
        self.class_box.setToolTip(
            "The class painted: type part of its name (/), 1-9, 0 background, a legend click, Alt+click picks"
        )
        self.class_box.class_chosen.connect(lambda i: self._set(lambda: editor.set_class(int(i))))
        self.addWidget(self.class_box)
        self.addSeparator()
        self.mode_box = QComboBox()
        for mode, text in MODES:
            self.mode_box.addItem(text, mode.value)
            self.mode_box.setItemData(self.mode_box.count() - 1, MODE_TIPS[mode], Qt.ItemDataRole.ToolTipRole)
        self.mode_box.setToolTip("Which pixels painting may change")
        self.mode_box.currentIndexChanged.connect(self._on_mode)
        self.addWidget(self.mode_box)
        self.target_box = QSearchableComboBox()  # 80 classes: type part of a name to find one
        self.target_box.setToolTip("The only class painted over (type part of its name to find it)")
        self.target_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.target_box.setMinimumContentsLength(12)
        self.target_box.currentIndexChanged.connect(self._on_mode)
        self.target_action = self.addWidget(self.target_box)  # shown in "only over" mode
        # "Brush · person" last: on a narrow window (1024 px) it is what goes behind », not the mode
        # (the checked button and the class box say the same)
        self.tool_label = QLabel()
        self.tool_label.setContentsMargins(6, 0, 6, 0)
        self.addWidget(self.tool_label)
        editor.changed.subscribe(lambda _e: self.refresh())
        self.refresh()

    def _set(self, change: Callable[[], object]) -> None:
        if not self._updating:
            change()

    def _on_size(self, value: int) -> None:
        key = "eraser_radius" if self.editor.settings.tool is Tool.ERASER else "brush_radius"
        self._set(lambda: self.editor.update(**{key: value}))

    def find_class(self) -> None:
        """``/`` (the workspace's action): type in the class box to find a class among many."""
        self.class_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        line = self.class_box.lineEdit()
        if line is not None:
            line.selectAll()

    def _on_mode(self, _index: int = 0) -> None:
        mode = Mode(self.mode_box.currentData() or Mode.OVERWRITE.value)
        target = self.target_box.currentData()
        if mode is Mode.ONLY_CLASS and target is None:
            return
        self._set(lambda: self.editor.set_rule(mode, target))

    def _fill_classes(self, box: QComboBox, names: dict[int, str]) -> None:
        wanted = [(i, n) for i, n in sorted(names.items())]
        if [(box.itemData(k), box.itemText(k)) for k in range(box.count())] == [
            (i, f"{i} {n}") for i, n in wanted
        ]:
            return
        box.clear()
        for i, name in wanted:
            box.addItem(swatch(self.editor.class_color(i)), f"{i} {name}", i)

    def refresh(self) -> None:
        """Show the editor's settings (after a key, a pick or another image)."""
        s = self.editor.settings
        self._updating = True
        try:
            self.tool_actions[s.tool].setChecked(True)
            self.size_box.setValue(s.radius)
            # size and tip only for the tools that use them (fill, picker, polygon, wand: room at 1024 px)
            sized = tool_spec(s.tool).sized
            self.size_action.setVisible(sized)
            self.tip_action.setVisible(sized)
            self.whole_class_action.setVisible(s.tool is Tool.FILL)
            self.whole_class_box.setChecked(s.fill_whole_class)
            self.tip_box.setCurrentIndex(self.tip_box.findData(Tip(s.tip).value))
            names = self.editor.class_names()  # none before an image is attached: no "1 1" entry
            self.class_box.set_classes([(i, n, self.editor.class_color(i)) for i, n in sorted(names.items())])
            self.class_box.set_active(s.active_class)
            self._fill_classes(self.target_box, names)
            self.mode_box.setCurrentIndex(self.mode_box.findData(Mode(s.rule.mode).value))
            self.target_action.setVisible(Mode(s.rule.mode) is Mode.ONLY_CLASS)
            if s.rule.target is not None:
                self.target_box.setCurrentIndex(self.target_box.findData(s.rule.target))
            painted = 255 if s.tool is Tool.IGNORE else s.active_class  # the ignore brush paints 255
            name = self.editor.class_name(painted)
            self.tool_label.setText(f"{tool_spec(s.tool).button_text} · {name}")  # "SAM", not "Sam"
            r, g, b = self.editor.class_color(painted)
            self.tool_label.setStyleSheet(f"border-left: 14px solid rgb({r},{g},{b}); padding-left: 4px;")
        finally:
            self._updating = False

    def active_text(self) -> str:
        return self.tool_label.text()
