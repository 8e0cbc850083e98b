"""Synthetic receipts with exact ground truth, in many countries' conventions (issue 15 part 4)."""

from tests.ocr.synthetic.compose import COUNTRIES, SyntheticReceipt, generate
from tests.ocr.synthetic.scoring import judge

__all__ = ["COUNTRIES", "SyntheticReceipt", "generate", "judge"]
