"""Receipt rows rebuilt from word boxes, on hand-made boxes (no image, no Tesseract)."""

from __future__ import annotations

from ocr.layout import readable, rows
from ocr.text import Line, Word


def line(*words: tuple[str, int, int], height: int = 30, confidence: float = 0.9) -> Line:
    """A line of (text, left, top) words, each 20 px per character wide."""
    boxes = tuple(
        Word(text, confidence, left, top, left + 20 * len(text), top + height) for text, left, top in words
    )
    return Line(" ".join(w.text for w in boxes), confidence, boxes)


def test_a_label_and_its_amount_read_as_separate_blocks_join_one_row() -> None:
    # psm 4 read the left column, then the right-hand amounts as a block of their own
    lines = [
        line(("Milk", 10, 100)),
        line(("SUMME", 10, 140), ("EUR", 150, 140)),
        line(("Card", 10, 180)),
        line(("1,45", 600, 102)),
        line(("36,20", 600, 138)),
    ]
    rebuilt = rows(lines)
    assert [r.text for r in rebuilt] == ["Milk 1,45", "SUMME EUR 36,20", "Card"]
    assert [w.text for w in rebuilt[1].words] == ["SUMME", "EUR", "36,20"]  # every word kept
    assert rebuilt[1].words[2].left == 600


def test_neighbouring_rows_stay_apart() -> None:
    # receipt line spacing: the next row starts about 1.2 letter heights lower
    lines = [line(("Bread", 10, 100)), line(("1,20", 600, 118))]
    assert [r.text for r in rows(lines)] == ["Bread", "1,20"]


def test_lines_are_ordered_top_to_bottom_and_words_left_to_right() -> None:
    lines = [line(("B", 400, 200)), line(("A", 10, 200)), line(("top", 10, 20))]
    assert [r.text for r in rows(lines)] == ["top", "A B"]


def test_text_stacked_in_one_column_is_not_joined() -> None:
    # two overlapping boxes one above the other (a big logo line over a small one) are not a row
    big = line(("ALDI", 100, 100), height=80)
    small = line(("NORD", 120, 150), height=30)
    assert len(rows([big, small])) == 2


def test_the_joined_rows_confidence_is_its_words_mean() -> None:
    joined = rows([line(("Total", 10, 100), confidence=0.9), line(("9.99", 600, 100), confidence=0.5)])
    assert len(joined) == 1
    assert abs(joined[0].confidence - 0.7) < 1e-9


def test_text_only_lines_are_left_alone() -> None:
    lines = [Line("b"), Line("a")]
    assert rows(lines) == lines


def test_low_confidence_garbage_is_dropped_but_figures_and_words_kept() -> None:
    kept = [
        line(("SUMME", 10, 10), confidence=0.2),  # letters: a word, however unsure
        line(("36,20", 10, 50), confidence=0.2),  # an amount
        line(("18.04.2020", 10, 90), confidence=0.2),  # a date
        line(("'", 10, 130), confidence=0.9),  # confident
    ]
    garbage = [line(("|", 10, 170), ("'.", 60, 170), confidence=0.1), line(("ii", 10, 210), confidence=0.25)]
    assert readable(kept + garbage) == kept
