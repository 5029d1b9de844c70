"""Synthetic drag-and-drop of files and folders anywhere on the window, and pasting an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import write_image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication


def drop_on(window, widget, paths: list[Path]) -> bool:
    """Drag ``paths`` over ``widget`` (a child of the window) and drop them; returns whether the
    drag was accepted. Events go to the window's QWindow, as the platform delivers them, so Qt
    finds the widget under the cursor and walks up to the window that accepts drops."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = widget.rect().center()
    pos = widget.mapTo(window, centre)
    handle = window.windowHandle()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(pos), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(handle, enter)
    drop = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(handle, drop)
    return drop.isAccepted()


def make_tree(root: Path) -> dict[str, Path]:
    files = {
        "a": write_image(root / "photos" / "a.png", seed=1),
        "b": write_image(root / "photos" / "sub" / "b.jpg", seed=2),
        "c": write_image(root / "photos" / "sub" / "deeper" / "c.png", seed=3, mode="L"),
        "single": write_image(root / "single.png", size=(30, 18), seed=4),
    }
    (root / "photos" / "notes.txt").write_text("not an image")
    return files


def test_drop_files_and_folders_recursively(make_window, qtbot, tmp_path):
    files = make_tree(tmp_path / "in")
    window = make_window(autostart=False)
    assert drop_on(window, window.comparator.view, [tmp_path / "in" / "photos", files["single"]])
    qtbot.waitUntil(lambda: len(window.queue) == 4, timeout=10000)
    by_name = {it.path.name: it for it in window.queue.items}
    assert set(by_name) == {"a.png", "b.jpg", "c.png", "single.png"}  # notes.txt is not an image
    assert by_name["c.png"].root == tmp_path / "in" / "photos" and by_name["single.png"].root is None
    assert not any(it.evaluate for it in window.queue.items)
    # Thumbnails, sizes and file sizes arrive from the thumbnail worker.
    qtbot.waitUntil(lambda: all(it.thumbnail is not None for it in window.queue.items), timeout=10000)
    assert by_name["single.png"].size == (30, 18) and by_name["single.png"].file_bytes == files["single"].stat().st_size
    assert max(by_name["a.png"].thumbnail.shape[:2]) <= 96
    model = window.queue_panel.table_model
    assert "30×18" in model.data(model.index(window.queue.row_of(by_name["single.png"].id), 0))
    assert window.runner.running is False  # autostart off: nothing runs until Start


def test_drop_on_the_queue_panel_in_evaluation_mode(make_window, qtbot, tmp_path):
    files = make_tree(tmp_path / "in")
    window = make_window(autostart=False, evaluate=True)
    assert drop_on(window, window.queue_panel.view, [files["a"]])
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    assert window.queue.at(0).evaluate is True


def test_drag_without_files_is_refused(make_window):
    window = make_window(autostart=False)
    mime = QMimeData()
    mime.setText("just text")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_paste_an_image_from_the_clipboard(make_window, qtbot, env_dirs):
    window = make_window(autostart=False)
    arr = np.zeros((10, 12, 3), np.uint8)
    arr[:, :6] = (255, 0, 0)
    img = QImage(arr.data, 12, 10, 36, QImage.Format.Format_RGB888).copy()
    QGuiApplication.clipboard().setImage(img)
    window.actions_by_name["paste"].trigger()
    qtbot.waitUntil(lambda: len(window.queue) == 1, timeout=10000)
    path = window.queue.at(0).path
    assert path.parent == env_dirs["user"] / "pasted" and path.suffix == ".png"
    saved = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    assert (saved.width(), saved.height()) == (12, 10) and saved.pixelColor(2, 2).red() == 255
