"""`expense-tracker create-tables` loads the DynamoDB table definitions without the store's
contract methods, and the package's names load only when they are asked for."""

from __future__ import annotations

import subprocess
import sys

import store.dynamodb

_SUPPORT = {"store.dynamodb", "store.dynamodb.client", "store.dynamodb.items", "store.dynamodb.tables"}
"""What `tables` may load: its client and item helpers. Every other module of the package holds
contract methods (or assembles them)."""


def _loaded_after(statement: str) -> set[str]:
    """The `store.dynamodb` modules in `sys.modules` after running `statement` in a fresh
    interpreter."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))\n"
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return {name for name in result.stdout.split() if name.split(".")[:2] == ["store", "dynamodb"]}


def test_the_tables_module_loads_no_contract_methods() -> None:
    loaded = _loaded_after("import store.dynamodb.tables")
    assert "store.dynamodb.tables" in loaded
    assert loaded <= _SUPPORT, sorted(loaded - _SUPPORT)


def test_create_tables_from_the_package_loads_no_contract_methods() -> None:
    loaded = _loaded_after("from store.dynamodb import DynamoDBSettings, create_tables")
    assert loaded <= _SUPPORT, sorted(loaded - _SUPPORT)


def test_settings_load_no_boto() -> None:
    code = "import sys\nfrom store.dynamodb import DynamoDBSettings\nassert 'boto3' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_store_loads_when_asked_for() -> None:
    loaded = _loaded_after("from store.dynamodb import DynamoDBStore")
    assert "store.dynamodb.backend" in loaded


def test_exports_exist() -> None:
    assert all(getattr(store.dynamodb, name) is not None for name in store.dynamodb.__all__)
