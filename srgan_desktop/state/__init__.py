"""Plain view-state models that the widgets observe (comparison, queue), and nothing else.

They hold what the user sees and changes (layers shown, split position, zoom; queue rows and their
status) and signal changes; widgets are built from them and tests drive them. Application logic
lives in ``trainer`` (``trainer.app``, ``trainer.train.support``); a test checks that every GUI
module without Qt imports lives here.
"""
