from ledger.summary import CurrencyPosition, positions, spending_by


def test_debts_in_different_groups_do_not_cancel():
    result = positions([{"EUR": 500, "USD": -20}, {"EUR": -200}, {"EUR": 0}])
    assert result == [CurrencyPosition("EUR", 500, 200), CurrencyPosition("USD", 0, 20)]
    assert result[0].net == 300


def test_spending_rolls_up_by_month_or_category():
    spending = {
        ("2026-03", "food", "EUR"): 100,
        ("2026-03", "travel", "EUR"): 50,
        ("2026-04", "food", "EUR"): 25,
        ("2026-04", "food", "JPY"): 1000,
        ("2026-05", "food", "EUR"): 0,
    }
    assert spending_by(spending, "month") == [
        ("2026-03", "EUR", 150),
        ("2026-04", "EUR", 25),
        ("2026-04", "JPY", 1000),
    ]
    assert spending_by(spending, "category") == [
        ("food", "EUR", 125),
        ("food", "JPY", 1000),
        ("travel", "EUR", 50),
    ]
